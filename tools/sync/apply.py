"""Map crawled payloads to records and write what changed: people, projects, custom field definitions,
tasks with their entries, field changes. Used by the full crawl (one project at a time, so a crawl
interrupted half-way keeps every project it finished) and by the incremental sync.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tools.records import FieldChange, Task, TimeEntry
from tools.store import CustomFieldDef, EnumOptionDef
from tools.sync.job import SyncJob
from tools.sync.mapping import (
    MappingContext,
    field_context_from_definitions,
    gid_of,
    list_field,
    map_entry,
    map_project,
    map_task,
    map_user,
)

Payload = dict[str, Any]


@dataclass
class WorkBatch:
    """Tasks (and, for the tasks that were re-listed, their complete entry lists) to write together."""

    tasks: dict[str, Payload] = field(default_factory=dict)
    entries: dict[str, list[Payload]] = field(default_factory=dict)  # task gid -> its entries (complete)
    deleted_tasks: set[str] = field(default_factory=set)
    # task gid -> (when, who) of its latest custom-field change, from events (estimate history)
    change_meta: dict[str, tuple[datetime | None, str | None]] = field(default_factory=dict)


def apply_people(job: SyncJob, users: list[Payload]) -> None:
    ctx = job.mapping()
    people = [p for p in (map_user(u, ctx) for u in users) if p is not None]
    job.replace("people", people, job.store.upsert_people)


def apply_projects(
    job: SyncJob, projects: list[Payload], scope: set[str] | None, portfolios: Mapping[str, tuple[str, ...]]
) -> None:
    ctx = job.mapping(scope_projects=scope, portfolios_by_project=dict(portfolios))
    wanted = [p for p in projects if scope is None or p["gid"] in scope]
    mapped = [p for p in (map_project(x, ctx) for x in wanted) if p is not None]
    job.replace("projects", mapped, job.store.upsert_projects)


def field_def(d: Payload, projects: Iterable[str]) -> CustomFieldDef:
    opts = tuple(
        EnumOptionDef(gid=str(o["gid"]), name=str(o.get("name") or ""), enabled=bool(o.get("enabled", True)))
        for o in d.get("enum_options") or []
        if isinstance(o, dict) and o.get("gid")
    )
    precision = d.get("precision")
    return CustomFieldDef(
        gid=str(d["gid"]),
        name=str(d.get("name") or ""),
        type=str(d.get("resource_subtype") or d.get("type") or "unknown"),
        format=d.get("format"),
        precision=precision if isinstance(precision, int) else None,
        custom_label=d.get("custom_label"),
        custom_label_position=d.get("custom_label_position"),
        currency_code=d.get("currency_code"),
        enum_options=opts,
        project_gids=tuple(sorted(set(projects))),
    )


def apply_field_defs(
    job: SyncJob, settings: dict[str, list[Payload]], *, merge: bool, count: bool = True
) -> set[str]:
    """Custom field definitions from ``{project gid: its custom field settings}``; with ``merge`` a
    definition keeps the projects it was attached to before. Returns the field gids seen. ``count=False``
    writes without counting (the crawl counts once, at its end, what changed since its start)."""
    defs: dict[str, Payload] = {}
    projects: dict[str, set[str]] = {}
    for pgid, items in settings.items():
        for s in items:
            cf = s.get("custom_field")
            if isinstance(cf, dict) and cf.get("gid"):
                defs[cf["gid"]] = cf
                projects.setdefault(cf["gid"], set()).add(pgid)
    if not defs:
        return set()
    old = {f.gid: f for f in job.store.custom_fields()} if merge else {}
    records = [
        field_def(d, projects[g] | set(old[g].project_gids if g in old else ())) for g, d in defs.items()
    ]
    if count:
        job.diff_write("custom_fields", records, job.store.upsert_custom_fields)
    else:
        job.store.upsert_custom_fields(records)
    return set(defs)


def mapping_context(
    job: SyncJob, scope: set[str] | None, portfolios: Mapping[str, tuple[str, ...]]
) -> MappingContext:
    """A mapping context for tasks and stories: stored projects, field names and units."""
    ctx = job.mapping(scope_projects=scope, portfolios_by_project=dict(portfolios))
    ctx.projects = {p.gid: p for p in job.store.projects()}
    fields = job.store.custom_fields()
    field_context_from_definitions(
        (
            {
                "gid": f.gid,
                "name": f.name,
                "resource_subtype": f.type,
                "format": f.format,
                "custom_label": f.custom_label,
            }
            for f in fields
        ),
        ctx,
    )
    ctx.category_names = {c.gid: c.name for c in job.store.time_categories()}
    return ctx


def apply_work(
    job: SyncJob,
    ctx: MappingContext,
    batch: WorkBatch,
    *,
    incremental: bool,
    stored_sums: dict[str, int] | None = None,
    stored_first: dict[str, str] | None = None,
) -> list[Task]:
    """Write ``batch``'s tasks and entries (only what changed). Each re-listed task's entries become
    exactly its listing. Incremental batches come from workspace-wide events: a task that is no longer
    in a scope project (or carrying a scope tag) left the scope and is deleted. Returns the tasks that
    changed."""
    store = job.store
    entries: list[TimeEntry] = []
    for tgid, items in batch.entries.items():
        if tgid in batch.deleted_tasks:
            continue
        entries += [e for e in (map_entry(raw, ctx, tgid) for raw in items) if e is not None]
    ctx.entry_minutes, ctx.first_entry = {}, {}
    for e in entries:
        ctx.entry_minutes[e.task_gid] = ctx.entry_minutes.get(e.task_gid, 0) + e.duration_minutes
        first = ctx.first_entry.get(e.task_gid)
        if first is None or e.entered_on < first:
            ctx.first_entry[e.task_gid] = e.entered_on
    for g in batch.tasks:  # tasks whose entries were not re-listed keep their stored sums
        if g not in batch.entries:
            if stored_sums and g in stored_sums:
                ctx.entry_minutes[g] = stored_sums[g]
            if stored_first and g in stored_first:
                ctx.first_entry[g] = date.fromisoformat(stored_first[g])
    tasks: list[Task] = []
    left_scope: set[str] = set()
    for gid, payload in batch.tasks.items():
        if gid in batch.deleted_tasks:
            continue
        t = map_task(payload, ctx)
        if t is None:
            continue
        if incremental and not in_scope(job, t, payload, ctx.scope_projects):
            left_scope.add(gid)
            continue
        tasks.append(t)
    existing = store.fingerprints("tasks", keys=set(batch.tasks) | batch.deleted_tasks)
    old_tasks = {t.gid: store.task(t.gid) for t in tasks if t.gid in existing}
    changed = job.diff_write("tasks", tasks, store.upsert_tasks, existing)
    gone = (batch.deleted_tasks | left_scope) & set(existing)
    job.delete("tasks", gone, store.delete_tasks)
    # Entries: each re-listed task's set is replaced.
    listed = {g for g in batch.entries if g not in batch.deleted_tasks and g not in left_scope}
    entries = [e for e in entries if e.task_gid in listed]
    before = store.fingerprints("entries", task_gids=listed)
    job.diff_write("entries", entries, store.upsert_entries, before)
    with_details = [e for e in entries if e.details_read_at is not None]
    if with_details:  # details came with the list (a lenient server): keep them current
        current = store.entries_with_current_details(e.gid for e in with_details)
        fresh = [e for e in with_details if e.gid not in current]
        store.upsert_entries(fresh)
        job.details_read += len(fresh)
    keep = {e.gid for e in entries}
    job.delete("entries", [g for g in before if g not in keep], store.delete_entries)
    _estimate_changes(job, changed, old_tasks, batch)
    return changed


def _estimate_changes(
    job: SyncJob, changed: list[Task], old: dict[str, Task | None], batch: WorkBatch
) -> None:
    """An estimate that differs from the stored one is a change, dated by its event (or the task's
    ``modified_at``): exact when one change happened since the last sync. Stories, read where more
    happened, replace these with the full history."""
    name = estimate_field_name(job)
    changes: list[FieldChange] = []
    for t in changed:
        prev = old.get(t.gid)
        if prev is None or prev.estimate_hours == t.estimate_hours:
            continue
        when, by = batch.change_meta.get(t.gid, (None, None))
        changes.append(
            FieldChange(
                task_gid=t.gid,
                field_name=name,
                old_value=prev.estimate_hours,
                new_value=t.estimate_hours,
                changed_at=when or t.modified_at or job.started,
                by_gid=by,
            )
        )
    if changes:
        job.diff_write("field_changes", changes, job.store.upsert_field_changes)


def estimate_field_name(job: SyncJob) -> str:
    for f in job.store.custom_fields():
        if job.rules.role_of({"gid": f.gid, "name": f.name, "resource_subtype": f.type}) == "estimate":
            return f.name
    return job.rules.estimate[0] if job.rules.estimate else "Estimate"


def in_scope(job: SyncJob, task: Task, payload: Payload, scope: set[str] | None) -> bool:
    """Whether a task read from workspace-wide events belongs to the scope: a member of a scope project,
    or carrying a scope tag (the decision is the one scope rule's, tools/scope.py)."""
    member_of = {
        str(g)
        for g in (gid_of(m.get("project")) for m in list_field(payload, "memberships") if isinstance(m, dict))
        if g
    }
    member_of |= {str(g) for g in (gid_of(p) for p in list_field(payload, "projects")) if g}
    if scope is None:
        if member_of:
            return True
    elif member_of & scope:
        return True
    tags = [
        str(v)
        for tg in list_field(payload, "tags")
        if isinstance(tg, dict)
        for v in (tg.get("gid"), tg.get("name"))
        if v
    ]
    return job.scope_rule().tag_matches([*tags, *task.tags])
