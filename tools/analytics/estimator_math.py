"""Small numeric helpers for the estimator: robust regression, weighted medians, conformal quantiles."""

from __future__ import annotations

import math

import numpy as np


def lad_fit(x: np.ndarray, y: np.ndarray, ridge: float = 1.0, iterations: int = 60) -> np.ndarray:
    """Least-absolute-deviations (median) regression by iteratively reweighted least squares.

    Column 0 of ``x`` must be the intercept; the other coefficients get an L2 penalty ``ridge`` (in
    units of observations), which shrinks them toward zero, i.e. toward the intercept-only model, when
    the data are few or the features collinear.
    """
    n, p = x.shape
    if n == 0:
        return np.zeros(p)
    penalty = np.full(p, float(ridge))
    penalty[0] = 1e-9
    beta = np.zeros(p)
    beta[0] = float(np.median(y))
    for _ in range(iterations):
        residual = y - x @ beta
        # 1/|r| weights turn squared error into absolute error; the floor keeps them finite where a
        # residual is (near) zero, which happens a lot when actuals often equal the estimate.
        weights = 1.0 / np.maximum(np.abs(residual), 0.02)
        weights *= n / weights.sum()
        gram = (x * weights[:, None]).T @ x + np.diag(penalty)
        new = np.linalg.solve(gram, (x * weights[:, None]).T @ y)
        if np.max(np.abs(new - beta)) < 1e-6:
            beta = new
            break
        beta = new
    return beta


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The value at half of the total weight (the lower one on a tie); NaN when nothing is weighted."""
    mask = weights > 0
    if not mask.any():
        return math.nan
    vals, wts = values[mask], weights[mask]
    order = np.argsort(vals, kind="stable")
    cumulative = np.cumsum(wts[order])
    return float(vals[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def conformal_quantile(residuals: np.ndarray, level: float) -> float:
    """Split-conformal quantile of calibration residuals at ``level`` (finite-sample corrected)."""
    n = len(residuals)
    if n == 0:
        return math.nan
    ordered = np.sort(residuals)
    # Upper quantiles round the rank up, lower ones down: both err on the side of a wider range.
    rank = min(n, math.ceil((n + 1) * level)) if level >= 0.5 else max(1, math.floor((n + 1) * level))
    return float(ordered[rank - 1])


def shrunk(median: float, count: int, parent: float, strength: float) -> float:
    """A group's median pulled toward its parent's with ``strength`` pseudo-observations."""
    if count <= 0 or not math.isfinite(median):
        return parent
    return (count * median + strength * parent) / (count + strength)
