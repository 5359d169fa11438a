"""Timesheet drafts for the agent: gather one person's evidence (store, live stories, calendar file) and
draft their week with ``tools.analytics.timesheet``.

What the store holds (entries, tasks, comments, field changes) is read here; assignment and section
changes live only in Asana's stories, so they are read live for the person's candidate tasks when an
Asana token is configured (one request per task that changed in the week; ``stories=False`` skips it
and the draft says so). The calendar file comes from ``[timesheets] calendars``. Nothing here writes:
approved lines become time-entry proposals for the one writer (agent/timesheet_approvals.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from agent.config import Settings
from tools.analytics.calendar import build_calendar, read_ics, resolve_person
from tools.analytics.timesheet import (
    Activity,
    ActivityKind,
    Meeting,
    TimesheetDraft,
    TimesheetError,
    activities_from_stories,
    draft_timesheet,
    parse_meetings,
    parse_week,
)
from tools.records import Person, Workspace
from tools.scope import key as name_key

log = logging.getLogger("effort.timesheets")

STORY_FIELDS = "created_at,created_by,resource_subtype,text,assignee"
MAX_STORY_TASKS = 60  # live story reads per draft, at most (the busiest tasks first)


@dataclass(frozen=True)
class DraftRequest:
    person: Person
    week_start: date
    week: str


def find_person(workspace: Workspace, text: str) -> Person:
    """A synced person by name, email or gid (any case); a clear error naming close names otherwise."""
    gid = resolve_person(text, workspace.people)
    if gid is not None:
        return next(p for p in workspace.people if p.gid == gid)
    wanted = name_key(text)
    close = [p.name for p in workspace.people if wanted and wanted in name_key(p.name)]
    hint = f"; did you mean {', '.join(sorted(close)[:3])}?" if close else ""
    raise TimesheetError(f"no synced person is called {text!r} (name, email or gid){hint}")


def request_for(settings: Settings, workspace: Workspace, person: str, week: str) -> DraftRequest:
    start, label = parse_week(week, settings.today())
    return DraftRequest(person=find_person(workspace, person), week_start=start, week=label)


def calendar_file(settings: Settings, person: Person) -> Path | None:
    """The person's .ics from ``[timesheets] calendars`` (keyed by name, email or gid)."""
    for key, path in settings.timesheets.calendars.items():
        if key == person.gid or name_key(key) in {name_key(person.name), name_key(person.email or "")}:
            return path
    return None


def meetings_for(settings: Settings, person: Person) -> list[Meeting]:
    path = calendar_file(settings, person)
    if path is None:
        return []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise TimesheetError(f"cannot read the calendar file {path}: {exc.strerror or exc}") from None
    try:
        return parse_meetings(raw, person_email=person.email)
    except TimesheetError as exc:
        raise TimesheetError(f"{path}: {exc}") from None


def store_activities(
    store: Any, workspace: Workspace, person_gid: str, start: date, end: date
) -> list[Activity]:
    """The person's comments in the store on tasks that changed around the week (comments are not part
    of ``Workspace``; reading them per candidate task keeps this bounded)."""
    out: list[Activity] = []
    for task_gid in candidate_tasks(workspace, person_gid, start, end):
        for c in store.comments_for_task(task_gid):
            if c.by_gid == person_gid and start <= c.created_at.date() <= end:
                out.append(
                    Activity(
                        person_gid=person_gid,
                        task_gid=task_gid,
                        at=c.created_at,
                        kind=ActivityKind.COMMENT,
                        detail="commented",
                    )
                )
    return out


def candidate_tasks(workspace: Workspace, person_gid: str, start: date, end: date) -> list[str]:
    """Tasks the person may have touched in the week: theirs and modified since the week began, or
    with their time logged in the four weeks around it; busiest first, bounded."""
    since = start - timedelta(weeks=3)
    logged: dict[str, int] = {}
    for e in workspace.entries:
        if e.user_gid == person_gid and since <= e.entered_on <= end + timedelta(days=7):
            logged[e.task_gid] = logged.get(e.task_gid, 0) + e.duration_minutes
    begin = datetime.combine(start, time.min, UTC)
    for t in workspace.tasks:
        if t.assignee_gid == person_gid and (t.modified_at is None or t.modified_at >= begin):
            logged.setdefault(t.gid, 0)
    return sorted(logged, key=lambda g: (-logged[g], g))[:MAX_STORY_TASKS]


def live_activities(
    gateway: Any, workspace: Workspace, person_gid: str, start: date, end: date
) -> list[Activity]:
    """Story events (assigned, section moves, renames, ...) read from Asana for the candidate tasks that
    were modified in or after the week."""
    begin = datetime.combine(start, time.min, UTC)
    modified = {t.gid for t in workspace.tasks if t.modified_at is None or t.modified_at >= begin}
    out: list[Activity] = []
    for task_gid in candidate_tasks(workspace, person_gid, start, end):
        if task_gid not in modified:
            continue
        stories = list(gateway.iter_stories(task_gid, STORY_FIELDS))
        out += [
            a
            for a in activities_from_stories(task_gid, stories)
            if a.person_gid == person_gid and a.kind is not ActivityKind.COMMENT
        ]
    return out


def build_draft(
    settings: Settings,
    store: Any,
    person: str,
    week: str,
    *,
    gateway: Any | None = None,
    workspace: Workspace | None = None,
) -> TimesheetDraft:
    """The draft for ``person`` (name, email or gid) and ``week`` (``2026-W48``, ``last-week``, ...),
    as of ``settings.today()``. ``gateway`` None: no live story reads (the draft notes it)."""
    today = settings.today()
    end_of_today = datetime.combine(today, time.max, UTC)
    workspace = workspace or store.workspace(as_of=end_of_today)
    if not workspace.people:
        raise TimesheetError("the store has no people: run `effort sync` first")
    req = request_for(settings, workspace, person, week)
    end = req.week_start + timedelta(days=6)
    activities = store_activities(store, workspace, req.person.gid, req.week_start, end)
    notes: list[str] = []
    if gateway is not None:
        activities += live_activities(gateway, workspace, req.person.gid, req.week_start, end)
    else:
        notes.append("assignment and section changes were not read (no Asana connection)")
    ics = read_ics(settings.capacity.ics_file) if settings.capacity.ics_file is not None else None
    calendar = build_calendar(settings.capacity, workspace.people, ics_text=ics)
    extra_off = [o for o in workspace.out_of_office if o.person_gid == req.person.gid]
    if extra_off:
        time_off = dict(calendar.time_off)
        time_off[req.person.gid] = tuple(time_off.get(req.person.gid, ())) + tuple(
            (o.start_on, o.end_on) for o in extra_off
        )
        calendar = calendar.model_copy(update={"time_off": time_off})
    draft = draft_timesheet(
        workspace,
        req.person.gid,
        req.week_start,
        today=today,
        activities=activities,
        meetings=meetings_for(settings, req.person),
        calendar=calendar,
        config=settings.timesheets,
        capacity=settings.capacity,
    )
    return draft.model_copy(update={"notes": [*draft.notes, *notes]}) if notes else draft


def people_to_draft(workspace: Workspace, week_start: date) -> list[Person]:
    """Everyone who logged time in the four weeks before the week (the weekly serve job drafts them)."""
    since = week_start - timedelta(weeks=4)
    active = {e.user_gid for e in workspace.entries if since <= e.entered_on < week_start + timedelta(days=7)}
    return [p for p in sorted(workspace.people, key=lambda p: p.name) if p.gid in active]


def render_text(draft: TimesheetDraft, *, max_lines: int = 40) -> str:
    """The draft as plain text (a Slack message, an Asana task's notes)."""
    hours = f"{draft.drafted_minutes / 60:.2f} h drafted, {draft.logged_minutes / 60:.2f} h already logged"
    lines = [f"Timesheet draft {draft.week} for {draft.person_name} ({hours}; as of {draft.as_of}):"]
    for i, x in enumerate(draft.lines[:max_lines], start=1):
        task = x.task_name + ("" if x.task_gid else " (needs a task)")
        lines.append(
            f"{i}. {x.entered_on:%a %d %b} {x.minutes / 60:.2f} h {task} [{x.confidence}] {x.reasons[0]}"
        )
    if len(draft.lines) > max_lines:
        lines.append(f"…and {len(draft.lines) - max_lines} more lines")
    if not draft.lines:
        lines.append("Nothing to add: every working day is logged up to your usual day.")
    lines += [f"Note: {n}" for n in draft.notes]
    return "\n".join(lines)


__all__ = [
    "DraftRequest",
    "build_draft",
    "calendar_file",
    "candidate_tasks",
    "find_person",
    "live_activities",
    "meetings_for",
    "people_to_draft",
    "render_text",
    "request_for",
    "store_activities",
]
