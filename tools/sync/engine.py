"""Sync: Asana (gateway) -> records (mapping) -> store, complete and resumable.

One run, in order (each phase in its own module):

1. **Crawl** (tools/sync/crawl.py) on the first run, when the events token expired or the scope changed:
   every scope project's tasks and entries, stored project by project behind a checkpoint, so an
   interrupted crawl is continued by the next run. Otherwise **events** (tools/sync/incremental.py):
   only what changed is read.
2. **Data without events** (tools/sync/extras.py): allocations, out-of-office, time-tracking
   categories, rates, budgets, timesheet approvals, on a full sync and when older than 20 hours.
3. **Entry details** (tools/sync/details.py): billable status, note, creation time and approval status
   of the entries in the detail window (and requested periods), one request per new or changed entry.
4. **Stories** (tools/sync/stories.py): estimate history and comments of tasks changed in the window.

Every phase stores what it read as it goes; the sync state (events token) is saved after phase 1, so a
run that fails later loses nothing and the next run continues phases 2-4 from the store. The summary
ends with per-field coverage (what share of each field is actually read).

The documented minimum for complete data (what ``evals/bench/sync_bench.py`` compares with): the list
pages (users, projects, per project its custom field settings and task pages, one entry page per task
with logged time, the events token), the pages of the data without events, one request per entry in
the detail window, and one story page per task changed in the window.
"""

from __future__ import annotations

import time

from tools.gateway import AsanaGateway
from tools.gateway.errors import GatewayError, NotFoundError, SyncTokenExpired
from tools.records import Person, Project
from tools.store import Store, SyncState
from tools.sync import crawl, details, incremental, stories
from tools.sync.extras import refresh_extras
from tools.sync.job import Progress, SyncJob
from tools.sync.options import SyncOptions, SyncSettings
from tools.sync.summary import KindCounts, SyncSummary, coverage_lines
from tools.telemetry import traced_sync

__all__ = ["GatewayError", "KindCounts", "Person", "Project", "SyncSummary", "sync_workspace"]


@traced_sync  # a span per sync run; /metrics sync duration
def sync_workspace(
    gateway: AsanaGateway,
    store: Store,
    settings: SyncSettings | SyncOptions,
    full: bool = False,
    progress: Progress | None = None,
    *,
    stories: bool | None = None,
) -> SyncSummary:
    """Sync the scope (``settings.scope``; empty = every project) from Asana into ``store``.

    ``settings``: ``SyncOptions``, or anything shaped like ``agent.config.Settings`` (``SyncSettings``).
    ``full=False`` runs incrementally from the stored events token and falls back to a full crawl when
    there is none, it expired (412), or the scope changed; an unfinished crawl is continued either way.
    ``stories`` overrides the configured default (read stories). Returns a ``SyncSummary``; raises
    ``GatewayError`` subclasses when Asana stays unreachable (what was read is kept, and the next run
    continues) and ``StoreError`` / SQLAlchemy errors when the store cannot be written.
    """
    options = SyncOptions.of(settings)
    if stories is not None:
        options = options.model_copy(update={"stories": stories})
    return _Run(SyncJob(gateway, store, options, progress)).run(full)


class _Run:
    def __init__(self, job: SyncJob) -> None:
        self.job = job
        self.req0 = dict(job.gw.stats.requests)
        self.retries0, self.rl0 = job.gw.stats.retries, job.gw.stats.rate_limited

    def run(self, full: bool) -> SyncSummary:
        job, store = self.job, self.job.store
        t0 = time.monotonic()
        run_id = store.start_sync_run(full)
        job.run_id = run_id
        summary = SyncSummary(full=full, mode="full" if full else "incremental", run_id=run_id)
        try:
            self._phases(summary, full)
        except BaseException as exc:
            summary.status = "failed"
            self._finish(summary, t0)
            try:
                error = {"error": job.gw.redact(str(exc))[:500]}
                store.finish_sync_run(run_id, "failed", {**summary.model_dump(mode="json"), **error})
            except Exception:  # the store itself may be what failed: the original error matters more
                pass
            raise
        self._finish(summary, t0)
        store.finish_sync_run(run_id, "ok", summary.model_dump(mode="json"))
        return summary

    def _phases(self, summary: SyncSummary, full: bool) -> None:
        job, store = self.job, self.job.store
        ws = self._workspace_gid(cached_ok=not full)
        summary.workspace_gid = ws
        state = store.sync_state(f"workspace:{ws}")
        signature = crawl.scope_signature(job)
        resume = crawl.resumable(job, ws)
        if resume is not None:
            done = len(resume.data.get("done", []))
            full, summary.resumed = True, True
            summary.mode = f"full (continuing an interrupted crawl: {done} projects were done)"
        elif not full and (state is None or not state.token or state.data.get("scope") != signature):
            full, summary.mode = True, "full (no usable sync state)"
        changed_entries: set[str] = set()
        new_state: SyncState | None = None
        if not full:
            assert state is not None
            try:
                new_state, changed_entries = incremental.incremental(job, ws, state)
                summary.mode = f"incremental ({state.data.get('events', 'workspace')} events)"
            except SyncTokenExpired:
                job.warn("events token expired (412) or too many changes: ran a full sync instead")
                full, summary.mode = True, "full (events token expired)"
        if full or new_state is None:
            new_state = crawl.full_crawl(job, ws, resume)
        summary.full = full
        new_state.data["scope"] = signature
        store.set_sync_state(new_state)
        refresh_extras(job, ws, force=full)
        details.backfill(job, changed_entries)
        stories.backfill_stories(job)

    def _finish(self, summary: SyncSummary, t0: float) -> None:
        job = self.job
        stats = job.gw.stats
        by = {k: v - self.req0.get(k, 0) for k, v in stats.requests.items() if v - self.req0.get(k, 0)}
        summary.requests_by_endpoint = by
        summary.requests = sum(by.values())
        summary.retries = stats.retries - self.retries0
        summary.rate_limited = stats.rate_limited - self.rl0
        summary.rate_limit = job.gw.budget.describe()
        summary.counts = job.counts
        summary.skipped = len(job.skips)
        summary.skips = [vars(s) for s in job.skips.items[:200]]
        summary.warnings = job.warnings
        summary.features = dict(sorted(job.features.items()))
        summary.details_read = job.details_read
        summary.stories_read = job.stories_read
        summary.window_start = job.options.window_start()
        try:
            cov = job.store.coverage(summary.window_start, job.options.window_since())
            summary.coverage = coverage_lines(cov)
            summary.details_pending = cov.details_window.total - cov.details_window.known
        except Exception:  # a failing store must not hide the error that stopped the sync
            summary.coverage = []
        summary.duration_s = round(time.monotonic() - t0, 3)

    def _workspace_gid(self, cached_ok: bool) -> str:
        """The configured workspace, else the token user's first (remembered, so an incremental sync
        does not spend a request on ``/users/me``)."""
        job = self.job
        if job.options.workspace:
            return str(job.options.workspace)
        cached = job.store.sync_state("default-workspace") if cached_ok else None
        if cached is not None and cached.data.get("gid"):
            return str(cached.data["gid"])
        me = job.gw.me()
        if not me.workspaces:
            raise NotFoundError("the token's user belongs to no workspace")
        gid = me.workspaces[0].gid
        job.store.set_sync_state(SyncState(scope="default-workspace", data={"gid": gid}))
        return gid
