"""The full crawl: every scope project's tasks and time entries, stored project by project.

Request plan: ``/users`` and ``/projects`` (pages), then per scope project its custom field settings and
``/projects/{gid}/tasks`` with every field mapping needs in one pass (limit 100), then the entries of
each task **whose ``actual_time_minutes`` is not 0** (a task without logged time costs nothing) with
``/tasks/{gid}/time_tracking_entries`` - or, where a probe saw the workspace-wide list return each
entry's task, ``/time_tracking_entries?workspace=`` 100 at a time. The events token is taken *before*
the crawl so nothing changed during it is lost.

Resumable: the crawl writes a checkpoint (``crawl:<workspace>``: the events token, the scope, the
projects done) and stores each project's tasks and entries as soon as they are read. A crawl that dies
half-way (429 storm, network, ``kill -9``) is continued by the next run from the first project not done,
and only the end of a complete crawl deletes what Asana no longer has.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tools.gateway.errors import BadRequestError, NotFoundError, PaymentRequiredError, SyncTokenExpired
from tools.gateway.fields import PROJECT_FIELDS, TASK_FIELDS
from tools.scope import ScopeRule
from tools.scope import key as scope_key
from tools.store import SyncState
from tools.sync.apply import (
    WorkBatch,
    apply_field_defs,
    apply_people,
    apply_projects,
    apply_work,
    mapping_context,
)
from tools.sync.details import entry_fields, probe_entry_lists
from tools.sync.job import SyncJob, log

Payload = dict[str, Any]
CRAWL_TTL = timedelta(hours=20)  # events tokens live ~24 h: an older checkpoint starts over
TAGS_UNIT = "tags"


def scope_signature(job: SyncJob) -> dict[str, list[str]]:
    sc = job.options.scope
    return {"projects": sorted(sc.projects), "portfolios": sorted(sc.portfolios), "tags": sorted(sc.tags)}


def resumable(job: SyncJob, ws: str) -> SyncState | None:
    """The checkpoint of an unfinished full crawl of this scope, if it is recent enough to continue."""
    cp = job.store.sync_state(f"crawl:{ws}")
    if cp is None or cp.data.get("scope") != scope_signature(job):
        return None
    if cp.last_sync_at is None or job.started - cp.last_sync_at > CRAWL_TTL:
        return None
    return cp


def full_crawl(job: SyncJob, ws: str, resume: SyncState | None) -> SyncState:
    gw, store = job.gw, job.store
    key = f"crawl:{ws}"
    if resume is None:
        store.delete_sync_states(key)  # leftovers of an abandoned crawl
    token_data = dict(resume.data["token_data"]) if resume else workspace_token(job, ws)
    job.progress("people", 0, None)
    apply_people(job, list(gw.iter_users(ws)))
    job.progress("projects", 0, None)
    projects = list(gw.iter_projects(ws, PROJECT_FIELDS))
    scope, portfolios = resolve_scope(job, ws, projects)
    apply_projects(job, projects, scope, portfolios)
    wanted = [str(p["gid"]) for p in projects if scope is None or p["gid"] in scope]
    if not token_data:
        token_data = project_tokens(job, wanted)
    by_workspace = probe_entry_lists(job, ws)
    done: set[str] = set(resume.data.get("done", [])) if resume else set()
    fields_seen: set[str] = set(resume.data.get("fields", [])) if resume else set()
    started = resume.last_sync_at if resume else job.started

    def checkpoint() -> None:
        data = {"token_data": token_data, "scope": scope_signature(job), "done": sorted(done)}
        store.set_sync_state(
            SyncState(scope=key, last_sync_at=started, data=data | {"fields": sorted(fields_seen)})
        )

    checkpoint()
    fields_before = store.fingerprints("custom_fields")
    units = [p for p in wanted if p not in done]
    if job.options.scope.tags and TAGS_UNIT not in done:
        units.append(TAGS_UNIT)
    seen: set[str] = set()
    for state in store.sync_states(f"{key}:unit:"):
        seen |= set(state.data.get("tasks", []))
    ctx = mapping_context(job, scope, portfolios)
    ws_entries = entries_workspace_wide(job, ws) if by_workspace else None
    fields = entry_fields(job)

    def list_unit(unit: str) -> tuple[str, list[Payload], list[Payload]]:
        if unit == TAGS_UNIT:
            return unit, [], tag_tasks(job, ws)
        try:
            settings = list(gw.iter_custom_field_settings(unit))
        except PaymentRequiredError:  # free workspace: values still arrive on each task
            settings = []
            job.warn("custom field settings need a premium workspace")
        return unit, settings, list(gw.iter_tasks_for_project(unit, TASK_FIELDS))

    for n, (unit, settings, listed) in enumerate(gw.imap(list_unit, units), 1):
        fields_seen |= apply_field_defs(job, {unit: settings}, merge=True, count=False)
        tasks = {str(t["gid"]): t for t in listed if str(t["gid"]) not in seen}
        batch = WorkBatch(tasks=tasks)
        need = [g for g, t in tasks.items() if minutes(t) != 0]
        for g, t in tasks.items():
            if minutes(t) == 0:
                batch.entries[g] = []
        if ws_entries is not None:
            for g in need:
                batch.entries[g] = ws_entries.get(g, [])
        else:
            batch.entries.update(read_entries(job, need, fields))
        apply_work(job, ctx, batch, incremental=False)
        seen |= set(tasks)
        store.set_sync_state(SyncState(scope=f"{key}:unit:{unit}", data={"tasks": sorted(tasks)}))
        done.add(unit)
        checkpoint()
        job.progress("projects crawled", n, len(units))
    # Complete: now (and only now) what was not seen is gone.
    job.delete("tasks", store.task_gids() - seen, store.delete_tasks)
    fields_after = store.fingerprints("custom_fields")
    counts = job.count("custom_fields")
    for gid, fp in fields_after.items():
        old = fields_before.get(gid)
        if old is None:
            counts.created += 1
        elif old != fp:
            counts.updated += 1
        else:
            counts.unchanged += 1
    stale_fields = set(fields_after) - fields_seen
    if stale_fields and wanted:
        job.delete("custom_fields", stale_fields, store.delete_custom_fields)
    store.delete_sync_states(key)
    data = {k: v for k, v in token_data.items() if k != "token"}
    data["scope_projects"] = sorted(scope) if scope is not None else None
    return SyncState(
        scope=f"workspace:{ws}", token=token_data.get("token"), last_sync_at=job.started, data=data
    )


def minutes(task: Payload) -> int | None:
    """A task's ``actual_time_minutes`` as an int; None when absent or unusable (then read entries).

    An explicit null means "no time logged" (Asana and the sandbox send null for a task without entries;
    a token that may not read time tracking could not list the entries either)."""
    if "actual_time_minutes" not in task:
        return None
    v = task.get("actual_time_minutes")
    if v is None:
        return 0
    if isinstance(v, bool) or not isinstance(v, int | float) or v != v:
        return None
    return int(v)


def read_entries(job: SyncJob, task_gids: list[str], fields: str) -> dict[str, list[Payload]]:
    """Each task's complete entry list (``/tasks/{gid}/time_tracking_entries``); a task deleted
    meanwhile is left out (the next sync's events say so)."""

    def one(gid: str) -> tuple[str, list[Payload] | None]:
        try:
            return gid, list(job.gw.iter_time_entries_for_task(gid, fields))
        except NotFoundError:
            return gid, None

    out: dict[str, list[Payload]] = {}
    for gid, items in job.gw.imap(one, task_gids):
        if items is not None:
            out[gid] = items
    return out


def entries_workspace_wide(job: SyncJob, ws: str) -> dict[str, list[Payload]]:
    """Every entry of the workspace, 100 a page, grouped by task."""
    by_task: dict[str, list[Payload]] = {}
    items = job.gw.iter_time_entries(
        entry_fields(job, with_task=True), workspace=ws, entered_on_start_date="1970-01-01"
    )
    for i, e in enumerate(items):
        task = e.get("task")
        gid = str(task.get("gid")) if isinstance(task, dict) and task.get("gid") else None
        if gid:
            by_task.setdefault(gid, []).append(e)
        if i % 1000 == 0:
            job.progress("entries (workspace-wide)", i, None)
    return by_task


def tag_tasks(job: SyncJob, ws: str) -> list[Payload]:
    """Tasks carrying a scope tag (wherever they live)."""
    known = {t["gid"]: t.get("name") for t in job.gw.iter_tags(ws)}
    by_name = {scope_key(str(n)): g for g, n in known.items() if n}
    out: list[Payload] = []
    for ref in job.options.scope.tags:
        tg = ref if ref in known else by_name.get(scope_key(ref))
        if tg is None:
            job.warn(f"tag {ref!r} not found")
            continue
        out += list(job.gw.iter_tasks_for_tag(tg, TASK_FIELDS))
    return out


def resolve_scope(
    job: SyncJob, ws: str, projects: list[Payload]
) -> tuple[set[str] | None, dict[str, tuple[str, ...]]]:
    """Which projects to read (None = all) and each project's listed portfolios. The decision is
    the one scope rule's (tools/scope.py); this function only fetches what it needs to decide."""
    sc = job.options.scope
    names: dict[str, str] = {}
    members: dict[str, set[str]] = {}
    if sc.portfolios:
        if any(not x.isdigit() for x in sc.portfolios):
            names = {str(p["gid"]): str(p.get("name") or "") for p in job.gw.iter_portfolios(ws)}
        listed = {scope_key(ref) for ref in sc.portfolios}
        wanted = {ref for ref in sc.portfolios if ref.isdigit()}
        wanted |= {gid for gid, name in names.items() if scope_key(name) in listed}
        for pf in sorted(wanted):
            members[pf] = {
                str(item["gid"])
                for item in job.gw.iter_portfolio_items(pf)
                if item.get("resource_type", "project") == "project"
            }
    job.rule = ScopeRule.resolve(
        sc,
        [(str(p["gid"]), str(p.get("name") or "")) for p in projects],
        portfolio_projects=members,
        portfolio_names=names,
    )
    for ref in job.rule.unresolved:
        job.warn(f"{ref} not found")
    by_project: dict[str, list[str]] = {}
    for pf, project_gids in members.items():
        for gid in project_gids:
            by_project.setdefault(gid, []).append(pf)
    portfolios = {k: tuple(sorted(v)) for k, v in by_project.items()}
    if not job.rule.configured or job.rule.all_projects:
        return None, portfolios
    return set(job.rule.project_gids), portfolios


def workspace_token(job: SyncJob, ws: str) -> dict[str, Any]:
    """Start the workspace event stream now, before crawling, so no change made during the crawl is
    lost. Empty when the server has no workspace events (then per-project streams are used)."""
    try:
        job.gw.workspace_events(ws, None)
    except SyncTokenExpired as exc:
        if exc.new_token:
            return {"events": "workspace", "token": exc.new_token}
    except (NotFoundError, BadRequestError) as exc:
        log.info("workspace events unavailable (%s); using per-project events", exc.status)
    return {}


def project_tokens(job: SyncJob, project_gids: list[str]) -> dict[str, Any]:
    tokens: dict[str, str] = {}
    for pgid in project_gids:
        try:
            job.gw.events(pgid, None)
        except SyncTokenExpired as exc:
            if exc.new_token:
                tokens[pgid] = exc.new_token
    return {"events": "project", "token": "per-project", "project_tokens": tokens}
