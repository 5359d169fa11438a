"""The local store (SQLAlchemy 2 Core; SQLite by default, PostgreSQL via ``EFFORT_DATABASE_URL``).

Public API (stable; other parts depend on it)::

    from tools.store import Store, CustomFieldDef, StoreError
    store = Store.open(url)            # "sqlite:///.effort/effort.db" | "postgresql://user@host/db"
                                       # (postgresql:// is mapped to the psycopg 3 driver); creates or
                                       # migrates tables (additive); StoreError when it cannot
    ws = store.workspace(project_gids=None, as_of=None) -> tools.records.Workspace
        # people, projects, tasks, entries (with details where read: TimeEntry.details_read_at),
        # field_changes, allocations, budgets and rates (scoped by project), out_of_office,
        # categories, timesheet_approvals; as_of pins "now" and drops later tasks, entries and changes
    store.task(gid) -> Task | None
    store.tasks(project_gid=None) -> list[Task]
    store.entries_for_task(gid) -> list[TimeEntry]
    store.comments_for_task(gid) / store.field_changes_for_task(gid)
    store.people() / projects() / allocations() / out_of_office() / budgets() / rates()
    store.time_categories() / timesheet_approvals()
    store.custom_fields() -> list[CustomFieldDef]          # gid, name, type, format, precision,
    store.custom_field_by_name("AI Estimate Hours")        #   enum_options (gid, name), project_gids
    store.upsert_people/projects/tasks/entries/field_changes/comments/custom_fields(records) -> int
    store.upsert_allocations/ooo_entries/budgets/rates/time_categories/timesheet_approvals(records)
    store.delete_tasks([gid, ...])     # also deletes their entries, field changes, comments
    store.delete_kind(kind, gids) / delete_entries / delete_projects / delete_people / ...
    store.counts() -> {"tasks": n, ...}
    store.coverage(window_start, stories_since) -> Coverage   # what share of the details is read
    store.sync_state(scope) / set_sync_state(SyncState) / start_sync_run / finish_sync_run / sync_runs()
        # a run left `running` by a killed process is marked `interrupted` by the next start
    store.engine                       # a SQLAlchemy Engine: create your own tables (own MetaData) on it
    normalise_url(url) -> str          # postgresql:// | postgres:// -> postgresql+psycopg://
    prepare_url(url) -> str            # normalise_url + create a SQLite file's folder (for own engines)
    describe_store_error(exc, url)     # one line for a storage failure (password hidden)

Tables are prefixed ``effort_``; other parts must use their own prefixes.
"""

from tools.store.db import (
    Coverage,
    CustomFieldDef,
    EnumOptionDef,
    FieldCoverage,
    Store,
    StoreError,
    SyncRun,
    SyncState,
    describe_store_error,
    normalise_url,
    prepare_url,
    safe_url,
)

__all__ = [
    "Coverage",
    "CustomFieldDef",
    "EnumOptionDef",
    "FieldCoverage",
    "Store",
    "StoreError",
    "SyncRun",
    "SyncState",
    "describe_store_error",
    "normalise_url",
    "prepare_url",
    "safe_url",
]
