"""The local store: SQLAlchemy 2 Core over SQLite (default) or PostgreSQL (psycopg 3).

Layout: one table per record kind, ``gid`` primary key, a few indexed columns for filtering, and the
record itself as JSON text (``data``). Time entries are flat columns because there are ten times more
of them and loading must stay fast. Upserts are idempotent (``INSERT … ON CONFLICT DO UPDATE``).
Rows are trusted (we wrote them), so reads build records with ``model_construct`` (no validation).
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from tools.records import (
    ActualSource,
    Allocation,
    BillableStatus,
    Comment,
    EffortUnit,
    FieldChange,
    OutOfOffice,
    Person,
    Project,
    Task,
    TimeEntry,
    Workspace,
)

_M = TypeVar("_M", bound=BaseModel)
metadata = MetaData()

people_t = Table(
    "effort_people",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("data", Text, nullable=False),
)
projects_t = Table(
    "effort_projects",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("archived", Boolean, nullable=False, default=False),
    Column("data", Text, nullable=False),
)
tasks_t = Table(
    "effort_tasks",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("project_gid", String(64), index=True),
    Column("parent_gid", String(64), index=True),
    Column("modified_at", String(40)),
    Column("data", Text, nullable=False),
)
entries_t = Table(
    "effort_time_entries",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("task_gid", String(64), index=True, nullable=False),
    Column("user_gid", String(64)),
    Column("entered_on", String(10), index=True, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("project_gid", String(64)),
    Column("billable_status", String(20)),
    Column("description", Text),
    Column("created_at", String(40)),
)
field_changes_t = Table(
    "effort_field_changes",
    metadata,
    Column("key", String(300), primary_key=True),  # task|field|changed_at: re-syncing is idempotent
    Column("task_gid", String(64), index=True, nullable=False),
    Column("data", Text, nullable=False),
)
comments_t = Table(
    "effort_comments",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("task_gid", String(64), index=True, nullable=False),
    Column("data", Text, nullable=False),
)
custom_fields_t = Table(
    "effort_custom_fields",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("name", String(400), index=True),
    Column("data", Text, nullable=False),
)
allocations_t = Table(
    "effort_allocations",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("person_gid", String(64), index=True),
    Column("project_gid", String(64)),
    Column("data", Text, nullable=False),
)
ooo_entries_t = Table(
    "effort_ooo_entries",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("person_gid", String(64), index=True, nullable=False),
    Column("data", Text, nullable=False),
)
sync_state_t = Table(
    "effort_sync_state",
    metadata,
    Column("scope", String(200), primary_key=True),  # e.g. "workspace:123", "project:456"
    Column("token", Text),
    Column("last_sync_at", String(40)),
    Column("data", Text, nullable=False, default="{}"),
)
sync_runs_t = Table(
    "effort_sync_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", String(40), nullable=False),
    Column("finished_at", String(40)),
    Column("full", Boolean, nullable=False),
    Column("status", String(20), nullable=False),
    Column("summary", Text, nullable=False, default="{}"),
)


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


class SyncState(BaseModel):
    scope: str
    token: str | None = None
    last_sync_at: datetime | None = None
    data: dict[str, Any] = {}


class SyncRun(BaseModel):
    id: int
    started_at: datetime
    finished_at: datetime | None
    full: bool
    status: str
    summary: dict[str, Any]


def normalise_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` use psycopg 3; everything else passes through."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def prepare_url(url: str) -> str:
    """``normalise_url``, and create a SQLite file's folder so ``create_engine`` can open it."""
    url = normalise_url(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return url


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def _data(record: BaseModel) -> str:
    """The ``data`` column of a record (also its fingerprint, so both must come from here)."""
    return _dumps(record.model_dump(mode="json"))


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _chunks(rows: Sequence[dict[str, Any]], size: int = 2000) -> Iterator[Sequence[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _fast(cls: type[_M], values: dict[str, Any]) -> _M:
    """Build a pydantic model from trusted, complete, already-typed values.

    Same result as ``model_construct`` (no validation) at a fraction of the cost, which matters for
    100k time entries: ``values`` must hold every field.
    """
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def _complete(cls: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults for fields a stored row lacks (rows written by an older version)."""
    for name, info in cls.model_fields.items():
        if name not in values:
            values[name] = info.get_default(call_default_factory=True)
    return values


# Record fields that need a type conversion when rebuilt without validation.
_TASK_DT = ("created_at", "started_at", "completed_at", "modified_at")


def _task_from_json(raw: str) -> Task:
    d = json.loads(raw)
    for key in _TASK_DT:
        d[key] = _dt(d.get(key))
    d["due_on"] = _d(d.get("due_on"))
    d["tags"] = tuple(d.get("tags") or ())
    d["actual_source"] = ActualSource(d.get("actual_source") or "none")
    d.setdefault("ai_fields", {})
    return _fast(Task, _complete(Task, d))


def _project_from_json(raw: str) -> Project:
    d = json.loads(raw)
    d["created_at"] = _dt(d.get("created_at"))
    d["start_on"] = _d(d.get("start_on"))
    d["due_on"] = _d(d.get("due_on"))
    d["portfolio_gids"] = tuple(d.get("portfolio_gids") or ())
    return _fast(Project, _complete(Project, d))


def _person_from_json(raw: str) -> Person:
    return _fast(Person, _complete(Person, json.loads(raw)))


def _change_from_json(raw: str) -> FieldChange:
    d = json.loads(raw)
    d["changed_at"] = _dt(d["changed_at"])
    return _fast(FieldChange, _complete(FieldChange, d))


def _comment_from_json(raw: str) -> Comment:
    d = json.loads(raw)
    d["created_at"] = _dt(d["created_at"])
    return _fast(Comment, _complete(Comment, d))


def _allocation_from_json(raw: str) -> Allocation:
    d = json.loads(raw)
    d["start_on"], d["end_on"] = date.fromisoformat(d["start_on"]), date.fromisoformat(d["end_on"])
    d["effort_unit"] = EffortUnit(d["effort_unit"]) if d.get("effort_unit") else None
    return _fast(Allocation, _complete(Allocation, d))


def _ooo_from_json(raw: str) -> OutOfOffice:
    d = json.loads(raw)
    d["start_on"], d["end_on"] = date.fromisoformat(d["start_on"]), date.fromisoformat(d["end_on"])
    return _fast(OutOfOffice, _complete(OutOfOffice, d))


_BILLABLE = {s.value: s for s in BillableStatus}


def _entry_from_row(row: Any) -> TimeEntry:
    return _fast(
        TimeEntry,
        {
            "gid": row[0],
            "task_gid": row[1],
            "user_gid": row[2],
            "entered_on": date.fromisoformat(row[3]),
            "duration_minutes": row[4],
            "project_gid": row[5],
            "billable_status": _BILLABLE.get(row[6]) if row[6] else None,
            "description": row[7],
            "created_at": _dt(row[8]) if row[8] else None,
        },
    )


def _entry_row(e: TimeEntry) -> dict[str, Any]:
    return {
        "gid": e.gid,
        "task_gid": e.task_gid,
        "user_gid": e.user_gid,
        "entered_on": e.entered_on.isoformat(),
        "duration_minutes": int(e.duration_minutes),
        "project_gid": e.project_gid,
        "billable_status": e.billable_status.value if e.billable_status else None,
        "description": e.description,
        "created_at": e.created_at.isoformat() if e.created_at else None,
    }


def _raw_rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    """Rows straight from the DB-API cursor (sqlite3 / psycopg): skips SQLAlchemy's per-row work,
    which dominates when loading 100k entries. ``sql`` is a constant without parameters."""
    cur = conn.connection.dbapi_connection.cursor()
    try:
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        cur.close()


def change_key(c: FieldChange) -> str:
    return f"{c.task_gid}|{c.field_name}|{c.changed_at.isoformat()}"


class Store:
    """The local store. See ``tools/store/__init__.py`` for the API summary."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    # -- construction ------------------------------------------------------------------------------
    @classmethod
    def open(cls, url: str = "sqlite:///.effort/effort.db", **engine_kwargs: Any) -> Store:
        """Open (and create tables in) the store at ``url`` (sqlite:///path or postgresql://...)."""
        engine = create_engine(prepare_url(url), **engine_kwargs)
        if engine.dialect.name == "sqlite":

            @event.listens_for(engine, "connect")
            def _pragmas(conn: Any, _record: Any) -> None:  # WAL: readers don't block the syncing writer
                cur = conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA busy_timeout=10000")
                cur.close()

        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- generic upsert -------------------------------------------------------------------------------
    def _upsert(self, table: Table, rows: Sequence[dict[str, Any]]) -> int:
        if not rows:
            return 0
        dialect = self.engine.dialect.name
        insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
        pk = [c.name for c in table.primary_key.columns]
        with self.engine.begin() as conn:
            for chunk in _chunks(rows):
                stmt = insert_fn(table)
                update = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in pk}
                conn.execute(stmt.on_conflict_do_update(index_elements=pk, set_=update), list(chunk))
        return len(rows)

    def _delete(self, table: Table, column: str, keys: Iterable[str]) -> int:
        keys = list(keys)
        n = 0
        with self.engine.begin() as conn:
            for i in range(0, len(keys), 500):
                n += conn.execute(delete(table).where(table.c[column].in_(keys[i : i + 500]))).rowcount or 0
        return n

    # -- writes (used by sync) --------------------------------------------------------------------------
    def upsert_people(self, people: Iterable[Person]) -> int:
        return self._upsert(people_t, [{"gid": p.gid, "data": _data(p)} for p in people])

    def upsert_projects(self, projects: Iterable[Project]) -> int:
        rows = [{"gid": p.gid, "archived": p.archived, "data": _data(p)} for p in projects]
        return self._upsert(projects_t, rows)

    def upsert_tasks(self, tasks: Iterable[Task]) -> int:
        rows = [
            {
                "gid": t.gid,
                "project_gid": t.project_gid,
                "parent_gid": t.parent_gid,
                "modified_at": t.modified_at.isoformat() if t.modified_at else None,
                "data": _data(t),
            }
            for t in tasks
        ]
        return self._upsert(tasks_t, rows)

    def upsert_entries(self, entries: Iterable[TimeEntry]) -> int:
        return self._upsert(entries_t, [_entry_row(e) for e in entries])

    def upsert_field_changes(self, changes: Iterable[FieldChange]) -> int:
        rows = [{"key": change_key(c), "task_gid": c.task_gid, "data": _data(c)} for c in changes]
        return self._upsert(field_changes_t, rows)

    def upsert_comments(self, comments: Iterable[Comment]) -> int:
        rows = [{"gid": c.gid, "task_gid": c.task_gid, "data": _data(c)} for c in comments]
        return self._upsert(comments_t, rows)

    def upsert_custom_fields(self, fields: Iterable[CustomFieldDef]) -> int:
        rows = [{"gid": f.gid, "name": f.name, "data": _data(f)} for f in fields]
        return self._upsert(custom_fields_t, rows)

    def upsert_allocations(self, allocations: Iterable[Allocation]) -> int:
        rows = [
            {"gid": a.gid, "person_gid": a.person_gid, "project_gid": a.project_gid, "data": _data(a)}
            for a in allocations
        ]
        return self._upsert(allocations_t, rows)

    def upsert_ooo_entries(self, entries: Iterable[OutOfOffice]) -> int:
        rows = [{"gid": o.gid, "person_gid": o.person_gid, "data": _data(o)} for o in entries]
        return self._upsert(ooo_entries_t, rows)

    def delete_allocations(self, gids: Iterable[str]) -> int:
        return self._delete(allocations_t, "gid", gids)

    def delete_ooo_entries(self, gids: Iterable[str]) -> int:
        return self._delete(ooo_entries_t, "gid", gids)

    def delete_tasks(self, gids: Iterable[str]) -> int:
        """Delete tasks and everything hanging off them (entries, field changes, comments)."""
        gids = list(gids)
        for table in (entries_t, field_changes_t, comments_t):
            self._delete(table, "task_gid", gids)
        return self._delete(tasks_t, "gid", gids)

    def delete_entries(self, gids: Iterable[str]) -> int:
        return self._delete(entries_t, "gid", gids)

    def delete_projects(self, gids: Iterable[str]) -> int:
        return self._delete(projects_t, "gid", gids)

    def delete_people(self, gids: Iterable[str]) -> int:
        return self._delete(people_t, "gid", gids)

    def delete_custom_fields(self, gids: Iterable[str]) -> int:
        return self._delete(custom_fields_t, "gid", gids)

    def delete_comments(self, gids: Iterable[str]) -> int:
        return self._delete(comments_t, "gid", gids)

    # -- fingerprints (sync diffs against these to count created/updated and skip no-op writes) -------
    def fingerprints(
        self, kind: str, *, keys: Iterable[str] | None = None, task_gids: Iterable[str] | None = None
    ) -> dict[str, str]:
        """``{key: serialised row}`` for kind in people|projects|tasks|entries|field_changes|comments|
        custom_fields|allocations|ooo_entries; ``keys`` limits to those primary keys, ``task_gids`` (entries, field_changes,
        comments) to rows of those tasks. An incremental sync only reads what it may touch."""
        table = _KINDS[kind]
        pk = next(iter(table.primary_key.columns))
        cols = list(table.columns) if table is entries_t else [pk, table.c.data]
        filters: list[tuple[Any, list[str]]] = []
        if keys is not None:
            filters.append((pk, list(keys)))
        if task_gids is not None:
            filters.append((table.c.task_gid, list(task_gids)))
        out: dict[str, str] = {}
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
            for r in rows:
                out[r[0]] = _dumps(list(r)) if table is entries_t else r[1]
        return out

    @staticmethod
    def fingerprint_of(kind: str, record: BaseModel) -> tuple[str, str]:
        """The ``(key, fingerprint)`` the store would hold for ``record`` (compare with :meth:`fingerprints`)."""
        if kind == "entries":
            assert isinstance(record, TimeEntry)
            row = _entry_row(record)
            return record.gid, _dumps(list(row.values()))
        if kind == "field_changes":
            assert isinstance(record, FieldChange)
            return change_key(record), _data(record)
        return str(getattr(record, "gid")), _data(record)  # noqa: B009

    # -- reads --------------------------------------------------------------------------------------
    def workspace(self, project_gids: list[str] | None = None, as_of: datetime | None = None) -> Workspace:
        """Everything analytics need, as one immutable ``Workspace``.

        ``project_gids`` limits projects, tasks (by home project), their entries and field changes.
        ``as_of`` pins "now": tasks created and entries entered after it are left out (default: now UTC,
        nothing left out).
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

    def _workspace(self, project_gids: list[str] | None, as_of: datetime | None) -> Workspace:
        wanted = set(project_gids) if project_gids else None
        cutoff = as_of.replace(tzinfo=UTC) if as_of is not None and as_of.tzinfo is None else as_of
        with self.engine.connect() as conn:
            people = tuple(_person_from_json(r[0]) for r in conn.execute(select(people_t.c.data)))
            projects = tuple(
                p
                for p in (_project_from_json(r[0]) for r in conn.execute(select(projects_t.c.data)))
                if wanted is None or p.gid in wanted
            )
            tasks_list = [_task_from_json(r[0]) for r in _raw_rows(conn, "SELECT data FROM effort_tasks")]
            if wanted is not None:
                tasks_list = [t for t in tasks_list if t.project_gid in wanted]
            if cutoff is not None:
                tasks_list = [t for t in tasks_list if t.created_at is None or t.created_at <= cutoff]
            task_gids = {t.gid for t in tasks_list}
            cols = ", ".join(c.name for c in entries_t.columns)
            entries = [_entry_from_row(r) for r in _raw_rows(conn, f"SELECT {cols} FROM effort_time_entries")]
            changes = [_change_from_json(r[0]) for r in conn.execute(select(field_changes_t.c.data))]
            allocations = [_allocation_from_json(r[0]) for r in conn.execute(select(allocations_t.c.data))]
            ooo = tuple(_ooo_from_json(r[0]) for r in conn.execute(select(ooo_entries_t.c.data)))
        if wanted is not None:  # an allocation is planned work on its project: scoped like tasks
            allocations = [a for a in allocations if a.project_gid in wanted]
        filter_tasks = wanted is not None or cutoff is not None
        if filter_tasks:
            entries = [e for e in entries if e.task_gid in task_gids]
            changes = [c for c in changes if c.task_gid in task_gids]
        if cutoff is not None:
            cut_day = cutoff.date()
            # What was known at ``as_of``: entries *logged* by then. One logged earlier but dated later is
            # kept: a future-dated entry is exactly what the anomaly detector must see.
            entries = [
                e
                for e in entries
                if (_aware(e.created_at) <= cutoff if e.created_at is not None else e.entered_on <= cut_day)
            ]
            changes = [c for c in changes if c.changed_at <= cutoff]
        return Workspace.model_construct(
            people=people,
            projects=projects,
            tasks=tuple(tasks_list),
            entries=tuple(entries),
            field_changes=tuple(changes),
            allocations=tuple(sorted(allocations, key=lambda a: a.gid)),
            out_of_office=tuple(sorted(ooo, key=lambda o: o.gid)),
            as_of=as_of or datetime.now(UTC),
        )

    def task(self, gid: str) -> Task | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(tasks_t.c.data).where(tasks_t.c.gid == gid)).first()
        return _task_from_json(row[0]) if row else None

    def tasks(self, project_gid: str | None = None) -> list[Task]:
        q = select(tasks_t.c.data)
        if project_gid is not None:
            q = q.where(tasks_t.c.project_gid == project_gid)
        with self.engine.connect() as conn:
            return [_task_from_json(r[0]) for r in conn.execute(q)]

    def entries_for_task(self, gid: str) -> list[TimeEntry]:
        q = (
            select(*entries_t.c)
            .where(entries_t.c.task_gid == gid)
            .order_by(entries_t.c.entered_on, entries_t.c.gid)
        )
        with self.engine.connect() as conn:
            return [_entry_from_row(r) for r in conn.execute(q)]

    def entry_minutes_by_task(self) -> dict[str, int]:
        """Sum of stored entry minutes per task (sync compares it with ``actual_time_minutes``)."""
        from sqlalchemy import func

        q = select(entries_t.c.task_gid, func.sum(entries_t.c.duration_minutes)).group_by(
            entries_t.c.task_gid
        )
        with self.engine.connect() as conn:
            return {r[0]: int(r[1] or 0) for r in conn.execute(q)}

    def comments_for_task(self, gid: str) -> list[Comment]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(comments_t.c.data).where(comments_t.c.task_gid == gid))
            return sorted((_comment_from_json(r[0]) for r in rows), key=lambda c: c.created_at)

    def field_changes_for_task(self, gid: str) -> list[FieldChange]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(field_changes_t.c.data).where(field_changes_t.c.task_gid == gid))
            return sorted((_change_from_json(r[0]) for r in rows), key=lambda c: c.changed_at)

    def people(self) -> list[Person]:
        with self.engine.connect() as conn:
            return [_person_from_json(r[0]) for r in conn.execute(select(people_t.c.data))]

    def projects(self) -> list[Project]:
        with self.engine.connect() as conn:
            return [_project_from_json(r[0]) for r in conn.execute(select(projects_t.c.data))]

    def allocations(self) -> list[Allocation]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(allocations_t.c.data).order_by(allocations_t.c.gid))
            return [_allocation_from_json(r[0]) for r in rows]

    def out_of_office(self) -> list[OutOfOffice]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(ooo_entries_t.c.data).order_by(ooo_entries_t.c.gid))
            return [_ooo_from_json(r[0]) for r in rows]

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
        from sqlalchemy import func

        with self.engine.connect() as conn:
            return {
                k: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for k, t in _KINDS.items()
            }

    # -- sync bookkeeping ---------------------------------------------------------------------------------
    def sync_state(self, scope: str) -> SyncState | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(sync_state_t).where(sync_state_t.c.scope == scope)).first()
        if row is None:
            return None
        return SyncState(
            scope=row[0], token=row[1], last_sync_at=_dt(row[2]), data=json.loads(row[3] or "{}")
        )

    def set_sync_state(self, state: SyncState) -> None:
        self._upsert(
            sync_state_t,
            [
                {
                    "scope": state.scope,
                    "token": state.token,
                    "last_sync_at": state.last_sync_at.isoformat() if state.last_sync_at else None,
                    "data": _dumps(state.data),
                }
            ],
        )

    def clear_sync_state(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sync_state_t))

    def start_sync_run(self, full: bool) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(
                sync_runs_t.insert().values(
                    started_at=datetime.now(UTC).isoformat(), full=full, status="running", summary="{}"
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def finish_sync_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sync_runs_t.update()
                .where(sync_runs_t.c.id == run_id)
                .values(finished_at=datetime.now(UTC).isoformat(), status=status, summary=_dumps(summary))
            )

    def sync_runs(self, limit: int = 20) -> list[SyncRun]:
        q = select(sync_runs_t).order_by(sync_runs_t.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [
                SyncRun(
                    id=r[0],
                    started_at=datetime.fromisoformat(r[1]),
                    finished_at=_dt(r[2]),
                    full=bool(r[3]),
                    status=r[4],
                    summary=json.loads(r[5] or "{}"),
                )
                for r in conn.execute(q)
            ]


_KINDS: dict[str, Table] = {
    "people": people_t,
    "projects": projects_t,
    "tasks": tasks_t,
    "entries": entries_t,
    "field_changes": field_changes_t,
    "comments": comments_t,
    "custom_fields": custom_fields_t,
    "allocations": allocations_t,
    "ooo_entries": ooo_entries_t,
}


def _aware(moment: datetime) -> datetime:
    """Naive datetimes from the store are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
