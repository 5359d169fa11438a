"""Helpers shared by the read tools and the offline router: name matching, links, stats. Periods are
read by the one period grammar, tools/periods.py."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence

from tools.agent_tools.budget import untrusted
from tools.records import Person, Project, Task, Workspace


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
