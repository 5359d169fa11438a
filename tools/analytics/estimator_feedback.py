"""What the estimator learns from approvers: an edited or rejected AI estimate is evidence about the
task's person, project and kind, until actual hours arrive.

An edit from the proposed AI value to the approved one says "tasks like this take about that much":
its log ratio log(approved / proposed) is an offset for the next estimates of that person / project /
category. A rejection of an AI estimate on a task with a human estimate says the lead kept the
person's figure: an edit back to it, at half weight. Evidence decays with age (half-life in days) and
is pulled toward no change by pseudo-observations, so one edit nudges and a pattern of edits moves.
Feedback on a task that has since been completed is dropped: its actual hours are better evidence.

Plain data in, plain data out: the agent layer turns audit-log rows into ``EstimateFeedback``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from pydantic import BaseModel, ConfigDict

from tools.analytics.estimator_math import weighted_median
from tools.records import Task

REJECTION_WEIGHT = 0.5


class EstimateFeedback(BaseModel):
    """A lead's decision on one AI estimate: edited to ``approved_hours``, or rejected (None)."""

    model_config = ConfigDict(frozen=True)

    task_gid: str
    assignee: str | None = None
    project: str | None = None
    category: str | None = None
    proposed_hours: float  # the AI estimate the lead saw
    approved_hours: float | None = None  # the value the lead approved after editing; None = rejected
    human_hours: float | None = None  # the person's own estimate on the task, if any
    at: datetime

    @classmethod
    def for_task(cls, task: Task, proposed: float, approved: float | None, at: datetime) -> EstimateFeedback:
        return cls(
            task_gid=task.gid,
            assignee=task.assignee_gid or task.assignee_name,
            project=task.project_gid or task.project_name,
            category=task.project_type,
            proposed_hours=proposed,
            approved_hours=approved,
            human_hours=task.estimate_hours,
            at=at,
        )


def _keys(assignee: str | None, project: str | None, category: str | None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if assignee and category:
        out.append(("assignee_category", f"{assignee}/{category}"))
    if assignee:
        out.append(("assignee", assignee))
    if project:
        out.append(("project", project))
    if category:
        out.append(("category", category))
    return out


def _signal(record: EstimateFeedback) -> tuple[float, float] | None:
    """(log offset, weight) of one record, or None when it says nothing usable."""
    proposed = record.proposed_hours
    if not (math.isfinite(proposed) and proposed > 0):
        return None
    if record.approved_hours is not None:
        approved = record.approved_hours
        if not (math.isfinite(approved) and approved > 0):
            return None
        return math.log(approved / proposed), 1.0
    human = record.human_hours
    if human is None or not (math.isfinite(human) and human > 0):
        return None  # rejected without a human figure: no direction to learn
    return math.log(human / proposed), REJECTION_WEIGHT


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass
class FeedbackModel:
    """Decayed, shrunk log offsets by facet from approvers' decisions."""

    half_life_days: float = 90.0
    strength: float = 10.0  # pseudo-decisions of "no change"
    max_offset: float = math.log(3.0)
    # Keyed by (calibrated?, facet, value): an edit of a calibrated estimate says nothing about cold start.
    _by_key: dict[tuple[bool, str, str], list[tuple[datetime, float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    records: int = 0

    def add(self, feedback: Iterable[EstimateFeedback], skip_tasks: set[str] | None = None) -> None:
        for record in feedback:
            if skip_tasks and record.task_gid in skip_tasks:
                continue
            signal = _signal(record)
            if signal is None:
                continue
            self.records += 1
            calibrated = record.human_hours is not None and record.human_hours > 0
            for facet, value in _keys(record.assignee, record.project, record.category):
                self._by_key[(calibrated, facet, value)].append((_utc(record.at), signal[0], signal[1]))

    def offset(self, task: Task, now: datetime, calibrated: bool) -> tuple[float, float]:
        """(log offset, evidence weight) for ``task``'s estimate in that mode as of ``now`` (later
        decisions are ignored)."""
        if not self._by_key:
            return 0.0, 0.0
        now = _utc(now)
        values: list[float] = []
        weights: list[float] = []
        keys = _keys(
            task.assignee_gid or task.assignee_name, task.project_gid or task.project_name, task.project_type
        )
        for facet, name in keys:
            for at, d, w in self._by_key.get((calibrated, facet, name), ()):
                age = (now - at).total_seconds() / 86400.0
                if age < 0:
                    continue
                # Every facet a decision shares with the task counts: specific evidence weighs more.
                values.append(d)
                weights.append(w * 0.5 ** (age / self.half_life_days))
        total = float(sum(weights))
        if total <= 0:
            return 0.0, 0.0
        # The weighted median, not the mean: edits are noisy and heavy-tailed, and the loss that
        # matters is |log error|; pulled toward no change by ``strength`` pseudo-decisions.
        middle = weighted_median(np.asarray(values), np.asarray(weights))
        offset = middle * total / (total + self.strength)
        return float(np.clip(offset, -self.max_offset, self.max_offset)), total
