"""Totals of many tasks' estimates, at the level of arrays: how errors move together, and joint draws.

* ``fit_correlation``: how much the residuals of tasks in the same project, and in the same project
  and month, move together (normal scores, method of moments on the calibration slice).
* ``draw_totals``: per batch, simulated totals: each task's residual drawn from its own quantile grid
  through a Gaussian copula with one shared factor per project and one per project-month.
* ``fit_totals_trust``: how far a total's centre may move from the sum of the human estimates toward
  the simulated median, chosen on the calibration slice's project-months like the per-task gate
  (a lower confidence bound on the hours saved), so totals are never knowingly worse than the people's.

``tools.analytics.totals`` is the public, ``Estimate``-level API over these.
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TypeVar

import numpy as np

from tools.analytics.estimator_calibration import Z_LEVELS

TRUST_GRID = np.linspace(0.0, 1.0, 5)
K = TypeVar("K", bound=Hashable)


def normal_scores(residual: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each residual's normal score within its group's distribution (mid-ranks: ties share a score)."""
    z = np.zeros(len(residual))
    dist = NormalDist()
    for g in np.unique(groups):
        idx = np.flatnonzero(groups == g)
        vals = residual[idx]
        order = np.argsort(vals, kind="stable")
        sorted_vals = vals[order]
        lo = np.searchsorted(sorted_vals, vals, side="left")
        hi = np.searchsorted(sorted_vals, vals, side="right")
        u = (lo + hi) / 2.0 / len(vals)
        u = np.clip(u, 0.5 / len(vals), 1 - 0.5 / len(vals))
        z[idx] = [dist.inv_cdf(float(p)) for p in u]
    return z


@dataclass(frozen=True)
class Correlation:
    """Correlation of the normal scores of two tasks' errors: same project (any month), and same
    project and month (includes the project's share)."""

    project: float = 0.0
    project_month: float = 0.0


def _moments(z: np.ndarray, keys: Sequence[K]) -> dict[K, tuple[float, float, int]]:
    """Per key: (sum, sum of squares, count) of the scores."""
    acc: dict[K, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for value, key in zip(z.tolist(), keys, strict=True):
        a = acc[key]
        a[0] += value
        a[1] += value * value
        a[2] += 1
    return {k: (a[0], a[1], int(a[2])) for k, a in acc.items()}


def fit_correlation(z: np.ndarray, projects: Sequence[str], months: Sequence[str]) -> Correlation:
    """Method-of-moments correlations of normal scores: over pairs of tasks in the same project and
    month, and over pairs in the same project but different months. Each project weighs by its size,
    not by its number of pairs, so that one huge project does not decide alone."""
    if len(z) < 30:
        return Correlation()
    scale = float(np.mean(z * z)) or 1.0  # ties shrink the scores' variance: correlate, not covary
    by_project = _moments(z, list(projects))
    pairs = list(zip(projects, months, strict=True))
    by_month = _moments(z, pairs)
    month_parts: dict[str, list[tuple[float, float, int]]] = defaultdict(list)
    for (project, _month), m in by_month.items():
        month_parts[project].append(m)
    same_num = same_den = cross_num = cross_den = 0.0
    for project, (s, q, n) in by_project.items():
        if n < 2:
            continue
        parts = month_parts[project]
        within_products = sum(ms * ms - mq for ms, mq, _ in parts)
        within_pairs = sum(mn * (mn - 1) for _, _, mn in parts)
        all_products, all_pairs = s * s - q, n * (n - 1)
        same_num += within_products / n
        same_den += within_pairs / n
        cross_num += (all_products - within_products) / n
        cross_den += (all_pairs - within_pairs) / n
    rho_p = cross_num / cross_den / scale if cross_den else 0.0
    rho_pm = same_num / same_den / scale if same_den else rho_p
    rho_p = float(np.clip(rho_p, 0.0, 0.9))
    rho_pm = float(np.clip(rho_pm, rho_p, 0.95))
    return Correlation(project=round(rho_p, 4), project_month=round(rho_pm, 4))


def draw_totals(
    points: np.ndarray,
    grids: np.ndarray,
    rho_project: np.ndarray,
    rho_month: np.ndarray,
    batches: Sequence[str],
    projects: Sequence[str],
    months: Sequence[str],
    *,
    simulations: int = 4000,
    seed: int = 7,
) -> dict[str, np.ndarray]:
    """Per batch key: ``simulations`` draws of the total of its tasks' hours.

    Task i's hours are ``points[i] * exp(residual)`` with the residual's quantiles at Z_LEVELS in
    ``grids[i]``; its normal score loads ``sqrt(rho_project[i])`` on its project's factor and
    ``sqrt(rho_month[i] - rho_project[i])`` on its project-month's. Seeded by batch key, so adding a
    batch changes no other batch's draws.
    """
    members: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(batches):
        members[key].append(i)
    out: dict[str, np.ndarray] = {}
    for key, rows in members.items():
        rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
        factors: dict[str, np.ndarray] = {}
        total = np.zeros(simulations)
        for i in rows:
            a = math.sqrt(max(float(rho_project[i]), 0.0))
            b = math.sqrt(max(float(rho_month[i] - rho_project[i]), 0.0))
            c = math.sqrt(max(1.0 - max(float(rho_month[i]), float(rho_project[i])), 0.0))
            z = c * rng.standard_normal(simulations)
            for weight, name in ((a, f"p:{projects[i]}"), (b, f"m:{projects[i]}\x00{months[i]}")):
                if weight:
                    if name not in factors:
                        factors[name] = rng.standard_normal(simulations)
                    z += weight * factors[name]
            total += points[i] * np.exp(np.interp(z, Z_LEVELS, grids[i]))
        out[key] = total
    return out


@dataclass(frozen=True)
class TotalsFit:
    """How totals are centred and how wide their ranges are, fitted on past project-months."""

    trust: float = 0.0  # share of the way from the human sum to the simulated median
    scale: float = 1.0  # factor on the simulated spread around the median that gave 80% coverage


def fit_totals(
    actual: np.ndarray,
    human: np.ndarray,
    draws: Sequence[np.ndarray],
    caution: float,
    coverage: float = 0.8,
) -> TotalsFit:
    """Trust (see ``fit_totals_trust``) and the range scale that covered ``coverage`` of the past
    batches' actual totals (the smallest scale that did, within 0.7-3)."""
    if len(actual) < 10:
        return TotalsFit()
    median = np.array([float(np.median(d)) for d in draws])
    q10 = np.array([float(np.quantile(d, 0.1)) for d in draws])
    q90 = np.array([float(np.quantile(d, 0.9)) for d in draws])
    trust = fit_totals_trust(actual, human, median, caution)
    center = human + trust * (median - human)
    scale = 3.0
    for s in np.arange(0.7, 3.0001, 0.05):
        low, high = center + s * (q10 - median), center + s * (q90 - median)
        if np.mean((actual >= low) & (actual <= high)) >= coverage:
            scale = float(s)
            break
    return TotalsFit(trust=trust, scale=round(scale, 2))


def fit_totals_trust(actual: np.ndarray, human: np.ndarray, simulated: np.ndarray, caution: float) -> float:
    """The share of the way from the human sum to the simulated median that saved hours on past
    batches, by the best lower confidence bound (0 when nothing did reliably)."""
    if len(actual) < 10:
        return 0.0
    base = np.abs(actual - human)
    best_t, best_bound = 0.0, 0.0
    for t in TRUST_GRID[1:]:
        gain = base - np.abs(actual - (human + t * (simulated - human)))
        bound = float(gain.mean() - caution * gain.std(ddof=1) / math.sqrt(len(gain)))
        if bound > best_bound:
            best_t, best_bound = float(t), bound
    return best_t


def correlation_of(
    residual: np.ndarray, bins: Sequence[int], projects: Sequence[str], months: Sequence[str]
) -> Correlation:
    """``fit_correlation`` of residuals scored within their range bins."""
    return fit_correlation(normal_scores(residual, np.asarray(bins)), projects, months)


def fit_totals_on_history(
    points: np.ndarray,
    grids: np.ndarray,
    correlation: Correlation,
    actual: np.ndarray,
    human: np.ndarray,
    projects: Sequence[str],
    months: Sequence[str],
    caution: float,
) -> TotalsFit:
    """``fit_totals`` on the calibration slice's project-months of >= 3 tasks (AI points, residual
    grids, actual and human hours per task)."""
    keys = [f"{p}\x00{m}" for p, m in zip(projects, months, strict=True)]
    counts: dict[str, int] = defaultdict(int)
    for key in keys:
        counts[key] += 1
    keep = [i for i, key in enumerate(keys) if counts[key] >= 3]
    if not keep:
        return TotalsFit()
    n = len(keep)
    draws = draw_totals(
        points[keep],
        grids[keep],
        np.full(n, correlation.project),
        np.full(n, correlation.project_month),
        [keys[i] for i in keep],
        [projects[i] for i in keep],
        [months[i] for i in keep],
        simulations=1000,
    )
    batches = sorted(draws)
    sums_a: dict[str, float] = defaultdict(float)
    sums_h: dict[str, float] = defaultdict(float)
    for i in keep:
        sums_a[keys[i]] += float(actual[i])
        sums_h[keys[i]] += float(human[i])
    return fit_totals(
        np.array([sums_a[b] for b in batches]),
        np.array([sums_h[b] for b in batches]),
        [draws[b] for b in batches],
        caution,
    )
