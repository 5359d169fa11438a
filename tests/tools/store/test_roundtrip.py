"""Store round trips on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tools.records import ActualSource, BillableStatus, Comment, FieldChange, Person, Project, Task, TimeEntry
from tools.store import CustomFieldDef, EnumOptionDef, Store, SyncState, normalise_url

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def _fill(s: Store) -> None:
    s.upsert_people([Person(gid="U1", name="Ada", email="ada@x.io"), Person(gid="U2", name="Bob")])
    s.upsert_projects(
        [
            Project(
                gid="P1",
                name="Web",
                project_type="client build",
                client="Acme",
                hourly_rate=100.0,
                portfolio_gids=("PF1",),
                start_on=date(2026, 1, 1),
                created_at=T0,
            ),
            Project(gid="P2", name="Ops", archived=True),
        ]
    )
    s.upsert_tasks(
        [
            Task(
                gid="T1",
                name="Login",
                project_gid="P1",
                created_at=T0,
                tags=("a", "b"),
                estimate_hours=4.0,
                actual_hours=5.5,
                actual_source=ActualSource.CUSTOM_FIELD,
                due_on=date(2026, 2, 1),
                ai_fields={"AI Estimate Hours": 4.2},
                completed=True,
                completed_at=T0,
            ),
            Task(gid="T2", name="Deploy", project_gid="P2", created_at=datetime(2026, 3, 1, tzinfo=UTC)),
        ]
    )
    s.upsert_entries(
        [
            TimeEntry(
                gid="E1",
                task_gid="T1",
                user_gid="U1",
                entered_on=date(2026, 1, 6),
                duration_minutes=90,
                project_gid="P1",
                billable_status=BillableStatus.BILLABLE,
                created_at=T0,
            ),
            TimeEntry(
                gid="E2", task_gid="T1", user_gid="U2", entered_on=date(2026, 1, 7), duration_minutes=30
            ),
            TimeEntry(
                gid="E3", task_gid="T2", user_gid="U2", entered_on=date(2026, 3, 2), duration_minutes=60
            ),
        ]
    )
    s.upsert_field_changes(
        [
            FieldChange(
                task_gid="T1", field_name="Estimated Hours", old_value=3.0, new_value=4.0, changed_at=T0
            )
        ]
    )
    s.upsert_comments([Comment(gid="C1", task_gid="T1", text="hi", created_at=T0, by_gid="U1")])
    s.upsert_custom_fields(
        [
            CustomFieldDef(
                gid="F1", name="AI Estimate Hours", type="number", precision=1, project_gids=("P1",)
            ),
            CustomFieldDef(
                gid="F2", name="Priority", type="enum", enum_options=(EnumOptionDef(gid="O1", name="High"),)
            ),
        ]
    )


def _check(s: Store) -> None:
    ws = s.workspace()
    assert {p.gid for p in ws.people} == {"U1", "U2"}
    t1 = s.task("T1")
    assert t1 is not None and t1 == next(t for t in ws.tasks if t.gid == "T1")
    assert (
        t1.tags == ("a", "b") and t1.ai_fields == {"AI Estimate Hours": 4.2} and t1.due_on == date(2026, 2, 1)
    )
    assert t1.actual_source is ActualSource.CUSTOM_FIELD and t1.created_at == T0
    # model_construct'ed records equal validated ones
    assert t1 == Task.model_validate(t1.model_dump())
    assert [e.gid for e in s.entries_for_task("T1")] == ["E1", "E2"]
    assert s.entries_for_task("T1")[0].billable_status is BillableStatus.BILLABLE
    assert len(ws.entries) == 3 and len(ws.field_changes) == 1
    scoped = s.workspace(project_gids=["P1"])
    assert [t.gid for t in scoped.tasks] == ["T1"] and {e.task_gid for e in scoped.entries} == {"T1"}
    assert [p.gid for p in scoped.projects] == ["P1"]
    past = s.workspace(as_of=datetime(2026, 2, 1, tzinfo=UTC))
    assert [t.gid for t in past.tasks] == ["T1"] and past.as_of == datetime(2026, 2, 1, tzinfo=UTC)
    assert s.custom_field_by_name("ai estimate hours") is not None
    assert s.custom_field_by_name("Priority").enum_options[0].gid == "O1"  # type: ignore[union-attr]
    assert s.comments_for_task("T1")[0].text == "hi"


def _idempotent_and_delete(s: Store) -> None:
    before = s.counts()
    _fill(s)  # upserting the same records again changes nothing
    assert s.counts() == before
    assert s.delete_tasks(["T1"]) == 1
    assert s.task("T1") is None and s.entries_for_task("T1") == [] and s.field_changes_for_task("T1") == []
    assert s.counts()["entries"] == 1
    s.set_sync_state(SyncState(scope="workspace:1", token="tok", last_sync_at=T0, data={"a": 1}))
    st = s.sync_state("workspace:1")
    assert st is not None and (st.token, st.last_sync_at, st.data) == ("tok", T0, {"a": 1})
    run = s.start_sync_run(full=True)
    s.finish_sync_run(run, "ok", {"requests": 3})
    assert s.sync_runs()[0].summary == {"requests": 3}


def test_sqlite_round_trip(store: Store) -> None:
    _fill(store)
    _check(store)
    _idempotent_and_delete(store)


@pytest.mark.postgres
def test_postgres_round_trip(pg_server_url: str) -> None:
    s = Store.open(pg_server_url)
    try:
        assert s.engine.dialect.name == "postgresql" and s.engine.dialect.driver == "psycopg"
        _fill(s)
        _check(s)
        _idempotent_and_delete(s)
    finally:
        s.close()


def test_url_mapping() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_synced_store_fixture_is_ready_for_other_parts(synced_store: tuple[Store, object]) -> None:
    store, sb = synced_store
    ws = store.workspace()
    assert len(ws.tasks) >= 50 and ws.entries and ws.people and ws.projects
    assert {t.gid for t in ws.tasks} <= set(sb.state.objects["task"])  # type: ignore[attr-defined]
    assert any(t.estimate_hours is not None for t in ws.tasks)
    assert store.custom_field_by_name("Estimated Hours") is not None


def test_as_of_keeps_what_was_logged_by_then_even_if_dated_later(store: Store) -> None:
    """A replay "as of" a moment sees the entries logged by then; one logged early but dated in the
    future is kept (the anomaly detector must see it); one logged later is not."""
    as_of = datetime(2026, 1, 10, 12, tzinfo=UTC)

    def entry(gid: str, day: date, created: datetime | None) -> TimeEntry:
        return TimeEntry(
            gid=gid, task_gid="T1", user_gid="U1", entered_on=day, duration_minutes=60, created_at=created
        )

    store.upsert_tasks([Task(gid="T1", name="Login", created_at=T0)])
    store.upsert_entries(
        [
            entry("early-future", date(2026, 2, 1), datetime(2026, 1, 9, tzinfo=UTC)),
            entry("late-log", date(2026, 1, 8), datetime(2026, 1, 11, tzinfo=UTC)),
            entry("undated-past", date(2026, 1, 9), None),
            entry("undated-future", date(2026, 1, 12), None),
        ]
    )
    kept = {e.gid for e in store.workspace(as_of=as_of).entries}
    assert kept == {"early-future", "undated-past"}
    assert len(store.workspace().entries) == 4


_OLD_ENTRIES = (
    "CREATE TABLE effort_time_entries (gid VARCHAR(64) PRIMARY KEY, task_gid VARCHAR(64) NOT NULL, "
    "user_gid VARCHAR(64), entered_on VARCHAR(10) NOT NULL, duration_minutes INTEGER NOT NULL, "
    "project_gid VARCHAR(64), billable_status VARCHAR(20), description TEXT, created_at VARCHAR(40))"
)
_OLD_RUNS = (
    "CREATE TABLE effort_sync_runs (id INTEGER PRIMARY KEY, started_at VARCHAR(40) NOT NULL, "
    'finished_at VARCHAR(40), "full" BOOLEAN NOT NULL, status VARCHAR(20) NOT NULL, summary TEXT NOT NULL)'
)


def _migrates(url: str) -> None:
    """A database written by the previous version (no detail columns, no new tables) is migrated in
    place: its rows stay, their details read as unknown, and the backfill will read them."""
    from sqlalchemy import create_engine

    from tools.store import normalise_url

    engine = create_engine(normalise_url(url))
    with engine.begin() as conn:
        conn.exec_driver_sql(_OLD_ENTRIES)
        conn.exec_driver_sql(_OLD_RUNS)
        conn.exec_driver_sql(
            "INSERT INTO effort_time_entries VALUES ('E1', 'T1', 'U1', '2026-10-01', 60, 'P1', 'billable', 'x', NULL)"
        )
    engine.dispose()
    s = Store.open(url)
    try:
        assert "effort_time_entries.details_fp" in s.migrated and "effort_sync_runs.pid" in s.migrated
        entry = s.workspace().entries[0]
        assert (entry.gid, entry.duration_minutes) == ("E1", 60)
        assert entry.billable_status is None and entry.details_read_at is None  # not read by this version
        assert s.entries_needing_details(date(2026, 1, 1)) == [("E1", "2026-10-01")]
        assert s.counts()["budgets"] == 0 and Store.open(url).migrated == []  # the second open adds nothing
    finally:
        s.close()


def test_an_older_sqlite_store_is_migrated(tmp_path: object) -> None:
    _migrates(f"sqlite:///{tmp_path}/old.db")


@pytest.mark.postgres
def test_an_older_postgres_store_is_migrated() -> None:
    from tests.fixtures.store import throwaway_pg_database

    with throwaway_pg_database("migrate") as url:
        _migrates(url)
