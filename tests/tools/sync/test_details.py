"""Complete data (issue 11): entry details read one by one where the lists leave them out, within the
detail window, newest first, resumable, only for new or changed entries; bad input is a logged skip."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.store import fast_gateway, sync_settings
from tests.tools.sync.test_engine import FAST, expected, stored
from tools.gateway import AsanaGateway, ConnectionFailed
from tools.records import BillableStatus, EntryApprovalStatus
from tools.store import Store
from tools.sync import SyncOptions, SyncSummary, request_detail_period, sync_workspace

DETAIL = "GET /time_tracking_entries/{gid}"


def _options(sb: Any, **kw: Any) -> SyncOptions:
    return SyncOptions.of(sync_settings(sb)).model_copy(update=kw)


def _sync(
    sb: Any, store: Store, *, full: bool = False, gw: AsanaGateway | None = None, **kw: Any
) -> SyncSummary:
    if gw is not None:
        return sync_workspace(gw, store, _options(sb, **kw), full=full)
    with fast_gateway(sb, retry=FAST) as g:
        return sync_workspace(g, store, _options(sb, **kw), full=full)


def _sandbox_entries(sb: Any) -> dict[str, dict[str, Any]]:
    listed = {g for g, t in sb.state.objects["task"].items() if t.get("projects")}
    return {g: e for g, e in sb.state.objects["time_tracking_entry"].items() if e["task"] in listed}


def test_every_stored_entry_field_is_complete_on_the_sandbox(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=41, tasks=40)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    summary = _sync(sb, store, full=True, detail_window_days=3660)  # a window over all of the history
    truth = _sandbox_entries(sb)
    assert summary.requests_by_endpoint[DETAIL] == len(truth)  # the minimum: one read per entry
    cats = {g: c["name"] for g, c in sb.state.objects["time_tracking_category"].items()}
    entries = {e.gid: e for e in store.workspace().entries}
    assert set(entries) == set(truth)
    for gid, raw in truth.items():
        e = entries[gid]
        assert e.details_read_at is not None
        assert e.billable_status is BillableStatus(raw["billable_status"])
        assert e.description == raw["description"]
        assert e.created_at is not None and e.created_at.isoformat()[:19] == raw["created_at"][:19]
        assert e.approval_status is EntryApprovalStatus(raw["approval_status"].lower())
        assert e.categories == tuple(cats[c] for c in raw["categories"])
        assert (e.user_gid, e.project_gid) == (raw["created_by"], raw["attributable_to"])
    assert all(line.share == 1.0 for line in summary.coverage if "categories" not in line.field)
    assert summary.details_pending == 0 and stored(store) == expected(sb)


def test_the_window_reads_the_newest_and_coverage_says_so(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=42, tasks=60)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    summary = _sync(sb, store, full=True, detail_window_days=120)
    start = summary.window_start
    assert start is not None
    ws = store.workspace()
    inside = [e for e in ws.entries if e.entered_on >= start]
    outside = [e for e in ws.entries if e.entered_on < start]
    assert inside and outside
    assert all(e.billable_status is not None and e.details_read_at is not None for e in inside)
    assert all(e.billable_status is None and e.details_read_at is None for e in outside)  # unknown, no guess
    assert summary.requests_by_endpoint[DETAIL] == len(inside)
    billable = next(c for c in summary.coverage if c.field == "billable status")
    assert (billable.known, billable.total) == (len(inside), len(inside)) and str(
        start
    ) in billable.describe()
    assert store.coverage(start).complete_since is not None and store.coverage(start).complete_since <= start
    again = _sync(sb, store, full=True, detail_window_days=120)  # unchanged compact records: no re-read
    assert DETAIL not in again.requests_by_endpoint


def test_events_name_changed_entries_and_only_those_are_read(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=43, tasks=80)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    first = _sync(sb, store, full=True)
    assert first.window_start is not None
    recent = [e for e in _sandbox_entries(sb).values() if e["entered_on"] >= first.window_start.isoformat()]
    note, status = recent[0], recent[1]
    sb.state.update_time_entry(note["gid"], {"description": "rewritten by its author"})  # compact unchanged
    sb.state.update_time_entry(status["gid"], {"billable_status": "nonBillable"})
    inc = _sync(sb, store)
    assert inc.mode.startswith("incremental")
    assert inc.requests_by_endpoint.get(DETAIL) == 2  # one per changed entry, nothing else
    assert inc.requests <= 5 + 2, inc.requests_by_endpoint
    by_gid = {e.gid: e for e in store.workspace().entries}
    assert by_gid[note["gid"]].description == "rewritten by its author"
    assert by_gid[status["gid"]].billable_status is BillableStatus.NON_BILLABLE


class _FailingAfter:
    """A gateway whose single-entry reads fail after ``n`` (a dropped network mid-backfill)."""

    def __init__(self, gw: AsanaGateway, n: int) -> None:
        self.n = n
        self.original = gw.get_time_entry_raw

    def __call__(self, gid: str) -> dict[str, Any]:
        self.n -= 1
        if self.n < 0:
            raise ConnectionFailed("network gone")
        return self.original(gid)


def test_an_interrupted_backfill_keeps_what_it_read(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=44, tasks=60)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    with fast_gateway(sb, retry=FAST, max_concurrency=1) as gw:
        gw.get_time_entry_raw = _FailingAfter(gw, 25)  # type: ignore[method-assign]
        with pytest.raises(ConnectionFailed):
            sync_workspace(gw, store, _options(sb), full=True)
    read = sum(1 for e in store.workspace().entries if e.details_read_at is not None)
    assert read == 25  # nothing read was lost
    assert store.sync_runs()[0].status == "failed"
    rest = _sync(sb, store)  # the events token was saved: an incremental run continues the backfill
    assert rest.mode.startswith("incremental") and rest.details_read == rest.requests_by_endpoint[DETAIL]
    window = rest.window_start
    assert window is not None
    inside = [e for e in _sandbox_entries(sb).values() if e["entered_on"] >= window.isoformat()]
    assert rest.details_read == len(inside) - 25 and rest.details_pending == 0


def test_bad_input_is_a_logged_skip_and_the_next_sync_converges(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=45, tasks=40)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    start = (date(2026, 11, 27) - timedelta(days=60)).isoformat()
    recent = [e for e in _sandbox_entries(sb).values() if e["entered_on"] >= start]
    odd, doomed = recent[0], recent[1]
    odd["billable_status"] = "billableLater"  # a value Asana might add one day
    with fast_gateway(sb, retry=FAST, max_concurrency=1) as gw:
        original = gw.get_time_entry_raw

        def read(gid: str) -> dict[str, Any]:
            if gid == doomed["gid"] and doomed["gid"] in sb.state.objects["time_tracking_entry"]:
                sb.state.delete_time_entry(gid)  # deleted between the list and the detail read
            return original(gid)

        gw.get_time_entry_raw = read  # type: ignore[method-assign]
        summary = sync_workspace(gw, store, _options(sb), full=True)
    assert summary.status == "ok"
    reasons = {s["gid"]: s["reason"] for s in summary.skips}
    assert "unknown billable_status 'billableLater'" in reasons[odd["gid"]]
    assert "404" in reasons[doomed["gid"]]
    entries = {e.gid: e for e in store.workspace().entries}
    assert doomed["gid"] not in entries  # gone from the store too
    assert entries[odd["gid"]].billable_status is None and entries[odd["gid"]].details_read_at is not None
    assert len(entries) == len(_sandbox_entries(sb))  # nothing else lost
    odd["billable_status"] = "billable"
    sb.state.update_time_entry(odd["gid"], {"description": "fixed"})
    _sync(sb, store)
    assert stored(store) == expected(sb)
    assert {e.gid: e for e in store.workspace().entries}[
        odd["gid"]
    ].billable_status is BillableStatus.BILLABLE


def test_a_requested_period_outside_the_window_is_read_and_kept(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=46, tasks=60)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    first = _sync(sb, store, full=True, detail_window_days=60)
    assert first.window_start is not None
    old = [e for e in store.workspace().entries if e.entered_on < first.window_start]
    month = max(e.entered_on for e in old).replace(day=1)
    end = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    in_month = [e for e in old if month <= e.entered_on <= end]
    assert in_month and all(e.details_read_at is None for e in in_month)
    request_detail_period(store, month, end)
    inc = _sync(sb, store, detail_window_days=60)
    assert inc.requests_by_endpoint[DETAIL] == len(in_month)
    assert all(
        e.details_read_at is not None for e in store.workspace().entries if month <= e.entered_on <= end
    )
