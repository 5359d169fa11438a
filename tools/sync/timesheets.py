"""CSV timesheet attachments: parse a person's exported timesheet into typed rows.

Tolerant of header names (``date``/``day``/``entered_on``, ``hours``/``duration`` or ``minutes``,
``person``/``user``, ``project``, ``task``, ``billable``, ``notes``/``description``). A file that cannot
be a timesheet (empty, not UTF-8, no date or hours column, broken quoting) raises ``ValueError`` with a
clear message; a bad row is skipped with a reason in ``problems``, never a crash.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date

MAX_BYTES = 5_000_000
MAX_ROW_HOURS = 24 * 31 - 1  # one row longer than a month of wall time is not a measurement

_ALIASES = {
    "date": ("date", "day", "entered_on", "work date"),
    "hours": ("hours", "duration", "duration (h)", "time", "hours worked"),
    "minutes": ("minutes", "duration_minutes", "mins"),
    "person": ("person", "user", "name", "employee"),
    "project": ("project",),
    "task": ("task", "task name"),
    "billable": ("billable",),
    "notes": ("notes", "description", "comment"),
}
_TRUE = {"true", "yes", "y", "1", "billable"}
_FALSE = {"false", "no", "n", "0", "non-billable", "nonbillable"}


@dataclass(frozen=True)
class TimesheetRow:
    date: date
    hours: float
    person: str | None = None
    project: str | None = None
    task: str | None = None
    billable: bool | None = None
    notes: str | None = None


@dataclass
class Timesheet:
    rows: list[TimesheetRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "row N: reason"

    @property
    def total_hours(self) -> float:
        return round(sum(r.hours for r in self.rows), 4)


def _column(header: list[str], role: str) -> int | None:
    names = [h.strip().lower() for h in header]
    for alias in _ALIASES[role]:
        if alias in names:
            return names.index(alias)
    return None


def parse_timesheet(content: bytes) -> Timesheet:
    """Parse CSV bytes. Raises ``ValueError`` when the file as a whole is unusable."""
    if len(content) > MAX_BYTES:
        raise ValueError(f"timesheet is too large ({len(content)} bytes > {MAX_BYTES})")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("timesheet is not UTF-8 text (binary or another encoding)") from None
    if "\x00" in text:
        raise ValueError("timesheet contains NUL bytes: not a CSV text file")
    if not text.strip():
        raise ValueError("timesheet is empty")
    try:
        table = list(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as exc:
        raise ValueError(f"timesheet is not valid CSV: {exc}") from None
    header = table[0]
    col = {role: _column(header, role) for role in _ALIASES}
    if col["date"] is None or (col["hours"] is None and col["minutes"] is None):
        raise ValueError("timesheet header needs a date column and an hours (or minutes) column")
    sheet = Timesheet()
    for n, cells in enumerate(table[1:], start=2):
        if not any(c.strip() for c in cells):
            continue

        def cell(role: str, cells: list[str] = cells) -> str | None:
            i = col[role]
            return cells[i].strip() if i is not None and i < len(cells) and cells[i].strip() else None

        raw_date = cell("date")
        try:
            day = date.fromisoformat(raw_date or "")
        except ValueError:
            sheet.problems.append(f"row {n}: bad date {str(raw_date)[:30]!r}")
            continue
        raw = cell("hours") if col["hours"] is not None else cell("minutes")
        try:
            value = float(raw or "")
        except ValueError:
            sheet.problems.append(f"row {n}: hours is not a number ({str(raw)[:30]!r})")
            continue
        hours = value if col["hours"] is not None else value / 60
        if not math.isfinite(hours) or hours < 0 or hours > MAX_ROW_HOURS:
            sheet.problems.append(f"row {n}: hours out of range ({str(raw)[:30]})")
            continue
        flag = (cell("billable") or "").lower()
        sheet.rows.append(
            TimesheetRow(
                date=day,
                hours=round(hours, 4),
                person=cell("person"),
                project=cell("project"),
                task=cell("task"),
                billable=True if flag in _TRUE else False if flag in _FALSE else None,
                notes=cell("notes"),
            )
        )
    return sheet
