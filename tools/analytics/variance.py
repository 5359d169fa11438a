"""Variance analysis: actual vs estimate by project type, assignee, tag, section and month.

Per group: bias (median actual/estimate ratio) with a distribution-free interval, spread (IQR of the
log ratio), overrun share and sample size. Per task: schedule variance % = (actual - estimate) /
estimate * 100, the value of the ``AI Schedule Variance %`` field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from tools.analytics.frame import NO_DAY, Frame, build_frame, date_of, day_of
from tools.analytics.stats import iqr, median_interval
from tools.records import Task, Workspace

Dimension = Literal["project_type", "assignee", "tag", "section", "month", "project", "team"]
DEFAULT_DIMENSIONS: tuple[Dimension, ...] = ("project_type", "assignee", "tag", "section", "month")


class RatioStats(BaseModel):
    """Bias and spread of actual/estimate for one group of tasks."""

    model_config = ConfigDict(frozen=True)

    key: str
    label: str
    n: int
    median_ratio: float
    ratio_low: float  # order-statistic interval for the median ratio (``level``)
    ratio_high: float
    iqr_log_ratio: float
    overrun_share: float  # share of tasks with actual > estimate
    mean_abs_log_ratio: float
    estimate_hours: float
    actual_hours: float

    @property
    def bias_pct(self) -> float:
        return (self.median_ratio - 1.0) * 100.0


class TaskVariance(BaseModel):
    model_config = ConfigDict(frozen=True)

    task_gid: str
    name: str
    assignee: str | None
    estimate_hours: float
    actual_hours: float
    variance_pct: float
    permalink_url: str | None = None


class VarianceReport(BaseModel):
    """Compact: groups are cut to ``top`` per dimension (largest samples first)."""

    model_config = ConfigDict(frozen=True)

    level: float
    tasks_considered: int
    with_ratio: int
    missing_estimate: int
    missing_actual: int
    zero_hours: int  # estimate or actual of exactly zero: no ratio
    overall: RatioStats | None
    by: dict[str, list[RatioStats]]
    groups_total: dict[str, int]  # groups before the top-N cut
    top_overruns: list[TaskVariance]
    top_underruns: list[TaskVariance]


def schedule_variance_pct(task: Task) -> float | None:
    """(actual - estimate) / estimate * 100, or None without a positive estimate and an actual."""
    est, act = task.estimate_hours, task.actual_hours
    if est is None or act is None or not math.isfinite(est) or not math.isfinite(act):
        return None
    if est <= 0 or act < 0:
        return None
    return round((act - est) / est * 100.0, 1)


def schedule_variances(tasks: Sequence[Task], *, completed_only: bool = True) -> dict[str, float]:
    """Per-task ``AI Schedule Variance %`` values (tasks without one are left out)."""
    out: dict[str, float] = {}
    for task in tasks:
        if completed_only and not task.completed:
            continue
        value = schedule_variance_pct(task)
        if value is not None:
            out[task.gid] = value
    return out


def ratio_stats(
    key: str, label: str, est: NDArray[np.float64], act: NDArray[np.float64], level: float
) -> RatioStats:
    """Stats for one group from paired positive estimate/actual arrays."""
    ratio = act / est
    log_ratio = np.log(ratio)
    median, low, high = median_interval(ratio, level)
    return RatioStats(
        key=key,
        label=label,
        n=int(ratio.size),
        median_ratio=round(median, 4),
        ratio_low=round(low, 4),
        ratio_high=round(high, 4),
        iqr_log_ratio=round(iqr(log_ratio), 4),
        overrun_share=round(float(np.mean(act > est)), 4),
        mean_abs_log_ratio=round(float(np.mean(np.abs(log_ratio))), 4),
        estimate_hours=round(float(est.sum()), 2),
        actual_hours=round(float(act.sum()), 2),
    )


def task_mask(
    frame: Frame, *, completed_only: bool, start: date | None, end: date | None
) -> NDArray[np.bool_]:
    """Tasks in scope: completed (if asked) with a completion (else creation) day inside [start, end]."""
    mask = frame.completed.copy() if completed_only else np.ones(frame.n_tasks, dtype=np.bool_)
    ref = np.where(frame.completed_day != NO_DAY, frame.completed_day, frame.created_day)
    if start is not None:
        mask &= ref >= day_of(start)
    if end is not None:
        mask &= ref <= day_of(end)
    return mask


def _month_key(day: int) -> str:
    d = date_of(day)
    return f"{d.year:04d}-{d.month:02d}"


def group_keys(frame: Frame, idx: NDArray[np.intp], dimension: Dimension) -> list[tuple[int, str, str]]:
    """``(position, key, label)`` pairs for tasks ``idx`` along one dimension (tags fan out)."""
    tasks = frame.tasks
    out: list[tuple[int, str, str]] = []
    if dimension == "assignee":
        for pos, i in enumerate(idx):
            code = int(frame.task_person[i])
            gid = frame.person_gids[code] if code >= 0 else "(unassigned)"
            out.append((pos, gid, frame.person_name(code)))
    elif dimension == "month":
        ref = np.where(frame.completed_day != NO_DAY, frame.completed_day, frame.created_day)
        for pos, i in enumerate(idx):
            key = _month_key(int(ref[i]))
            out.append((pos, key, key))
    elif dimension == "tag":
        for pos, i in enumerate(idx):
            for tag in tasks[i].tags or ("(no tag)",):
                out.append((pos, tag, tag))
    elif dimension == "project":
        for pos, i in enumerate(idx):
            code = int(frame.task_project[i])
            out.append((pos, frame.project_gids[code] if code >= 0 else "(none)", frame.project_name(code)))
    elif dimension == "team":
        for pos, i in enumerate(idx):
            code = int(frame.task_project[i])
            project = frame.projects.get(frame.project_gids[code]) if code >= 0 else None
            team = (project.team if project else None) or "(no team)"
            out.append((pos, team, team))
    else:
        attr = "project_type" if dimension == "project_type" else "section"
        for pos, i in enumerate(idx):
            value = getattr(tasks[i], attr)
            if value is None and dimension == "project_type":
                code = int(frame.task_project[i])
                project = frame.projects.get(frame.project_gids[code]) if code >= 0 else None
                value = project.project_type if project else None
            value = value or f"(no {attr.replace('_', ' ')})"
            out.append((pos, value, value))
    return out


def grouped_ratio_stats(
    frame: Frame,
    idx: NDArray[np.intp],
    dimension: Dimension,
    *,
    level: float = 0.90,
    min_n: int = 1,
) -> list[RatioStats]:
    """Ratio stats per group of tasks ``idx`` (each with positive estimate and actual), largest first."""
    est = frame.est[idx]
    act = frame.act[idx]
    buckets: dict[str, list[int]] = {}
    labels: dict[str, str] = {}
    for pos, key, label in group_keys(frame, idx, dimension):
        buckets.setdefault(key, []).append(pos)
        labels[key] = label
    stats = [
        ratio_stats(key, labels[key], est[p], act[p], level)
        for key, positions in buckets.items()
        if len(positions) >= min_n
        for p in [np.asarray(positions, dtype=np.intp)]
    ]
    stats.sort(key=lambda s: (-s.n, s.key))
    return stats


def _task_variance(frame: Frame, i: int) -> TaskVariance:
    task = frame.tasks[i]
    est, act = float(frame.est[i]), float(frame.act[i])
    return TaskVariance(
        task_gid=task.gid,
        name=task.name[:120],
        assignee=task.assignee_name or task.assignee_gid,
        estimate_hours=round(est, 2),
        actual_hours=round(act, 2),
        variance_pct=round((act - est) / est * 100.0, 1),
        permalink_url=task.permalink_url,
    )


def variance_report(
    workspace: Workspace,
    *,
    start: date | None = None,
    end: date | None = None,
    dimensions: Sequence[Dimension] = DEFAULT_DIMENSIONS,
    completed_only: bool = True,
    level: float = 0.90,
    top: int = 10,
    min_n: int = 1,
    frame: Frame | None = None,
) -> VarianceReport:
    """Actual vs estimate over tasks completed in ``[start, end]`` (all time by default).

    Tasks with a missing estimate or actual are counted, not used; a zero estimate or zero actual gives
    no ratio (counted in ``zero_hours``). ``min_n`` hides groups smaller than that.
    """
    frame = frame or build_frame(workspace)
    scope = task_mask(frame, completed_only=completed_only, start=start, end=end)
    est, act = frame.est, frame.act
    has_est = ~np.isnan(est)
    has_act = ~np.isnan(act)
    zero = scope & has_est & has_act & ((est == 0) | (act == 0))
    usable = scope & has_est & has_act & (est > 0) & (act > 0)
    idx = np.flatnonzero(usable)
    by: dict[str, list[RatioStats]] = {}
    totals: dict[str, int] = {}
    for dim in dimensions:
        groups = grouped_ratio_stats(frame, idx, dim, level=level, min_n=min_n) if idx.size else []
        totals[dim] = len(groups)
        by[dim] = groups if dim == "month" else groups[:top]
        if dim == "month":  # chronological and recent: a trend reads left to right
            by[dim] = sorted(groups, key=lambda s: s.key)[-max(top, 12) :]
    overall = ratio_stats("all", "all tasks", est[idx], act[idx], level) if idx.size else None
    variance = np.full(frame.n_tasks, np.nan)
    variance[idx] = (act[idx] - est[idx]) / est[idx]
    order = idx[np.argsort(variance[idx], kind="stable")]
    over = [int(i) for i in order[::-1][:top] if variance[i] > 0]
    under = [int(i) for i in order[:top] if variance[i] < 0]
    return VarianceReport(
        level=level,
        tasks_considered=int(scope.sum()),
        with_ratio=int(idx.size),
        missing_estimate=int((scope & ~has_est).sum()),
        missing_actual=int((scope & ~has_act).sum()),
        zero_hours=int(zero.sum()),
        overall=overall,
        by=by,
        groups_total=totals,
        top_overruns=[_task_variance(frame, i) for i in over],
        top_underruns=[_task_variance(frame, i) for i in under],
    )


def person_log_ratios(frame: Frame, *, before_day: int | None = None) -> dict[int, NDArray[np.float64]]:
    """Completed tasks' log(actual/estimate) per assignee code (the track record forecasts draw from)."""
    usable = frame.completed & (frame.est > 0) & (frame.act > 0)
    if before_day is not None:
        usable &= (frame.completed_day != NO_DAY) & (frame.completed_day < before_day)
    idx = np.flatnonzero(usable)
    logs = np.log(frame.act[idx] / frame.est[idx])
    people = frame.task_person[idx]
    order = np.argsort(people, kind="stable")
    people_sorted = people[order]
    out: dict[int, NDArray[np.float64]] = {}
    if idx.size == 0:
        return out
    cuts = np.flatnonzero(np.diff(people_sorted)) + 1
    for chunk in np.split(order, cuts):
        out[int(people[chunk[0]])] = logs[chunk]
    return out


__all__ = [
    "DEFAULT_DIMENSIONS",
    "RatioStats",
    "TaskVariance",
    "VarianceReport",
    "grouped_ratio_stats",
    "person_log_ratios",
    "ratio_stats",
    "schedule_variance_pct",
    "schedule_variances",
    "variance_report",
]
