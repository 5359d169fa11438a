"""Edge cases: empty workspace, a team's first week, one task, no estimates, zero hours, bad values,
feedback that teaches the detector, calendars and .ics time off."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from agent.config import CapacityConfig, TimeOff
from tests.fixtures.analytics import make_entry, make_task, tiny_capacity_config
from tools.analytics import (
    AnomalyKind,
    DetectorFeedback,
    billing_draft,
    build_calendar,
    capacity_report,
    detect_anomalies,
    forecast_projects,
    parse_ics,
    retrospective,
    variance_report,
)
from tools.records import Person, Project, Workspace

AS_OF = datetime(2026, 10, 28, 12, tzinfo=UTC)


def test_empty_workspace_everything_runs() -> None:
    ws = Workspace(as_of=AS_OF)
    variance = variance_report(ws)
    assert variance.overall is None and variance.tasks_considered == 0
    assert detect_anomalies(ws) == []
    assert capacity_report(ws).people == []
    assert forecast_projects(ws).projects == []
    assert billing_draft(ws, date(2026, 10, 1), date(2026, 10, 31)).total_minutes == 0
    report = retrospective(ws, date(2026, 10, 1), date(2026, 10, 31))
    assert report.entries == 0 and report.highlights == []


def test_empty_workspace_without_as_of() -> None:
    assert variance_report(Workspace()).with_ratio == 0


def test_all_estimates_missing() -> None:
    done = datetime(2026, 10, 5, tzinfo=UTC)
    tasks = tuple(make_task(f"t{i}", actual_hours=3.0, completed_at=done, project_gid="p") for i in range(6))
    tasks += (make_task("open", project_gid="p", assignee_gid="u1"),)
    ws = Workspace(tasks=tasks, projects=(Project(gid="p", name="P"),), as_of=AS_OF)
    report = variance_report(ws)
    assert report.overall is None and report.missing_estimate == 6
    assert all(groups == [] for groups in report.by.values())
    forecast = forecast_projects(ws, simulations=200)
    f = forecast.projects[0]
    assert f.unestimated_tasks == 1 and f.ratio_sources == {"project": 1}  # throughput from actuals
    assert f.p50 <= f.p80 <= f.p95


def test_zero_hour_tasks_are_counted_not_divided() -> None:
    done = datetime(2026, 10, 5, tzinfo=UTC)
    tasks = (
        make_task("zero_est", estimate_hours=0.0, actual_hours=2.0, completed_at=done),
        make_task("zero_act", estimate_hours=2.0, actual_hours=0.0, completed_at=done),
        make_task("ok", estimate_hours=2.0, actual_hours=3.0, completed_at=done),
    )
    report = variance_report(Workspace(tasks=tasks, as_of=AS_OF))
    assert report.zero_hours == 2 and report.with_ratio == 1
    assert report.overall is not None and report.overall.median_ratio == 1.5


def test_person_with_one_task() -> None:
    ws = Workspace(
        people=(Person(gid="u1", name="Solo"),),
        projects=(Project(gid="p", name="P", due_on=date(2026, 11, 30)),),
        tasks=(
            make_task("t", project_gid="p", assignee_gid="u1", estimate_hours=8, due_on=date(2026, 10, 30)),
        ),
        as_of=AS_OF,
    )
    cap = capacity_report(ws, weeks=2)
    (solo,) = cap.people
    assert solo.remaining_hours == 8.0 and solo.weeks[0].planned_hours == 8.0  # Wed-Fri this week
    assert solo.bias_ratio == 1.0  # no history: no bias applied
    f = forecast_projects(ws, simulations=200).projects[0]
    assert any("assumed 80% of capacity" in note for note in f.notes)


def test_team_first_week_has_no_history_flags() -> None:
    monday = date(2026, 10, 26)
    tasks = (
        make_task("t", assignee_gid="u1", estimate_hours=10, created_at=datetime(2026, 10, 26, tzinfo=UTC)),
    )
    entries = tuple(
        make_entry(f"e{i}", "t", "u1", (monday + timedelta(days=i)).isoformat(), 240) for i in range(3)
    )
    ws = Workspace(people=(Person(gid="u1", name="New"),), tasks=tasks, entries=entries, as_of=AS_OF)
    flags = detect_anomalies(ws)
    assert not any(f.kind in (AnomalyKind.PACE, AnomalyKind.MISSING_LOG) for f in flags)


def test_bad_values_do_not_poison_results() -> None:
    done = datetime(2026, 10, 5, tzinfo=UTC)
    tasks = (
        make_task("nan", estimate_hours=float("nan"), actual_hours=2.0, completed_at=done),
        make_task("neg", estimate_hours=-4.0, actual_hours=2.0, completed_at=done),
        make_task("inf", estimate_hours=2.0, actual_hours=float("inf"), completed_at=done),
        make_task("ok", estimate_hours=2.0, actual_hours=2.0, completed_at=done),
    )
    report = variance_report(Workspace(tasks=tasks, as_of=AS_OF))
    assert report.with_ratio == 1 and report.overall is not None and report.overall.median_ratio == 1.0
    assert report.missing_estimate == 2 and report.missing_actual == 1


def _pace_workspace(spike_minutes: int = 720) -> Workspace:
    """u1 logs 4 h every weekday for 4 weeks, then a longer day."""
    start = date(2026, 9, 28)
    entries = []
    day = start
    n = 0
    while day < date(2026, 10, 23):
        if day.weekday() < 5:
            entries.append(make_entry(f"e{n}", "t", "u1", day.isoformat(), 240))
            n += 1
        day += timedelta(days=1)
    entries.append(make_entry("big", "t", "u1", "2026-10-23", spike_minutes))
    tasks = (make_task("t", assignee_gid="u1"),)
    return Workspace(people=(Person(gid="u1", name="Pat"),), tasks=tasks, entries=tuple(entries), as_of=AS_OF)


def test_pace_against_own_history() -> None:
    flags = [f for f in detect_anomalies(_pace_workspace()) if f.kind is AnomalyKind.PACE]
    assert [f.entry_gid for f in flags] == ["big"]
    assert "usual day is 4.0 h" in flags[0].reason


def test_confirmed_normal_feedback_raises_that_persons_threshold() -> None:
    ws = _pace_workspace(spike_minutes=420)  # 7 h against a usual 4 h: robust z = 6
    once = [DetectorFeedback(person_gid="u1", kind=AnomalyKind.PACE)]
    base = next(f for f in detect_anomalies(ws) if f.kind is AnomalyKind.PACE)
    taught = [f for f in detect_anomalies(ws, feedback=once) if f.kind is AnomalyKind.PACE]
    assert len(taught) == 1 and taught[0].score < base.score
    thrice = once * 3
    assert not [f for f in detect_anomalies(ws, feedback=thrice) if f.kind is AnomalyKind.PACE]
    # Another person's or another kind's feedback changes nothing.
    other = [
        DetectorFeedback(person_gid="u2", kind=AnomalyKind.PACE),
        DetectorFeedback(person_gid="u1", kind=AnomalyKind.WEEKEND),
    ]
    assert [f for f in detect_anomalies(ws, feedback=other) if f.kind is AnomalyKind.PACE] == [base]


def test_feedback_suppresses_binary_kinds(analytics_workspace: Workspace) -> None:
    before = {f.entry_gid for f in detect_anomalies(analytics_workspace) if f.kind is AnomalyKind.WEEKEND}
    assert before == {"e10"}
    feedback = [DetectorFeedback(person_gid="u_carol", kind=AnomalyKind.WEEKEND)]
    after = {
        f.entry_gid
        for f in detect_anomalies(analytics_workspace, feedback=feedback)
        if f.kind is AnomalyKind.WEEKEND
    }
    assert after == set()
    # "Confirmed anomalous" does not lower the bar below the default.
    strict = [DetectorFeedback(person_gid="u_carol", kind=AnomalyKind.WEEKEND, confirmed_normal=False)]
    assert {
        f.entry_gid
        for f in detect_anomalies(analytics_workspace, feedback=strict)
        if f.kind is AnomalyKind.WEEKEND
    } == before


def test_time_off_entries_flagged(analytics_workspace: Workspace) -> None:
    config = CapacityConfig(time_off=[TimeOff(person="Bob", start=date(2026, 10, 6), end=date(2026, 10, 7))])
    calendar = build_calendar(config, analytics_workspace.people)
    flags = detect_anomalies(analytics_workspace, calendar=calendar)
    off = {f.entry_gid for f in flags if f.kind is AnomalyKind.HOLIDAY}
    assert off == {"e6", "e7"}


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1
SUMMARY:Alice: vacation
DTSTART;VALUE=DATE:20261102
DTEND;VALUE=DATE:20261107
END:VEVENT
BEGIN:VEVENT
UID:2
SUMMARY:Out of office
ATTENDEE:mailto:bob@example.com
DTSTART:20261110T090000Z
DTEND:20261110T170000Z
END:VEVENT
BEGIN:VEVENT
UID:3
SUMMARY:Company day
DTSTART;VALUE=DATE:20261225
END:VEVENT
END:VCALENDAR
"""


def test_ics_time_off_and_holidays(analytics_workspace: Workspace) -> None:
    time_off, holidays = parse_ics(ICS)
    assert [(t.person, t.start, t.end) for t in time_off] == [
        ("Alice", date(2026, 11, 2), date(2026, 11, 6)),
        ("bob@example.com", date(2026, 11, 10), date(2026, 11, 10)),
    ]
    assert holidays == [date(2026, 12, 25)]
    calendar = build_calendar(CapacityConfig(), analytics_workspace.people, ics_text=ICS)
    assert set(calendar.time_off) == {"u_alice", "u_bob"}
    assert calendar.working_days(date(2026, 11, 2), date(2026, 11, 13), "u_alice") == 5
    assert calendar.working_days(date(2026, 11, 9), date(2026, 11, 13), "u_bob") == 4
    assert not calendar.is_working_day(date(2026, 12, 25))
    with pytest.raises(ValueError):
        parse_ics("not a calendar")


def test_unresolved_time_off_is_kept_and_reported() -> None:
    config = CapacityConfig(
        time_off=[TimeOff(person="Nobody", start=date(2026, 11, 2), end=date(2026, 11, 3))]
    )
    calendar = build_calendar(config, (Person(gid="u1", name="Somebody"),))
    assert calendar.unresolved == ("Nobody",) and "Nobody" in calendar.time_off


def test_burnout_signal_on_two_overloaded_weeks() -> None:
    people = (Person(gid="u1", name="Busy"),)
    tasks = (
        make_task("a", assignee_gid="u1", estimate_hours=100, due_on=date(2026, 11, 13)),  # ~10 days
    )
    ws = Workspace(people=people, tasks=tasks, as_of=datetime(2026, 11, 2, 8, tzinfo=UTC))
    report = capacity_report(ws, config=CapacityConfig(), weeks=3)
    (busy,) = report.people
    assert [w.status for w in busy.weeks[:2]] == ["over", "over"]
    assert busy.weeks[0].p_over > 0.5
    assert busy.burnout and busy.burnout_weeks == [date(2026, 11, 2), date(2026, 11, 9)]
    assert report.burnout == ["Busy"]


def test_already_billed_entries_are_not_billed_again(analytics_workspace: Workspace) -> None:
    first = billing_draft(analytics_workspace, date(2026, 10, 1), date(2026, 10, 31))
    second = billing_draft(
        analytics_workspace, date(2026, 10, 1), date(2026, 10, 31), already_billed=first.entry_gids()
    )
    assert second.lines == [] and second.excluded_entries["already billed"] == len(first.entry_gids())


def test_capacity_uses_config_hours_and_holidays(analytics_workspace: Workspace) -> None:
    report = capacity_report(analytics_workspace, config=tiny_capacity_config(), weeks=2)
    bob = next(p for p in report.people if p.name == "Bob")
    assert bob.weekly_capacity_hours == 32.0


def test_each_over_long_entry_is_flagged_and_long_days_once() -> None:
    tasks = (make_task("t", assignee_gid="u1"),)
    entries = (
        make_entry("huge1", "t", "u1", "2026-10-06", 1100),
        make_entry("huge2", "t", "u1", "2026-10-06", 1000),
        make_entry("a", "t", "u1", "2026-10-07", 540),
        make_entry("b", "t", "u1", "2026-10-07", 500),  # 17.3 h over two entries
    )
    ws = Workspace(people=(Person(gid="u1", name="Lee"),), tasks=tasks, entries=entries, as_of=AS_OF)
    flagged = sorted(f.entry_gid or "" for f in detect_anomalies(ws) if f.kind is AnomalyKind.IMPLAUSIBLE)
    assert flagged == ["a", "huge1", "huge2"]


def test_unassigned_open_task_with_uneven_histories_forecasts() -> None:
    """Issue 17.3: one person logged on the project for weeks, another only this week, and one open
    task has no assignee. The unassigned work is scheduled on the project's weekly series, built from
    person series of different lengths; that used to raise "inhomogeneous shape" and crash forecast,
    retro and summary."""
    done = datetime(2026, 10, 20, tzinfo=UTC)
    tasks = tuple(
        make_task(f"d{i}", estimate_hours=4.0, actual_hours=5.0, completed_at=done, project_gid="p",
                  assignee_gid="u1" if i % 2 else "u2")
        for i in range(6)
    )  # fmt: skip
    tasks += (make_task("open", project_gid="p", estimate_hours=6.0),)  # no assignee
    entries = (
        make_entry("e1", "d1", "u1", "2026-08-10", 300),  # u1: eleven weeks back
        make_entry("e2", "d1", "u1", "2026-10-20", 240),
        make_entry("e3", "d0", "u2", "2026-10-26", 180),  # u2: this week only
    )
    people = (Person(gid="u1", name="One"), Person(gid="u2", name="Two"))
    ws = Workspace(
        tasks=tasks, entries=entries, people=people, projects=(Project(gid="p", name="P"),), as_of=AS_OF
    )
    [f] = forecast_projects(ws, simulations=200).projects
    assert f.open_tasks == 1 and f.p50 <= f.p80 <= f.p95
    assert any("unassigned" in note for note in f.notes)
