"""Incremental sync: events say what changed; only that is read.

Request plan: one ``/workspaces/{gid}/events`` call per 1,000 events (per-project ``/events`` when the
workspace stream is unavailable) names the tasks created, changed and deleted and the entries touched;
changed tasks are then read in pages of 100 with search (``modified_at.after``, sorted), falling back to
``GET /tasks/{gid}`` for any the search index has not caught up with (or when search is unavailable);
entries are re-listed only for tasks with entry events or whose ``actual_time_minutes`` differs from the
stored sum, and a changed entry's details are re-read (one request each). 100 changed tasks cost 2-3
requests plus one per changed entry. Stories: see tools/sync/stories.py.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tools.gateway.errors import BadRequestError, NotFoundError, SyncTokenExpired
from tools.gateway.fields import PROJECT_FIELDS, TASK_FIELDS
from tools.store import SyncState
from tools.sync.apply import WorkBatch, apply_field_defs, apply_projects, apply_work, mapping_context
from tools.sync.crawl import minutes, read_entries
from tools.sync.details import entry_fields
from tools.sync.job import SyncJob, log
from tools.sync.mapping import parse_datetime
from tools.sync.stories import read_stories

MAX_INCREMENTAL_TASKS = 3000  # more changed tasks than this: a full crawl is cheaper
Payload = dict[str, Any]


@dataclass
class _Changes:
    """What the events say."""

    tasks: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    entry_tasks: set[str] = field(default_factory=set)
    entries_changed: set[str] = field(default_factory=set)
    entries_deleted: set[str] = field(default_factory=set)
    field_changes: Counter[str] = field(default_factory=Counter)  # task -> custom field changes seen
    commented: set[str] = field(default_factory=set)
    projects_touched: bool = False
    field_projects: set[str] = field(default_factory=set)
    earliest: datetime | None = None
    meta: dict[str, tuple[datetime | None, str | None]] = field(default_factory=dict)

    def saw(self, when: datetime | None) -> None:
        if when and (self.earliest is None or when < self.earliest):
            self.earliest = when


def read_events(job: SyncJob, ws: str, state: SyncState) -> tuple[list[Payload], dict[str, Any]]:
    data = dict(state.data)
    events: list[Payload] = []
    if data.get("events", "workspace") == "workspace":
        token = state.token
        while True:
            page, token, more = job.gw.workspace_events(ws, token)
            events += page
            job.progress("events", len(events), None)
            if not more:
                break
        data["token"] = token
    else:
        tokens = dict(data.get("project_tokens") or {})
        for pgid in list(tokens):
            token = tokens[pgid]
            while True:
                page, token, more = job.gw.events(pgid, token)
                events += page
                if not more:
                    break
            tokens[pgid] = token
        data["project_tokens"] = tokens
        data["token"] = "per-project"
    return events, data


def _classify(events: list[Payload]) -> _Changes:
    ch = _Changes()
    for ev in events:
        res = ev.get("resource") or {}
        parent = ev.get("parent") or {}
        rtype, action, rgid = res.get("resource_type"), ev.get("action"), res.get("gid")
        when = parse_datetime(ev.get("created_at"))
        change = ev.get("change") or {}
        if rtype == "task" and rgid:
            if action == "deleted":
                ch.deleted.add(rgid)
                ch.tasks.discard(rgid)
                continue
            ch.deleted.discard(rgid)
            ch.tasks.add(rgid)
            if change.get("field") == "custom_fields" or action in ("added", "undeleted"):
                ch.meta[rgid] = (when, (ev.get("user") or {}).get("gid"))
            ch.saw(when)
        elif rtype == "time_tracking_entry" and parent.get("gid"):
            ch.entry_tasks.add(parent["gid"])
            ch.saw(when)
            if rgid and action == "deleted":
                ch.entries_deleted.add(rgid)
            elif rgid:
                ch.entries_changed.add(rgid)
        elif rtype == "story" and parent.get("gid") and action == "added":
            subtype = str(res.get("resource_subtype") or "")
            if subtype.endswith("custom_field_changed"):
                ch.field_changes[parent["gid"]] += 1
            elif subtype == "comment_added":
                ch.commented.add(parent["gid"])
        elif rtype == "project":
            ch.projects_touched = True
        elif rtype in ("custom_field", "custom_field_setting"):
            if parent.get("resource_type") == "project" and parent.get("gid"):
                ch.field_projects.add(parent["gid"])
            ch.projects_touched = True
    return ch


def incremental(job: SyncJob, ws: str, state: SyncState) -> tuple[SyncState, set[str]]:
    """Apply what changed since ``state``'s token; returns the new state and the changed entries whose
    details must be re-read wherever they are (they had details before)."""
    gw, store = job.gw, job.store
    events, data = read_events(job, ws, state)
    ch = _classify(events)
    scope_list = state.data.get("scope_projects")
    scope = set(scope_list) if scope_list is not None else None
    job.progress("events", len(events), len(events))
    if len(ch.tasks) + len(ch.entry_tasks) > MAX_INCREMENTAL_TASKS:
        raise SyncTokenExpired("too many changes for an incremental sync", new_token=None)
    batch = WorkBatch(deleted_tasks=set(ch.deleted), change_meta=ch.meta)
    known_projects = {p.gid for p in store.projects()}
    portfolios = {p.gid: p.portfolio_gids for p in store.projects()}
    new_projects: list[str] = []
    if ch.projects_touched:
        projects = list(gw.iter_projects(ws, PROJECT_FIELDS))
        apply_projects(job, projects, scope, portfolios)
        if scope is None:
            new_projects = [p["gid"] for p in projects if p["gid"] not in known_projects]
        settings = {
            pg: list(gw.iter_custom_field_settings(pg)) for pg in ch.field_projects | set(new_projects)
        }
        apply_field_defs(job, settings, merge=True)
    for pg in new_projects:
        for t in gw.iter_tasks_for_project(pg, TASK_FIELDS):
            batch.tasks.setdefault(str(t["gid"]), t)
    # An entry change also changes its task (modified_at, actual_time_minutes): re-read it too.
    wanted = (ch.tasks | ch.entry_tasks) - ch.deleted
    _fetch_changed_tasks(job, ws, batch, wanted - set(batch.tasks), ch.earliest)
    sums = store.entry_minutes_by_task()
    recheck = {g for g, t in batch.tasks.items() if minutes(t) != 0 and minutes(t) != sums.get(g, 0)}
    zero = {g for g, t in batch.tasks.items() if minutes(t) == 0 and sums.get(g, 0)}
    for g in zero:
        batch.entries[g] = []
    need = sorted((ch.entry_tasks | recheck) - batch.deleted_tasks - zero)
    batch.entries.update(read_entries(job, need, entry_fields(job)))
    if ch.entries_deleted:
        job.delete("entries", ch.entries_deleted, store.delete_entries)
    # Changed entries: their details are stale even where the compact record looks the same.
    had_details = store.invalidate_details(ch.entries_changed - ch.entries_deleted)
    ctx = mapping_context(job, scope, portfolios)
    touched = ch.tasks | ch.entry_tasks
    marks, modified_before = store.story_marks(touched), store.task_modified(touched)
    apply_work(job, ctx, batch, incremental=True, stored_sums=sums, stored_first=store.first_entry_by_task())
    _stories_after_events(job, ch, marks, modified_before)
    new_state = SyncState(scope=state.scope, token=data.get("token"), last_sync_at=job.started, data=data)
    return new_state, had_details


def _stories_after_events(
    job: SyncJob, ch: _Changes, marks: dict[str, str | None], modified_before: dict[str, str | None]
) -> None:
    """Read stories where the events cannot say exactly what happened (a new task, more than one custom
    field change, a comment); for the other changed tasks whose stories were current, the events
    accounted for the change (a single estimate change is diffed), so their marks move on."""
    if not job.options.stories:
        return
    store = job.store
    touched = ch.tasks | ch.entry_tasks  # logging time makes no story: entry-only changes are accounted
    current = store.task_modified(touched)
    read = {
        g
        for g in ch.tasks
        if g in current and (g not in modified_before or ch.field_changes[g] > 1 or g in ch.commented)
    }
    read_stories(job, {g: current[g] for g in sorted(read)})
    # A task whose stories were current, or that last changed before the window (nothing in the window
    # to miss), is exact for the window once the events' changes are applied.
    since = job.options.window_since().isoformat()

    def accounted(g: str) -> bool:
        before = modified_before.get(g)
        return before is not None and (marks.get(g) == before or before < since)

    store.mark_stories({g: current[g] for g in touched - read if g in current and accounted(g)})


def _fetch_changed_tasks(
    job: SyncJob, ws: str, batch: WorkBatch, gids: set[str], earliest: datetime | None
) -> None:
    if not gids:
        return
    missing = set(gids)
    if job.capability("search") is not False and len(gids) > 2:
        since = (earliest or job.started) - timedelta(seconds=1)
        after = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        try:
            for _ in range(1 + len(gids) // 50):  # bounded: each page moves the cursor forward
                params: dict[str, Any] = {
                    "modified_at.after": after,
                    "sort_by": "modified_at",
                    "sort_ascending": True,
                    "opt_fields": TASK_FIELDS,
                    "limit": 100,
                }
                page = job.gw.search_tasks(ws, params)
                for t in page:
                    if t["gid"] in missing:
                        batch.tasks[t["gid"]] = t
                        missing.discard(t["gid"])
                if len(page) < 100 or not missing:
                    break
                after = str(page[-1].get("modified_at") or after)
        except (BadRequestError, NotFoundError) as exc:
            log.info("search unavailable (%s); reading changed tasks one by one", exc.status)
            job.set_capability("search", False)

    def one(gid: str) -> tuple[str, Payload | None]:
        try:
            return gid, job.gw.get_task_raw(gid, TASK_FIELDS)
        except NotFoundError:
            return gid, None

    for gid, payload in job.gw.imap(one, sorted(missing)):
        if payload is None:
            batch.deleted_tasks.add(gid)
        else:
            batch.tasks[gid] = payload
