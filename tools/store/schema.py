"""The store's tables, and the additive migration that brings an older database up to date.

Layout: one table per record kind, ``gid`` primary key, a few indexed columns for filtering, and the
record itself as JSON text (``data``). Time entries are flat columns because there are ten times more
of them and loading must stay fast; their single-entry details (billable status, note, creation time,
approval status) sit beside the compact columns with ``details_fp``, the compact fingerprint they were
read against: when the compact record changes (``compact_fp`` differs) the details are stale and read
as unknown until re-read.

Migration choice: additive only. Opening a store creates missing tables and adds missing columns
(nullable, no default) with ``ALTER TABLE ADD COLUMN``, on SQLite and PostgreSQL alike; nothing is
dropped or rewritten, so an older database keeps every row. Rows from before this version have no
details (``details_fp`` NULL): sync's detail backfill reads them on the next run.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Engine, Integer, MetaData, String, Table, Text, inspect, text

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
ENTRY_COMPACT = ("gid", "task_gid", "user_gid", "entered_on", "duration_minutes", "project_gid", "categories")
ENTRY_DETAILS = ("billable_status", "description", "created_at", "approval_status", "details_read_at")
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
    Column("categories", Text),  # JSON list of category names
    Column("approval_status", String(20)),
    Column("details_read_at", String(40)),
    Column("compact_fp", String(40)),  # fingerprint of the compact columns as last listed
    Column("details_fp", String(40)),  # compact_fp when the details were read (equal = current)
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
# Which state of each task its stories were read for: stories need re-reading once modified_at moves
# (Asana bumps it on every story), unless the events already accounted for the change.
task_stories_t = Table(
    "effort_task_stories",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("modified_at", String(40)),
    Column("read_at", String(40)),
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
budgets_t = Table(
    "effort_budgets",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("project_gid", String(64), index=True),
    Column("data", Text, nullable=False),
)
rates_t = Table(
    "effort_rates",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("project_gid", String(64), index=True),
    Column("data", Text, nullable=False),
)
time_categories_t = Table(
    "effort_time_categories",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("data", Text, nullable=False),
)
timesheet_approvals_t = Table(
    "effort_timesheet_approvals",
    metadata,
    Column("gid", String(64), primary_key=True),
    Column("person_gid", String(64), index=True),
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
    Column("host", String(200)),  # who runs it: a `running` run whose process is gone was interrupted
    Column("pid", Integer),
    Column("heartbeat_at", String(40)),
)

KINDS: dict[str, Table] = {
    "people": people_t,
    "projects": projects_t,
    "tasks": tasks_t,
    "entries": entries_t,
    "field_changes": field_changes_t,
    "comments": comments_t,
    "custom_fields": custom_fields_t,
    "allocations": allocations_t,
    "ooo_entries": ooo_entries_t,
    "budgets": budgets_t,
    "rates": rates_t,
    "time_categories": time_categories_t,
    "timesheet_approvals": timesheet_approvals_t,
}


def migrate(engine: Engine) -> list[str]:
    """Create missing tables, add missing columns; returns ``table.column`` for each column added."""
    metadata.create_all(engine)
    existing = inspect(engine)
    added: list[str] = []
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            have = {c["name"] for c in existing.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                kind = column.type.compile(dialect=engine.dialect)
                conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
                added.append(f"{table.name}.{column.name}")
    return added
