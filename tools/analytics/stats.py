"""Shared robust statistics for the analytics modules (numpy only, no scipy).

Everything here is deterministic: intervals come from order statistics (distribution-free), not from a
bootstrap, so a report computed twice on the same records is identical and always contains its median.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

# 1.4826 * MAD estimates the standard deviation of a normal sample (consistency constant).
MAD_TO_SD = 1.4826
# IQR / 1.349 estimates the standard deviation of a normal sample.
IQR_TO_SD = 1.349
_STD_NORMAL = NormalDist()


def finite_number(value: Any) -> float | None:
    """``value`` as a finite float (a number or numeric text), else None; booleans are not numbers."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def normal_cdf(x: float) -> float:
    """Standard normal CDF."""
    return _STD_NORMAL.cdf(x)


def normal_ppf(p: float) -> float:
    """Standard normal quantile (inverse CDF), ``p`` in (0, 1)."""
    return _STD_NORMAL.inv_cdf(p)


def _binom_half_cdf(n: int) -> NDArray[np.float64]:
    """P(B <= j) for B ~ Binomial(n, 1/2), j = 0..n (exact integers below 1,000)."""
    counts = [math.comb(n, j) for j in range(n + 1)]
    total = 2**n
    cumulative: list[float] = []
    running = 0
    for count in counts:
        running += count
        cumulative.append(running / total)
    return np.asarray(cumulative)


def median_interval(values: ArrayLike, level: float = 0.90) -> tuple[float, float, float]:
    """Median with a distribution-free order-statistic interval: ``(median, low, high)``.

    The interval is ``[x_(k), x_(n-k+1)]`` with the largest ``k`` whose binomial tail is at most
    ``(1 - level) / 2``; it always contains the sample median. With too few values for the requested
    level it falls back to ``[min, max]`` (the widest honest answer). Empty input gives NaNs.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    median = float(np.median(x))
    tail = (1.0 - level) / 2.0
    if n < 1000:
        cdf = _binom_half_cdf(n)
        # P(B <= k-1) <= tail  ->  k-1 is the last index with cdf <= tail.
        k = int(np.searchsorted(cdf, tail, side="right"))  # number of j with cdf[j] <= tail
    else:
        k = math.floor((n - normal_ppf(1.0 - tail) * math.sqrt(n)) / 2.0)
    k = max(1, min(k, (n + 1) // 2))
    return (median, float(x[k - 1]), float(x[n - k]))


def iqr(values: ArrayLike) -> float:
    """Interquartile range (NaN for an empty sample)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return math.nan
    q1, q3 = np.percentile(x, [25.0, 75.0])
    return float(q3 - q1)


def mad(values: ArrayLike) -> float:
    """Median absolute deviation from the median (unscaled; NaN for an empty sample)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return math.nan
    return float(np.median(np.abs(x - np.median(x))))


def robust_scale(values: ArrayLike, floor: float = 0.0) -> tuple[float, float]:
    """``(median, sigma)`` with sigma = 1.4826 * MAD, at least ``floor`` (so a constant history does
    not make every small deviation infinitely surprising)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return (math.nan, math.nan)
    med = float(np.median(x))
    return (med, max(MAD_TO_SD * float(np.median(np.abs(x - med))), floor))


def log_ratio_sigma(log_ratios: ArrayLike, default: float = 0.5, min_n: int = 5) -> float:
    """Robust spread of log(actual/estimate): IQR/1.349, or ``default`` with fewer than ``min_n`` values."""
    x = np.asarray(log_ratios, dtype=np.float64)
    if x.size < min_n:
        return default
    spread = iqr(x) / IQR_TO_SD
    return spread if spread > 0 else default / 2.0


def ramp_score(value: float, threshold: float) -> float:
    """Score in [0.5, 1] for ``value >= threshold``: 0.5 at the threshold, 1.0 at twice it."""
    if threshold <= 0:
        return 1.0
    return float(min(1.0, max(0.5, 0.5 + 0.5 * (value - threshold) / threshold)))


def group_indices(keys: Sequence[Hashable]) -> dict[Hashable, NDArray[np.intp]]:
    """Positions of each distinct key, in first-seen order (dict grouping; cheap up to millions)."""
    groups: dict[Hashable, list[int]] = {}
    for i, key in enumerate(keys):
        bucket = groups.get(key)
        if bucket is None:
            groups[key] = [i]
        else:
            bucket.append(i)
    return {k: np.asarray(v, dtype=np.intp) for k, v in groups.items()}


def sorted_groups(codes: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.intp], NDArray[np.intp]]:
    """Group an integer code array: ``(unique_codes, order, starts)`` so that group ``g`` is
    ``order[starts[g]:starts[g+1]]`` (with ``starts`` having one extra final element)."""
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    if sorted_codes.size == 0:
        return (sorted_codes, order, np.zeros(1, dtype=np.intp))
    boundaries = np.flatnonzero(np.diff(sorted_codes)) + 1
    starts = np.concatenate(([0], boundaries, [sorted_codes.size])).astype(np.intp)
    return (sorted_codes[starts[:-1]], order, starts)
