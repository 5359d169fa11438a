"""The local store: SQLAlchemy 2 Core over SQLite (default) or PostgreSQL (psycopg 3).

Tables: tools/store/schema.py (and the additive migration run on open); row <-> record conversions:
tools/store/rows.py; sync bookkeeping (state, runs, coverage): tools/store/bookkeeping.py. Upserts are
idempotent (``INSERT … ON CONFLICT DO UPDATE``). A store that cannot be opened or written raises
``StoreError`` with one line that says where and why (no traceback for the user).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, Table, create_engine, delete, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from tools.records import (
    Allocation,
    Budget,
    Comment,
    FieldChange,
    OutOfOffice,
    Person,
    Project,
    Rate,
    Task,
    TimeCategory,
    TimeEntry,
    TimesheetApproval,
    Workspace,
)
from tools.store.bookkeeping import Bookkeeping, Coverage, FieldCoverage, SyncRun, SyncState
from tools.store.rows import (
    ENTRY_COLUMNS,
    FROM_JSON,
    aware,
    change_key,
    compact_fp,
    data_of,
    entry_from_row,
    entry_row,
    has_details,
)
from tools.store.schema import (
    ENTRY_DETAILS,
    KINDS,
    comments_t,
    custom_fields_t,
    entries_t,
    field_changes_t,
    migrate,
    people_t,
    projects_t,
    task_stories_t,
    tasks_t,
)
from tools.store.urls import StoreError, describe_store_error, normalise_url, prepare_url, safe_url

__all__ = [
    "Coverage",
    "CustomFieldDef",
    "EnumOptionDef",
    "FieldCoverage",
    "Store",
    "StoreError",
    "SyncRun",
    "SyncState",
    "change_key",
    "describe_store_error",
    "normalise_url",
    "prepare_url",
    "safe_url",
]


class EnumOptionDef(BaseModel):
    model_config = ConfigDict(frozen=True)
    gid: str
    name: str
    enabled: bool = True


class CustomFieldDef(BaseModel):
    """A custom field definition as the writer needs it (find ``AI …`` fields, enum option gids)."""

    model_config = ConfigDict(frozen=True)
    gid: str
    name: str
    type: str  # resource_subtype: number | text | enum | multi_enum | date | people | reference
    format: str | None = None
    precision: int | None = None
    custom_label: str | None = None
    custom_label_position: str | None = None
    currency_code: str | None = None
    enum_options: tuple[EnumOptionDef, ...] = ()
    project_gids: tuple[str, ...] = ()  # projects the field is attached to (custom field settings)


def _chunks(rows: Sequence[dict[str, Any]], size: int = 2000) -> Iterator[Sequence[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _raw_rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    """Rows straight from the DB-API cursor (sqlite3 / psycopg): skips SQLAlchemy's per-row work,
    which dominates when loading 100k entries. ``sql`` is a constant without parameters."""
    cur = conn.connection.dbapi_connection.cursor()
    try:
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        cur.close()


class Store(Bookkeeping):
    """The local store. See ``tools/store/__init__.py`` for the API summary."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.migrated = migrate(engine)

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str = "sqlite:///.effort/effort.db", **engine_kwargs: Any) -> Store:
        """Open (creating or migrating tables in) the store at ``url`` (sqlite:///path or
        postgresql://...). Raises ``StoreError`` when it cannot be opened or written."""
        try:
            engine = create_engine(prepare_url(url), **engine_kwargs)
            if engine.dialect.name == "sqlite":

                @event.listens_for(engine, "connect")
                def _pragmas(conn: Any, _record: Any) -> None:  # WAL: readers don't block the writer
                    cur = conn.cursor()
                    cur.execute("PRAGMA journal_mode=WAL")
                    cur.execute("PRAGMA synchronous=NORMAL")
                    cur.execute("PRAGMA busy_timeout=10000")
                    cur.close()

            return cls(engine)
        except (SQLAlchemyError, OSError) as exc:
            raise StoreError(describe_store_error(exc, url)) from None

    def close(self) -> None:
        self.engine.dispose()

    # -- generic upsert -------------------------------------------------------------------------------
    def _upsert(
        self, table: Table, rows: Sequence[dict[str, Any]], update: Sequence[str] | None = None
    ) -> int:
        """Insert or update ``rows``; on conflict only the ``update`` columns change (default: all)."""
        if not rows:
            return 0
        insert_fn = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        pk = [c.name for c in table.primary_key.columns]
        with self.engine.begin() as conn:
            for chunk in _chunks(rows):
                stmt = insert_fn(table)
                cols = [
                    c.name for c in table.columns if c.name not in pk and (update is None or c.name in update)
                ]
                set_ = {name: stmt.excluded[name] for name in cols}
                conn.execute(stmt.on_conflict_do_update(index_elements=pk, set_=set_), list(chunk))
        return len(rows)

    def _delete(self, table: Table, column: str, keys: Iterable[str]) -> int:
        keys = list(keys)
        n = 0
        with self.engine.begin() as conn:
            for i in range(0, len(keys), 500):
                n += conn.execute(delete(table).where(table.c[column].in_(keys[i : i + 500]))).rowcount or 0
        return n

    def _upsert_json(self, kind: str, records: Iterable[BaseModel], **columns: str) -> int:
        """Upsert records of a JSON-column kind; ``columns`` maps extra table columns to record fields."""
        rows = [
            {"gid": str(getattr(r, "gid")), "data": data_of(r)}  # noqa: B009
            | {col: getattr(r, attr) for col, attr in columns.items()}
            for r in records
        ]
        return self._upsert(KINDS[kind], rows)

    # -- writes (used by sync) --------------------------------------------------------------------------
    def upsert_people(self, people: Iterable[Person]) -> int:
        return self._upsert_json("people", people)

    def upsert_projects(self, projects: Iterable[Project]) -> int:
        return self._upsert_json("projects", projects, archived="archived")

    def upsert_tasks(self, tasks: Iterable[Task]) -> int:
        rows = [
            {
                "gid": t.gid,
                "project_gid": t.project_gid,
                "parent_gid": t.parent_gid,
                "modified_at": t.modified_at.isoformat() if t.modified_at else None,
                "data": data_of(t),
            }
            for t in tasks
        ]
        return self._upsert(tasks_t, rows)

    def upsert_entries(self, entries: Iterable[TimeEntry]) -> int:
        """Entries with details (read by sync, or given) are written whole; compact ones (a list read)
        update their compact columns only, so details read earlier stay (and read as unknown until
        re-read if the compact record changed: ``compact_fp`` no longer matches)."""
        full: list[dict[str, Any]] = []
        compact: list[dict[str, Any]] = []
        for e in entries:
            (full if has_details(e) else compact).append(entry_row(e))
        n = self._upsert(entries_t, full)
        keep = set(ENTRY_DETAILS) | {"details_fp"}
        return n + self._upsert(entries_t, compact, [c.name for c in entries_t.columns if c.name not in keep])

    def upsert_field_changes(self, changes: Iterable[FieldChange]) -> int:
        rows = [{"key": change_key(c), "task_gid": c.task_gid, "data": data_of(c)} for c in changes]
        return self._upsert(field_changes_t, rows)

    def upsert_comments(self, comments: Iterable[Comment]) -> int:
        return self._upsert_json("comments", comments, task_gid="task_gid")

    def replace_task_history(
        self, task_gids: Iterable[str], changes: Iterable[FieldChange], comments: Iterable[Comment]
    ) -> None:
        """Stories were read for ``task_gids``: their field changes and comments become exactly these
        (replacing changes rebuilt from events, and comments deleted in Asana)."""
        gids = list(task_gids)
        self._delete(field_changes_t, "task_gid", gids)
        self._delete(comments_t, "task_gid", gids)
        self.upsert_field_changes(changes)
        self.upsert_comments(comments)

    def upsert_custom_fields(self, fields: Iterable[CustomFieldDef]) -> int:
        rows = [{"gid": f.gid, "name": f.name, "data": data_of(f)} for f in fields]
        return self._upsert(custom_fields_t, rows)

    def upsert_allocations(self, allocations: Iterable[Allocation]) -> int:
        return self._upsert_json(
            "allocations", allocations, person_gid="person_gid", project_gid="project_gid"
        )

    def upsert_ooo_entries(self, entries: Iterable[OutOfOffice]) -> int:
        return self._upsert_json("ooo_entries", entries, person_gid="person_gid")

    def upsert_budgets(self, budgets: Iterable[Budget]) -> int:
        return self._upsert_json("budgets", budgets, project_gid="project_gid")

    def upsert_rates(self, rates: Iterable[Rate]) -> int:
        return self._upsert_json("rates", rates, project_gid="project_gid")

    def upsert_time_categories(self, categories: Iterable[TimeCategory]) -> int:
        return self._upsert_json("time_categories", categories)

    def upsert_timesheet_approvals(self, approvals: Iterable[TimesheetApproval]) -> int:
        return self._upsert_json("timesheet_approvals", approvals, person_gid="person_gid")

    def delete_kind(self, kind: str, gids: Iterable[str]) -> int:
        """Delete records of a kind by primary key (people, projects, allocations, budgets, ...)."""
        table = KINDS[kind]
        return self._delete(table, next(iter(table.primary_key.columns)).name, gids)

    def delete_tasks(self, gids: Iterable[str]) -> int:
        """Delete tasks and everything hanging off them (entries, field changes, comments, story marks)."""
        gids = list(gids)
        for table in (entries_t, field_changes_t, comments_t):
            self._delete(table, "task_gid", gids)
        self._delete(task_stories_t, "gid", gids)
        return self._delete(tasks_t, "gid", gids)

    def delete_entries(self, gids: Iterable[str]) -> int:
        return self._delete(entries_t, "gid", gids)

    def delete_projects(self, gids: Iterable[str]) -> int:
        return self.delete_kind("projects", gids)

    def delete_people(self, gids: Iterable[str]) -> int:
        return self.delete_kind("people", gids)

    def delete_custom_fields(self, gids: Iterable[str]) -> int:
        return self.delete_kind("custom_fields", gids)

    def delete_comments(self, gids: Iterable[str]) -> int:
        return self.delete_kind("comments", gids)

    def delete_allocations(self, gids: Iterable[str]) -> int:
        return self.delete_kind("allocations", gids)

    def delete_ooo_entries(self, gids: Iterable[str]) -> int:
        return self.delete_kind("ooo_entries", gids)

    # -- fingerprints (sync diffs against these to count created/updated and skip no-op writes) -------
    def fingerprints(
        self, kind: str, *, keys: Iterable[str] | None = None, task_gids: Iterable[str] | None = None
    ) -> dict[str, str]:
        """``{key: fingerprint}`` of a kind (entries: their compact fingerprint; others: the ``data``
        column); ``keys`` limits to those primary keys, ``task_gids`` (entries, field_changes,
        comments) to rows of those tasks. An incremental sync only reads what it may touch."""
        table = KINDS[kind]
        pk = next(iter(table.primary_key.columns))
        cols = [pk, table.c.compact_fp] if table is entries_t else [pk, table.c.data]
        filters: list[tuple[Any, list[str]]] = []
        if keys is not None:
            filters.append((pk, list(keys)))
        if task_gids is not None:
            filters.append((table.c.task_gid, list(task_gids)))
        with self.engine.connect() as conn:
            if not filters:
                rows: Iterable[Any] = conn.execute(select(*cols))
            else:
                column, values = filters[0]
                rows = [
                    r
                    for i in range(0, len(values), 500)
                    for r in conn.execute(select(*cols).where(column.in_(values[i : i + 500])))
                ]
            return {r[0]: r[1] or "" for r in rows}

    @staticmethod
    def fingerprint_of(kind: str, record: BaseModel) -> tuple[str, str]:
        """The ``(key, fingerprint)`` the store would hold for ``record`` (compare with :meth:`fingerprints`)."""
        if kind == "entries":
            assert isinstance(record, TimeEntry)
            return record.gid, compact_fp(record)
        if kind == "field_changes":
            assert isinstance(record, FieldChange)
            return change_key(record), data_of(record)
        return str(getattr(record, "gid")), data_of(record)  # noqa: B009

    # -- reads --------------------------------------------------------------------------------------
    def workspace(self, project_gids: list[str] | None = None, as_of: datetime | None = None) -> Workspace:
        """Everything analytics need, as one immutable ``Workspace``.

        ``project_gids`` limits projects, tasks (by home project), their entries, field changes,
        allocations, budgets and rates. ``as_of`` pins "now": tasks created and entries entered after
        it are left out (default: now UTC, nothing left out).
        """
        # Building 100k+ small objects triggers the cyclic GC again and again, and each pass walks every
        # object in the process (costly next to a big in-process sandbox): pause it while loading.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return self._workspace(project_gids, as_of)
        finally:
            if gc_was_enabled:
                gc.enable()

    def _all(self, conn: Any, kind: str) -> list[Any]:
        table = KINDS[kind]
        parse = FROM_JSON[kind]
        return [parse(r[0]) for r in conn.execute(select(table.c.data).order_by(table.c.gid))]

    def _workspace(self, project_gids: list[str] | None, as_of: datetime | None) -> Workspace:
        wanted = set(project_gids) if project_gids else None
        cutoff = as_of.replace(tzinfo=UTC) if as_of is not None and as_of.tzinfo is None else as_of
        with self.engine.connect() as conn:
            people = tuple(FROM_JSON["people"](r[0]) for r in conn.execute(select(people_t.c.data)))
            projects = tuple(
                p
                for p in (FROM_JSON["projects"](r[0]) for r in conn.execute(select(projects_t.c.data)))
                if wanted is None or p.gid in wanted
            )
            parse_task = FROM_JSON["tasks"]
            tasks_list = [parse_task(r[0]) for r in _raw_rows(conn, "SELECT data FROM effort_tasks")]
            if wanted is not None:
                tasks_list = [t for t in tasks_list if t.project_gid in wanted]
            if cutoff is not None:
                tasks_list = [t for t in tasks_list if t.created_at is None or t.created_at <= cutoff]
            task_gids = {t.gid for t in tasks_list}
            cols = ", ".join(ENTRY_COLUMNS)
            entries = [entry_from_row(r) for r in _raw_rows(conn, f"SELECT {cols} FROM effort_time_entries")]
            changes = [FROM_JSON["field_changes"](r[0]) for r in conn.execute(select(field_changes_t.c.data))]
            extra = {
                kind: self._all(conn, kind)
                for kind in ("allocations", "ooo_entries", "budgets", "rates", "time_categories")
            }
            timesheets = self._all(conn, "timesheet_approvals")
        if wanted is not None:  # planned work, budgets and rates belong to their project: scoped like tasks
            for kind in ("allocations", "budgets", "rates"):
                extra[kind] = [x for x in extra[kind] if x.project_gid in wanted]
        if wanted is not None or cutoff is not None:
            entries = [e for e in entries if e.task_gid in task_gids]
            changes = [c for c in changes if c.task_gid in task_gids]
        if cutoff is not None:
            cut_day = cutoff.date()
            # What was known at ``as_of``: entries *logged* by then. One logged earlier but dated later is
            # kept: a future-dated entry is exactly what the anomaly detector must see.
            entries = [
                e
                for e in entries
                if (aware(e.created_at) <= cutoff if e.created_at is not None else e.entered_on <= cut_day)
            ]
            changes = [c for c in changes if c.changed_at <= cutoff]
        return Workspace.model_construct(
            people=people,
            projects=projects,
            tasks=tuple(tasks_list),
            entries=tuple(entries),
            field_changes=tuple(changes),
            allocations=tuple(extra["allocations"]),
            out_of_office=tuple(extra["ooo_entries"]),
            budgets=tuple(extra["budgets"]),
            rates=tuple(extra["rates"]),
            categories=tuple(extra["time_categories"]),
            timesheet_approvals=tuple(timesheets),
            as_of=as_of or datetime.now(UTC),
        )

    def task(self, gid: str) -> Task | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(tasks_t.c.data).where(tasks_t.c.gid == gid)).first()
        return FROM_JSON["tasks"](row[0]) if row else None

    def tasks(self, project_gid: str | None = None) -> list[Task]:
        q = select(tasks_t.c.data)
        if project_gid is not None:
            q = q.where(tasks_t.c.project_gid == project_gid)
        with self.engine.connect() as conn:
            return [FROM_JSON["tasks"](r[0]) for r in conn.execute(q)]

    def task_gids(self, project_gid: str | None = None) -> set[str]:
        q = select(tasks_t.c.gid)
        if project_gid is not None:
            q = q.where(tasks_t.c.project_gid == project_gid)
        with self.engine.connect() as conn:
            return {str(r[0]) for r in conn.execute(q)}

    def entries_for_task(self, gid: str) -> list[TimeEntry]:
        q = (
            select(*(entries_t.c[name] for name in ENTRY_COLUMNS))
            .where(entries_t.c.task_gid == gid)
            .order_by(entries_t.c.entered_on, entries_t.c.gid)
        )
        with self.engine.connect() as conn:
            return [entry_from_row(r) for r in conn.execute(q)]

    def entry_gids_for_tasks(self, task_gids: Iterable[str]) -> dict[str, str]:
        """``{entry gid: task gid}`` for the entries of these tasks."""
        values = list(task_gids)
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(values), 500):
                q = select(entries_t.c.gid, entries_t.c.task_gid).where(
                    entries_t.c.task_gid.in_(values[i : i + 500])
                )
                out.update({str(r[0]): str(r[1]) for r in conn.execute(q)})
        return out

    def entries_with_current_details(self, gids: Iterable[str]) -> set[str]:
        """Which of these entries have details read against their current compact record."""
        values = list(gids)
        c = entries_t.c
        out: set[str] = set()
        with self.engine.connect() as conn:
            for i in range(0, len(values), 500):
                q = select(c.gid).where(c.gid.in_(values[i : i + 500])).where(c.details_fp == c.compact_fp)
                out |= {str(r[0]) for r in conn.execute(q)}
        return out

    def invalidate_details(self, gids: Iterable[str]) -> set[str]:
        """Mark these entries' details stale (an event says the entry changed); returns those that had
        current details (they are worth re-reading wherever they are)."""
        values = list(gids)
        had = self.entries_with_current_details(values)
        with self.engine.begin() as conn:
            for i in range(0, len(values), 500):
                conn.execute(
                    entries_t.update().where(entries_t.c.gid.in_(values[i : i + 500])).values(details_fp=None)
                )
        return had

    def entry_tasks(self, gids: Iterable[str]) -> dict[str, str]:
        """``{entry gid: task gid}`` for these entries."""
        values = list(gids)
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(values), 500):
                q = select(entries_t.c.gid, entries_t.c.task_gid).where(
                    entries_t.c.gid.in_(values[i : i + 500])
                )
                out.update({str(r[0]): str(r[1]) for r in conn.execute(q)})
        return out

    def invalidate_details_since(self, since: date) -> None:
        """Every entry entered on or after ``since`` gets its details re-read by the next backfill."""
        with self.engine.begin() as conn:
            conn.execute(
                entries_t.update().where(entries_t.c.entered_on >= since.isoformat()).values(details_fp=None)
            )

    def entry_minutes_by_task(self) -> dict[str, int]:
        """Sum of stored entry minutes per task (sync compares it with ``actual_time_minutes``)."""
        q = select(entries_t.c.task_gid, func.sum(entries_t.c.duration_minutes)).group_by(
            entries_t.c.task_gid
        )
        with self.engine.connect() as conn:
            return {r[0]: int(r[1] or 0) for r in conn.execute(q)}

    def first_entry_by_task(self) -> dict[str, str]:
        """Earliest ``entered_on`` per task (a task's start when it names none)."""
        q = select(entries_t.c.task_gid, func.min(entries_t.c.entered_on)).group_by(entries_t.c.task_gid)
        with self.engine.connect() as conn:
            return {r[0]: str(r[1]) for r in conn.execute(q)}

    def comments_for_task(self, gid: str) -> list[Comment]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(comments_t.c.data).where(comments_t.c.task_gid == gid))
            return sorted((FROM_JSON["comments"](r[0]) for r in rows), key=lambda c: c.created_at)

    def field_changes_for_task(self, gid: str) -> list[FieldChange]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(field_changes_t.c.data).where(field_changes_t.c.task_gid == gid))
            return sorted((FROM_JSON["field_changes"](r[0]) for r in rows), key=lambda c: c.changed_at)

    def records(self, kind: str) -> list[Any]:
        """Every record of a JSON-column kind, by gid (people, projects, budgets, rates, ...)."""
        with self.engine.connect() as conn:
            return self._all(conn, kind)

    def people(self) -> list[Person]:
        return self.records("people")

    def projects(self) -> list[Project]:
        return self.records("projects")

    def allocations(self) -> list[Allocation]:
        return self.records("allocations")

    def out_of_office(self) -> list[OutOfOffice]:
        return self.records("ooo_entries")

    def budgets(self) -> list[Budget]:
        return self.records("budgets")

    def rates(self) -> list[Rate]:
        return self.records("rates")

    def time_categories(self) -> list[TimeCategory]:
        return self.records("time_categories")

    def timesheet_approvals(self) -> list[TimesheetApproval]:
        return self.records("timesheet_approvals")

    def custom_fields(self) -> list[CustomFieldDef]:
        """Every known custom field definition (the writer finds ``AI …`` field gids here)."""
        with self.engine.connect() as conn:
            return [
                CustomFieldDef.model_validate_json(r[0]) for r in conn.execute(select(custom_fields_t.c.data))
            ]

    def custom_field_by_name(self, name: str) -> CustomFieldDef | None:
        """Case-insensitive lookup by field name (first match)."""
        low = name.strip().lower()
        return next((f for f in self.custom_fields() if f.name.strip().lower() == low), None)

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                k: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for k, t in KINDS.items()
            }
