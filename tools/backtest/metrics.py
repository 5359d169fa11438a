"""Backtest metrics: per-task accuracy, totals of project-months and projects, AI vs person per group.

Definitions (as shared/data/BASELINES.md): MRE = |actual - predicted| / actual, MdMRE its median;
PRED(25) = share of tasks with MRE <= 0.25; mean log(actual/pred) > 0 = under-prediction; mean abs log
= mean |log(actual/predicted)|; coverage = share of actuals inside P10-P90.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel

from tools.analytics.estimator import Estimate, Estimator, GroupVerdict
from tools.analytics.estimator_calibration import verdict
from tools.analytics.totals import simulate_totals
from tools.records import Task

MIN_BATCH_TASKS = 3
MIN_GROUP_TASKS = 10
MAX_GROUPS = 12


class Metrics(BaseModel):
    """Accuracy of one predictor on the tasks it predicted (relative metrics skip 0 h actuals)."""

    tasks: int = 0
    mae: float | None = None
    mdae: float | None = None
    mmre: float | None = None
    mdmre: float | None = None
    pred25: float | None = None
    mean_log: float | None = None  # mean log(actual/pred): > 0 = under-prediction
    mean_abs_log: float | None = None
    overrun_share: float | None = None
    coverage: float | None = None  # share of actuals inside P10-P90 (when there is a range)
    median_width: float | None = None  # median P90/P10


def metrics(
    actual: Sequence[float],
    predicted: Sequence[float],
    low: Sequence[float] | None = None,
    high: Sequence[float] | None = None,
) -> Metrics:
    """Point and interval metrics; tasks with a non-positive actual or prediction are left out of the
    relative and log metrics (MRE and logs are undefined there) but kept in MAE."""
    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if not len(a):
        return Metrics()
    pos = (a > 0) & (p > 0)
    mre = np.abs(a[pos] - p[pos]) / a[pos]
    logs = np.log(a[pos] / p[pos])
    out = Metrics(
        tasks=len(a),
        mae=float(np.mean(np.abs(a - p))),
        mdae=float(np.median(np.abs(a - p))),
        overrun_share=float(np.mean(a > p)),
    )
    if pos.any():
        out.mmre, out.mdmre = float(np.mean(mre)), float(np.median(mre))
        out.pred25 = float(np.mean(mre <= 0.25))
        out.mean_log, out.mean_abs_log = float(np.mean(logs)), float(np.mean(np.abs(logs)))
    if low is not None and high is not None:
        lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
        out.coverage = float(np.mean((a >= lo) & (a <= hi)))
        ok = lo > 0
        out.median_width = float(np.median(hi[ok] / lo[ok])) if ok.any() else None
    return out


def _month(task: Task) -> str:
    moment = task.completed_at or task.created_at
    return moment.strftime("%Y-%m")


class TotalsMetrics(BaseModel):
    batches: int = 0
    tasks: int = 0
    human_abs_error_sum: float | None = None  # sum over batches of |actual total - human total|
    ai_abs_error_sum: float | None = None
    human_median_abs_log: float | None = None
    ai_median_abs_log: float | None = None
    ai_better_share: float | None = None  # batches where the AI total is closer than the human's
    coverage80: float | None = None  # batches whose actual total is inside the simulated P10-P90
    coverage50: float | None = None


def totals_metrics(
    test: Sequence[Task], ai: Sequence[Estimate | None], estimator: Estimator, *, by_month: bool
) -> TotalsMetrics:
    """Batches of >= 3 test tasks with a human estimate, per project x calendar month (by the split date)
    or per project. AI total = median of the joint simulation (``tools.analytics.totals``)."""
    rows = [i for i, e in enumerate(ai) if e is not None]
    projects = [test[i].project_gid or test[i].project_name or "(none)" for i in rows]
    months = [_month(test[i]) for i in rows]
    keys = [f"{p}\x00{m}" if by_month else p for p, m in zip(projects, months, strict=True)]
    counts: dict[str, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    keep = [j for j, key in enumerate(keys) if counts[key] >= MIN_BATCH_TASKS]
    if not keep:
        return TotalsMetrics()
    estimates = [e for e in (ai[rows[j]] for j in keep) if e is not None]
    ranges = simulate_totals(
        estimates,
        [keys[j] for j in keep],
        [projects[j] for j in keep],
        [months[j] for j in keep],
        estimator,
    )
    actual: dict[str, float] = {}
    human: dict[str, float] = {}
    for j in keep:
        task = test[rows[j]]
        actual[keys[j]] = actual.get(keys[j], 0.0) + (task.actual_hours or 0.0)
        human[keys[j]] = human.get(keys[j], 0.0) + (task.estimate_hours or 0.0)
    human_err, ai_err, human_log, ai_log, better, in80, in50 = [], [], [], [], [], [], []
    for key, r in ranges.items():
        a, h = actual[key], human[key]
        human_err.append(abs(a - h))
        ai_err.append(abs(a - r.p50_hours))
        if a > 0:
            human_log.append(abs(math.log(a / h)) if h > 0 else math.inf)
            ai_log.append(abs(math.log(a / r.p50_hours)) if r.p50_hours > 0 else math.inf)
        better.append(abs(a - r.p50_hours) < abs(a - h))
        in80.append(r.p10_hours <= a <= r.p90_hours)
        in50.append(r.p25_hours <= a <= r.p75_hours)
    return TotalsMetrics(
        batches=len(ranges),
        tasks=len(keep),
        human_abs_error_sum=float(sum(human_err)),
        ai_abs_error_sum=float(sum(ai_err)),
        human_median_abs_log=float(np.median(human_log)) if human_log else None,
        ai_median_abs_log=float(np.median(ai_log)) if ai_log else None,
        ai_better_share=float(np.mean(better)),
        coverage80=float(np.mean(in80)),
        coverage50=float(np.mean(in50)),
    )


def group_table(
    test: Sequence[Task], ai: Sequence[Estimate | None], facet: Literal["assignee", "category"]
) -> list[GroupVerdict]:
    """On the test set: AI vs the person's own estimate per assignee or category (largest groups)."""
    members: dict[str, list[tuple[float, float]]] = {}
    for task, est in zip(test, ai, strict=True):
        if est is None or not task.actual_hours or task.actual_hours <= 0 or not task.estimate_hours:
            continue
        value = (task.assignee_gid or task.assignee_name) if facet == "assignee" else task.project_type
        if not value:
            continue
        log_a = math.log(task.actual_hours)
        members.setdefault(value, []).append(
            (log_a - math.log(task.estimate_hours), log_a - math.log(est.hours))
        )
    out = [
        verdict(facet, value, np.array([p for p, _ in pairs]), np.array([m for _, m in pairs]))
        for value, pairs in members.items()
        if len(pairs) >= MIN_GROUP_TASKS
    ]
    out.sort(key=lambda v: (-v.tasks, v.value))
    return out[:MAX_GROUPS]
