"""The one period grammar: every relative or explicit period a user can type, resolved against one
stated "today". Chat questions, ``effort retro|summary|analyze --period`` and the tools all read periods
here, so "last quarter" means the same dates everywhere, and each answer can state them.

Forms (case-insensitive; ``-`` and spaces interchangeable in keywords):

- keywords: ``today``, ``yesterday``, ``this|last|previous week``, ``this|last month``,
  ``this|last quarter``, ``this|last year``, ``ytd`` / ``year to date``
- ``last N days|weeks|months`` (ending today)
- months: ``October``, ``Oct 2026``, ``2026-10``; without a year, the latest such month not after today
- quarters and halves: ``Q3``, ``Q3 2026``, ``2026-Q3``, ``H2 2026``
- a year: ``2026``; a day: ``2026-10-05``; a range: ``2026-10-01..2026-10-31`` (or ``to``)
- an ISO week: ``2026-W48`` (Monday to Sunday)
- ``since <day or month>`` (``since 1 Sept``, ``since 2026-09-01``, ``since September``): to today

``parse_period`` reads a whole option value and raises ``PeriodError`` listing the forms;
``find_period`` finds the first period inside a sentence (chat) or returns None.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict

MAX_PERIOD_DAYS = 3_660  # about ten years: a longer period is a typo, not an analysis
FORMS = (
    "last-month, this-month, last-week, this-week, last-quarter, Q3, Q3 2026, 2026-10, October, "
    "2026, 2026-10-05, 2026-10-01..2026-10-31, last 30 days, since 2026-09-01, 2026-W48"
)


class PeriodError(ValueError):
    """A period that cannot be read or makes no sense; the message names it and the accepted forms."""


class Period(BaseModel):
    """A closed date range [start, end] with a readable label."""

    model_config = ConfigDict(frozen=True)

    start: date
    end: date
    label: str

    def contains(self, when: date | datetime | None) -> bool:
        if when is None:
            return False
        day = when.date() if isinstance(when, datetime) else when
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def describe(self) -> str:
        """The label with its dates, as every answer states them: "last month (2026-10-01 to 2026-10-31)"."""
        dates = f"{self.start.isoformat()} to {self.end.isoformat()}"
        if self.start == self.end:
            dates = self.start.isoformat()
        return dates if self.label in (dates, self.start.isoformat()) else f"{self.label} ({dates})"

    def previous(self) -> Period:
        """The period of the same length just before this one (for "this month vs last")."""
        if self.start.day == 1 and self.end == _month_end(self.end.year, self.end.month):
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1
            first = _add_months(self.start, -months)
            last = self.start - timedelta(days=1)
            return Period(start=first, end=last, label=f"{first.isoformat()} to {last.isoformat()}")
        length = self.end - self.start
        end = self.start - timedelta(days=1)
        start = end - length
        return Period(start=start, end=end, label=f"{start.isoformat()} to {end.isoformat()}")


# --- calendar helpers ------------------------------------------------------------------------------
MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9
_MONTH_WORD = "|".join(sorted(MONTHS, key=len, reverse=True))


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month(year: int, month_number: int, label: str | None = None) -> Period:
    if not 1 <= month_number <= 12:
        raise PeriodError(f"{year}-{month_number:02d}: a month is 01 to 12")
    return Period(
        start=date(year, month_number, 1),
        end=_month_end(year, month_number),
        label=label or f"{calendar.month_name[month_number]} {year}",
    )


def quarter(year: int, q: int) -> Period:
    start = date(year, 3 * (q - 1) + 1, 1)
    return Period(start=start, end=_month_end(year, 3 * q), label=f"Q{q} {year}")


def _week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _latest_month(month_number: int, today: date) -> int:
    """The year of the latest ``month_number`` that is not after today."""
    return today.year if month_number <= today.month else today.year - 1


def _iso(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise PeriodError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def _day_month(text: str, today: date) -> date | None:
    """ "1 Sept", "Sept 1", "1st of September", "2026-09-01", "September" (its first day)."""
    text = text.strip().lower()
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})", text)
    if m:
        return _iso(m.group(1))
    m = re.fullmatch(rf"(\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+({_MONTH_WORD})\.?(?:\s+(\d{{4}}))?", text)
    if m is None:
        m2 = re.fullmatch(rf"({_MONTH_WORD})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?", text)
        if m2 is None:
            m3 = re.fullmatch(rf"({_MONTH_WORD})\.?(?:\s+(\d{{4}}))?", text)
            if m3 is None:
                return None
            number = MONTHS[m3.group(1)]
            year = int(m3.group(2)) if m3.group(2) else _latest_month(number, today)
            return date(year, number, 1)
        day_text, month_text, year_text = m2.group(2), m2.group(1), m2.group(3)
    else:
        day_text, month_text, year_text = m.group(1), m.group(2), m.group(3)
    number = MONTHS[month_text]
    year = int(year_text) if year_text else _latest_month(number, today)
    try:
        return date(year, number, int(day_text))
    except ValueError:
        raise PeriodError(f"{text!r} is not a day of the calendar") from None


# --- the grammar -----------------------------------------------------------------------------------
# Each rule: a pattern (matched against normalised text) and a builder from the match and today.
Builder = Callable[[re.Match[str], date], Period]


def _range(m: re.Match[str], today: date) -> Period:
    start, end = _iso(m.group(1)), _iso(m.group(2))
    if end < start:
        raise PeriodError(f"{m.group(0)!r}: the end is before the start")
    return Period(start=start, end=end, label=f"{start.isoformat()} to {end.isoformat()}")


def _since(m: re.Match[str], today: date) -> Period:
    start = _day_month(m.group(1), today)
    if start is None:
        raise PeriodError(f"cannot read the day in {m.group(0)!r}")
    if start > today:
        raise PeriodError(f"{m.group(0)!r} starts after today ({today.isoformat()})")
    return Period(start=start, end=today, label=f"since {start.isoformat()}")


def _relative(m: re.Match[str], today: date) -> Period:
    which, unit = m.group(1), m.group(2)
    last = which in ("last", "previous", "past")
    if unit == "week":
        monday = _week_of(today) - timedelta(days=7 if last else 0)
        end = monday + timedelta(days=6) if last else today
        return Period(start=monday, end=end, label=f"{'last' if last else 'this'} week")
    if unit == "month":
        first = _add_months(today.replace(day=1), -1 if last else 0)
        end = _month_end(first.year, first.month) if last else today
        return Period(start=first, end=end, label=f"{'last' if last else 'this'} month")
    if unit == "quarter":
        current = (today.month - 1) // 3 + 1
        q, year = (current - 1, today.year) if last else (current, today.year)
        if q == 0:
            q, year = 4, today.year - 1
        period = quarter(year, q)
        if not last:
            period = period.model_copy(update={"end": today})
        return period
    year = today.year - 1 if last else today.year
    end = date(year, 12, 31) if last else today
    return Period(start=date(year, 1, 1), end=end, label=f"{'last' if last else 'this'} year")


def _last_n(m: re.Match[str], today: date) -> Period:
    n, unit = int(m.group(1)), m.group(2)
    if n <= 0:
        raise PeriodError(f"{m.group(0)!r}: the count must be positive")
    days = n * {"day": 1, "week": 7, "month": 30}[unit]
    return Period(start=today - timedelta(days=days - 1), end=today, label=f"last {n} {unit}s")


def _month_name(m: re.Match[str], today: date) -> Period:
    number = MONTHS[m.group(1)]
    year = int(m.group(2)) if m.group(2) else _latest_month(number, today)
    return month(year, number)


def _quarter_or_half(m: re.Match[str], today: date) -> Period:
    kind = (m.group("k1") or m.group("k2")).lower()
    n = int(m.group("n1") or m.group("n2"))
    year_text = m.group("y1") or m.group("y2")
    if kind == "q":
        year = int(year_text) if year_text else today.year
        if not year_text and quarter(year, n).start > today:
            year -= 1
        return quarter(year, n)
    if n not in (1, 2):
        raise PeriodError(f"{m.group(0)!r}: a half is H1 or H2")
    year = int(year_text) if year_text else today.year
    start = date(year, 1 if n == 1 else 7, 1)
    return Period(start=start, end=_month_end(year, 6 if n == 1 else 12), label=f"H{n} {year}")


def _single_day(label: str, offset: int) -> Builder:
    def build(_m: re.Match[str], today: date) -> Period:
        day = today - timedelta(days=offset)
        return Period(start=day, end=day, label=label)

    return build


_RULES: list[tuple[re.Pattern[str], Builder]] = [
    (re.compile(r"(\d{4}-\d{2}-\d{2})\s*(?:\.\.|to|–|—|until)\s*(\d{4}-\d{2}-\d{2})"), _range),
    (
        re.compile(
            rf"\bsince\s+(\d{{4}}-\d{{2}}-\d{{2}}"
            rf"|\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+(?:{_MONTH_WORD})\.?(?:\s+\d{{4}})?"
            rf"|(?:{_MONTH_WORD})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
            rf"|(?:{_MONTH_WORD})\.?(?:\s+\d{{4}})?)\b"
        ),
        _since,
    ),
    (re.compile(r"\b(last|previous|past|this|current)[\s-]+(week|month|quarter|year)\b"), _relative),
    (re.compile(r"\b(?:last|past)\s+(\d{1,4})\s+(day|week|month)s?\b"), _last_n),
    (re.compile(r"\b(?:ytd|year[\s-]+to[\s-]+date)\b"), lambda m, today: _relative_year_to_date(today)),
    (re.compile(r"\btoday\b"), _single_day("today", 0)),
    (re.compile(r"\byesterday\b"), _single_day("yesterday", 1)),
    (
        re.compile(
            r"\b(?:(?P<k1>[qh])(?P<n1>[1-4])(?:\s*(?P<y1>\d{4}))?|(?P<y2>\d{4})[\s-](?P<k2>[qh])(?P<n2>[1-4]))\b"
        ),
        _quarter_or_half,
    ),
    (re.compile(r"\b(\d{4})-?w(\d{1,2})\b"), lambda m, today: _iso_week(m)),
    (re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b"), lambda m, today: _day(m)),
    (re.compile(r"\b(\d{4})-(\d{1,2})\b"), lambda m, today: month(int(m.group(1)), int(m.group(2)))),
    (re.compile(rf"\b({_MONTH_WORD})\.?(?:\s+(\d{{4}}))?\b"), _month_name),
    (re.compile(r"\b((?:19|20|21)\d{2})\b"), lambda m, today: _year(int(m.group(1)))),
]


def _relative_year_to_date(today: date) -> Period:
    return Period(start=date(today.year, 1, 1), end=today, label=f"year to date {today.year}")


def _day(m: re.Match[str]) -> Period:
    day = _iso(m.group(0))
    return Period(start=day, end=day, label=day.isoformat())


def _iso_week(m: re.Match[str]) -> Period:
    year, week = int(m.group(1)), int(m.group(2))
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise PeriodError(f"{year} has no ISO week {week}") from None
    return Period(start=monday, end=monday + timedelta(days=6), label=f"{year}-W{week:02d}")


def _year(year: int) -> Period:
    return Period(start=date(year, 1, 1), end=date(year, 12, 31), label=str(year))


def _normalise(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").split())


def _checked(period: Period, text: str) -> Period:
    if period.days > MAX_PERIOD_DAYS:
        raise PeriodError(
            f"period {text!r} spans {period.days} days; the longest accepted is about ten years"
        )
    if period.start.year < 1970:
        raise PeriodError(f"period {text!r} starts before 1970")
    return period


def parse_period(text: str, today: date) -> Period:
    """A whole option value as a period (``--period``); ``PeriodError`` names the value and the forms."""
    value = _normalise(text)
    if not value:
        raise PeriodError(f"the period is empty; use one of: {FORMS}")
    value = re.sub(r"^(last|this|previous|current)-", r"\1 ", value)
    for pattern, build in _RULES:
        m = pattern.fullmatch(value)
        if m is not None:
            return _checked(_built(build, m, today), text)
    raise PeriodError(f"cannot read period {text!r}; use one of: {FORMS}")


def _built(build: Builder, m: re.Match[str], today: date) -> Period:
    """Run a rule's builder; its errors name the period they are about."""
    try:
        return build(m, today)
    except PeriodError as exc:
        raise PeriodError(f"period {m.group(0)!r}: {exc}") from None


def normalise(text: str) -> str:
    """The text as the grammar reads it (lower case, single spaces): ``find_period_spans`` offsets
    refer to this form."""
    return _normalise(text)


def find_periods(text: str | None, today: date) -> list[Period]:
    """Every period mentioned in a sentence, in the order they appear ("October vs September" gives
    two). Where two readings overlap, the more specific rule wins ("since 1 Sept" is one period, not
    also September). A value that reads as a period but makes no sense ("2026-13") raises
    ``PeriodError`` rather than being ignored: ignoring it would answer for a period nobody asked."""
    return [period for _, _, period in find_period_spans(text, today)]


def find_period_spans(text: str | None, today: date) -> list[tuple[int, int, Period]]:
    """``find_periods`` with where each period was read: (start, end) offsets in ``normalise(text)``
    (the chat router masks them before it classifies a question)."""
    if not text:
        return []
    value = _normalise(text)
    taken: list[tuple[int, int, Period]] = []
    for pattern, build in _RULES:
        for m in pattern.finditer(value):
            if build is _month_name and m.group(1) == "may" and not m.group(2):
                continue  # "may" alone is usually the verb
            if any(m.start() < end and start < m.end() for start, end, _ in taken):
                continue
            taken.append((m.start(), m.end(), _checked(_built(build, m, today), m.group(0))))
    return sorted(taken, key=lambda item: item[0])


def find_period(text: str | None, today: date) -> Period | None:
    """The first period mentioned in a sentence, or None (see ``find_periods``)."""
    found = find_periods(text, today)
    return found[0] if found else None
