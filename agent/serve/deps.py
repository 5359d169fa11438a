"""What `effort serve` calls into, as injected callables (tests pass fakes; `wiring.py` the real ones).

Keeping the server ignorant of sync, analytics and the approval graph makes every piece testable alone,
and keeps the one-way data flow visible: the server only *proposes*; the approval gate and the writer
decide and write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from tools.proposals import Proposal


class Finding(BaseModel):
    """One anomaly on a task, as the reaction needs it (built from tools.analytics.anomalies flags)."""

    model_config = ConfigDict(frozen=True)

    task_gid: str
    score: float
    reason: str
    kind: str = ""
    project_gid: str | None = None
    entry_gid: str | None = None
    task_name: str | None = None


class CapacityAlert(BaseModel):
    """Someone forecast over capacity in a week; `task_gid` is where the proposed comment goes."""

    model_config = ConfigDict(frozen=True)

    person_gid: str
    person_name: str
    week_start: date
    planned_hours: float
    capacity_hours: float
    task_gid: str | None = None
    project_gid: str | None = None

    @property
    def utilisation_pct(self) -> float:
        return 100.0 * self.planned_hours / self.capacity_hours if self.capacity_hours > 0 else float("inf")


class Proposer(Protocol):
    def __call__(self, proposals: Sequence[Proposal], *, kind: str, scope: str, period: str) -> str:
        """Send proposals to an approval thread; return its thread id (the same inputs, the same id)."""
        ...


class Notifier(Protocol):
    def __call__(self, text: str) -> bool:
        """Post a message (Slack); False on failure. Must never raise."""
        ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServeDeps:
    """The callables `effort serve` runs. Any of the jobs may be None (not configured)."""

    propose: Proposer
    check_task: Callable[[str], Sequence[Finding]]  # incremental sync of one task, then anomalies for it
    resolve_entry_task: Callable[[str], str | None] = lambda _gid: None  # time entry gid -> task gid
    on_task_completed: Callable[[str], bool] = lambda _gid: False  # True if it resumed an approval
    capacity_overloads: Callable[[], Sequence[CapacityAlert]] | None = None
    budget_alerts: Callable[[], Any] | None = None  # after the nightly sync: agent/budgets.py
    notify: Notifier | None = None  # Slack incoming webhook, optional
    jobs: dict[str, Callable[[], Any]] = field(default_factory=dict)  # sync | summary | retro | timesheets
    anomaly_threshold: float = 0.7
    actual_field_names: tuple[str, ...] = ("Actual Hours", "Actual", "Actual Time")
    clock: Callable[[], datetime] = _utcnow
    close: Callable[[], None] = lambda: None
