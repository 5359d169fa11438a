"""Helpers shared by the read tools and the offline router: periods, name matching, links, stats."""

from __future__ import annotations

import calendar
import re
import statistics
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta

from pydantic import BaseModel

from tools.agent_tools.budget import untrusted
from tools.records import Person, Project, Task, Workspace

MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})


class Period(BaseModel):
    """A closed date range [start, end] with a readable label."""

    start: date
    end: date
    label: str

    def contains(self, when: date | datetime | None) -> bool:
        if when is None:
            return False
        day = when.date() if isinstance(when, datetime) else when
        return self.start <= day <= self.end


def _month(year: int, month: int) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period(start=date(year, month, 1), end=date(year, month, last), label=f"{year}-{month:02d}")


def _quarter(year: int, q: int) -> Period:
    start = date(year, 3 * (q - 1) + 1, 1)
    end_month = 3 * q
    end = date(year, end_month, calendar.monthrange(year, end_month)[1])
    return Period(start=start, end=end, label=f"Q{q} {year}")


def parse_period(text: str | None, today: date) -> Period | None:
    """Read a period from words: "last quarter", "March", "2026-03", "Q1 2026", "last 4 weeks",
    "2026-01-01..2026-03-31", "this month", "last year", "ytd". None when nothing matches."""
    if not text:
        return None
    t = text.lower().strip()
    m = re.search(r"(\d{4}-\d{2}-\d{2})\s*(?:\.\.|to|–|-{1,2}>?)\s*(\d{4}-\d{2}-\d{2})", t)
    if m:
        start, end = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
        return Period(start=min(start, end), end=max(start, end), label=f"{m.group(1)}..{m.group(2)}")
    m = re.search(r"\b(\d{4})-(\d{2})\b", t)
    if m and 1 <= int(m.group(2)) <= 12:
        return _month(int(m.group(1)), int(m.group(2)))
    m = re.search(r"\bq([1-4])(?:\s*(\d{4}))?\b", t)
    if m:
        return _quarter(int(m.group(2) or today.year), int(m.group(1)))
    cur_q = (today.month - 1) // 3 + 1
    if "last quarter" in t or "previous quarter" in t:
        q, y = (cur_q - 1, today.year) if cur_q > 1 else (4, today.year - 1)
        return _quarter(y, q)
    if "this quarter" in t:
        return _quarter(today.year, cur_q)
    if "last month" in t or "previous month" in t:
        first = today.replace(day=1) - timedelta(days=1)
        return _month(first.year, first.month)
    if "this month" in t:
        return _month(today.year, today.month)
    if "last year" in t:
        return Period(
            start=date(today.year - 1, 1, 1), end=date(today.year - 1, 12, 31), label=str(today.year - 1)
        )
    if "this year" in t or "ytd" in t or "year to date" in t:
        return Period(start=date(today.year, 1, 1), end=today, label=f"ytd {today.year}")
    m = re.search(r"last (\d{1,3}) (day|week|month)s?", t)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        days = n * {"day": 1, "week": 7, "month": 30}[unit]
        return Period(start=today - timedelta(days=days), end=today, label=f"last {n} {unit}s")
    m = re.search(r"\b(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\b(?:\s+(\d{4}))?", t)
    if m and (m.group(1) != "may" or m.group(2)):  # "may" alone is usually the verb
        month = MONTHS[m.group(1)]
        year = int(m.group(2)) if m.group(2) else (today.year if month <= today.month else today.year - 1)
        return _month(year, month)
    m = re.search(r"\b(20\d{2})\b", t)
    if m:
        y = int(m.group(1))
        return Period(start=date(y, 1, 1), end=date(y, 12, 31), label=str(y))
    return None


def link(task: Task) -> str:
    """The task's permalink (Asana's own when synced, else the canonical /0/project/task form)."""
    return task.permalink_url or f"https://app.asana.com/0/{task.project_gid or 0}/{task.gid}"


def task_ref(task: Task, max_chars: int = 80) -> str:
    """One compact reference to a task: gid, name as untrusted text, link."""
    return f"{task.gid} {untrusted(task.name, max_chars)} {link(task)}"


def norm(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def match_name(query: str | None, candidates: Iterable[str | None]) -> bool:
    """Case-insensitive substring match of ``query`` in any candidate (empty query matches all)."""
    if not query:
        return True
    q = norm(query)
    return any(q in norm(c) for c in candidates if c)


def find_project(ws: Workspace, name: str) -> list[Project]:
    """Projects whose gid equals ``name`` or whose name contains it; exact names first."""
    q = norm(name)
    exact = [p for p in ws.projects if p.gid == name or norm(p.name) == q]
    if exact:
        return exact
    return [p for p in ws.projects if q and q in norm(p.name)]


def find_person(ws: Workspace, name: str) -> list[Person]:
    q = norm(name)
    exact = [p for p in ws.people if p.gid == name or norm(p.name) == q]
    return exact or [p for p in ws.people if q and q in norm(p.name)]


def ratio(task: Task) -> float | None:
    """actual / estimate for a task with both (None otherwise)."""
    if (
        task.estimate_hours
        and task.estimate_hours > 0
        and task.actual_hours is not None
        and task.actual_hours >= 0
    ):
        return task.actual_hours / task.estimate_hours
    return None


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of a non-empty sequence."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def words(text: str | None) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]{3,}", (text or "").lower())}


def h(value: float | None) -> str:
    """Hours as a short string."""
    return "n/a" if value is None else f"{value:.1f}h"
