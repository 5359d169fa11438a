"""ReportData: everything a retrospective or weekly-summary report shows, as one validated bundle.

Renderers (Markdown, HTML) read only this model, never analytics results directly, so that a change in
an analytics result shape touches one adapter (`ReportData.from_retro`), not the templates. Values that
cannot be drawn (NaN, infinite, negative hours) are dropped at validation with a note instead of
crashing a renderer: reports are built from user data and must survive bad field values.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tools.analytics.budget import BudgetStatus

# Display caps: a report over 100k tasks must stay a readable, bounded file.
MAX_POINTS = 3000
MAX_TABLE_ROWS = 200
MAX_TEXT = 160


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


def clip_text(text: str | None, limit: int = MAX_TEXT) -> str:
    """One line of at most ``limit`` characters: hostile task text can hold megabytes and newlines."""
    if not text:
        return ""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """Task text may carry NUL, ESC and other control characters; no report should pass them on."""
    return _CONTROL.sub("", text)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return strip_controls(value) if isinstance(value, str) else value


class Headline(_Model):
    """One headline number: `value` is pre-formatted so the renderers agree on rounding."""

    label: str
    value: str
    detail: str = ""


class BiasGroup(_Model):
    """Estimation bias of one group (project type, team, assignee): median actual/estimate ratio."""

    group: str
    median_ratio: float
    low: float | None = None  # interval on the median (e.g. bootstrap P10) or the P25 ratio
    high: float | None = None
    n: int = 0
    overrun_share: float | None = None  # share of tasks with actual > estimate, 0..1


class EstimatePoint(_Model):
    task_gid: str
    name: str = ""
    estimate_hours: float
    actual_hours: float
    group: str | None = None
    url: str | None = None


class RemainingPoint(_Model):
    day: date
    remaining_hours: float


class BandPoint(_Model):
    """Forecast remaining work on one day: P50 <= P80 <= P95 (more pessimistic = more work left)."""

    day: date
    p50: float
    p80: float
    p95: float

    @model_validator(mode="after")
    def _ordered(self) -> BandPoint:
        if not all(_finite(v) for v in (self.p50, self.p80, self.p95)):
            raise ValueError("band values must be finite")
        if not self.p50 <= self.p80 <= self.p95:
            lo, mid, hi = sorted((self.p50, self.p80, self.p95))
            object.__setattr__(self, "p50", lo)
            object.__setattr__(self, "p80", mid)
            object.__setattr__(self, "p95", hi)
        return self


class Burndown(_Model):
    project_gid: str
    project_name: str
    history: list[RemainingPoint] = Field(default_factory=list)
    forecast: list[BandPoint] = Field(default_factory=list)
    finish_p50: date | None = None
    finish_p80: date | None = None
    finish_p95: date | None = None
    due_on: date | None = None
    at_risk: bool = False

    @field_validator("history", mode="before")
    @classmethod
    def _drop_bad_history(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [p for p in value if not isinstance(p, dict) or _finite(p.get("remaining_hours"))]
        return value

    @field_validator("forecast", mode="before")
    @classmethod
    def _drop_bad_bands(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [
                p
                for p in value
                if not isinstance(p, dict) or all(_finite(p.get(k)) for k in ("p50", "p80", "p95"))
            ]
        return value


class CapacityCell(_Model):
    person: str
    week_start: date
    planned_hours: float
    capacity_hours: float
    allocated_hours: float = 0.0  # Asana allocations placed in this week (already inside planned_hours)
    out_of_office_days: int = 0  # working days off this week (Asana OOO or configured time off)

    @field_validator("allocated_hours", mode="before")
    @classmethod
    def _allocated_or_zero(cls, value: Any) -> Any:
        """A detail, not the cell's number: a bad value shows as no allocation rather than dropping
        the cell."""
        return value if _finite(value) and value >= 0 else 0.0

    @field_validator("out_of_office_days", mode="before")
    @classmethod
    def _days_or_zero(cls, value: Any) -> Any:
        return int(value) if _finite(value) and value >= 0 else 0

    @property
    def utilisation_pct(self) -> float | None:
        if self.capacity_hours <= 0:
            return None
        return max(100.0 * self.planned_hours / self.capacity_hours, 0.0)


class AnomalyRow(_Model):
    task_gid: str
    task_name: str = ""
    person: str | None = None
    entered_on: date | None = None
    hours: float | None = None
    kind: str = ""
    score: float
    reason: str
    url: str | None = None


class SuggestedEstimate(_Model):
    task_gid: str
    task_name: str = ""
    assignee: str | None = None
    human_estimate_hours: float | None = None
    estimate_hours: float
    p10_hours: float | None = None
    p90_hours: float | None = None
    confidence: float | None = None  # 0..1
    basis: str = ""
    url: str | None = None


class BillingLine(_Model):
    client: str
    project: str
    hours: float
    amount: float | None = None
    currency: str | None = None


class ReportData(_Model):
    """The input of `render_markdown` and `render_html`."""

    title: str
    period_start: date
    period_end: date
    scope: str = "all projects in scope"
    generated_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    # "data as of …" (tools/freshness.py): when the store behind the figures was last synced.
    data_freshness: str | None = None
    # The Asana web root tasks link to (tools/links.py): the configured base, the sandbox's own when
    # synced from it. None: rows link to their stored permalinks.
    link_base: str | None = None
    notes: list[str] = Field(default_factory=list)  # e.g. "offline mode", "3 points skipped"
    headlines: list[Headline] = Field(default_factory=list)
    highlights: list[str] = Field(default_factory=list)  # one-line findings, most useful first
    bias: list[BiasGroup] = Field(default_factory=list)
    points: list[EstimatePoint] = Field(default_factory=list)
    burndowns: list[Burndown] = Field(default_factory=list)
    capacity: list[CapacityCell] = Field(default_factory=list)
    anomalies: list[AnomalyRow] = Field(default_factory=list)
    suggestions: list[SuggestedEstimate] = Field(default_factory=list)
    billing: list[BillingLine] = Field(default_factory=list)
    budgets: list[BudgetStatus] = Field(default_factory=list)  # tools.analytics.budget, as computed

    @field_validator("link_base", mode="before")
    @classmethod
    def _web_root_only(cls, value: Any) -> Any:
        from tools.links import is_web_url

        return value if isinstance(value, str) and is_web_url(value) else None

    @property
    def shared_confidence(self) -> float | None:
        """The one confidence every suggestion has, if they all have the same (None otherwise).

        The estimator's confidence is the share of recent tasks whose actual landed within +-25% of
        its estimate, measured per mode and per similarity bin; with a small history there is one bin,
        so every suggestion of a kind carries the same number. A column repeating it reads as if it
        said something about each task: the renderers state it once instead."""
        values = {round(s.confidence, 3) for s in self.suggestions if s.confidence is not None}
        if (
            len(self.suggestions) > 1
            and len(values) == 1
            and all(s.confidence is not None for s in self.suggestions)
        ):
            return values.pop()
        return None

    def task_url(self, task_gid: str, permalink_url: str | None = None) -> str | None:
        """Where a row about this task links to (tools/links.py)."""
        from tools.links import task_link

        return task_link(self.link_base, task_gid, permalink_url)

    @model_validator(mode="before")
    @classmethod
    def _drop_undrawable(cls, data: Any) -> Any:
        """Drop rows whose numbers cannot be drawn, and say so in `notes` (never crash, never hide)."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        notes = list(data.get("notes") or [])
        checks = {
            "points": (("estimate_hours", "actual_hours"), "estimate-vs-actual point(s)"),
            "bias": (("median_ratio",), "bias group(s)"),
            "capacity": (("planned_hours", "capacity_hours"), "capacity cell(s)"),
            "anomalies": (("score",), "anomaly row(s)"),
            "suggestions": (("estimate_hours",), "suggested estimate(s)"),
            "billing": (("hours",), "billing line(s)"),
        }
        for key, (fields, label) in checks.items():
            rows = data.get(key)
            if not isinstance(rows, list):
                continue
            kept = []
            for row in rows:
                values = [row.get(f) if isinstance(row, dict) else getattr(row, f, None) for f in fields]
                if all(_finite(v) for v in values) and all(v >= 0 for v in values if v is not None):
                    kept.append(row)
            if len(kept) != len(rows):
                notes.append(
                    f"{len(rows) - len(kept)} {label} skipped: missing, negative or non-finite values"
                )
            data[key] = kept
        data["notes"] = notes
        return data

    @property
    def billing_total_hours(self) -> float:
        return sum(line.hours for line in self.billing)

    def billing_totals(self) -> dict[str, float]:
        """Amount per currency ("" when unknown); lines without an amount are not summed."""
        totals: dict[str, float] = {}
        for line in self.billing:
            if line.amount is not None:
                totals[line.currency or ""] = totals.get(line.currency or "", 0.0) + line.amount
        return totals

    @classmethod
    def from_retro(cls, retro_result: Any, **kwargs: Any) -> ReportData:
        """Build report data from a `tools.analytics.retro.RetroReport`.

        Keyword arguments (all optional): ``title``, ``scope``, ``workspace`` (the snapshot the retro
        was computed from: adds the per-task scatter and the logged burn-down), ``suggestions``
        (`SuggestedEstimate` rows), ``notes``, ``generated_at``. See `agent.reports.adapter`.
        """
        from agent.reports.adapter import report_from_retro

        return report_from_retro(retro_result, **kwargs)
