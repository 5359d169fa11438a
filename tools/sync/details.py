"""Entry details, completely and cheaply: billable status, note, creation time, approval status.

Per the spec the time-entry lists return compact records only; a server may accept the extra
``opt_fields`` and drop them silently (issue 11: 8,351 entries, 0 billable statuses, because a probe
counted the 200 as success). So:

1. **Probe** (once per store): the first page of ``GET /time_tracking_entries?workspace=`` asked for
   ``task`` and the details. The capability is what *came back*: ``task`` present on the items means
   entries can be listed workspace-wide (100 a page), details present mean no single reads are needed.
2. **Backfill** otherwise: ``GET /time_tracking_entries/{gid}`` for each entry whose details are missing
   or stale (its compact record changed since they were read, or an event said it changed), entered in
   the detail window (default the last 180 days) or a requested period, **newest first**, on the
   gateway's pool within the shared rate budget, stored every ``BATCH`` entries: an interruption loses
   nothing already read and the next run continues. Unchanged entries (same compact fingerprint) are
   never re-read. A 404 (deleted between list and read) removes the entry, with a logged skip.

The minimum for complete data is one request per entry in the window: 100k entries cost about 67
minutes under 1,500 requests/min, hence the window.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from typing import Any

from tools.gateway.errors import AuthError, BadRequestError, NotFoundError
from tools.gateway.fields import ENTRY_DETAIL_FIELDS, TIME_ENTRY_FIELDS, TIME_ENTRY_FULL_FIELDS
from tools.store import Store, SyncState
from tools.sync.job import SyncJob, log
from tools.sync.mapping import map_entry

BATCH = 200
PERIODS_STATE = "detail-periods"


def probe_entry_lists(job: SyncJob, ws: str) -> bool:
    """What the entry lists really return (probed once, remembered): sets the ``entry_list_details``
    capability; returns True when the workspace-wide list carries each entry's ``task``."""
    by_ws = job.capability("entries_by_workspace")
    if by_ws is not None and job.capability("entry_list_details") is not None:
        return bool(by_ws)
    try:
        items = job.gw.time_entries_page(
            TIME_ENTRY_FULL_FIELDS, workspace=ws, entered_on_start_date="1970-01-01"
        )
    except (BadRequestError, NotFoundError, AuthError) as exc:  # 402 is a BadRequestError
        log.info("workspace-wide entries unavailable (%s); listing per task", exc.status)
        items = []
    has_task = bool(items) and all(isinstance(e.get("task"), dict) for e in items)
    has_details = bool(items) and all(all(f in e for f in ("billable_status", "created_at")) for e in items)
    job.set_capability("entries_by_workspace", has_task)
    job.set_capability("entry_list_details", has_details)
    if items and not has_details:
        log.info("entry lists leave out %s: reading them one entry at a time", ", ".join(ENTRY_DETAIL_FIELDS))
    return has_task


def entry_fields(job: SyncJob, *, with_task: bool = False) -> str:
    """The ``opt_fields`` for entry lists: the details too only where the probe saw them come back."""
    if job.capability("entry_list_details"):
        return TIME_ENTRY_FULL_FIELDS
    return TIME_ENTRY_FIELDS + (",task" if with_task else "")


def detail_periods(store: Store) -> list[tuple[date, date]]:
    state = store.sync_state(PERIODS_STATE)
    raw = state.data.get("periods", []) if state else []
    return [(date.fromisoformat(a), date.fromisoformat(b)) for a, b in raw]


def request_detail_period(store: Store, start: date, end: date) -> None:
    """Ask every later sync to read (and keep current) the details of entries entered in
    ``[start, end]``, beyond the detail window (a billing draft for an older period needs them)."""
    periods = {(a, b) for a, b in detail_periods(store)} | {(start, end)}
    merged: list[list[str]] = [[a.isoformat(), b.isoformat()] for a, b in sorted(periods)]
    store.set_sync_state(SyncState(scope=PERIODS_STATE, data={"periods": merged}))


def backfill(job: SyncJob, also: set[str] | None = None) -> int:
    """Read the details of every entry that needs them (see the module docstring); returns how many
    are still missing afterwards in the window (0 unless interrupted). ``also``: entries an event named
    as changed that had details before (kept current wherever they are)."""
    store = job.store
    if job.capability("entry_list_details"):
        return 0  # the lists carry them: the crawl stored them
    periods = list(job.options.detail_periods) + detail_periods(store)
    since = job.options.window_start()
    if job.options.refresh_details:
        store.invalidate_details_since(since)
    todo = [gid for gid, _ in store.entries_needing_details(since, periods)]
    extra = sorted((also or set()) - set(todo))
    todo += extra
    if not todo:
        return 0
    ctx = job.mapping()
    ctx.category_names = {c.gid: c.name for c in store.time_categories()}
    owners = store.entry_tasks(todo)
    t0, done, batch = time.monotonic(), 0, []

    def one(gid: str) -> tuple[str, dict[str, Any] | None]:
        try:
            return gid, job.gw.get_time_entry_raw(gid)
        except NotFoundError:
            return gid, None

    job.progress("entry details", 0, len(todo))
    gone: list[str] = []
    try:
        for gid, payload in job.gw.imap(one, todo):
            done += 1
            if payload is None:
                gone.append(gid)
                job.skips.add("entry", gid, "deleted between list and detail read (404): removed")
            else:
                ctx.read_at = datetime.now(UTC)
                entry = map_entry(payload, ctx, owners.get(gid))
                if entry is not None:
                    batch.append(entry)
            if len(batch) >= BATCH or done == len(todo):
                store.upsert_entries(batch)
                job.details_read += len(batch)
                batch = []
                job.progress("entry details", done, len(todo))
    finally:
        if batch:  # whatever was read before an interruption is kept
            store.upsert_entries(batch)
            job.details_read += len(batch)
        if gone:
            job.delete("entries", gone, store.delete_entries)
    log.info("read %d entry details in %.1fs", done, time.monotonic() - t0)
    return 0
