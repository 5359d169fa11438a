"""Columnar view of a Workspace: numpy arrays built once, shared by every analysis in a run.

Pydantic records are convenient at the boundary but slow to walk a million times; each analysis takes
an optional ``Frame`` so that a retrospective converts the workspace once and then works on arrays.
Days are integers (days since 1970-01-01, so ``(day + 3) % 7`` is the weekday with Monday = 0).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tools.records import BillableStatus, Person, Project, Task, Workspace

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
NO_DAY = np.int32(-(2**30))  # sentinel for "no date" in int32 day arrays
_BILLABLE_CODES = {
    None: 0,
    BillableStatus.BILLABLE: 1,
    BillableStatus.NON_BILLABLE: 2,
    BillableStatus.NOT_APPLICABLE: 3,
}
BILLABLE = 1
NON_BILLABLE = 2


def day_of(value: date | datetime | None) -> int:
    """Integer day (days since 1970-01-01) of a date or datetime; ``NO_DAY`` for None."""
    if value is None:
        return int(NO_DAY)
    if isinstance(value, datetime):
        value = value.date()
    return value.toordinal() - EPOCH_ORDINAL


def date_of(day: int) -> date:
    """Inverse of :func:`day_of`."""
    return date.fromordinal(int(day) + EPOCH_ORDINAL)


def weekday_of(days: NDArray[np.int32] | int) -> NDArray[np.int32] | int:
    """Weekday (Monday = 0) of integer days; 1970-01-01 was a Thursday."""
    return (days + 3) % 7


def week_start(day: int) -> int:
    """The Monday on or before ``day``."""
    return int(day - (day + 3) % 7)


def _ordinal(value: date | datetime | None) -> int:
    return day_of(value)


@dataclass(frozen=True)
class Frame:
    """Arrays over a workspace's tasks and entries, plus the index maps to get back to records."""

    workspace: Workspace
    as_of_day: int
    tasks: tuple[Task, ...]
    task_index: dict[str, int]
    people: dict[str, Person]
    projects: dict[str, Project]
    person_gids: list[str]  # code -> gid (people first, then unknown gids seen in tasks/entries)
    person_index: dict[str, int]
    project_gids: list[str]
    project_index: dict[str, int]
    # tasks
    est: NDArray[np.float64]  # NaN = missing
    act: NDArray[np.float64]  # NaN = missing
    completed: NDArray[np.bool_]
    created_day: NDArray[np.int32]
    start_day: NDArray[np.int32]
    completed_day: NDArray[np.int32]
    due_day: NDArray[np.int32]
    task_person: NDArray[np.int32]  # -1 = unassigned
    task_project: NDArray[np.int32]  # -1 = no project
    # entries
    e_task: NDArray[np.int32]  # -1 = task not in the workspace
    e_person: NDArray[np.int32]  # -1 = unknown author
    e_day: NDArray[np.int32]
    e_minutes: NDArray[np.int64]
    e_billable: NDArray[np.int8]
    e_project: NDArray[np.int32]  # attributable_to, else the task's project; -1 = none
    _task_logged: dict[str, NDArray[np.float64]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def n_entries(self) -> int:
        return int(self.e_day.size)

    def task_logged_minutes(self) -> NDArray[np.float64]:
        """Minutes logged per task (entries with positive duration), computed once per frame."""
        cached = self._task_logged.get("minutes")
        if cached is None:
            ok = (self.e_task >= 0) & (self.e_minutes > 0)
            computed: NDArray[np.float64] = np.bincount(
                self.e_task[ok], weights=self.e_minutes[ok].astype(np.float64), minlength=self.n_tasks
            ).astype(np.float64)
            self._task_logged["minutes"] = computed
            return computed
        return cached

    def task_entry_counts(self) -> NDArray[np.int64]:
        """Number of entries per task."""
        ok = self.e_task >= 0
        return np.bincount(self.e_task[ok], minlength=self.n_tasks)

    def person_name(self, code: int) -> str:
        if code < 0:
            return "(unassigned)"
        gid = self.person_gids[code]
        person = self.people.get(gid)
        return person.name if person else gid

    def project_name(self, code: int) -> str:
        if code < 0:
            return "(no project)"
        gid = self.project_gids[code]
        project = self.projects.get(gid)
        return project.name if project else gid


def resolve_as_of(workspace: Workspace) -> datetime:
    """The snapshot's "now": ``workspace.as_of``, else the latest timestamp in the data, else the
    current time (only for an empty workspace without ``as_of``)."""
    if workspace.as_of is not None:
        return workspace.as_of
    latest: datetime | None = None
    for task in workspace.tasks:
        for stamp in (task.modified_at, task.completed_at, task.created_at):
            if stamp is not None:
                stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
                latest = stamp if latest is None or stamp > latest else latest
    if workspace.entries:
        last_day = max(e.entered_on for e in workspace.entries)
        stamp = datetime.combine(last_day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=23)
        latest = stamp if latest is None or stamp > latest else latest
    return latest if latest is not None else datetime.now(UTC)


def _columns(records: Sequence[object], names: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """Columns of attribute values, one tuple per name."""
    # One C-level map per column: far cheaper than one tuple per record, then transposing.
    return [tuple(map(operator.attrgetter(name), records)) for name in names]


def _codes(values: Sequence[str | None], code_of: Callable[[str | None], int], n: int) -> NDArray[np.int32]:
    """Integer codes for gids: each distinct value is coded once (first-seen order, deterministic)."""
    table = {value: code_of(value) for value in dict.fromkeys(values)}
    return np.fromiter(map(table.__getitem__, values), np.int32, n)


def build_frame(workspace: Workspace) -> Frame:
    """Convert a workspace to arrays (one pass over tasks, one over entries)."""
    tasks = workspace.tasks
    people = {p.gid: p for p in workspace.people}
    projects = {p.gid: p for p in workspace.projects}
    person_gids = list(people)
    person_index = {gid: i for i, gid in enumerate(person_gids)}
    project_gids = list(projects)
    project_index = {gid: i for i, gid in enumerate(project_gids)}

    def person_code(gid: str | None) -> int:
        if gid is None:
            return -1
        code = person_index.get(gid)
        if code is None:
            code = len(person_gids)
            person_gids.append(gid)
            person_index[gid] = code
        return code

    def project_code(gid: str | None) -> int:
        if gid is None:
            return -1
        code = project_index.get(gid)
        if code is None:
            code = len(project_gids)
            project_gids.append(gid)
            project_index[gid] = code
        return code

    n = len(tasks)
    task_index = {t.gid: i for i, t in enumerate(tasks)}
    # Columns via C-level attribute getters: much faster than Python generators over a million records.
    t_cols = _columns(
        tasks,
        ("estimate_hours", "actual_hours", "completed", "created_at", "started_at", "completed_at", "due_on",
         "assignee_gid", "project_gid"),
    )  # fmt: skip
    est = np.fromiter((np.nan if v is None else v for v in t_cols[0]), np.float64, n)
    act = np.fromiter((np.nan if v is None else v for v in t_cols[1]), np.float64, n)
    # Bad field values (NaN, inf, negative) become "missing" rather than poisoning medians.
    est[~np.isfinite(est) | (est < 0)] = np.nan
    act[~np.isfinite(act) | (act < 0)] = np.nan
    completed = np.fromiter(t_cols[2], np.bool_, n)
    created_day = np.fromiter(map(_ordinal, t_cols[3]), np.int32, n)
    start_day = np.fromiter(map(_ordinal, t_cols[4]), np.int32, n)
    completed_day = np.fromiter(map(_ordinal, t_cols[5]), np.int32, n)
    due_day = np.fromiter(map(_ordinal, t_cols[6]), np.int32, n)
    task_person = _codes(t_cols[7], person_code, n)
    task_project = _codes(t_cols[8], project_code, n)

    entries = workspace.entries
    m = len(entries)
    e_cols = _columns(
        entries, ("task_gid", "user_gid", "entered_on", "duration_minutes", "billable_status", "project_gid")
    )
    e_task = np.fromiter(map(task_index.get, e_cols[0], itertools.repeat(-1, m)), np.int32, m)
    e_person = _codes(e_cols[1], person_code, m)
    e_day = np.fromiter(map(date.toordinal, e_cols[2]), np.int32, m) - np.int32(EPOCH_ORDINAL)
    e_minutes = np.fromiter(e_cols[3], np.int64, m)
    e_billable = np.fromiter(map(_BILLABLE_CODES.get, e_cols[4], itertools.repeat(0, m)), np.int8, m)
    e_project = _codes(e_cols[5], project_code, m)
    # No attributable_to: fall back to the task's home project.
    missing = (e_project < 0) & (e_task >= 0)
    e_project[missing] = task_project[e_task[missing]]

    return Frame(
        workspace=workspace,
        as_of_day=day_of(resolve_as_of(workspace)),
        tasks=tasks,
        task_index=task_index,
        people=people,
        projects=projects,
        person_gids=person_gids,
        person_index=person_index,
        project_gids=project_gids,
        project_index=project_index,
        est=est,
        act=act,
        completed=completed,
        created_day=created_day,
        start_day=start_day,
        completed_day=completed_day,
        due_day=due_day,
        task_person=task_person,
        task_project=task_project,
        e_task=e_task,
        e_person=e_person,
        e_day=e_day.astype(np.int32),
        e_minutes=e_minutes,
        e_billable=e_billable,
        e_project=e_project,
    )
