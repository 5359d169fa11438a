"""Property tests: billing reconciles to the minute with no entry billed twice; intervals contain the
median; forecast quantiles are ordered; variance ratios agree with a direct computation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.analytics import make_entry, make_task
from tools.analytics import billing_draft, build_frame, forecast_projects, to_csv, to_json, variance_report
from tools.analytics.stats import median_interval
from tools.records import BillableStatus, Project, Workspace

START = date(2026, 10, 1)
PROJECTS = (
    Project(gid="pa", name="A", client="Acme", hourly_rate=97.5, currency="EUR"),
    Project(gid="pb", name="B", client="Beta", hourly_rate=120.0, currency="USD"),
    Project(gid="pc", name="C"),  # no client, no rate
)
STATUSES = [None, BillableStatus.BILLABLE, BillableStatus.NON_BILLABLE, BillableStatus.NOT_APPLICABLE]

entry_rows = st.lists(
    st.tuples(
        st.integers(0, 5),  # task index
        st.integers(-3, 45),  # day offset from START (some outside October)
        st.integers(-30, 600),  # minutes (some zero / negative)
        st.sampled_from(STATUSES),
        st.sampled_from([None, "pa", "pb", "pc"]),  # attributable_to
    ),
    max_size=60,
)


def _workspace(rows: list[tuple[int, int, int, BillableStatus | None, str | None]]) -> Workspace:
    tasks = tuple(
        make_task(f"t{i}", project_gid=("pa", "pb", "pc")[i % 3], billable=(None, True, False)[i % 3])
        for i in range(6)
    )
    entries = tuple(
        make_entry(
            f"e{n}",
            f"t{t}",
            "u1",
            (START + timedelta(days=d)).isoformat(),
            m,
            billable_status=s,
            project_gid=p,
        )
        for n, (t, d, m, s, p) in enumerate(rows)
    )
    return Workspace(
        projects=PROJECTS, tasks=tasks, entries=entries, as_of=datetime(2026, 11, 30, tzinfo=UTC)
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entry_rows)
def test_billing_reconciles_and_never_bills_twice(
    rows: list[tuple[int, int, int, BillableStatus | None, str | None]],
) -> None:
    ws = _workspace(rows)
    draft = billing_draft(ws, START, date(2026, 10, 31))
    assert billing_draft(ws, START, date(2026, 10, 31), frame=build_frame(ws)) == draft  # same via arrays
    gids = draft.entry_gids()
    assert len(gids) == len(set(gids))  # no entry in two lines
    by_gid = {e.gid: e for e in ws.entries}
    assert all(
        START <= by_gid[g].entered_on <= date(2026, 10, 31) and by_gid[g].duration_minutes > 0 for g in gids
    )
    assert draft.total_minutes == sum(by_gid[g].duration_minutes for g in gids)  # to the minute
    for line in draft.lines:
        assert line.minutes == sum(by_gid[g].duration_minutes for g in line.entry_gids)
    # Every in-period entry is either billed or counted as excluded, never lost.
    in_period = [e for e in ws.entries if START <= e.entered_on <= date(2026, 10, 31)]
    assert len(gids) + sum(draft.excluded_entries.values()) == len(in_period)
    # Client totals add up to the grand total, per currency amounts to the line amounts.
    assert sum(t.minutes for t in draft.totals if t.project_name is None) == draft.total_minutes
    for currency, amount in draft.amount_by_currency.items():
        assert amount == sum(
            ln.amount for ln in draft.lines if ln.amount is not None and (ln.currency or "?") == currency
        )
    # Explicitly non-billable entries never appear.
    assert not any(by_gid[g].billable_status is BillableStatus.NON_BILLABLE for g in gids)
    assert to_csv(draft).count("\n") == len(draft.lines) + 1
    assert '"total_minutes"' in to_json(draft)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0.01, 1e4, allow_nan=False), min_size=1, max_size=300),
    st.sampled_from([0.5, 0.8, 0.9, 0.95, 0.99]),
)
def test_median_interval_contains_the_median(values: list[float], level: float) -> None:
    median, low, high = median_interval(values, level)
    assert low <= median <= high
    assert min(values) <= low and high <= max(values)
    assert median == float(np.median(values))


def test_median_interval_large_sample_is_narrow() -> None:
    rng = np.random.default_rng(1)
    values = rng.lognormal(0.0, 0.5, 5000)
    median, low, high = median_interval(values, 0.9)
    assert low <= median <= high and high - low < 0.1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.floats(0.5, 40), st.floats(0.2, 4.0), st.booleans()), min_size=1, max_size=25),
    st.integers(0, 2**16),
)
def test_forecast_quantiles_are_ordered(tasks: list[tuple[float, float, bool]], seed: int) -> None:
    recs = []
    for i, (est, ratio, done) in enumerate(tasks):
        fields: dict[str, object] = {"project_gid": "pa", "assignee_gid": f"u{i % 3}", "estimate_hours": est}
        if done:
            fields |= {"actual_hours": est * ratio, "completed_at": datetime(2026, 9, 1 + i % 28, tzinfo=UTC)}
        recs.append(make_task(f"t{i}", **fields))
    ws = Workspace(projects=PROJECTS[:1], tasks=tuple(recs), as_of=datetime(2026, 10, 1, tzinfo=UTC))
    report = forecast_projects(ws, simulations=300, seed=seed)
    for f in report.projects:
        assert report.as_of <= f.p50 <= f.p80 <= f.p95
        assert f.p_on_time is None
        assert all(b.p10_hours <= b.p50_hours <= b.p90_hours for b in f.burndown)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0.1, 100), st.floats(0.1, 100)), min_size=1, max_size=40))
def test_variance_median_matches_numpy(pairs: list[tuple[float, float]]) -> None:
    tasks = tuple(
        make_task(f"t{i}", estimate_hours=e, actual_hours=a, completed_at=datetime(2026, 9, 2, tzinfo=UTC))
        for i, (e, a) in enumerate(pairs)
    )
    report = variance_report(Workspace(tasks=tasks, as_of=datetime(2026, 10, 1, tzinfo=UTC)))
    assert report.overall is not None
    expected = float(np.median([a / e for e, a in pairs]))
    assert abs(report.overall.median_ratio - expected) <= 1e-4 * max(1.0, expected)
    assert report.overall.ratio_low <= report.overall.median_ratio <= report.overall.ratio_high
