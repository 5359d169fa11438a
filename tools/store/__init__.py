"""The local store (SQLAlchemy 2 Core; SQLite by default, PostgreSQL via ``EFFORT_DATABASE_URL``).

Public API (stable; other parts depend on it)::

    from tools.store import Store, CustomFieldDef
    store = Store.open(url)            # "sqlite:///.effort/effort.db" | "postgresql://user@host/db"
                                       # (postgresql:// is mapped to the psycopg 3 driver)
    ws = store.workspace(project_gids=None, as_of=None) -> tools.records.Workspace
        # people, projects, tasks, entries, field_changes, allocations (scoped by project),
        # out_of_office; as_of pins "now" and drops later tasks, entries and changes
    store.task(gid) -> Task | None
    store.tasks(project_gid=None) -> list[Task]
    store.entries_for_task(gid) -> list[TimeEntry]
    store.comments_for_task(gid) / store.field_changes_for_task(gid)
    store.people() / store.projects() / store.allocations() / store.out_of_office()
    store.custom_fields() -> list[CustomFieldDef]          # gid, name, type, format, precision,
    store.custom_field_by_name("AI Estimate Hours")        #   enum_options (gid, name), project_gids
    store.upsert_people/projects/tasks/entries/field_changes/comments/custom_fields(records) -> int
    store.delete_tasks([gid, ...])     # also deletes their entries, field changes and comments
    store.upsert_allocations / upsert_ooo_entries / delete_allocations / delete_ooo_entries
    store.delete_entries / delete_projects / delete_people / delete_custom_fields / delete_comments
    store.counts() -> {"tasks": n, ...}
    store.sync_state(scope) / set_sync_state(SyncState) / start_sync_run / finish_sync_run / sync_runs()
    store.engine                       # a SQLAlchemy Engine: create your own tables (own MetaData) on it
    normalise_url(url) -> str          # postgresql:// | postgres:// -> postgresql+psycopg://
    prepare_url(url) -> str            # normalise_url + create a SQLite file's folder (for own engines)

Tables are prefixed ``effort_``; other parts must use their own prefixes.
"""

from tools.store.db import (
    CustomFieldDef,
    EnumOptionDef,
    Store,
    SyncRun,
    SyncState,
    normalise_url,
    prepare_url,
)

__all__ = ["CustomFieldDef", "EnumOptionDef", "Store", "SyncRun", "SyncState", "normalise_url", "prepare_url"]
