"""Golden cases: every figure below was checked by hand against tests/fixtures/analytics.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from tests.fixtures.analytics import tiny_capacity_config
from tools.analytics import (
    AnomalyKind,
    billing_draft,
    build_calendar,
    capacity_report,
    detect_anomalies,
    forecast_projects,
    retrospective,
    schedule_variances,
    variance_report,
)
from tools.analytics.retro import admin_overhead, scope_creep
from tools.records import Workspace


def test_variance_overall_and_groups(analytics_workspace: Workspace) -> None:
    report = variance_report(analytics_workspace)
    assert report.tasks_considered == 7  # t1..t7 completed
    assert report.with_ratio == 5
    assert report.missing_estimate == 1  # t6
    assert report.zero_hours == 1  # t7: estimate 0
    overall = report.overall
    assert overall is not None
    assert overall.median_ratio == pytest.approx(1.2)
    assert overall.overrun_share == pytest.approx(0.6)
    assert (overall.ratio_low, overall.ratio_high) == (0.75, 2.0)  # n=5 at 90%: min..max
    assert overall.estimate_hours == 29.0 and overall.actual_hours == 34.0
    by_person = {g.label: (g.n, g.median_ratio) for g in report.by["assignee"]}
    assert by_person == {"Alice": (2, 1.6), "Bob": (2, 0.875), "Carol": (1, 1.5)}
    by_type = {g.key: g.median_ratio for g in report.by["project_type"]}
    assert by_type == {"client build": 1.2, "internal tool": 1.25}
    assert [g.key for g in report.by["month"]] == ["2026-10"]
    assert report.top_overruns[0].task_gid == "t2" and report.top_overruns[0].variance_pct == 100.0
    assert report.top_underruns[0].task_gid == "t3" and report.top_underruns[0].variance_pct == -25.0


def test_schedule_variance_field_values(analytics_workspace: Workspace) -> None:
    values = schedule_variances(analytics_workspace.tasks)
    assert values == {"t1": 20.0, "t2": 100.0, "t3": -25.0, "t4": 0.0, "t5": 50.0}


def test_anomalies_find_each_planted_case(analytics_workspace: Workspace) -> None:
    config = tiny_capacity_config()
    calendar = build_calendar(config, analytics_workspace.people)
    flags = detect_anomalies(analytics_workspace, calendar=calendar)
    found = {(f.kind, f.entry_gid or f.task_gid) for f in flags}
    assert (AnomalyKind.DUPLICATE, "e9") in found
    assert (AnomalyKind.WEEKEND, "e10") in found
    assert (AnomalyKind.HOLIDAY, "e11") in found
    assert (AnomalyKind.IMPLAUSIBLE, "e16") in found
    assert (AnomalyKind.FUTURE, "e17") in found
    assert (AnomalyKind.VARIANCE, "t2") in found  # +100%
    assert (AnomalyKind.VARIANCE, "t3") not in found  # -25% is within 50%
    assert all(0.0 <= f.score <= 1.0 and f.reason for f in flags)
    assert flags == sorted(flags, key=lambda f: -f.score) or flags[0].score >= flags[-1].score
    # Bob logged nothing in the weeks of 12 and 19 Oct while Payment API (t9) was open.
    silent = {f.day for f in flags if f.kind is AnomalyKind.MISSING_LOG and f.person_gid == "u_bob"}
    assert silent == {date(2026, 10, 12), date(2026, 10, 19)}


def test_capacity_spreads_remaining_work_over_working_days(analytics_workspace: Workspace) -> None:
    config = tiny_capacity_config()
    report = capacity_report(analytics_workspace, config=config, weeks=4)
    people = {p.name: p for p in report.people}
    bob, alice = people["Bob"], people["Alice"]
    # Bob: Payment API 16 h - 1 h logged (future entry counts as logged) = 15 h over the 8 working days
    # 28 Oct .. 6 Nov -> 3 days this week (5.6 h), 5 days next week (9.4 h). Bob works 32 h a week.
    assert bob.remaining_hours == 15.0
    assert [w.planned_hours for w in bob.weeks[:3]] == [5.6, 9.4, 0.0]
    assert bob.weeks[0].capacity_hours == 32.0
    # Alice: Checkout flow 20 - 5 = 15 h over 28 Oct .. 13 Nov minus her week off (2-6 Nov) = 8 days;
    # this week also has 2 h already logged on Monday 26 Oct.
    assert [w.planned_hours for w in alice.weeks[:3]] == [5.6, 0.0, 9.4]
    assert alice.weeks[0].logged_hours == 2.0 and alice.weeks[0].load_hours == 7.6
    assert alice.weeks[1].capacity_hours == 0.0 and alice.weeks[1].status == "off"
    assert not report.burnout


def test_billing_reconciles_to_the_minute(analytics_workspace: Workspace) -> None:
    start, end = date(2026, 10, 1), date(2026, 10, 31)
    draft = billing_draft(analytics_workspace, start, end)
    assert draft.total_minutes == 1740
    assert draft.amount_by_currency == {"EUR": Decimal("2900.00")}
    assert {ln.task_gid: ln.minutes for ln in draft.lines} == {
        "t1": 480,
        "t2": 480,
        "t3": 360,
        "t7": 120,
        "t8": 300,
    }
    assert draft.excluded_entries["not billable"] == 7  # e3 (non-billable) + 6 internal entries (e8-e13)
    assert draft.excluded_entries["zero or negative duration"] == 1  # e16
    gids = draft.entry_gids()
    assert len(gids) == len(set(gids)) == 8
    client_total = next(t for t in draft.totals if t.project_name is None)
    assert (client_total.client, client_total.minutes, client_total.amount) == (
        "Acme",
        1740,
        Decimal("2900.00"),
    )


def test_scope_creep_and_overhead(analytics_workspace: Workspace) -> None:
    creep = scope_creep(analytics_workspace, date(2026, 10, 1), date(2026, 10, 31))
    assert creep.tasks_added == 1 and creep.added_estimate_hours == 6.0  # t10, created 15 Oct
    assert creep.estimates_raised == 1 and creep.raised_hours == 8.0  # t8: 12 -> 20
    web = creep.projects[0]
    assert web.project_gid == "p_web" and web.baseline_estimate_hours == 58.0  # 10+4+8+0+20+16
    overhead = admin_overhead(analytics_workspace, date(2026, 10, 1), date(2026, 10, 31))
    assert overhead.total_hours == 45.0 and overhead.overhead_hours == 4.0  # the weekly meeting (t6)


def test_forecast_quantiles_ordered_and_bands(analytics_workspace: Workspace) -> None:
    report = forecast_projects(analytics_workspace, simulations=1000)
    assert [p.project_gid for p in report.projects] == ["p_web"]
    assert report.finished_projects == 1  # Internal Tools has no open task
    f = report.projects[0]
    assert f.open_tasks == 3 and f.remaining_estimate_hours == 36.0  # 15 + 15 + 6
    assert report.as_of <= f.p50 <= f.p80 <= f.p95
    assert all(b.p10_hours <= b.p50_hours <= b.p90_hours for b in f.burndown)
    assert f.burndown[-1].p50_hours <= f.burndown[0].p50_hours
    again = forecast_projects(analytics_workspace, simulations=1000)
    assert again == report  # seeded


def test_retrospective_bundle(analytics_workspace: Workspace) -> None:
    report = retrospective(
        analytics_workspace, date(2026, 10, 1), date(2026, 10, 31), capacity_config=tiny_capacity_config()
    )
    assert report.tasks_completed == 7 and report.tasks_created == 1
    assert report.entries == 16 and report.hours_logged == 45.0
    assert report.billing is not None and report.billing.total_minutes == 1740
    assert report.anomalies.total >= 6
    assert report.highlights[0].startswith("Tasks completed in the period took 1.20x")
    assert len(report.model_dump_json()) < 30_000
