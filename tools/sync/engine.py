"""Full and incremental sync: Asana (gateway) -> records (mapping) -> store.

Request plan (why it is near the minimum page count):

- full: ``/users`` (pages), ``/projects`` (pages), then per scope project ``custom_field_settings`` and
  ``/projects/{gid}/tasks`` with every field mapping needs in ONE pass (``TASK_FIELDS``, limit 100), then
  time entries per task **only for tasks whose ``actual_time_minutes`` is > 0** (a task with 0 minutes has
  no entries, so it costs nothing). The events token is taken *before* the crawl so nothing changed during
  the crawl is lost.
- incremental: one ``/workspaces/{gid}/events`` call per 1,000 events (per-project ``/events`` when the
  workspace stream is unavailable) names the tasks created, changed and deleted and the entries touched;
  changed tasks are then read in pages of 100 with search (``modified_at.after``, sorted), falling back to
  ``GET /tasks/{gid}`` for any the search index has not caught up with (or when search is unavailable);
  entries are re-read only for tasks with entry events or whose ``actual_time_minutes`` differs from the
  stored sum. 100 changed tasks cost 2-3 requests.
- resourcing (capacity): ``/allocations?workspace=`` (pages) and ``/ooo_entries`` per person (the API
  lists them per user only), on a full sync and when the last read is older than ``RESOURCING_REFRESH``.
  A 402 (plan without allocations) or 403 (token without ``ooo_entries:read``) is a logged skip with a
  warning: stored records stay as they were and capacity falls back to the config.
- stories: one request per task, so they are NOT read for every task by default. Estimate changes are
  rebuilt from the store's previous value vs the new one (time and author from the event) at no request
  cost; ``stories=True`` (``effort sync --stories``) reads stories (comments and exact field-change
  history) for every task in a full sync and for changed tasks in an incremental one.

A sync that fails part-way leaves the previous token in place, so the next run repeats the work; upserts
are idempotent, and unchanged records are not rewritten (counts say what really changed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from tools.gateway import AsanaGateway
from tools.gateway.client import PROJECT_FIELDS, TASK_FIELDS, TIME_ENTRY_FIELDS
from tools.gateway.errors import (
    AuthError,
    BadRequestError,
    GatewayError,
    NotFoundError,
    PaymentRequiredError,
    SyncTokenExpired,
)
from tools.records import Comment, FieldChange, Person, Project, Task, TimeEntry
from tools.scope import ScopeRule
from tools.scope import key as scope_key
from tools.store import CustomFieldDef, EnumOptionDef, Store, SyncState
from tools.sync.mapping import (
    FieldMappingRules,
    MappingContext,
    SkipLog,
    field_context_from_definitions,
    list_field,
    map_allocation,
    map_entry,
    map_ooo_entry,
    map_project,
    map_story,
    map_task,
    map_user,
    parse_datetime,
)
from tools.telemetry import traced_sync

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int | None], None]
ENTRY_EXTRA_FIELDS = "billable_status,description,created_at"  # beyond the spec's list enum; probed once
MAX_INCREMENTAL_TASKS = 3000  # more changed tasks than this: a full crawl is cheaper
# Allocations and OOO entries have no events: a full sync reads them, an incremental one re-reads them
# when the last read is older than this (so a nightly sync refreshes them, a 5-minute one does not pay
# one request per person every time).
RESOURCING_REFRESH = timedelta(hours=20)
OOO_LOOKBACK = timedelta(days=366)  # past OOO only matters for recent weeks; a year bounds the read


class KindCounts(BaseModel):
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


class SyncSummary(BaseModel):
    """What a sync did: per-kind counts, requests used, skipped values (with reasons)."""

    full: bool
    mode: str
    status: str = "ok"
    workspace_gid: str | None = None
    counts: dict[str, KindCounts] = {}
    requests: int = 0
    requests_by_endpoint: dict[str, int] = {}
    retries: int = 0
    rate_limited: int = 0
    skipped: int = 0
    skips: list[dict[str, Any]] = []  # first 200 skips: {kind, gid, reason}
    warnings: list[str] = []
    duration_s: float = 0.0
    run_id: int | None = None

    def changed(self) -> int:
        return sum(c.created + c.updated + c.deleted for c in self.counts.values())


@dataclass
class _Crawl:
    """Raw material gathered from Asana for one sync."""

    users: list[dict[str, Any]] | None = None
    projects: list[dict[str, Any]] | None = None
    field_defs: dict[str, dict[str, Any]] = field(default_factory=dict)
    field_projects: dict[str, set[str]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    entries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # task gid -> entries (re-read)
    stories: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted_tasks: set[str] = field(default_factory=set)
    change_meta: dict[str, tuple[datetime | None, str | None]] = field(default_factory=dict)


def _noop(_stage: str, _done: int, _total: int | None) -> None:
    return None


@traced_sync  # a span per sync run; /metrics sync duration
def sync_workspace(
    gateway: AsanaGateway,
    store: Store,
    settings: Any,
    full: bool = False,
    progress: Progress | None = None,
    *,
    stories: bool = False,
) -> SyncSummary:
    """Sync the scope (``settings.scope``; empty = every project) from Asana into ``store``.

    ``full=False`` runs incrementally from the stored events token and falls back to a full sync when
    there is none, it expired (412), or the scope changed. Returns a ``SyncSummary``; raises
    ``GatewayError`` subclasses when Asana stays unreachable (the store then keeps the last good state,
    and the next run repeats the work).
    """
    return _Sync(gateway, store, settings, progress or _noop, stories).run(full)


class _Sync:
    def __init__(
        self, gw: AsanaGateway, store: Store, settings: Any, progress: Progress, stories: bool
    ) -> None:
        self.gw, self.store, self.settings, self.progress, self.stories = (
            gw,
            store,
            settings,
            progress,
            stories,
        )
        self.rules = FieldMappingRules.from_settings(settings.fields)
        self.skips = SkipLog()
        self.warnings: list[str] = []
        self.rule: ScopeRule | None = None  # resolved by the full crawl, else on first use
        self.counts: dict[str, KindCounts] = {}
        self.started = datetime.now(UTC)
        self.req0 = dict(gw.stats.requests)
        self.retries0, self.rl0 = gw.stats.retries, gw.stats.rate_limited

    # -- orchestration ------------------------------------------------------------------------------
    def run(self, full: bool) -> SyncSummary:
        t0 = time.monotonic()
        run_id = self.store.start_sync_run(full)
        summary = SyncSummary(full=full, mode="full" if full else "incremental", run_id=run_id)
        try:
            ws = self._workspace_gid(cached_ok=not full)
            summary.workspace_gid = ws
            scope_key = f"workspace:{ws}"
            state = self.store.sync_state(scope_key)
            scope_sig = self._scope_signature()
            if not full and (state is None or not state.token or state.data.get("scope") != scope_sig):
                full, summary.full, summary.mode = True, True, "full (no usable sync state)"
            new_state: SyncState
            if not full:
                assert state is not None
                try:
                    new_state = self._incremental(ws, state)
                    summary.mode = f"incremental ({state.data.get('events', 'workspace')} events)"
                except SyncTokenExpired:
                    self.warnings.append(
                        "events token expired (412) or too many changes: ran a full sync instead"
                    )
                    full, summary.full, summary.mode = True, True, "full (events token expired)"
            if full:
                new_state = self._full(ws, state)
            new_state.data["scope"] = scope_sig
            self.store.set_sync_state(new_state)
        except BaseException as exc:
            summary.status = "failed"
            self._finish(summary, t0)
            self.store.finish_sync_run(
                run_id, "failed", {**summary.model_dump(mode="json"), "error": self.gw.redact(str(exc))}
            )
            raise
        self._finish(summary, t0)
        self.store.finish_sync_run(run_id, "ok", summary.model_dump(mode="json"))
        return summary

    def _finish(self, summary: SyncSummary, t0: float) -> None:
        now = self.gw.stats.requests
        by = {k: v - self.req0.get(k, 0) for k, v in now.items() if v - self.req0.get(k, 0)}
        summary.requests_by_endpoint = by
        summary.requests = sum(by.values())
        summary.retries = self.gw.stats.retries - self.retries0
        summary.rate_limited = self.gw.stats.rate_limited - self.rl0
        summary.counts = self.counts
        summary.skipped = len(self.skips)
        summary.skips = [vars(s) for s in self.skips.items[:200]]
        summary.warnings = self.warnings
        summary.duration_s = round(time.monotonic() - t0, 3)

    def _workspace_gid(self, cached_ok: bool) -> str:
        """``settings.workspace``, else the token user's first workspace (remembered, so an incremental
        sync does not spend a request on ``/users/me``)."""
        if self.settings.workspace:
            return str(self.settings.workspace)
        cached = self.store.sync_state("default-workspace") if cached_ok else None
        if cached is not None and cached.data.get("gid"):
            return str(cached.data["gid"])
        me = self.gw.me()
        if not me.workspaces:
            raise NotFoundError("the token's user belongs to no workspace")
        gid = me.workspaces[0].gid
        self.store.set_sync_state(SyncState(scope="default-workspace", data={"gid": gid}))
        return gid

    def _scope_signature(self) -> dict[str, list[str]]:
        sc = self.settings.scope
        return {"projects": sorted(sc.projects), "portfolios": sorted(sc.portfolios), "tags": sorted(sc.tags)}

    # -- events ------------------------------------------------------------------------------------------
    def _workspace_token(self, ws: str) -> dict[str, Any] | None:
        """Start the workspace event stream now, before crawling, so no change made during the crawl is
        lost. None when the server has no workspace events (then per-project streams are used)."""
        try:
            self.gw.workspace_events(ws, None)
        except SyncTokenExpired as exc:
            if exc.new_token:
                return {"events": "workspace", "token": exc.new_token}
        except (NotFoundError, BadRequestError) as exc:
            log.info("workspace events unavailable (%s); using per-project events", exc.status)
        return None

    def _project_tokens(self, project_gids: Iterable[str]) -> dict[str, Any]:
        tokens: dict[str, str] = {}
        for pgid in project_gids:
            try:
                self.gw.events(pgid, None)
            except SyncTokenExpired as exc:
                if exc.new_token:
                    tokens[pgid] = exc.new_token
        return {"events": "project", "token": "per-project", "project_tokens": tokens}

    def _read_events(self, ws: str, state: SyncState) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        data = dict(state.data)
        events: list[dict[str, Any]] = []
        if data.get("events", "workspace") == "workspace":
            token = state.token
            while True:
                page, token, more = self.gw.workspace_events(ws, token)
                events += page
                self.progress("events", len(events), None)
                if not more:
                    break
            data["token"] = token
        else:
            tokens = dict(data.get("project_tokens") or {})
            for pgid in list(tokens):
                token = tokens[pgid]
                while True:
                    page, token, more = self.gw.events(pgid, token)
                    events += page
                    if not more:
                        break
                tokens[pgid] = token
            data["project_tokens"] = tokens
            data["token"] = "per-project"
        return events, data

    # -- full ------------------------------------------------------------------------------------------------
    def _full(self, ws: str, old_state: SyncState | None) -> SyncState:
        crawl = _Crawl()
        ws_token = self._workspace_token(ws)
        self.progress("users", 0, None)
        crawl.users = list(self.gw.iter_users(ws))
        self.progress("projects", 0, None)
        crawl.projects = list(self.gw.iter_projects(ws, PROJECT_FIELDS))
        scope_projects, portfolios_by_project = self._resolve_scope(ws, crawl.projects)
        wanted = [p for p in crawl.projects if scope_projects is None or p["gid"] in scope_projects]
        token_data = ws_token or self._project_tokens([p["gid"] for p in wanted])
        self._crawl_projects(crawl, [p["gid"] for p in wanted])
        self._crawl_tag_tasks(ws, crawl)
        # Entries only where there can be some: actual_time_minutes > 0 (or unknown).
        need = [g for g, t in crawl.tasks.items() if _minutes(t) != 0]
        if not (scope_projects is None and need and self._entries_workspace_wide(ws, crawl)):
            self._read_entries(crawl, need)
        for gid, t in crawl.tasks.items():
            if _minutes(t) == 0:
                crawl.entries[gid] = []
        if self.stories:
            self._read_stories(crawl, list(crawl.tasks))
        self._apply(crawl, scope_projects, portfolios_by_project, full=True)
        self._resourcing(ws, crawl.users, force=True)
        return SyncState(
            scope=f"workspace:{ws}",
            token=token_data.get("token"),
            last_sync_at=self.started,
            data={k: v for k, v in token_data.items() if k != "token"}
            | {"scope_projects": sorted(scope_projects) if scope_projects is not None else None},
        )

    def _resolve_scope(
        self, ws: str, projects: list[dict[str, Any]]
    ) -> tuple[set[str] | None, dict[str, tuple[str, ...]]]:
        """Which projects to read (None = all) and each project's listed portfolios. The decision is
        the one scope rule's (tools/scope.py); this method only fetches what it needs to decide."""
        sc = self.settings.scope
        names: dict[str, str] = {}
        members: dict[str, set[str]] = {}
        if sc.portfolios:
            if any(not x.isdigit() for x in sc.portfolios):
                names = {str(p["gid"]): str(p.get("name") or "") for p in self.gw.iter_portfolios(ws)}
            listed = {scope_key(ref) for ref in sc.portfolios}
            wanted = {ref for ref in sc.portfolios if ref.isdigit()}
            wanted |= {gid for gid, name in names.items() if scope_key(name) in listed}
            for pf in sorted(wanted):
                members[pf] = {
                    str(item["gid"])
                    for item in self.gw.iter_portfolio_items(pf)
                    if item.get("resource_type", "project") == "project"
                }
        self.rule = ScopeRule.resolve(
            sc,
            [(str(p["gid"]), str(p.get("name") or "")) for p in projects],
            portfolio_projects=members,
            portfolio_names=names,
        )
        self.warnings += [f"{ref} not found" for ref in self.rule.unresolved]
        portfolios_by_project: dict[str, list[str]] = {}
        for pf, project_gids in members.items():
            for gid in project_gids:
                portfolios_by_project.setdefault(gid, []).append(pf)
        pbp = {k: tuple(sorted(v)) for k, v in portfolios_by_project.items()}
        if not self.rule.configured or self.rule.all_projects:
            return None, pbp
        return set(self.rule.project_gids), pbp

    def _crawl_projects(self, crawl: _Crawl, project_gids: list[str]) -> None:
        def one(pgid: str) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
            try:
                settings = list(self.gw.iter_custom_field_settings(pgid))
            except PaymentRequiredError:  # free workspace: values still arrive on each task
                settings = []
                if "custom field settings need a premium workspace" not in self.warnings:
                    self.warnings.append("custom field settings need a premium workspace")
            tasks = list(self.gw.iter_tasks_for_project(pgid, TASK_FIELDS))
            return pgid, settings, tasks

        results = self.gw.map(one, project_gids)
        for done, (pgid, settings, tasks) in enumerate(results, 1):
            self.progress("tasks", done, len(project_gids))
            for s in settings:
                cf = s.get("custom_field")
                if isinstance(cf, dict) and cf.get("gid"):
                    crawl.field_defs[cf["gid"]] = cf
                    crawl.field_projects.setdefault(cf["gid"], set()).add(pgid)
            for t in tasks:
                crawl.tasks.setdefault(t["gid"], t)

    def _crawl_tag_tasks(self, ws: str, crawl: _Crawl) -> None:
        tags = self.settings.scope.tags
        if not tags:
            return
        known = {t["gid"]: t.get("name") for t in self.gw.iter_tags(ws)}
        by_name = {scope_key(str(n)): g for g, n in known.items() if n}
        for ref in tags:
            tg = ref if ref in known else by_name.get(scope_key(ref))
            if tg is None:
                self.warnings.append(f"tag {ref!r} not found")
                continue
            for t in self.gw.iter_tasks_for_tag(tg, TASK_FIELDS):
                crawl.tasks.setdefault(t["gid"], t)

    def _read_entries(self, crawl: _Crawl, task_gids: list[str]) -> None:
        extra_ok = self.store.sync_state("capabilities")
        fields = TIME_ENTRY_FIELDS + "," + ENTRY_EXTRA_FIELDS
        if extra_ok is not None and extra_ok.data.get("entry_extra_fields") is False:
            fields = TIME_ENTRY_FIELDS
        elif task_gids and extra_ok is None:
            # Probe once: the spec's list enum lacks billable_status; the real API may accept it.
            try:
                crawl.entries[task_gids[0]] = list(self.gw.iter_time_entries_for_task(task_gids[0], fields))
                ok = True
            except BadRequestError:
                fields, ok = TIME_ENTRY_FIELDS, False
            self._set_cap("entry_extra_fields", ok)
        todo = [g for g in task_gids if g not in crawl.entries]
        done = [0]

        def one(gid: str) -> tuple[str, list[dict[str, Any]] | None]:
            try:
                items = list(self.gw.iter_time_entries_for_task(gid, fields))
            except NotFoundError:
                return gid, None  # the task was deleted meanwhile; the next sync's events say so
            done[0] += 1
            if done[0] % 50 == 0:
                self.progress("entries", done[0], len(todo))
            return gid, items

        for gid, items in self.gw.map(one, todo):
            if items is not None:
                crawl.entries[gid] = items
        self.progress("entries", len(todo), len(todo))

    def _set_cap(self, key: str, value: Any) -> None:
        """Remember what this server supports (probed once), in the sync-state table."""
        caps = self.store.sync_state("capabilities")
        data = dict(caps.data) if caps else {}
        data[key] = value
        self.store.set_sync_state(SyncState(scope="capabilities", data=data))

    def _entries_workspace_wide(self, ws: str, crawl: _Crawl) -> bool:
        """Read all entries with ``GET /time_tracking_entries?workspace=`` (100 per page instead of one
        request per task) when the server returns each entry's ``task`` there. The spec's list enum does
        not offer ``task``, so this is probed once and remembered; False = use per-task listing."""
        caps = self.store.sync_state("capabilities")
        data = dict(caps.data) if caps else {}
        if data.get("entries_by_workspace") is False:
            return False
        fields = TIME_ENTRY_FIELDS + ",task," + ENTRY_EXTRA_FIELDS
        items: list[dict[str, Any]] = []
        try:
            for i, e in enumerate(
                self.gw.iter_time_entries(fields, workspace=ws, entered_on_start_date="1970-01-01")
            ):
                if i == 0 and not _gid_of(e.get("task")):
                    raise BadRequestError("entries list has no task field")
                items.append(e)
                if i % 1000 == 0:
                    self.progress("entries", i, None)
        except (BadRequestError, NotFoundError) as exc:
            log.info("workspace-wide entries unavailable (%s); listing per task", exc)
            self._set_cap("entries_by_workspace", False)
            return False
        self._set_cap("entries_by_workspace", True)
        for gid in crawl.tasks:
            crawl.entries[gid] = []
        for e in items:
            tgid = _gid_of(e.get("task"))
            if tgid in crawl.entries:
                crawl.entries[tgid].append(e)
        return True

    def _read_stories(self, crawl: _Crawl, task_gids: list[str]) -> None:
        def one(gid: str) -> tuple[str, list[dict[str, Any]] | None]:
            try:
                return gid, list(self.gw.iter_stories(gid))
            except NotFoundError:
                return gid, None

        for gid, items in self.gw.map(one, task_gids):
            if items is not None:
                crawl.stories[gid] = items
        self.progress("stories", len(task_gids), len(task_gids))

    # -- incremental -----------------------------------------------------------------------------------
    def _incremental(self, ws: str, state: SyncState) -> SyncState:
        events, data = self._read_events(ws, state)
        scope_list = state.data.get("scope_projects")
        scope_projects = set(scope_list) if scope_list is not None else None
        crawl = _Crawl()
        changed: set[str] = set()
        entry_tasks: set[str] = set()
        deleted_entries: set[str] = set()
        projects_touched = False
        field_projects: set[str] = set()
        earliest: datetime | None = None
        for ev in events:
            res = ev.get("resource") or {}
            parent = ev.get("parent") or {}
            rtype, action, rgid = res.get("resource_type"), ev.get("action"), res.get("gid")
            when = parse_datetime(ev.get("created_at"))
            if rtype == "task" and rgid:
                if action == "deleted":
                    crawl.deleted_tasks.add(rgid)
                    changed.discard(rgid)
                else:
                    crawl.deleted_tasks.discard(rgid)
                    changed.add(rgid)
                    change = ev.get("change") or {}
                    if change.get("field") == "custom_fields" or action in ("added", "undeleted"):
                        user = (ev.get("user") or {}).get("gid")
                        crawl.change_meta[rgid] = (when, user)
                    if when and (earliest is None or when < earliest):
                        earliest = when
            elif rtype == "time_tracking_entry" and parent.get("gid"):
                entry_tasks.add(parent["gid"])
                if when and (earliest is None or when < earliest):
                    earliest = when
                if action == "deleted" and rgid:
                    deleted_entries.add(rgid)
            elif rtype == "story" and parent.get("gid") and self.stories:
                changed.add(parent["gid"])
            elif rtype == "project":
                projects_touched = True
            elif rtype in ("custom_field", "custom_field_setting"):
                if parent.get("resource_type") == "project" and parent.get("gid"):
                    field_projects.add(parent["gid"])
                projects_touched = True
        self.progress("events", len(events), len(events))
        if len(changed) + len(entry_tasks) > MAX_INCREMENTAL_TASKS:
            raise SyncTokenExpired("too many changes for an incremental sync", new_token=None)
        new_projects: list[str] = []
        if projects_touched:
            crawl.projects = list(self.gw.iter_projects(ws, PROJECT_FIELDS))
            if scope_projects is None:
                known = {p.gid for p in self.store.projects()}
                new_projects = [p["gid"] for p in crawl.projects if p["gid"] not in known]
            for pg in field_projects | set(new_projects):
                for s in self.gw.iter_custom_field_settings(pg):
                    cf = s.get("custom_field")
                    if isinstance(cf, dict) and cf.get("gid"):
                        crawl.field_defs[cf["gid"]] = cf
                        crawl.field_projects.setdefault(cf["gid"], set()).add(pg)
        if new_projects:
            self._crawl_projects(crawl, new_projects)
        # An entry change also changes its task (modified_at, actual_time_minutes): re-read it too.
        changed |= entry_tasks - crawl.deleted_tasks
        self._fetch_changed_tasks(ws, crawl, changed - set(crawl.tasks), earliest, scope_projects)
        # Entries: tasks with entry events, and changed tasks whose minutes disagree with the store.
        sums = self.store.entry_minutes_by_task()
        recheck = {g for g, t in crawl.tasks.items() if _minutes(t) != 0 and _minutes(t) != sums.get(g, 0)}
        zero = {g for g, t in crawl.tasks.items() if _minutes(t) == 0 and sums.get(g, 0)}
        for g in zero:
            crawl.entries[g] = []
        need = sorted((entry_tasks | recheck) - crawl.deleted_tasks - zero)
        self._read_entries(crawl, need)
        if self.stories:
            self._read_stories(crawl, sorted(changed - crawl.deleted_tasks))
        if deleted_entries:
            self.store.delete_entries(deleted_entries)
            self._count("entries").deleted += len(deleted_entries)
        portfolios = {p.gid: p.portfolio_gids for p in self.store.projects()}
        self._apply(crawl, scope_projects, portfolios, full=False)
        self._resourcing(ws, crawl.users, force=False)
        return SyncState(scope=state.scope, token=data.get("token"), last_sync_at=self.started, data=data)

    def _fetch_changed_tasks(
        self,
        ws: str,
        crawl: _Crawl,
        gids: set[str],
        earliest: datetime | None,
        scope_projects: set[str] | None,
    ) -> None:
        if not gids:
            return
        caps = self.store.sync_state("capabilities")
        search_ok = caps is None or caps.data.get("search", True)
        missing = set(gids)
        if search_ok and len(gids) > 2:
            since = (earliest or self.started) - timedelta(seconds=1)
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
                    page = self.gw.search_tasks(ws, params)
                    for t in page:
                        if t["gid"] in missing:
                            crawl.tasks[t["gid"]] = t
                            missing.discard(t["gid"])
                    if len(page) < 100 or not missing:
                        break
                    after = str(page[-1].get("modified_at") or after)
            except (BadRequestError, NotFoundError) as exc:
                log.info("search unavailable (%s); reading changed tasks one by one", exc.status)
                self._set_cap("search", False)

        def one(gid: str) -> tuple[str, dict[str, Any] | None]:
            try:
                return gid, self.gw.get_task_raw(gid, TASK_FIELDS)
            except NotFoundError:
                return gid, None

        for gid, payload in self.gw.map(one, sorted(missing)):
            if payload is None:
                crawl.deleted_tasks.add(gid)
            else:
                crawl.tasks[gid] = payload

    # -- resourcing: allocations and out-of-office ---------------------------------------------------
    def _resourcing(self, ws: str, users: list[dict[str, Any]] | None, *, force: bool) -> None:
        """Read allocations and OOO entries into the store (see the module docstring for when).

        Each kind is replaced as a whole when its read succeeds; a 402/403 leaves it untouched."""
        state = self.store.sync_state("resourcing")
        last = state.last_sync_at if state is not None else None
        if not force and last is not None and self.started - last < RESOURCING_REFRESH:
            return
        ctx = MappingContext(rules=self.rules, skips=self.skips)
        outcome: dict[str, Any] = {}
        self.progress("allocations", 0, None)
        try:
            raw = list(self.gw.iter_allocations(workspace=ws))
        except (PaymentRequiredError, AuthError, NotFoundError) as exc:
            outcome["allocations"] = self._resourcing_skip("allocations", exc)
        else:
            allocations = [a for a in (map_allocation(r, ctx) for r in raw) if a is not None]
            self._replace(
                "allocations", allocations, self.store.upsert_allocations, self.store.delete_allocations
            )
            outcome["allocations"] = "ok"
        user_gids = (
            [str(u["gid"]) for u in users if u.get("gid")]
            if users is not None
            else [p.gid for p in self.store.people()]
        )
        since = (self.started - OOO_LOOKBACK).date().isoformat()

        def one(user_gid: str) -> tuple[str, list[dict[str, Any]]]:
            try:
                return user_gid, list(self.gw.iter_ooo_entries(user_gid, ws, start_date=since))
            except NotFoundError:  # the user left the workspace meanwhile
                return user_gid, []

        self.progress("ooo_entries", 0, len(user_gids))
        try:
            # The first person alone: a token without the scope then costs one 403, not one per person.
            per_user = [one(user_gids[0]), *self.gw.map(one, user_gids[1:])] if user_gids else []
        except (PaymentRequiredError, AuthError) as exc:
            outcome["ooo_entries"] = self._resourcing_skip("ooo_entries", exc)
        else:
            ooo = [
                o
                for user_gid, items in per_user
                for o in (map_ooo_entry(r, ctx, user_gid) for r in items)
                if o is not None
            ]
            self._replace("ooo_entries", ooo, self.store.upsert_ooo_entries, self.store.delete_ooo_entries)
            outcome["ooo_entries"] = "ok"
        self.store.set_sync_state(SyncState(scope="resourcing", last_sync_at=self.started, data=outcome))

    def _resourcing_skip(self, kind: str, exc: GatewayError) -> str:
        """402 (not in the plan), 403 (no scope) or 404 (no such endpoint here): warn, skip, go on.
        A 401 is a bad token, not a missing feature: it propagates like everywhere else."""
        status = getattr(exc, "status", None)
        if status == 401:
            raise exc
        what = "allocations" if kind == "allocations" else "out-of-office entries"
        log.warning("%s not available (HTTP %s); capacity uses the config only for them", what, status)
        self.warnings.append(f"{what} not available (HTTP {status}): capacity falls back to the config")
        self.skips.add(kind, None, f"HTTP {status}: not offered to this workspace or token")
        return f"skipped ({status})"

    # -- apply: map, diff against the store, write only what changed ------------------------------
    def _count(self, kind: str) -> KindCounts:
        return self.counts.setdefault(kind, KindCounts())

    def _diff_write(
        self,
        kind: str,
        records: Sequence[Any],
        upsert: Callable[[list[Any]], int],
        existing: dict[str, str] | None = None,
    ) -> list[Any]:
        existing = self.store.fingerprints(kind) if existing is None else existing
        c = self._count(kind)
        changed: list[Any] = []
        for r in records:
            key, fp = Store.fingerprint_of(kind, r)
            old = existing.get(key)
            if old is None:
                c.created += 1
                changed.append(r)
            elif old != fp:
                c.updated += 1
                changed.append(r)
            else:
                c.unchanged += 1
        upsert(changed)
        return changed

    def _apply(
        self,
        crawl: _Crawl,
        scope_projects: set[str] | None,
        portfolios_by_project: dict[str, tuple[str, ...]],
        *,
        full: bool,
    ) -> None:
        ctx = MappingContext(
            rules=self.rules,
            scope_projects=scope_projects,
            portfolios_by_project=dict(portfolios_by_project),
            skips=self.skips,
        )
        # People and projects.
        if crawl.users is not None:
            people = [p for p in (map_user(u, ctx) for u in crawl.users) if p is not None]
            self._replace("people", people, self.store.upsert_people, self.store.delete_people)
        if crawl.projects is not None:
            in_scope = [p for p in crawl.projects if scope_projects is None or p["gid"] in scope_projects]
            projects = [p for p in (map_project(x, ctx) for x in in_scope) if p is not None]
            self._replace("projects", projects, self.store.upsert_projects, self.store.delete_projects)
            ctx.projects = {p.gid: p for p in projects}
        else:
            ctx.projects = {p.gid: p for p in self.store.projects()}
        # Custom field definitions.
        if crawl.field_defs:
            old_defs = {f.gid: f for f in self.store.custom_fields()}
            defs = []
            for gid, d in crawl.field_defs.items():
                projs = set(crawl.field_projects.get(gid, set()))
                if not full and gid in old_defs:
                    projs |= set(old_defs[gid].project_gids)
                defs.append(_field_def(d, projs))
            if full:
                self._replace(
                    "custom_fields", defs, self.store.upsert_custom_fields, self.store.delete_custom_fields
                )
            else:
                self._diff_write("custom_fields", defs, self.store.upsert_custom_fields)
        field_context_from_definitions(crawl.field_defs.values(), ctx)
        for f in self.store.custom_fields():
            ctx.field_names.setdefault(f.gid, f.name)
        # Entries first: tasks fall back to their sums.
        entries: list[TimeEntry] = []
        for tgid, items in crawl.entries.items():
            if tgid in crawl.deleted_tasks:
                continue
            for raw in items:
                entry = map_entry(raw, ctx, tgid)
                if entry is not None:
                    entries.append(entry)
        for e in entries:
            ctx.entry_minutes[e.task_gid] = ctx.entry_minutes.get(e.task_gid, 0) + e.duration_minutes
            first = ctx.first_entry.get(e.task_gid)
            if first is None or e.entered_on < first:
                ctx.first_entry[e.task_gid] = e.entered_on
        if not full:  # tasks whose entries were not re-read keep their stored sums
            stored = self.store.entry_minutes_by_task()
            for g in crawl.tasks:
                if g not in crawl.entries and g in stored:
                    ctx.entry_minutes[g] = stored[g]
                    es = self.store.entries_for_task(g)
                    if es:
                        ctx.first_entry[g] = min(e.entered_on for e in es)
        # Tasks.
        tasks: list[Task] = []
        out_of_scope: set[str] = set()
        for gid, payload in crawl.tasks.items():
            if gid in crawl.deleted_tasks:
                continue
            t = map_task(payload, ctx)
            if t is None:
                continue
            # Incremental reads come from workspace-wide events/search: keep only what a full crawl
            # would list (a task in a scope project, or carrying a scope tag); the rest left the scope.
            if not full and not self._in_scope(t, payload, scope_projects):
                out_of_scope.add(gid)
                continue
            tasks.append(t)
        existing_tasks = (
            self.store.fingerprints("tasks")
            if full
            else self.store.fingerprints("tasks", keys=set(crawl.tasks) | crawl.deleted_tasks)
        )
        old_tasks = {g: self.store.task(g) for g in (t.gid for t in tasks) if g in existing_tasks}
        changed_tasks = self._diff_write("tasks", tasks, self.store.upsert_tasks, existing_tasks)
        # Deletions.
        to_delete = set(crawl.deleted_tasks) | out_of_scope
        if full:
            to_delete |= set(existing_tasks) - {t.gid for t in tasks}
        to_delete &= set(existing_tasks)
        if to_delete:
            self.store.delete_tasks(to_delete)
            self._count("tasks").deleted += len(to_delete)
        # Entries: replace each re-read task's set.
        touched = {g for g in crawl.entries if g not in crawl.deleted_tasks}
        existing_entries = (
            self.store.fingerprints("entries")
            if full
            else self.store.fingerprints("entries", task_gids=touched)
        )
        self._diff_write("entries", entries, self.store.upsert_entries, existing_entries)
        if touched:
            keep = {e.gid for e in entries}
            stale = [g for g in self._entry_gids_for(touched) if g not in keep]
            if stale:
                self.store.delete_entries(stale)
                self._count("entries").deleted += len(stale)
        # Field changes and comments.
        changes: list[FieldChange] = []
        comments: list[Comment] = []
        for tgid, items in crawl.stories.items():
            for story in items:
                mapped = map_story(story, tgid, ctx)
                if isinstance(mapped, FieldChange):
                    changes.append(mapped)
                elif isinstance(mapped, Comment):
                    comments.append(mapped)
        estimate_name = self._estimate_field_name(crawl)
        for t in changed_tasks:
            old = old_tasks.get(t.gid)
            if old is None or t.gid in crawl.stories or old.estimate_hours == t.estimate_hours:
                continue
            when, by = crawl.change_meta.get(t.gid, (None, None))
            changes.append(
                FieldChange(
                    task_gid=t.gid,
                    field_name=estimate_name,
                    old_value=old.estimate_hours,
                    new_value=t.estimate_hours,
                    changed_at=when or t.modified_at or self.started,
                    by_gid=by,
                )
            )
        if changes or "field_changes" not in self.counts:
            self._diff_write("field_changes", changes, self.store.upsert_field_changes)
        if comments:
            self._diff_write("comments", comments, self.store.upsert_comments)

    def _in_scope(self, task: Task, payload: dict[str, Any], scope_projects: set[str] | None) -> bool:
        member_of = {
            str(g)
            for g in (
                _gid_of(m.get("project")) for m in list_field(payload, "memberships") if isinstance(m, dict)
            )
            if g
        }
        member_of |= {str(g) for g in (_gid_of(p) for p in list_field(payload, "projects")) if g}
        if scope_projects is None:
            if member_of:
                return True
        elif member_of & scope_projects:
            return True
        tags = [
            str(v)
            for tg in list_field(payload, "tags")
            if isinstance(tg, dict)
            for v in (tg.get("gid"), tg.get("name"))
            if v
        ]
        return self._rule().tag_matches([*tags, *task.tags])

    def _rule(self) -> ScopeRule:
        """The scope rule, resolved against the stored projects when this run did not crawl them."""
        if self.rule is None:
            self.rule = ScopeRule.resolve(
                self.settings.scope, [(p.gid, p.name) for p in self.store.projects()]
            )
        return self.rule

    def _estimate_field_name(self, crawl: _Crawl) -> str:
        for d in list(crawl.field_defs.values()):
            if self.rules.role_of(d) == "estimate":
                return str(d.get("name"))
        for f in self.store.custom_fields():
            if self.rules.role_of({"gid": f.gid, "name": f.name, "resource_subtype": f.type}) == "estimate":
                return f.name
        return self.rules.estimate[0] if self.rules.estimate else "Estimate"

    def _entry_gids_for(self, task_gids: set[str]) -> list[str]:
        out: list[str] = []
        for g in task_gids:
            out += [e.gid for e in self.store.entries_for_task(g)]
        return out

    def _replace(
        self,
        kind: str,
        records: Sequence[Any],
        upsert: Callable[[list[Any]], int],
        delete: Callable[[Iterable[str]], int],
    ) -> None:
        existing = self.store.fingerprints(kind)
        self._diff_write(kind, records, upsert, existing)
        gone = set(existing) - {str(getattr(r, "gid")) for r in records}  # noqa: B009
        if gone:
            delete(gone)
            self._count(kind).deleted += len(gone)


def _gid_of(ref: Any) -> str | None:
    if isinstance(ref, dict) and ref.get("gid"):
        return str(ref["gid"])
    return str(ref) if isinstance(ref, str | int) and not isinstance(ref, bool) else None


def _minutes(task: dict[str, Any]) -> int | None:
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


def _field_def(d: dict[str, Any], projects: set[str]) -> CustomFieldDef:
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
        project_gids=tuple(sorted(projects)),
    )


__all__ = ["GatewayError", "KindCounts", "Person", "Project", "SyncSummary", "sync_workspace"]
