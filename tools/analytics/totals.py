"""Totals of many estimates (a project's month, a project) with P10-P90 from their joint distribution.

Summing independent per-task draws makes a total's range far too narrow: in real data the errors of
tasks in the same project and month move together (the same unclear client, the same crunch). Each
task's error is drawn from its own residual distribution (``Estimate.log_quantiles``, which depends on
the task's size: small tasks overrun, large ones are over-estimated) through a Gaussian copula with a
shared factor per project and one per project-month, loaded by the correlations the estimator measured
on its history (``Estimator.correlation``). The centre of a total moves from the sum of the human
estimates toward the simulated median only as far as that helped on past project-months
(``Estimator.totals_trust``); the range moves with it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict

from tools.analytics.estimator import Estimate, Estimator
from tools.analytics.estimator_calibration import Z_LEVELS
from tools.analytics.estimator_totals import draw_totals

_Z90 = 1.2816  # standard normal quantile at 0.9


class TotalRange(BaseModel):
    """A simulated total: median and central ranges, in hours, and the human estimates' sum."""

    model_config = ConfigDict(frozen=True)

    key: str
    tasks: int
    human_hours: float  # sum of the human estimates (the AI point where a task has none)
    p10_hours: float
    p25_hours: float
    p50_hours: float
    p75_hours: float
    p90_hours: float


def _quantile_grid(est: Estimate) -> np.ndarray:
    """log(actual/hours) at Z_LEVELS: the estimate's own, else a two-piece normal through P10/P90."""
    if len(est.log_quantiles) == len(Z_LEVELS):
        return np.asarray(est.log_quantiles, dtype=float)
    center = math.log(max(est.hours, 1e-6))
    low = (center - math.log(max(est.p10_hours, 1e-6))) / _Z90
    high = (math.log(max(est.p90_hours, 1e-6)) - center) / _Z90
    return np.where(Z_LEVELS < 0, Z_LEVELS * low, Z_LEVELS * high)


def simulate_totals(
    estimates: Sequence[Estimate],
    batches: Sequence[str],
    projects: Sequence[str],
    months: Sequence[str],
    estimator: Estimator,
    *,
    simulations: int = 4000,
    seed: int = 7,
) -> dict[str, TotalRange]:
    """Per batch key: the total of its tasks' estimates, drawn jointly.

    ``projects`` and ``months`` say which shared factors a task loads on (tasks of one project share
    the project factor; of one project and month, also that one); ``estimator`` is the one that made
    the estimates (its correlations and totals trust).
    """
    n = len(estimates)
    if not (n == len(batches) == len(projects) == len(months)):
        raise ValueError("estimates, batches, projects and months must have the same length")
    if n == 0:
        return {}
    rhos = [estimator.correlation(e.mode) for e in estimates]
    draws = draw_totals(
        np.array([e.hours for e in estimates]),
        np.vstack([_quantile_grid(e) for e in estimates]),
        np.array([r.project for r in rhos]),
        np.array([r.project_month for r in rhos]),
        batches,
        projects,
        months,
        simulations=simulations,
        seed=seed,
    )
    human: dict[str, float] = {}
    tasks: dict[str, int] = {}
    for est, key in zip(estimates, batches, strict=True):
        human[key] = human.get(key, 0.0) + (est.human_estimate_hours or est.hours)
        tasks[key] = tasks.get(key, 0) + 1
    fit = estimator.totals_fit
    out: dict[str, TotalRange] = {}
    for key, total in draws.items():
        median = float(np.median(total))
        # Centre ``trust`` of the way from the human sum to the simulated median; the spread around
        # it scaled as it had to be to cover 80% of past project-months.
        center = human[key] + fit.trust * (median - human[key])
        shifted = np.maximum(center + fit.scale * (total - median), 0.0)
        p10, p25, p50, p75, p90 = np.quantile(shifted, [0.1, 0.25, 0.5, 0.75, 0.9])
        out[key] = TotalRange(
            key=key,
            tasks=tasks[key],
            human_hours=round(human[key], 2),
            p10_hours=round(float(p10), 2),
            p25_hours=round(float(p25), 2),
            p50_hours=round(float(p50), 2),
            p75_hours=round(float(p75), 2),
            p90_hours=round(float(p90), 2),
        )
    return out
