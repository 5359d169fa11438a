"""Hindsight bounds for the estimation backtest: how much *could* a track-record calibration gain here?

A sceptic reading "the AI estimate is only 0.3% better than ours" needs to know whether that is the
model's fault or the data's. These figures answer it by cheating on purpose: each model is fitted on the
**test set's own answers** (in-sample), so it is the best that a model of that form could possibly do on
those tasks, an upper bound, never a prediction. If even the hindsight fit of "a factor per assignee,
category and project, plus a slope on the estimate's size" barely beats the human estimate, the history
holds little learnable bias and no honest calibration will beat the humans by much.

All fits are least-absolute-deviation (median) regressions in log space, the loss that mean
|log(actual/predicted)| measures, on one-hot facets; ``ridge`` is small on purpose (an upper bound).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from pydantic import BaseModel

from tools.analytics.estimator_math import lad_fit
from tools.records import Task

# Facets of a TASKS.csv row that a track-record calibration can use (the estimator's own facets).
_FACETS: dict[str, Callable[[Task], str | None]] = {
    "assignee": lambda t: t.assignee_gid or t.assignee_name,
    "category": lambda t: t.project_type,
    "project": lambda t: t.project_gid or t.project_name,
}
_MIN_HOURS = 0.1  # as the estimator: 0 h is treated as 0.1 h in log space
_RIDGE = 0.5


class HindsightFit(BaseModel):
    """One in-sample fit: its form and how well it explains the test tasks it was fitted on."""

    model: str
    mode: str  # "with estimate" or "cold start"
    tasks: int
    mean_abs_log: float
    mdmre: float
    pred25: float


def _log(hours: float | None) -> float:
    return math.log(max(hours or 0.0, _MIN_HOURS))


def _one_hot(tasks: Sequence[Task], facets: Sequence[str]) -> np.ndarray:
    columns: list[np.ndarray] = []
    for facet in facets:
        key = _FACETS[facet]
        values = [key(t) for t in tasks]
        for value in sorted({v for v in values if v}):
            columns.append(np.array([v == value for v in values], dtype=float))
    return np.column_stack(columns) if columns else np.zeros((len(tasks), 0))


def _fit(
    model: str, mode: str, design: np.ndarray, log_actual: np.ndarray, offset: np.ndarray
) -> HindsightFit:
    x = np.column_stack([np.ones(len(log_actual)), design])
    beta = lad_fit(x, log_actual - offset, ridge=_RIDGE)
    log_pred = offset + x @ beta
    actual, pred = np.exp(log_actual), np.exp(log_pred)
    mre = np.abs(actual - pred) / actual
    return HindsightFit(
        model=model,
        mode=mode,
        tasks=len(log_actual),
        mean_abs_log=float(np.mean(np.abs(log_actual - log_pred))),
        mdmre=float(np.median(mre)),
        pred25=float(np.mean(mre <= 0.25)),
    )


def hindsight_fits(test: Sequence[Task]) -> list[HindsightFit]:
    """In-sample fits on the test tasks (actual hours required). Empty below 20 usable tasks."""
    done = [t for t in test if t.actual_hours is not None and t.actual_hours > 0]
    out: list[HindsightFit] = []
    estimated = [t for t in done if t.estimate_hours is not None and t.estimate_hours > 0]
    if len(estimated) >= 20:
        y = np.array([_log(t.actual_hours) for t in estimated])
        log_e = np.array([_log(t.estimate_hours) for t in estimated])
        out.append(
            _fit("a factor per assignee", "with estimate", _one_hot(estimated, ["assignee"]), y, log_e)
        )
        facets = _one_hot(estimated, list(_FACETS))
        out.append(
            _fit(
                "factors per assignee, category and project + a slope on log(estimate)",
                "with estimate",
                np.column_stack([facets, log_e]),
                y,
                log_e,
            )
        )
    if len(done) >= 20:
        y = np.array([_log(t.actual_hours) for t in done])
        out.append(
            _fit(
                "median hours per assignee, category and project",
                "cold start",
                _one_hot(done, list(_FACETS)),
                y,
                np.zeros(len(done)),
            )
        )
    return out


def render_hindsight(fits: Sequence[HindsightFit]) -> list[str]:
    """Markdown lines for the backtest report."""
    if not fits:
        return []
    lines = [
        "",
        "## Hindsight bounds (fitted on the test answers: an upper bound, not a prediction)",
        "",
        "Each row is fitted on the test tasks' own actual hours, so it shows the most that a model of that "
        "form could gain on this data. When the hindsight fit is close to the human estimate, the history "
        "holds little bias to correct and the gap to the bars is the data's, not the model's.",
        "",
        "| mode | model (in-sample) | tasks | mean abs log | MdMRE | PRED(25) |",
        "|---|---|---|---|---|---|",
    ]
    for f in fits:
        lines.append(
            f"| {f.mode} | {f.model} | {f.tasks} | {f.mean_abs_log:.3f} | {f.mdmre:.3f} | "
            f"{100 * f.pred25:.1f}% |"
        )
    return lines
