"""Timesheet evidence: what a person did, read from Asana stories, synced records and a calendar file.

Kept apart from the drafting rules (tools/analytics/timesheet.py) because it is about wire formats:
Asana story payloads and iCalendar files. Both are untrusted input: unreadable parts are skipped, a
file that is not iCalendar at all is a clear ``TimesheetError``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from tools.records import Workspace

_MAX_MEETING_MINUTES = 10 * 60


class TimesheetError(ValueError):
    """A request that cannot be drafted (unknown person, week in the future, bad calendar file)."""


class ActivityKind(StrEnum):
    COMPLETED = "completed"
    COMMENT = "comment"
    FIELD_CHANGE = "field_change"
    ASSIGNED = "assigned"
    SECTION = "section_changed"
    SUBTASK = "subtask_added"
    STORY = "story"  # any other story event the person made (renamed, due date, attachment, ...)


class Activity(BaseModel):
    """One timestamped thing a person did on a task."""

    model_config = ConfigDict(frozen=True)

    person_gid: str
    task_gid: str
    at: datetime
    kind: ActivityKind
    detail: str = ""


class Meeting(BaseModel):
    """A timed calendar event the person attended (all-day events are not work time)."""

    model_config = ConfigDict(frozen=True)

    start: datetime
    minutes: int
    summary: str
    task_gid: str | None = None  # an Asana task link or gid in the event, or a task whose name it names


_STORY_KINDS = {
    "assigned": ActivityKind.ASSIGNED,
    "section_changed": ActivityKind.SECTION,
    "subtask_added": ActivityKind.SUBTASK,
    "marked_complete": ActivityKind.COMPLETED,
    "comment_added": ActivityKind.COMMENT,
}
_IGNORED_STORIES = {"unassigned", "marked_incomplete", "added_to_project", "followers_added", "liked"}


def activities_from_stories(task_gid: str, stories: Iterable[dict[str, Any]]) -> list[Activity]:
    """Asana story payloads of one task (``GET /tasks/{gid}/stories``) as activities of whoever made
    them. For ``assigned`` the assignee is credited too (the work is theirs from then on)."""
    out: list[Activity] = []
    for story in stories:
        by = (story.get("created_by") or {}).get("gid") if isinstance(story.get("created_by"), dict) else None
        when = _when(story.get("created_at"))
        subtype = str(story.get("resource_subtype") or "")
        if when is None or subtype in _IGNORED_STORIES:
            continue
        kind = _STORY_KINDS.get(subtype)
        if kind is None:
            kind = (
                ActivityKind.FIELD_CHANGE if subtype.endswith("custom_field_changed") else ActivityKind.STORY
            )
        detail = str(story.get("text") or subtype)[:120]
        if by:
            out.append(Activity(person_gid=str(by), task_gid=task_gid, at=when, kind=kind, detail=detail))
        assignee = story.get("assignee")
        if (
            kind is ActivityKind.ASSIGNED
            and isinstance(assignee, dict)
            and assignee.get("gid") not in (None, by)
        ):
            out.append(
                Activity(
                    person_gid=str(assignee["gid"]), task_gid=task_gid, at=when, kind=kind, detail=detail
                )
            )
    return out


def _when(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def workspace_activities(workspace: Workspace, person_gid: str) -> list[Activity]:
    """What the synced records already say a person did: completions of their tasks and subtasks
    (Asana's ``completed_by`` is not synced: the assignee is credited) and their field changes."""
    out: list[Activity] = []
    for t in workspace.tasks:
        if t.assignee_gid == person_gid and t.completed and t.completed_at is not None:
            kind = ActivityKind.COMPLETED
            out.append(Activity(person_gid=person_gid, task_gid=t.gid, at=t.completed_at, kind=kind))
    for c in workspace.field_changes:
        if c.by_gid == person_gid:
            detail = f"changed {c.field_name}"
            out.append(
                Activity(
                    person_gid=person_gid, task_gid=c.task_gid, at=c.changed_at,
                    kind=ActivityKind.FIELD_CHANGE, detail=detail,
                )
            )  # fmt: skip
    return out


_TASK_LINK = re.compile(r"app\.asana\.com/\S*?/(\d{6,})(?:/f)?\b|\btask[:# ]+(\d{6,})\b", re.IGNORECASE)


def parse_meetings(text: str | bytes, *, person_email: str | None = None) -> list[Meeting]:
    """Timed events of an iCalendar file. Skipped: all-day events (time off, holidays), cancelled or
    free (TRANSP:TRANSPARENT) events, and events the person declined (their ATTENDEE's PARTSTAT).
    ``TimesheetError`` when the text is not iCalendar."""
    import icalendar  # imported here: only callers with a calendar pay for it

    raw = text.encode() if isinstance(text, str) else text
    if b"BEGIN:VCALENDAR" not in raw[:4096].upper():
        raise TimesheetError("the calendar file is not iCalendar (.ics): it has no BEGIN:VCALENDAR")
    try:
        cal = icalendar.Calendar.from_ical(raw)
    except ValueError as exc:
        raise TimesheetError(f"the calendar file is not valid iCalendar: {exc}") from None
    out: list[Meeting] = []
    for event in cal.walk("VEVENT"):
        try:
            start = event.decoded("DTSTART")
        except KeyError:
            continue
        if not isinstance(start, datetime):
            continue  # all-day
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
            continue
        if person_email and _declined(event, person_email):
            continue
        end = event.decoded("DTEND") if "DTEND" in event else None
        if isinstance(end, datetime):
            minutes = int((end - start).total_seconds() // 60)
        elif "DURATION" in event:
            minutes = int(event.decoded("DURATION").total_seconds() // 60)
        else:
            minutes = 0
        if not 0 < minutes <= _MAX_MEETING_MINUTES:
            continue
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
        summary = str(event.get("SUMMARY", "") or "meeting")[:200]
        found = _TASK_LINK.search(f"{summary} {event.get('DESCRIPTION', '')} {event.get('URL', '')}")
        task_gid = (found.group(1) or found.group(2)) if found else None
        out.append(Meeting(start=start, minutes=minutes, summary=summary, task_gid=task_gid))
    return sorted(out, key=lambda m: m.start)


def _declined(event: Any, email: str) -> bool:
    attendees = event.get("ATTENDEE")
    if attendees is None:
        return False
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        address = str(attendee).lower().removeprefix("mailto:")
        if address == email.lower():
            return str(getattr(attendee, "params", {}).get("PARTSTAT", "")).upper() == "DECLINED"
    return False


__all__ = [
    "Activity",
    "ActivityKind",
    "Meeting",
    "TimesheetError",
    "activities_from_stories",
    "parse_meetings",
    "workspace_activities",
]
