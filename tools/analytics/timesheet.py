"""Timesheet drafts: the time entries a person's week of Asana activity suggests, minus what they logged.

People forget to log time; what they did is still visible. For one person and one ISO week this module
reads the evidence (tasks they completed, their comments and story events with timestamps, assignment
and section changes, subtasks, meetings from their calendar file, the hours they usually log) and
proposes entries for the days and tasks where time is missing. Rules that keep it honest:

- it only fills: a line never lands on a (task, day) the person already logged, and a day is never
  filled past the person's usual day (the median of their recent logged days, else their capacity;
  never past ``TimesheetConfig.day_hours``), counting what is logged;
- every line says why (the evidence it rests on) and how sure it is (high: a calendar meeting, or a
  task's own "Actual Hours" field above what was logged; medium: the person completed, commented or
  moved the task that day; low: the task was in progress around that day);
- days before the person's first activity, weekends, holidays, time off and days after "today" are
  never filled; a week in the future is an error.

Pure functions over records; reading the store, the calendar file and live stories is the caller's
job (agent/timesheets.py). Nothing here writes: approved lines become proposals for the one writer.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tools.analytics.calendar import WorkCalendar, capacity_hours
from tools.analytics.timesheet_evidence import (
    Activity,
    ActivityKind,
    Meeting,
    TimesheetError,
    activities_from_stories,
    parse_meetings,
    workspace_activities,
)
from tools.config_types import CapacityConfig, TimesheetConfig
from tools.periods import PeriodError, parse_period
from tools.records import ActualSource, Task, TimeEntry, Workspace

SLOT = 15  # minutes: drafts are in quarter hours
HISTORY_WEEKS = 12  # the person's usual day is read from this many weeks before the drafted one
_MAX_HOLE = 3  # in progress: at most this many working days between two touches of the task
Confidence = Literal["high", "medium", "low"]
_WEIGHT = {"high": 3.0, "medium": 2.0, "low": 1.0}


class DraftLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    entered_on: date
    task_gid: str | None  # None: a meeting that names no task; it needs one before it can be created
    task_name: str
    project_gid: str | None
    project_name: str | None
    minutes: int
    confidence: Confidence
    reasons: tuple[str, ...]

    @property
    def line_id(self) -> str:
        """Stable within a draft: the day and the task (or the meeting)."""
        return f"{self.entered_on.isoformat()}:{self.task_gid or self.task_name}"


class DraftDay(BaseModel):
    model_config = ConfigDict(frozen=True)

    day: date
    working: bool
    logged_minutes: int
    drafted_minutes: int
    note: str = ""


class TimesheetDraft(BaseModel):
    model_config = ConfigDict(frozen=True)

    person_gid: str
    person_name: str
    week: str  # "2026-W48"
    week_start: date
    week_end: date
    as_of: date
    logged_minutes: int
    drafted_minutes: int
    usual_day_minutes: int
    days: list[DraftDay]
    lines: list[DraftLine]
    evidence: dict[str, int]  # how much of each kind of evidence was read
    notes: list[str]


# --- the week ---------------------------------------------------------------------------------------
def parse_week(text: str, today: date) -> tuple[date, str]:
    """``2026-W48``, ``last-week``, ``this-week`` or any day of the week -> (its Monday, its label).

    A week that starts after ``today`` is refused: there is nothing to draft from yet."""
    try:
        period = parse_period(text, today)
    except PeriodError as exc:
        raise TimesheetError(f"{exc}; a week is written 2026-W48, last-week or this-week") from None
    monday = period.start - timedelta(days=period.start.weekday())
    if period.end > monday + timedelta(days=6):
        raise TimesheetError(f"{period.describe()} is longer than a week; give one week, e.g. 2026-W48")
    if monday > today:
        raise TimesheetError(
            f"week {_label(monday)} starts {monday.isoformat()}, after today ({today.isoformat()}): "
            "there is no activity to draft from yet"
        )
    return monday, _label(monday)


def _label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


# --- drafting ---------------------------------------------------------------------------------------
class _Claim(BaseModel):
    """Evidence that the person worked on a task on a day."""

    task_gid: str
    weight: float
    confidence: Confidence
    reason: str
    minutes: int | None = None  # a known amount (a task's unlogged Actual Hours), not a share
    cap: int | None = None  # the most this claim may take in a day (the person's usual day on the task)


def draft_timesheet(
    workspace: Workspace,
    person_gid: str,
    week_start: date,
    *,
    today: date,
    activities: Sequence[Activity] = (),
    meetings: Sequence[Meeting] = (),
    calendar: WorkCalendar | None = None,
    config: TimesheetConfig | None = None,
    capacity: CapacityConfig | None = None,
) -> TimesheetDraft:
    """The draft for ``person_gid`` and the week starting ``week_start`` (a Monday), as of ``today``.

    ``activities`` adds evidence the workspace does not hold (comments, live stories); the workspace's
    own completions and field changes are read here."""
    config = config or TimesheetConfig()
    calendar = calendar or WorkCalendar()
    people = {p.gid: p for p in workspace.people}
    if person_gid not in people:
        raise TimesheetError(f"no synced person with gid {person_gid}")
    if week_start.weekday() != 0:
        raise TimesheetError(f"{week_start.isoformat()} is not a Monday")
    if week_start > today:
        raise TimesheetError(f"week {_label(week_start)} is in the future (today is {today.isoformat()})")
    week_end = week_start + timedelta(days=6)
    tasks = {t.gid: t for t in workspace.tasks}
    projects = {p.gid: p.name for p in workspace.projects}
    mine = [e for e in workspace.entries if e.user_gid == person_gid and e.duration_minutes > 0]
    notes: list[str] = []

    # What is logged, and the person's usual day (median of the days they logged in recent weeks).
    logged_day: dict[date, int] = {}
    logged_pair: set[tuple[str, date]] = set()
    for e in mine:
        if week_start <= e.entered_on <= week_end:
            logged_day[e.entered_on] = logged_day.get(e.entered_on, 0) + e.duration_minutes
            logged_pair.add((e.task_gid, e.entered_on))
    nominal = (
        capacity_hours(people[person_gid], capacity or CapacityConfig()) / calendar.working_days_per_week
    )
    usual = _usual_day(mine, week_start, nominal)
    cap = min(usual, int(config.day_hours * 60))

    days = [week_start + timedelta(days=i) for i in range(7)]
    working = {d: calendar.is_working_day(d, person_gid) and d <= today for d in days}
    if week_end > today:
        notes.append(f"the week is not over: days after {today.isoformat()} are not drafted")
    evidence = list(activities) + workspace_activities(workspace, person_gid)
    evidence = [a for a in evidence if a.person_gid == person_gid]
    by_task: dict[str, list[TimeEntry]] = {}
    for e in workspace.entries:
        by_task.setdefault(e.task_gid, []).append(e)
    claims = _claims(evidence, mine, by_task, tasks, person_gid, week_start, week_end, today)
    counts = {
        "entries_this_week": sum(1 for e in mine if week_start <= e.entered_on <= week_end),
        "activities": sum(1 for a in evidence if week_start <= a.at.date() <= week_end),
        "meetings": sum(1 for m in meetings if week_start <= m.start.date() <= week_end),
        "tasks_in_progress": len({c.task_gid for cs in claims.values() for c in cs}),
    }
    if not (counts["entries_this_week"] or claims or counts["meetings"]):
        raise TimesheetError(
            f"{people[person_gid].name} has no logged time, no Asana activity and no calendar events "
            f"in {_label(week_start)} ({week_start.isoformat()} to {week_end.isoformat()}) to draft from"
        )

    lines: list[DraftLine] = []
    for day in days:
        if working[day]:
            room = max(0, cap - logged_day.get(day, 0))
            lines += _fill_day(
                day, room, claims.get(day, []), meetings, logged_pair, logged_day, tasks, projects
            )
    lines.sort(key=lambda x: (x.entered_on, x.task_name))
    drafted_day: dict[date, int] = {}
    for x in lines:
        drafted_day[x.entered_on] = drafted_day.get(x.entered_on, 0) + x.minutes
    summary_days = [
        DraftDay(
            day=d,
            working=working[d],
            logged_minutes=logged_day.get(d, 0),
            drafted_minutes=drafted_day.get(d, 0),
            note="" if working[d] else ("after today" if d > today else "not a working day"),
        )
        for d in days
    ]
    if any(x.task_gid is None for x in lines):
        notes.append("meetings that name no task need one (edit the line) before they can be created")
    return TimesheetDraft(
        person_gid=person_gid,
        person_name=people[person_gid].name,
        week=_label(week_start),
        week_start=week_start,
        week_end=week_end,
        as_of=today,
        logged_minutes=sum(logged_day.values()),
        drafted_minutes=sum(x.minutes for x in lines),
        usual_day_minutes=usual,
        days=summary_days,
        lines=lines,
        evidence=counts,
        notes=notes,
    )


def _fill_day(
    day: date,
    room: int,
    claims: Sequence[_Claim],
    meetings: Sequence[Meeting],
    logged_pair: set[tuple[str, date]],
    logged_day: dict[date, int],
    tasks: dict[str, Task],
    projects: dict[str, str],
) -> list[DraftLine]:
    """One day's lines: meetings and known amounts first, then the rest of the day's room shared by
    the weight of the evidence. Never on a (task, day) already logged, never past ``room``."""
    lines: list[DraftLine] = []
    taken = set(logged_pair)
    for meeting in (m for m in meetings if m.start.date() == day):
        if room < SLOT:
            return lines
        task = tasks.get(meeting.task_gid or "") or _task_named(meeting.summary, claims, tasks)
        if task is not None and (task.gid, day) in taken:
            continue  # already logged on that task that day: never duplicate
        minutes = min(room, _slots(meeting.minutes))
        reason = f"meeting {meeting.summary!r} {meeting.start:%H:%M} ({meeting.minutes} min) in your calendar"
        lines.append(_line(day, task, projects, minutes, "high", (reason,), meeting.summary))
        room -= minutes
        if task is not None:
            taken.add((task.gid, day))
    open_claims = [c for c in claims if (c.task_gid, day) not in taken]
    for c in sorted((c for c in open_claims if c.minutes), key=lambda c: c.task_gid):
        minutes = min(room, _slots(c.minutes or 0))
        if minutes >= SLOT:
            lines.append(_line(day, tasks[c.task_gid], projects, minutes, c.confidence, (c.reason,)))
            taken.add((c.task_gid, day))
            room -= minutes
    shared = [c for c in open_claims if not c.minutes and (c.task_gid, day) not in taken]
    if room < SLOT or not shared:
        return lines
    merged: dict[str, list[_Claim]] = {}
    for c in shared:
        merged.setdefault(c.task_gid, []).append(c)
    weights = {g: sum(c.weight for c in cs) for g, cs in merged.items()}
    total = sum(weights.values())
    for gid in sorted(weights, key=lambda g: (-weights[g], g)):
        share = _slots(room * weights[gid] / total, floor=True)
        caps = [c.cap for c in merged[gid]]
        if all(cap is not None for cap in caps):
            share = min(share, max(cap for cap in caps if cap is not None))
        if share < SLOT:
            continue
        best = max(merged[gid], key=lambda c: _WEIGHT[c.confidence])
        reasons = tuple(dict.fromkeys(c.reason for c in merged[gid]))
        lines.append(_line(day, tasks[gid], projects, share, best.confidence, reasons))
    return lines


def _usual_day(mine: Sequence[TimeEntry], week_start: date, nominal_hours: float) -> int:
    """Median minutes on the days the person logged anything in the four weeks before this one (the
    twelve weeks when four hold fewer than five such days); their nominal day (capacity) without
    history."""
    per_day: dict[date, int] = {}
    for e in mine:
        if week_start - timedelta(weeks=HISTORY_WEEKS) <= e.entered_on < week_start:
            per_day[e.entered_on] = per_day.get(e.entered_on, 0) + e.duration_minutes
    recent = [m for d, m in per_day.items() if d >= week_start - timedelta(weeks=4)]
    values = sorted(recent if len(recent) >= 5 else per_day.values())
    if len(values) < 5:
        return _slots(nominal_hours * 60)
    return _slots(values[len(values) // 2])


def _claims(
    evidence: Sequence[Activity],
    mine: Sequence[TimeEntry],
    all_entries: dict[str, list[TimeEntry]],
    tasks: dict[str, Task],
    person_gid: str,
    week_start: date,
    week_end: date,
    today: date,
) -> dict[date, list[_Claim]]:
    """Per day of the week, the tasks the evidence says the person worked on."""
    out: dict[date, list[_Claim]] = {}

    def claim(day: date, c: _Claim) -> None:
        if week_start <= day <= week_end and c.task_gid in tasks:
            out.setdefault(day, []).append(c)

    for a in evidence:
        day = a.at.date()
        if a.kind is ActivityKind.COMPLETED:
            reason = f"completed it on {day:%a %d %b}"
        elif a.kind is ActivityKind.COMMENT:
            reason = f"commented on it {day:%a} at {a.at:%H:%M}"
        elif a.kind is ActivityKind.ASSIGNED:
            reason = f"it was assigned to you on {day:%a %d %b}"
        else:
            reason = f"{a.detail or a.kind.value} on {day:%a} at {a.at:%H:%M}"
        weak = a.kind is ActivityKind.ASSIGNED
        confidence: Confidence = "low" if weak else "medium"
        claim(
            day, _Claim(task_gid=a.task_gid, weight=_WEIGHT[confidence], confidence=confidence, reason=reason)
        )
        for gid in _task_and_parent(a.task_gid, tasks):
            if gid != a.task_gid and a.kind is ActivityKind.SUBTASK:
                claim(day, _Claim(task_gid=gid, weight=1.0, confidence="medium", reason=reason))

    # In progress: the working days between two touches of the same task by the person (entries or
    # activity) at most _MAX_HOLE working days apart, before the task was completed; never more than the
    # person usually spends on that task in a day (a weekly meeting is not worked all week).
    touches: dict[str, set[date]] = {}
    for e in mine:
        touches.setdefault(e.task_gid, set()).add(e.entered_on)
    for a in evidence:
        touches.setdefault(a.task_gid, set()).add(a.at.date())
    for gid, seen in touches.items():
        task = tasks.get(gid)
        if task is None or (task.assignee_gid not in (None, person_gid) and not _logged_on(gid, mine)):
            continue
        done = task.completed_at.date() if task.completed and task.completed_at else None
        ordered = sorted(d for d in seen if d <= today)
        usual_here = _task_day(gid, mine)
        for before, after in itertools.pairwise(ordered):
            between = [before + timedelta(days=i) for i in range(1, (after - before).days)]
            holes = [d for d in between if d.weekday() < 5]
            if not holes or len(holes) > _MAX_HOLE:
                continue
            reason = f"in progress: you worked on it {before:%a %d %b} and {after:%a %d %b}"
            for day in holes:
                if done is None or day <= done:
                    low = _Claim(task_gid=gid, weight=1.0, confidence="low", reason=reason, cap=usual_here)
                    claim(day, low)
        # A completed task with its own "Actual Hours" above what was logged: the rest is unlogged time,
        # a known amount, placed on the completion day when that is in this week.
        if done is not None and task.actual_source is ActualSource.CUSTOM_FIELD and task.actual_hours:
            logged = sum(e.duration_minutes for e in all_entries.get(gid, ()))
            missing = int(task.actual_hours * 60) - logged
            if missing >= SLOT and week_start <= done <= week_end:
                reason = f"its Actual Hours say {task.actual_hours:g} h; {logged / 60:.1f} h are logged"
                claim(
                    done, _Claim(task_gid=gid, weight=3.0, confidence="high", reason=reason, minutes=missing)
                )
    return out


def _task_day(task_gid: str, mine: Sequence[TimeEntry]) -> int | None:
    """The person's median minutes on the days they logged this task (None before the first day)."""
    per_day: dict[date, int] = {}
    for e in mine:
        if e.task_gid == task_gid:
            per_day[e.entered_on] = per_day.get(e.entered_on, 0) + e.duration_minutes
    if not per_day:
        return None
    values = sorted(per_day.values())
    return max(SLOT, _slots(values[len(values) // 2]))


def _logged_on(task_gid: str, mine: Sequence[TimeEntry]) -> bool:
    return any(e.task_gid == task_gid for e in mine)


def _task_and_parent(task_gid: str, tasks: dict[str, Task]) -> list[str]:
    task = tasks.get(task_gid)
    return [task_gid] + ([task.parent_gid] if task is not None and task.parent_gid else [])


def _task_named(summary: str, claims: Sequence[_Claim], tasks: dict[str, Task]) -> Task | None:
    """The in-progress task whose name the meeting's summary contains (or the reverse)."""
    words = {w for w in re.findall(r"[a-z0-9]{4,}", summary.lower())}
    best: tuple[float, Task] | None = None
    for c in claims:
        task = tasks[c.task_gid]
        name_words = set(re.findall(r"[a-z0-9]{4,}", task.name.lower()))
        if not name_words or not words:
            continue
        overlap = len(words & name_words) / len(name_words | words)
        if overlap >= 0.5 and (best is None or overlap > best[0]):
            best = (overlap, task)
    return best[1] if best else None


def _slots(minutes: float, *, floor: bool = False) -> int:
    quarters = minutes / SLOT
    return int((math.floor(quarters) if floor else round(quarters)) * SLOT)


def _line(
    day: date,
    task: Task | None,
    projects: dict[str, str],
    minutes: int,
    confidence: Confidence,
    reasons: tuple[str, ...],
    meeting: str = "meeting",
) -> DraftLine:
    return DraftLine(
        entered_on=day,
        task_gid=task.gid if task else None,
        task_name=task.name if task else meeting,
        project_gid=task.project_gid if task else None,
        project_name=projects.get(task.project_gid or "") if task else None,
        minutes=minutes,
        confidence=confidence,
        reasons=reasons,
    )


__all__ = [
    "Activity",
    "ActivityKind",
    "DraftDay",
    "DraftLine",
    "Meeting",
    "TimesheetDraft",
    "TimesheetError",
    "activities_from_stories",
    "draft_timesheet",
    "parse_meetings",
    "parse_week",
    "workspace_activities",
]
