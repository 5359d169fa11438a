"""Retrospective: one report bundling variance, scope creep, admin overhead, bias trend, anomalies,
capacity, forecasts and billing for a period. Deterministic (seeded), no LLM, built from one Frame.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from functools import cached_property

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.analytics.anomalies import (
    AnomalyConfig,
    AnomalySummary,
    DetectorFeedback,
    detect_anomalies,
    summarize_anomalies,
)
from tools.analytics.billing import BillingTotal, billing_draft
from tools.analytics.budget import BudgetReport, budget_report
from tools.analytics.calendar import WorkCalendar, build_calendar
from tools.analytics.capacity import CapacityReport, capacity_report
from tools.analytics.forecast import ForecastReport, forecast_projects
from tools.analytics.frame import NO_DAY, Frame, build_frame, date_of, day_of
from tools.analytics.stats import finite_number, median_interval
from tools.analytics.variance import Dimension, VarianceReport, group_keys, variance_report
from tools.config_types import BudgetConfig, CapacityConfig, FieldMapping
from tools.records import Task, Workspace


class OverheadMatcher(BaseModel):
    """Which tasks count as admin overhead: a word in a tag or section, or a name pattern."""

    model_config = ConfigDict(frozen=True)

    words: tuple[str, ...] = (
        "admin",
        "administration",
        "meeting",
        "meetings",
        "overhead",
        "internal",
        "standup",
    )
    name_pattern: str | None = r"\b(admin|meeting|stand-?up|1:1|timesheets?|all[- ]hands|overhead)\b"

    @cached_property
    def _name_re(self) -> re.Pattern[str] | None:
        return re.compile(self.name_pattern, re.IGNORECASE) if self.name_pattern else None

    @cached_property
    def _words(self) -> frozenset[str]:
        return frozenset(w.lower() for w in self.words)

    def matches(self, task: Task) -> bool:
        labels = [*task.tags, task.section or ""]
        for label in labels:
            if label and set(re.split(r"[^a-z0-9]+", label.lower())) & self._words:
                return True
        pattern = self._name_re
        return bool(pattern and pattern.search(task.name))


class ProjectScope(BaseModel):
    model_config = ConfigDict(frozen=True)

    project_gid: str
    name: str
    start: date | None
    baseline_estimate_hours: float  # estimates of tasks that existed at start (+ grace)
    tasks_added: int  # created in the period, after start + grace
    added_estimate_hours: float
    estimates_raised: int
    raised_hours: float
    creep_pct: float | None  # (added + raised) / baseline * 100


class EstimateRaise(BaseModel):
    model_config = ConfigDict(frozen=True)

    task_gid: str
    task_name: str
    old_hours: float
    new_hours: float
    changed_at: datetime


class ScopeCreep(BaseModel):
    model_config = ConfigDict(frozen=True)

    tasks_added: int
    added_estimate_hours: float
    estimates_raised: int
    raised_hours: float
    estimates_lowered: int
    projects: list[ProjectScope]  # most creep first, top-N
    top_raises: list[EstimateRaise]


class OverheadShare(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    label: str
    hours: float
    overhead_hours: float
    share: float


class Overhead(BaseModel):
    model_config = ConfigDict(frozen=True)

    total_hours: float
    overhead_hours: float
    share: float
    by_person: list[OverheadShare]
    by_project: list[OverheadShare]


class TrendPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    month: str
    median_ratio: float
    n: int


class BiasTrend(BaseModel):
    model_config = ConfigDict(frozen=True)

    dimension: str
    key: str
    label: str
    points: list[TrendPoint]
    slope_log_per_month: float  # least squares on log median ratio (weighted by n)
    direction: str  # improving | worsening | stable (|bias| shrinking or growing)


class BillingSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    total_minutes: int
    lines: int
    totals: list[BillingTotal]  # client totals only (project_name None), top-N
    amount_by_currency: dict[str, str]
    warnings: list[str]


class RetroReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    period_start: date
    period_end: date
    as_of: date
    tasks_completed: int
    tasks_created: int
    entries: int
    hours_logged: float
    variance: VarianceReport
    scope_creep: ScopeCreep
    overhead: Overhead
    bias_trends: list[BiasTrend]
    anomalies: AnomalySummary
    capacity: CapacityReport | None
    forecasts: ForecastReport | None
    billing: BillingSummary | None
    budgets: BudgetReport | None = None  # projects with a budget (Asana or config); None = none has one
    highlights: list[str] = Field(default_factory=list)


def scope_creep(
    workspace: Workspace,
    period_start: date,
    period_end: date,
    *,
    estimate_fields: Sequence[str] | None = None,
    grace_days: int = 7,
    top: int = 10,
    frame: Frame | None = None,
) -> ScopeCreep:
    """Tasks added after a project's start (+ ``grace_days``) and estimates raised, within the period."""
    frame = frame or build_frame(workspace)
    fields = {f.lower() for f in (estimate_fields or FieldMapping().estimate)}
    lo, hi = day_of(period_start), day_of(period_end)
    n_projects = len(frame.project_gids)
    # Project start: start_on, else created_at, else its first task's creation.
    first_task = np.full(n_projects, 2**30, dtype=np.int64)
    has_project = frame.task_project >= 0
    np.minimum.at(first_task, frame.task_project[has_project], frame.created_day[has_project])
    starts = np.empty(n_projects, dtype=np.int64)
    for code, gid in enumerate(frame.project_gids):
        project = frame.projects.get(gid)
        start = project.start_on or project.created_at if project else None
        starts[code] = day_of(start) if start is not None else first_task[code]
    task_start = np.where(has_project, starts[np.maximum(frame.task_project, 0)], 2**30)
    est = np.nan_to_num(frame.est)
    baseline_mask = has_project & (frame.created_day <= task_start + grace_days)
    added_mask = (
        has_project
        & (frame.created_day > task_start + grace_days)
        & (frame.created_day >= lo)
        & (frame.created_day <= hi)
    )
    baseline = np.bincount(
        frame.task_project[baseline_mask], weights=est[baseline_mask], minlength=n_projects
    )
    added_n = np.bincount(frame.task_project[added_mask], minlength=n_projects)
    added_h = np.bincount(frame.task_project[added_mask], weights=est[added_mask], minlength=n_projects)
    raised_n = np.zeros(n_projects, dtype=np.int64)
    raised_h = np.zeros(n_projects)
    raises: list[EstimateRaise] = []
    lowered = 0
    for change in workspace.field_changes:
        if change.field_name.lower() not in fields or not lo <= day_of(change.changed_at) <= hi:
            continue
        old, new = finite_number(change.old_value), finite_number(change.new_value)
        if old is None or new is None or new == old:
            continue  # a first estimate is not a raise
        if new < old:
            lowered += 1
            continue
        i = frame.task_index.get(change.task_gid)
        if i is not None and frame.task_project[i] >= 0:
            raised_n[frame.task_project[i]] += 1
            raised_h[frame.task_project[i]] += new - old
        raises.append(
            EstimateRaise(
                task_gid=change.task_gid,
                task_name=frame.tasks[i].name[:80] if i is not None else change.task_gid,
                old_hours=round(old, 2),
                new_hours=round(new, 2),
                changed_at=change.changed_at,
            )
        )
    projects: list[ProjectScope] = []
    for code in np.flatnonzero((added_n > 0) | (raised_n > 0)).tolist():
        base = float(baseline[code])
        creep = float(added_h[code] + raised_h[code])
        projects.append(
            ProjectScope(
                project_gid=frame.project_gids[code],
                name=frame.project_name(code),
                start=date_of(int(starts[code])) if starts[code] < 2**30 else None,
                baseline_estimate_hours=round(base, 1),
                tasks_added=int(added_n[code]),
                added_estimate_hours=round(float(added_h[code]), 1),
                estimates_raised=int(raised_n[code]),
                raised_hours=round(float(raised_h[code]), 1),
                creep_pct=round(creep / base * 100.0, 1) if base > 0 else None,
            )
        )
    projects.sort(key=lambda p: (-(p.added_estimate_hours + p.raised_hours), -p.tasks_added, p.name))
    raises.sort(key=lambda r: (-(r.new_hours - r.old_hours), r.task_gid))
    return ScopeCreep(
        tasks_added=int(added_n.sum()),
        added_estimate_hours=round(float(added_h.sum()), 1),
        estimates_raised=len(raises),
        raised_hours=round(float(raised_h.sum()), 1),
        estimates_lowered=lowered,
        projects=projects[:top],
        top_raises=raises[:top],
    )


def admin_overhead(
    workspace: Workspace,
    period_start: date,
    period_end: date,
    *,
    matcher: OverheadMatcher | None = None,
    top: int = 10,
    frame: Frame | None = None,
) -> Overhead:
    """Share of hours logged in the period on admin/meeting/overhead tasks, overall, by person and project."""
    frame = frame or build_frame(workspace)
    matcher = matcher or OverheadMatcher()
    is_overhead = np.fromiter((matcher.matches(t) for t in frame.tasks), np.bool_, frame.n_tasks)
    ok = (frame.e_day >= day_of(period_start)) & (frame.e_day <= day_of(period_end)) & (frame.e_minutes > 0)
    hours = np.where(ok, frame.e_minutes / 60.0, 0.0)
    on_overhead = ok & (frame.e_task >= 0) & is_overhead[np.maximum(frame.e_task, 0)]
    total, overhead = float(hours.sum()), float(hours[on_overhead].sum())

    def shares(codes: np.ndarray, names: list[str], label: object) -> list[OverheadShare]:
        size = len(names) + 1
        shifted = codes + 1  # -1 (unknown) -> 0
        all_h = np.bincount(shifted, weights=hours, minlength=size)
        over_h = np.bincount(shifted, weights=np.where(on_overhead, hours, 0.0), minlength=size)
        rows = [
            OverheadShare(
                key=names[c - 1] if c > 0 else "(none)",
                label=label(c - 1),  # type: ignore[operator]
                hours=round(float(all_h[c]), 1),
                overhead_hours=round(float(over_h[c]), 1),
                share=round(float(over_h[c] / all_h[c]), 3),
            )
            for c in np.flatnonzero(all_h > 0).tolist()
        ]
        rows.sort(key=lambda r: (-r.overhead_hours, r.key))
        return rows[:top]

    return Overhead(
        total_hours=round(total, 1),
        overhead_hours=round(overhead, 1),
        share=round(overhead / total, 3) if total > 0 else 0.0,
        by_person=shares(frame.e_person, frame.person_gids, frame.person_name),
        by_project=shares(frame.e_project, frame.project_gids, frame.project_name),
    )


def _month_index(key: str) -> int:
    return int(key[:4]) * 12 + int(key[5:7]) - 1


def bias_trends(
    workspace: Workspace,
    period_end: date,
    *,
    months: int = 6,
    dimensions: Sequence[Dimension] = ("project_type", "team"),
    min_n: int = 3,
    top: int = 8,
    frame: Frame | None = None,
) -> list[BiasTrend]:
    """Median actual/estimate per month for the ``months`` months up to ``period_end``, per group,
    with a weighted least-squares slope of the log median and whether |bias| is shrinking."""
    frame = frame or build_frame(workspace)
    end_idx = period_end.year * 12 + period_end.month - 1
    first = date((end_idx - months + 1) // 12, (end_idx - months + 1) % 12 + 1, 1)
    usable = (
        frame.completed
        & (frame.est > 0)
        & (frame.act > 0)
        & (frame.completed_day != NO_DAY)
        & (frame.completed_day >= day_of(first))
        & (frame.completed_day <= day_of(period_end))
    )
    idx = np.flatnonzero(usable)
    month_keys = [f"{d.year:04d}-{d.month:02d}" for d in (date_of(int(x)) for x in frame.completed_day[idx])]
    ratios = frame.act[idx] / frame.est[idx]
    trends: list[BiasTrend] = []
    for dim in dimensions:
        cells: dict[str, dict[str, list[int]]] = {}
        labels: dict[str, str] = {}
        for pos, key, label in group_keys(frame, idx, dim):
            cells.setdefault(key, {}).setdefault(month_keys[pos], []).append(pos)
            labels[key] = label
        for key, by_month in cells.items():
            points = [
                TrendPoint(month=m, median_ratio=round(median_interval(ratios[p])[0], 3), n=len(p))
                for m, p in sorted(by_month.items())
                if len(p) >= min_n
            ]
            if len(points) < 2:
                continue
            x = np.asarray([_month_index(p.month) for p in points], dtype=np.float64)
            y = np.log([p.median_ratio for p in points])
            w = np.asarray([p.n for p in points], dtype=np.float64)
            xm = np.average(x, weights=w)
            denom = float(np.sum(w * (x - xm) ** 2))
            slope = float(np.sum(w * (x - xm) * (y - np.average(y, weights=w))) / denom) if denom > 0 else 0.0
            change = abs(y[-1]) - abs(y[0])
            direction = "worsening" if change > 0.05 else "improving" if change < -0.05 else "stable"
            trends.append(
                BiasTrend(
                    dimension=dim,
                    key=key,
                    label=labels[key],
                    points=points[-months:],
                    slope_log_per_month=round(slope, 4),
                    direction=direction,
                )
            )
    trends.sort(key=lambda t: (-sum(p.n for p in t.points), t.dimension, t.key))
    return trends[:top]


def retrospective(
    workspace: Workspace,
    period_start: date,
    period_end: date,
    *,
    capacity_config: CapacityConfig | None = None,
    calendar: WorkCalendar | None = None,
    feedback: Sequence[DetectorFeedback] = (),
    anomaly_config: AnomalyConfig | None = None,
    matcher: OverheadMatcher | None = None,
    estimate_fields: Sequence[str] | None = None,
    include_capacity: bool = True,
    include_forecasts: bool = True,
    include_billing: bool = True,
    budgets: BudgetConfig | None = None,
    simulations: int = 2000,
    seed: int = 7,
    top: int = 10,
    frame: Frame | None = None,
) -> RetroReport:
    """Everything a monthly retrospective needs for ``[period_start, period_end]``, in one pass.

    Capacity and forecasts look forward from the workspace's ``as_of``; the rest covers the period.
    """
    if period_end < period_start:
        raise ValueError(f"period ends ({period_end}) before it starts ({period_start})")
    frame = frame or build_frame(workspace)
    capacity_config = capacity_config or CapacityConfig()
    calendar = calendar or build_calendar(capacity_config, workspace.people)
    lo, hi = day_of(period_start), day_of(period_end)
    in_period = (frame.e_day >= lo) & (frame.e_day <= hi)
    completed = frame.completed & (frame.completed_day >= lo) & (frame.completed_day <= hi)
    created = (frame.created_day >= lo) & (frame.created_day <= hi)
    variance = variance_report(
        workspace,
        start=period_start,
        end=period_end,
        dimensions=("project_type", "team", "assignee", "tag", "section", "month"),
        top=top,
        frame=frame,
    )
    flags = detect_anomalies(
        workspace,
        calendar=calendar,
        config=anomaly_config,
        feedback=feedback,
        start=period_start,
        end=period_end,
        frame=frame,
    )
    capacity = (
        capacity_report(
            workspace, config=capacity_config, calendar=calendar, top=top, top_people=top, frame=frame
        )
        if include_capacity
        else None
    )
    forecasts = (
        forecast_projects(
            workspace,
            simulations=simulations,
            seed=seed,
            config=capacity_config,
            calendar=calendar,
            top=top,
            frame=frame,
        )
        if include_forecasts
        else None
    )
    billing = None
    if include_billing:
        draft = billing_draft(workspace, period_start, period_end, frame=frame)
        client_totals = [t for t in draft.totals if t.project_name is None]
        client_totals.sort(key=lambda t: -t.minutes)
        billing = BillingSummary(
            total_minutes=draft.total_minutes,
            lines=len(draft.lines),
            totals=client_totals[:top],
            amount_by_currency={k: str(v) for k, v in draft.amount_by_currency.items()},
            warnings=draft.warnings,
        )
    budget = _budgets(workspace, budgets, capacity_config, calendar, simulations, seed, frame)
    report = RetroReport(
        period_start=period_start,
        period_end=period_end,
        as_of=date_of(frame.as_of_day),
        tasks_completed=int(completed.sum()),
        tasks_created=int(created.sum()),
        entries=int(in_period.sum()),
        hours_logged=round(float(frame.e_minutes[in_period & (frame.e_minutes > 0)].sum()) / 60.0, 1),
        variance=variance,
        scope_creep=scope_creep(
            workspace, period_start, period_end, estimate_fields=estimate_fields, top=top, frame=frame
        ),
        overhead=admin_overhead(workspace, period_start, period_end, matcher=matcher, top=top, frame=frame),
        bias_trends=bias_trends(workspace, period_end, top=top, frame=frame),
        anomalies=summarize_anomalies(flags, top=top, frame=frame),
        capacity=capacity,
        forecasts=forecasts,
        billing=billing,
        budgets=budget,
    )
    return report.model_copy(update={"highlights": _highlights(report)})


def _budgets(
    workspace: Workspace,
    config: BudgetConfig | None,
    capacity: CapacityConfig,
    calendar: WorkCalendar,
    simulations: int,
    seed: int,
    frame: Frame,
) -> BudgetReport | None:
    """The budget report when any project has a budget (Asana's, or one in the config)."""
    if not workspace.budgets and not (config and config.projects):
        return None
    return budget_report(
        workspace, budgets=config, capacity=capacity, calendar=calendar, simulations=simulations, seed=seed,
        frame=frame,
    )  # fmt: skip


def _highlights(report: RetroReport) -> list[str]:
    """Plain one-line findings, most useful first (deterministic; an LLM may rephrase them)."""
    out: list[str] = []
    overall = report.variance.overall
    if overall is not None:
        out.append(
            f"Tasks completed in the period took {overall.median_ratio:.2f}x their estimate at the median "
            f"({overall.n} tasks; {overall.overrun_share:.0%} overran)."
        )
    worst = [g for g in report.variance.by.get("project_type", []) if g.n >= 5]
    if worst:
        g = max(worst, key=lambda s: abs(math.log(s.median_ratio)) if s.median_ratio > 0 else 0.0)
        out.append(f"Largest bias by project type: {g.label} at {g.median_ratio:.2f}x (n={g.n}).")
    creep = report.scope_creep
    if creep.tasks_added or creep.estimates_raised:
        out.append(
            f"Scope creep: {creep.tasks_added} tasks added after start (+{creep.added_estimate_hours:.0f} h), "
            f"{creep.estimates_raised} estimates raised (+{creep.raised_hours:.0f} h)."
        )
    if report.overhead.total_hours > 0:
        out.append(
            f"Admin overhead: {report.overhead.share:.0%} of {report.overhead.total_hours:.0f} logged hours."
        )
    if report.anomalies.total:
        kinds = ", ".join(f"{k} {v}" for k, v in report.anomalies.by_kind.items())
        out.append(f"{report.anomalies.total} time-entry flags ({kinds}).")
    if report.capacity is not None and report.capacity.burnout:
        out.append(f"Sustained overload (burnout signal): {', '.join(report.capacity.burnout[:5])}.")
    if report.forecasts is not None:
        risky = [p.name for p in report.forecasts.projects if p.at_risk]
        if risky:
            out.append(f"At risk of missing the due date (P80): {', '.join(risky[:5])}.")
    if report.budgets is not None:
        over = [f"{b.name} ({b.pct_spent:.0f}%)" for b in report.budgets.projects if b.state == "over"]
        if over:
            out.append(f"Over budget: {', '.join(over[:5])}.")
        overrun = [
            f"{b.name} (P80 total {b.eac_p80:,.0f} of {b.budget:,.0f} {b.unit})"
            for b in report.budgets.projects
            if b.state == "at_risk"
        ]
        if overrun:
            out.append(f"Forecast to overrun the budget (P80): {', '.join(overrun[:5])}.")
    return out


__all__ = [
    "BiasTrend",
    "BillingSummary",
    "Overhead",
    "OverheadMatcher",
    "RetroReport",
    "ScopeCreep",
    "admin_overhead",
    "bias_trends",
    "retrospective",
    "scope_creep",
]
