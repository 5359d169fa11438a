"""Timesheet drafts: fill the gaps a person's activity shows, never duplicate, never invent a day.

Ana's history: 6 h on each weekday for six weeks, so her usual day is 6 h. The drafted week is 2026-W44
(Mon 26 Oct .. Sun 1 Nov), drafted on Mon 2 Nov:
- Mon: 6 h logged on "Checkout flow" (full day: nothing to add);
- Tue: nothing logged; "Checkout flow" was worked Mon and Wed (in progress);
- Wed: 2 h logged on "Checkout flow";
- Thu: nothing logged; she commented on "Payment API" at 14:05 and completed it;
- Fri: nothing logged; a calendar meeting 10:00-11:00 about the payment API, with its task link;
- Sat/Sun: not working days.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tests.fixtures.analytics import make_entry, make_task
from tools.analytics.calendar import WorkCalendar
from tools.analytics.timesheet import (
    Activity,
    ActivityKind,
    TimesheetError,
    activities_from_stories,
    draft_timesheet,
    parse_meetings,
    parse_week,
)
from tools.records import ActualSource, Person, Project, Workspace

MONDAY = date(2026, 10, 26)
TODAY = date(2026, 11, 2)


def _ws(extra_tasks: tuple = (), extra_entries: tuple = ()) -> Workspace:  # type: ignore[type-arg]
    history = []
    for week in range(1, 7):
        for day in range(5):
            d = MONDAY - timedelta(weeks=week) + timedelta(days=day)
            history.append(make_entry(f"h{week}{day}", "t_old", "u_ana", d.isoformat(), 360))
    tasks = (
        make_task("t_old", name="Old work", project_gid="p1", assignee_gid="u_ana", completed_at=datetime(2026, 10, 23, 17, tzinfo=UTC)),
        make_task("t_checkout", name="Checkout flow", project_gid="p1", assignee_gid="u_ana", estimate_hours=30),
        make_task("t_pay", name="Payment API", project_gid="p1", assignee_gid="u_ana", completed_at=datetime(2026, 10, 29, 16, tzinfo=UTC)),
        *extra_tasks,
    )  # fmt: skip
    entries = (
        *history,
        make_entry("w1", "t_checkout", "u_ana", "2026-10-26", 360),
        make_entry("w2", "t_checkout", "u_ana", "2026-10-28", 120),
        *extra_entries,
    )
    return Workspace(
        people=(
            Person(gid="u_ana", name="Ana Lopez", email="ana@example.com"),
            Person(gid="u_bo", name="Bo"),
        ),
        projects=(Project(gid="p1", name="Shop"),),
        tasks=tasks,
        entries=entries,
        as_of=datetime(2026, 11, 2, 9, tzinfo=UTC),
    )


COMMENT = Activity(
    person_gid="u_ana",
    task_gid="t_pay",
    at=datetime(2026, 10, 29, 14, 5, tzinfo=UTC),
    kind=ActivityKind.COMMENT,
)

ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1
DTSTART:20261030T100000Z
DTEND:20261030T110000Z
SUMMARY:Payment API review
DESCRIPTION:https://app.asana.com/0/1/t_pay is not a gid; task: 1208000000000042
END:VEVENT
BEGIN:VEVENT
UID:2
DTSTART:20261030T140000Z
DTEND:20261030T150000Z
SUMMARY:Cancelled sync
STATUS:CANCELLED
END:VEVENT
BEGIN:VEVENT
UID:3
DTSTART;VALUE=DATE:20261027
DTEND;VALUE=DATE:20261028
SUMMARY:Conference (all day)
END:VEVENT
BEGIN:VEVENT
UID:4
DTSTART:20261030T150000Z
DTEND:20261030T160000Z
SUMMARY:Declined meeting
ATTENDEE;PARTSTAT=DECLINED:mailto:ana@example.com
END:VEVENT
END:VCALENDAR
"""


def _draft(ws: Workspace | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    return draft_timesheet(ws or _ws(), "u_ana", MONDAY, today=TODAY, **kwargs)  # type: ignore[arg-type]


def test_draft_fills_the_gaps_and_never_duplicates() -> None:
    draft = _draft(activities=[COMMENT])
    assert draft.week == "2026-W44" and draft.usual_day_minutes == 360
    by_day = {(x.entered_on, x.task_gid): x for x in draft.lines}
    # Tue: the whole usual day on the task in progress around it, low confidence, with the reason.
    tue = by_day[(date(2026, 10, 27), "t_checkout")]
    assert (tue.minutes, tue.confidence) == (360, "low")
    assert "Mon 26 Oct and Wed 28 Oct" in tue.reasons[0]
    # Thu: the task she commented on and completed that day.
    thu = by_day[(date(2026, 10, 29), "t_pay")]
    assert thu.confidence == "medium" and thu.minutes == 360
    assert any("commented" in r for r in thu.reasons) and any("completed" in r for r in thu.reasons)
    # Never on a (task, day) she logged, never past her usual day, never on a weekend or after today.
    logged = {(e.task_gid, e.entered_on) for e in _ws().entries}
    assert all((x.task_gid, x.entered_on) not in logged for x in draft.lines)
    for day in draft.days:
        assert day.logged_minutes + day.drafted_minutes <= max(360, day.logged_minutes)
    assert {x.entered_on for x in draft.lines} == {date(2026, 10, 27), date(2026, 10, 29)}
    assert draft.logged_minutes == 480 and draft.drafted_minutes == 720


def test_calendar_meetings_become_exact_lines_and_skip_what_is_not_work() -> None:
    meetings = parse_meetings(ICS, person_email="ana@example.com")
    assert [(m.summary, m.minutes, m.task_gid) for m in meetings] == [
        ("Payment API review", 60, "1208000000000042")
    ]
    draft = _draft(meetings=meetings)
    [fri] = [x for x in draft.lines if x.entered_on == date(2026, 10, 30)]
    # The linked task is not in the workspace: the line keeps the meeting and asks for a task.
    assert (fri.task_gid, fri.task_name, fri.minutes, fri.confidence) == (
        None,
        "Payment API review",
        60,
        "high",
    )
    assert any("need one" in n for n in draft.notes)
    # Linked to a task that exists: the line is on that task.
    linked = parse_meetings(ICS.replace("1208000000000042", "t_pay").replace("task: t_pay", "task: 4242424"))
    assert linked[0].task_gid == "4242424"


def test_a_meeting_names_its_task_by_title_when_it_has_no_link() -> None:
    ics = ICS.replace(
        "DESCRIPTION:https://app.asana.com/0/1/t_pay is not a gid; task: 1208000000000042\n", ""
    )
    ics = ics.replace("SUMMARY:Payment API review", "SUMMARY:Checkout flow pairing")
    draft = _draft(meetings=parse_meetings(ics, person_email="ana@example.com"))
    fri = [x for x in draft.lines if x.entered_on == date(2026, 10, 30)]
    # "Checkout flow" is not in progress on Friday (no touch after Wed): no claim, so no name match.
    assert [x.task_gid for x in fri] == [None]
    # With the task touched after Friday it is in progress, and the meeting lands on it.
    later = make_entry("w3", "t_checkout", "u_ana", "2026-11-02", 60)
    draft = draft_timesheet(
        _ws(extra_entries=(later,)),
        "u_ana",
        MONDAY,
        today=TODAY,
        meetings=parse_meetings(ics, person_email="ana@example.com"),
    )
    fri = [x for x in draft.lines if x.entered_on == date(2026, 10, 30)]
    assert [(x.task_gid, x.minutes, x.confidence) for x in fri] == [("t_checkout", 60, "high")]


def test_a_tasks_own_actual_hours_above_what_was_logged_is_a_known_amount() -> None:
    done = make_task(
        "t_fix", name="Hotfix", project_gid="p1", assignee_gid="u_ana", actual_hours=3.5,
        actual_source=ActualSource.CUSTOM_FIELD, completed_at=datetime(2026, 10, 29, 11, tzinfo=UTC),
    )  # fmt: skip
    logged = make_entry("f1", "t_fix", "u_ana", "2026-10-28", 60)
    draft = _draft(_ws(extra_tasks=(done,), extra_entries=(logged,)))
    [fix] = [x for x in draft.lines if x.task_gid == "t_fix"]
    assert (fix.entered_on, fix.minutes, fix.confidence) == (date(2026, 10, 29), 150, "high")
    assert "3.5 h" in fix.reasons[0] and "1.0 h are logged" in fix.reasons[0]


def test_holidays_and_time_off_are_never_drafted() -> None:
    calendar = WorkCalendar(
        holidays=(date(2026, 10, 29),), time_off={"u_ana": ((date(2026, 10, 27), date(2026, 10, 27)),)}
    )
    draft = _draft(activities=[COMMENT], calendar=calendar)
    assert draft.lines == []
    assert [d.working for d in draft.days] == [True, False, True, False, True, False, False]


def test_a_week_in_the_future_or_not_a_week_is_refused() -> None:
    assert parse_week("2026-W44", TODAY) == (MONDAY, "2026-W44")
    assert parse_week("last-week", TODAY) == (MONDAY, "2026-W44")
    assert parse_week("2026-10-28", TODAY) == (MONDAY, "2026-W44")
    with pytest.raises(TimesheetError, match="after today"):
        parse_week("2026-W46", TODAY)
    with pytest.raises(TimesheetError, match="longer than a week"):
        parse_week("October", TODAY)
    with pytest.raises(TimesheetError, match="no ISO week 54"):
        parse_week("2026-W54", TODAY)
    with pytest.raises(TimesheetError, match="in the future"):
        draft_timesheet(_ws(), "u_ana", date(2026, 11, 9), today=TODAY)


def test_a_person_with_no_activity_gets_a_clear_message() -> None:
    with pytest.raises(TimesheetError, match="Bo has no logged time, no Asana activity"):
        draft_timesheet(_ws(), "u_bo", MONDAY, today=TODAY)
    with pytest.raises(TimesheetError, match="no synced person"):
        draft_timesheet(_ws(), "u_nobody", MONDAY, today=TODAY)


@pytest.mark.parametrize(
    "text",
    ["date,hours\n2026-10-26,4\n", b"\x00\x01\x02 binary", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:garbage"],
)
def test_a_calendar_file_that_is_not_ics_is_a_clear_error(text: str | bytes) -> None:
    with pytest.raises(TimesheetError, match="iCalendar"):
        parse_meetings(text)


def test_story_events_credit_who_made_them_and_the_new_assignee() -> None:
    stories = [
        {"created_by": {"gid": "u_lead"}, "created_at": "2026-10-27T09:00:00.000Z", "resource_subtype": "assigned",
         "assignee": {"gid": "u_ana"}, "text": "assigned to Ana"},
        {"created_by": {"gid": "u_ana"}, "created_at": "2026-10-27T15:30:00Z", "resource_subtype": "section_changed",
         "text": "moved this task from To do to Doing"},
        {"created_by": {"gid": "u_ana"}, "created_at": "2026-10-27T16:00:00Z", "resource_subtype": "liked"},
        {"created_by": {"gid": "u_ana"}, "created_at": "not a date", "resource_subtype": "section_changed"},
        {"created_by": None, "created_at": "2026-10-27T16:00:00Z", "resource_subtype": "number_custom_field_changed"},
    ]  # fmt: skip
    found = activities_from_stories("t_checkout", stories)
    assert [(a.person_gid, a.kind) for a in found] == [
        ("u_lead", ActivityKind.ASSIGNED),
        ("u_ana", ActivityKind.ASSIGNED),
        ("u_ana", ActivityKind.SECTION),
    ]
    # A section move by Ana on Tuesday is medium evidence for that day.
    draft = _draft(activities=found)
    [tue] = [x for x in draft.lines if x.entered_on == date(2026, 10, 27)]
    assert tue.confidence == "medium" and any("moved this task" in r for r in tue.reasons)
