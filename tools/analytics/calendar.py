"""Working calendar: weekends, public holidays and per-person time off (config dates or an .ics file).

Pure functions; the one helper that touches the file system, :func:`read_ics`, is for callers (CLI,
agent tools) that hold a ``CapacityConfig.ics_file`` path and want its text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from tools.analytics.frame import EPOCH_ORDINAL, day_of
from tools.config_types import CapacityConfig, TimeOff
from tools.records import Person

log = logging.getLogger(__name__)


class WorkCalendar(BaseModel):
    """Which days count as working days, globally and per person (keys are person gids)."""

    model_config = ConfigDict(frozen=True)

    weekend_days: tuple[int, ...] = (5, 6)
    holidays: tuple[date, ...] = ()
    time_off: dict[str, tuple[tuple[date, date], ...]] = Field(default_factory=dict)
    unresolved: tuple[str, ...] = ()  # time-off names that matched no person (reported, not dropped)

    @property
    def weekmask(self) -> str:
        return "".join("0" if d in self.weekend_days else "1" for d in range(7))

    @property
    def working_days_per_week(self) -> int:
        return max(1, 7 - len({d for d in self.weekend_days if 0 <= d <= 6}))

    def holiday_days(self) -> NDArray[np.int32]:
        return np.asarray(sorted(day_of(d) for d in self.holidays), dtype=np.int32)

    def is_working_day(self, day: date, person_gid: str | None = None) -> bool:
        """True on a weekday that is neither a holiday nor (for ``person_gid``) time off."""
        if day.weekday() in self.weekend_days or day in self.holidays:
            return False
        if person_gid is not None:
            for start, end in self.time_off.get(person_gid, ()):
                if start <= day <= end:
                    return False
        return True

    def day_mask(self, start_day: int, n_days: int, person_gid: str | None = None) -> NDArray[np.bool_]:
        """Working-day mask for integer days ``start_day .. start_day + n_days - 1``."""
        days = np.arange(start_day, start_day + n_days, dtype=np.int32)
        weekday = (days + 3) % 7
        mask = ~np.isin(weekday, np.asarray(self.weekend_days, dtype=np.int32))
        holidays = self.holiday_days()
        if holidays.size:
            mask &= ~np.isin(days, holidays)
        if person_gid is not None:
            for start, end in self.time_off.get(person_gid, ()):
                mask &= ~((days >= day_of(start)) & (days <= day_of(end)))
        return mask

    def working_days(self, start: date, end: date, person_gid: str | None = None) -> int:
        """Working days in ``[start, end]`` (inclusive); 0 when ``end < start``."""
        if end < start:
            return 0
        return int(self.day_mask(day_of(start), (end - start).days + 1, person_gid).sum())

    def time_off_days(self) -> dict[str, NDArray[np.int32]]:
        """Per person, the integer days they are off (for vectorised membership tests)."""
        out: dict[str, NDArray[np.int32]] = {}
        for gid, ranges in self.time_off.items():
            spans = [np.arange(day_of(s), day_of(e) + 1, dtype=np.int32) for s, e in ranges if e >= s]
            if spans:
                out[gid] = np.unique(np.concatenate(spans))
        return out


def resolve_person(key: str, people: Sequence[Person]) -> str | None:
    """Map a config name, gid or email to a person gid (case-insensitive on names and emails)."""
    lowered = key.strip().lower()
    for person in people:
        if person.gid == key:
            return person.gid
    for person in people:
        if person.name.lower() == lowered or (person.email and person.email.lower() == lowered):
            return person.gid
    return None


def capacity_hours(person: Person, config: CapacityConfig) -> float:
    """Nominal weekly hours: config per-person (by gid, then name), the record's own, else the default."""
    for key in (person.gid, person.name):
        if key in config.per_person:
            return float(config.per_person[key])
    lowered = {k.lower(): v for k, v in config.per_person.items()}
    if person.name.lower() in lowered:
        return float(lowered[person.name.lower()])
    if person.capacity_hours_per_week is not None:
        return float(person.capacity_hours_per_week)
    return float(config.hours_per_week)


_PERSON_PREFIX = re.compile(r"^\s*([^:\-–]+?)\s*(?::|\s[-–]\s)")


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def parse_ics(text: str | bytes) -> tuple[list[TimeOff], list[date]]:
    """Parse an iCalendar file into ``(time_off, holidays)``.

    The person of an event is its first ATTENDEE (email), else ORGANIZER, else the SUMMARY prefix
    before ``:`` or `` - `` ("Alice: vacation"). Events naming nobody, or with a CATEGORIES of
    "holiday", are company holidays. All-day DTEND is exclusive (RFC 5545). Unreadable events are
    logged and skipped.
    """
    import icalendar  # imported here: only callers with an .ics pay for it

    try:
        cal = icalendar.Calendar.from_ical(text)
    except ValueError as exc:
        raise ValueError(f"not a valid iCalendar file: {exc}") from None
    time_off: list[TimeOff] = []
    holidays: list[date] = []
    for event in cal.walk("VEVENT"):
        try:
            start_raw = event.decoded("DTSTART")
        except KeyError:
            log.warning("skipping an .ics event without DTSTART")
            continue
        start = _as_date(start_raw)
        end = start
        if "DTEND" in event:
            end_raw = event.decoded("DTEND")
            end = _as_date(end_raw)
            all_day = not isinstance(end_raw, datetime)
            midnight = isinstance(end_raw, datetime) and end_raw.time() == datetime.min.time()
            if (all_day or midnight) and end > start:
                end -= timedelta(days=1)
        if end < start:
            log.warning("skipping an .ics event that ends before it starts (%s)", start)
            continue
        categories = " ".join(
            str(c).lower()
            for prop in (event.get("CATEGORIES") or [])
            for c in (getattr(prop, "cats", None) or [prop])
        )
        person = _event_person(event)
        if person is None or "holiday" in categories:
            day = start
            while day <= end:
                holidays.append(day)
                day += timedelta(days=1)
        else:
            time_off.append(TimeOff(person=person, start=start, end=end))
    return time_off, holidays


def _event_person(event: object) -> str | None:
    get = getattr(event, "get")  # noqa: B009 - icalendar components are dict-like
    attendee = get("ATTENDEE")
    if isinstance(attendee, list):
        attendee = attendee[0] if attendee else None
    for value in (attendee, get("ORGANIZER")):
        if value:
            text = str(value)
            return text.split(":", 1)[1] if text.lower().startswith("mailto:") else text
    summary = get("SUMMARY")
    if summary:
        match = _PERSON_PREFIX.match(str(summary))
        if match:
            return match.group(1)
    return None


def read_ics(path: Path) -> str:
    """Read an .ics file (the only I/O in this package; callers use it for ``CapacityConfig.ics_file``)."""
    return path.read_text(encoding="utf-8")


def build_calendar(
    config: CapacityConfig | None,
    people: Sequence[Person] = (),
    *,
    ics_text: str | bytes | None = None,
    extra_time_off: Iterable[TimeOff] = (),
) -> WorkCalendar:
    """Combine config weekends, holidays and time off (plus parsed ``ics_text``) into a calendar."""
    config = config or CapacityConfig()
    entries = list(config.time_off) + list(extra_time_off)
    holidays = set(config.holidays)
    if ics_text:
        ics_off, ics_holidays = parse_ics(ics_text)
        entries += ics_off
        holidays.update(ics_holidays)
    by_person: dict[str, list[tuple[date, date]]] = {}
    unresolved: list[str] = []
    for item in entries:
        gid = resolve_person(item.person, people) if people else item.person
        if gid is None:
            unresolved.append(item.person)
            gid = item.person  # kept under its own key so nothing is silently lost
        by_person.setdefault(gid, []).append((item.start, item.end))
    weekend = tuple(sorted({d for d in config.weekend_days if 0 <= d <= 6}))
    return WorkCalendar(
        weekend_days=weekend,
        holidays=tuple(sorted(holidays)),
        time_off={k: tuple(sorted(v)) for k, v in by_person.items()},
        unresolved=tuple(sorted(set(unresolved))),
    )


__all__ = [
    "EPOCH_ORDINAL",
    "WorkCalendar",
    "build_calendar",
    "capacity_hours",
    "parse_ics",
    "read_ics",
    "resolve_person",
]
