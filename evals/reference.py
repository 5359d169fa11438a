"""An independent reference for the chat eval: expected values computed straight from the sandbox's
API records (the JSON a GET would return), with its own small code. Nothing here imports the
product's mapping, store or analytics, so a bug there cannot make the eval agree with itself.

Semantics are Asana's: an entry is billable when its ``billable_status`` is ``"billable"``; the hours
of an entry count for the project it is ``attributable_to``; a task's section and project are its
first membership; ``Estimated Hours`` / ``Actual Hours`` are the number custom fields of those names.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


def _gid(ref: Any) -> str | None:
    return str(ref["gid"]) if isinstance(ref, dict) and ref.get("gid") else None


def _field(record: dict[str, Any], name: str) -> Any:
    for f in record.get("custom_fields") or []:
        if f.get("name") == name:
            if f.get("enum_value"):
                return f["enum_value"].get("name")
            for key in ("number_value", "text_value"):
                if f.get(key) is not None:
                    return f[key]
    return None


def _day(text: str | None) -> date | None:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date() if text else None


@dataclass(frozen=True)
class RTask:
    gid: str
    name: str
    project: str | None
    section: str | None
    tags: tuple[str, ...]
    assignee: str | None
    completed: bool
    completed_on: date | None
    created_on: date | None
    due_on: date | None
    estimate: float | None
    actual: float | None
    parent: str | None


@dataclass(frozen=True)
class REntry:
    gid: str
    task: str
    person: str | None
    day: date
    minutes: int
    project: str | None
    billable: bool


@dataclass
class Reference:
    """The API data, indexed for the handful of questions the eval asks."""

    today: date
    people: dict[str, str]  # gid -> name
    projects: dict[str, dict[str, Any]]  # gid -> name, client, type, archived, due_on
    tasks: dict[str, RTask]
    entries: list[REntry]

    @classmethod
    def from_payloads(cls, payloads: dict[str, list[dict[str, Any]]], today: date) -> Reference:
        people = {u["gid"]: u["name"] for u in payloads.get("user", [])}
        projects = {
            p["gid"]: {
                "name": p["name"],
                "client": _field(p, "Client"),
                "type": (_field(p, "Project Type") or "").lower() or None,
                "archived": bool(p.get("archived")),
                "due_on": date.fromisoformat(p["due_on"]) if p.get("due_on") else None,
            }
            for p in payloads.get("project", [])
        }
        tasks = {}
        for t in payloads.get("task", []):
            first = (t.get("memberships") or [{}])[0]
            tasks[t["gid"]] = RTask(
                gid=t["gid"],
                name=t["name"],
                project=_gid(first.get("project")),
                section=(first.get("section") or {}).get("name"),
                tags=tuple(
                    tag["name"] for tag in t.get("tags") or [] if isinstance(tag, dict) and tag.get("name")
                ),
                assignee=_gid(t.get("assignee")),
                completed=bool(t.get("completed")),
                completed_on=_day(t.get("completed_at")),
                created_on=_day(t.get("created_at")),
                due_on=date.fromisoformat(t["due_on"]) if t.get("due_on") else None,
                estimate=_field(t, "Estimated Hours"),
                actual=_field(t, "Actual Hours"),
                parent=_gid(t.get("parent")),
            )
        entries = [
            REntry(
                gid=e["gid"],
                task=_gid(e.get("task")) or "",
                person=_gid(e.get("created_by")),
                day=date.fromisoformat(e["entered_on"]),
                minutes=int(e.get("duration_minutes") or 0),
                project=_gid(e.get("attributable_to")),
                billable=e.get("billable_status") == "billable",
            )
            for e in payloads.get("time_tracking_entry", [])
        ]
        return cls(today=today, people=people, projects=projects, tasks=tasks, entries=entries)

    # --- selectors ---------------------------------------------------------------------------------

    def person_gid(self, name: str) -> str:
        return next(g for g, n in self.people.items() if n == name)

    def project_gid(self, name: str) -> str:
        return next(g for g, p in self.projects.items() if p["name"] == name)

    def entries_where(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        person: str | None = None,
        project: str | None = None,
        client: str | None = None,
        tag: str | None = None,
        task: str | None = None,
        billable: bool | None = None,
    ) -> list[REntry]:
        out = []
        for e in self.entries:
            if (start and e.day < start) or (end and e.day > end):
                continue
            if person and e.person != self.person_gid(person):
                continue
            if project and e.project != self.project_gid(project):
                continue
            if (
                client
                and (self.projects.get(e.project or "", {}).get("client") or "").lower() != client.lower()
            ):
                continue
            t = self.tasks.get(e.task)
            if tag and (t is None or tag not in t.tags):
                continue
            if task and e.task != task:
                continue
            if billable is not None and e.billable != billable:
                continue
            out.append(e)
        return out

    @staticmethod
    def hours(entries: Iterable[REntry]) -> float:
        return sum(e.minutes for e in entries) / 60

    def hours_by(self, entries: Iterable[REntry], key: Callable[[REntry], str | None]) -> dict[str, float]:
        out: dict[str, float] = defaultdict(float)
        for e in entries:
            out[key(e) or "(none)"] += e.minutes / 60
        return dict(out)

    def project_name(self, entry: REntry) -> str | None:
        return self.projects.get(entry.project or "", {}).get("name")

    def completed_tasks(
        self, start: date, end: date, person: str | None = None, project: str | None = None
    ) -> list[RTask]:
        out = []
        for t in self.tasks.values():
            if not t.completed or t.completed_on is None or not start <= t.completed_on <= end:
                continue
            if person and t.assignee != self.person_gid(person):
                continue
            if project and t.project != self.project_gid(project):
                continue
            out.append(t)
        return out

    def open_tasks(self, person: str | None = None, project: str | None = None) -> list[RTask]:
        return [
            t
            for t in self.tasks.values()
            if not t.completed
            and (person is None or t.assignee == self.person_gid(person))
            and (project is None or t.project == self.project_gid(project))
        ]

    def weekend_entries(self, start: date, end: date) -> list[REntry]:
        return [e for e in self.entries_where(start=start, end=end) if e.day.weekday() >= 5]

    def future_entries(self) -> list[REntry]:
        return [e for e in self.entries if e.day > self.today]

    def median_ratio_by(
        self, key: Callable[[RTask], str | None], min_n: int = 3
    ) -> dict[str, tuple[float, int]]:
        """Median actual/estimate of completed tasks with both, per group with at least ``min_n``."""
        groups: dict[str, list[float]] = defaultdict(list)
        for t in self.tasks.values():
            if t.completed and t.estimate and t.estimate > 0 and t.actual is not None and t.actual > 0:
                label = key(t)
                if label:
                    groups[label].append(t.actual / t.estimate)
        return {k: (statistics.median(v), len(v)) for k, v in groups.items() if len(v) >= min_n}
