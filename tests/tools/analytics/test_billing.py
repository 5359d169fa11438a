"""Billing from the truth, checked against an independent computation straight from the sandbox's API
records (entry-level billable status x the person's rate), and duplicates that claim only the evidence
that was read."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from evals.bench.data_bench import reference  # the independent computation, one copy
from tests.fixtures.store import fast_gateway, sync_settings
from tests.tools.sync.test_engine import FAST
from tools.analytics.anomalies import AnomalyKind, detect_anomalies
from tools.analytics.billing import billing_draft
from tools.records import Person, Project, Task, TimeEntry, Workspace
from tools.store import Store
from tools.sync import SyncOptions, sync_workspace


def _month(key: str) -> tuple[date, date]:
    start = date.fromisoformat(key + "-01")
    return start, (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def test_billing_matches_the_api_for_every_client_and_month(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=61, tasks=150)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    options = SyncOptions.of(sync_settings(sb)).model_copy(update={"detail_window_days": 3660})
    with fast_gateway(sb, retry=FAST) as gw:
        sync_workspace(gw, store, options, full=True)
    ws = store.workspace()
    ref = reference(sb)
    months = sorted({m for _, m in ref})
    assert len(months) >= 6
    for month in months:
        draft = billing_draft(ws, *_month(month))
        assert draft.status_unknown_entries == 0 and draft.rule_billed_minutes == 0
        mine: dict[str, float] = defaultdict(float)
        for line in draft.lines:
            mine[line.client] += float(line.amount or 0)
        for (client, m), money in ref.items():
            if m == month:
                assert abs(mine[client] - money) <= 0.005 * money + 0.01, (client, month, mine[client], money)
        assert set(mine) == {c for c, m in ref if m == month}


def _entry(gid: str, minutes: int, **details: Any) -> TimeEntry:
    return TimeEntry(
        gid=gid, task_gid="t", user_gid="u", entered_on=date(2026, 10, 6), duration_minutes=minutes,
        project_gid="p", **details,
    )  # fmt: skip


def _workspace(entries: list[TimeEntry]) -> Workspace:
    return Workspace(
        people=(Person(gid="u", name="Ana"),),
        projects=(Project(gid="p", name="Site", client="Acme", hourly_rate=100.0, currency="EUR"),),
        tasks=(Task(gid="t", name="Build", project_gid="p", created_at=datetime(2026, 9, 1, tzinfo=UTC)),),
        entries=tuple(entries),
        as_of=datetime(2026, 11, 1, tzinfo=UTC),
    )


def test_only_truly_unknown_statuses_fall_back_and_the_draft_says_how_many_hours() -> None:
    read = datetime(2026, 10, 7, tzinfo=UTC)
    ws = _workspace(
        [
            _entry("billable", 60, billable_status="billable", details_read_at=read),
            _entry("not", 60, billable_status="nonBillable", details_read_at=read),
            _entry("n/a", 60, billable_status="notApplicable", details_read_at=read),  # never billed by rule
            _entry("unread", 90),
            _entry("odd", 30, details_read_at=read),  # read, but a status value we do not know
        ]
    )
    draft = billing_draft(ws, date(2026, 10, 1), date(2026, 10, 31))
    assert sorted(draft.entry_gids()) == ["billable", "odd", "unread"]
    assert (draft.status_unknown_entries, draft.status_unknown_minutes, draft.rule_billed_minutes) == (
        2,
        120,
        120,
    )
    assert draft.warnings[0].startswith("billable status unknown for 2 entries (2:00 h)")
    assert "1 not read, 1 with a status value" in draft.warnings[0]
    assert "effort sync --details 2026-10-06..2026-10-06" in draft.warnings[0]


def test_a_duplicate_reason_names_only_evidence_that_was_compared() -> None:
    def flags(entries: list[TimeEntry]) -> dict[str, Any]:
        return {
            f.entry_gid: f for f in detect_anomalies(_workspace(entries)) if f.kind is AnomalyKind.DUPLICATE
        }

    unread = flags([_entry("a", 45), _entry("b", 45)])  # compact records only: no notes, no times
    assert set(unread) == {"b"}
    reason = unread["b"].reason
    assert (
        "note and creation time not read" in reason
        and "same note" not in reason
        and "created" not in reason.split(":")[1]
    )
    assert unread["b"].score <= 0.5  # listed, never proposed on duration alone
    t = datetime(2026, 10, 6, 17, tzinfo=UTC)
    read = flags(
        [
            _entry("a", 45, description="api review", created_at=t, details_read_at=t),
            _entry("b", 45, description="api review", created_at=t + timedelta(minutes=2), details_read_at=t),
        ]
    )
    assert "same note" in read["b"].reason and "created 2 min apart" in read["b"].reason
