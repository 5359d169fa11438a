"""Small numeric helpers for the estimator: robust regression, weighted medians and quantiles, conformal
quantiles, shrinkage, and a ridge fit (numpy only)."""

from __future__ import annotations

import math

import numpy as np

# log(actual/predicted) inside this window <=> MRE <= 25% (PRED(25) counts it).
PRED_LOW, PRED_HIGH = -math.log(1.25), -math.log(0.75)


def within(residual: np.ndarray) -> np.ndarray:
    """Whether log(actual/predicted) is inside the PRED(25) window."""
    return (residual >= PRED_LOW) & (residual <= PRED_HIGH)


def lad_fit(
    x: np.ndarray, y: np.ndarray, ridge: float = 1.0, iterations: int = 60, weights: np.ndarray | None = None
) -> np.ndarray:
    """Least-absolute-deviations (median) regression by iteratively reweighted least squares.

    Column 0 of ``x`` must be the intercept; the other coefficients get an L2 penalty ``ridge`` (in
    units of observations), which shrinks them toward zero, i.e. toward the intercept-only model, when
    the data are few or the features collinear. ``weights`` weigh the rows (e.g. recent ones more).
    """
    n, p = x.shape
    if n == 0:
        return np.zeros(p)
    row_w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    penalty = np.full(p, float(ridge))
    penalty[0] = 1e-9
    beta = np.zeros(p)
    beta[0] = float(np.median(y))
    for _ in range(iterations):
        residual = y - x @ beta
        # 1/|r| weights turn squared error into absolute error; the floor keeps them finite where a
        # residual is (near) zero, which happens a lot when actuals often equal the estimate.
        w = row_w / np.maximum(np.abs(residual), 0.02)
        w *= row_w.sum() / w.sum()
        gram = (x * w[:, None]).T @ x + np.diag(penalty)
        new = np.linalg.solve(gram, (x * w[:, None]).T @ y)
        if np.max(np.abs(new - beta)) < 1e-6:
            beta = new
            break
        beta = new
    return beta


def ridge_fit(x: np.ndarray, y: np.ndarray, ridge: float) -> tuple[np.ndarray, float]:
    """Least squares of ``y`` on ``x`` (rows = observations) with an L2 penalty; returns (weights, center)
    such that ``center + x @ weights`` predicts ``y``. Features are centred, so the penalty never
    shrinks the mean."""
    if len(y) == 0:
        return np.zeros(x.shape[1]), 0.0
    mean_x, mean_y = x.mean(axis=0), float(y.mean())
    xc = x - mean_x
    gram = xc.T @ xc + ridge * np.eye(x.shape[1])
    w = np.linalg.solve(gram, xc.T @ (y - mean_y))
    return w, mean_y - float(mean_x @ w)


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The value at half of the total weight (the lower one on a tie); NaN when nothing is weighted."""
    mask = weights > 0
    if not mask.any():
        return math.nan
    vals, wts = values[mask], weights[mask]
    order = np.argsort(vals, kind="stable")
    cumulative = np.cumsum(wts[order])
    return float(vals[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def conformal_quantile(residuals: np.ndarray, level: float, weights: np.ndarray | None = None) -> float:
    """Split-conformal quantile of calibration residuals at ``level`` (finite-sample corrected).

    With ``weights`` (e.g. more weight on recent residuals) the quantile is of the weighted empirical
    distribution, with the finite-sample correction of one extra point of average weight.
    """
    n = len(residuals)
    if n == 0:
        return math.nan
    order = np.argsort(residuals, kind="stable")
    ordered = residuals[order]
    if weights is None:
        # Upper quantiles round the rank up, lower ones down: both err on the side of a wider range.
        rank = min(n, math.ceil((n + 1) * level)) if level >= 0.5 else max(1, math.floor((n + 1) * level))
        return float(ordered[rank - 1])
    w = np.asarray(weights, dtype=float)[order]
    total = w.sum() + w.mean()  # the test point's own (average) weight
    cumulative = np.cumsum(w) / total
    # As without weights: the upper quantile is the first value whose cumulative share reaches the
    # level, the lower one the last value whose share stays at or below it.
    if level >= 0.5:
        i = int(np.searchsorted(cumulative, level - 1e-12, side="left"))
        return float(ordered[min(i, n - 1)])
    i = int(np.searchsorted(cumulative, level + 1e-12, side="right")) - 1
    return float(ordered[max(i, 0)])


def shrunk(median: float, count: float, parent: float, strength: float) -> float:
    """A group's median pulled toward its parent's with ``strength`` pseudo-observations."""
    if count <= 0 or not math.isfinite(median):
        return parent
    return (count * median + strength * parent) / (count + strength)


def recency_weights(n: int, half_life: float) -> np.ndarray:
    """Weights for ``n`` rows in time order: the last row weighs 1, one ``half_life`` earlier 0.5."""
    if n == 0:
        return np.zeros(0)
    if half_life <= 0 or not math.isfinite(half_life):
        return np.ones(n)
    age = np.arange(n - 1, -1, -1, dtype=float)
    return np.asarray(0.5 ** (age / half_life))
