"""Completion forecast, part two: how long open tasks stay open, and the simulated burn-down paths.

Work divided by pace says when the hours can be done. Real task lists also hold tasks that linger:
the project is finished only when the last open task is closed, and in many teams some tasks stay open
for months whatever the hours. Each open task's remaining *lifetime* is drawn from the lifetimes of
the tasks completed before the forecast date that lived longer than its age (the conditional, empirical
lifetimes of this workspace, by project when it has enough history; tasks of one project drawn with a
shared factor); a simulation finishes at the later of the two. Where the team closes tasks as it works them, lifetimes are short and the work
decides; where tasks linger, the lifetimes do.

The burn-down paths come from the same simulations: each path burns every worker's remaining hours at
that simulation's pace, stretched in time so that it reaches zero at that simulation's finish. The
P50/P80/P95 of remaining work per week are quantiles over those paths, so the bands and the finish
dates agree (remaining work at the P80 band is zero from the P80 finish on).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from tools.analytics.frame import NO_DAY, Frame


@dataclass(frozen=True)
class RemainingWork:
    """One project's simulated paths, per simulation (rows) and worker (columns): hours still to do and
    weekly pace, the pace slowed by the same stretch as the burn-down (so the paths end at each
    simulation's finish). A worker burns ``min(pace * t, remaining)`` hours by week ``t``. The budget
    forecast (tools/analytics/budget.py) runs on these. ``worker_gids`` None = unassigned work."""

    project_gid: str
    as_of: date
    worker_gids: tuple[str | None, ...]
    remaining_hours: NDArray[np.float64]  # (simulations, workers)
    pace_hours_per_week: NDArray[np.float64]  # (simulations, workers)


MIN_POOL = 30  # completed tasks a project needs for its own lifetimes (else the workspace's)
MIN_SURVIVORS = 10  # lifetimes longer than a task's age needed to draw its remaining lifetime
RHO = 0.5  # correlation of the lifetimes of one project's open tasks
SHARED_LOADING, OWN_LOADING = math.sqrt(RHO), math.sqrt(1 - RHO)


def _normal_cdf(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Standard normal CDF (vectorised, via the error function's series-free approximation)."""
    # Abramowitz-Stegun 7.1.26 on |z| / sqrt(2): absolute error below 1.5e-7, plenty for ranks.
    x = np.abs(z) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-x * x)
    return 0.5 * (1.0 + np.sign(z) * erf)


class Lifetimes:
    """Days from creation to completion of the tasks completed on or before the forecast date, by
    project when it has enough of them, else the workspace's."""

    def __init__(self, frame: Frame) -> None:
        today = frame.as_of_day
        done = (
            frame.completed
            & (frame.created_day != NO_DAY)
            & (frame.completed_day != NO_DAY)
            & (frame.completed_day <= today)
            & (frame.completed_day >= frame.created_day)
        )
        days = (frame.completed_day - frame.created_day).astype(np.float64)
        self.all = np.sort(days[done])
        self.by_project: dict[int, NDArray[np.float64]] = {}
        projects = frame.task_project[done]
        for code in np.unique(projects).tolist():
            pool = np.sort(days[done][projects == code])
            if pool.size >= MIN_POOL:
                self.by_project[int(code)] = pool

    def remaining_weeks(
        self, code: int, ages: NDArray[np.float64], rng: np.random.Generator, simulations: int
    ) -> NDArray[np.float64] | None:
        """Per simulation: weeks until the last of the tasks aged ``ages`` (days) is closed; None
        without enough history to say."""
        pool = self.by_project.get(code, self.all)
        if pool.size < MIN_POOL or not ages.size:
            return None
        latest = np.zeros(simulations)
        # Tasks of one project linger together (the project is paused, or wrapped up): a shared factor.
        shared = rng.standard_normal(simulations)
        for age in ages.tolist():
            survivors = pool[int(np.searchsorted(pool, age, side="right")) :]
            offset = age
            if survivors.size < MIN_SURVIVORS:
                # Older than almost every task ever closed: how much longer is unknown. Draw from the
                # longest lifetimes seen, counted from now (never past what this team has done).
                survivors, offset = pool[-MIN_SURVIVORS:], 0.0
            z = SHARED_LOADING * shared + OWN_LOADING * rng.standard_normal(simulations)
            rank = np.minimum((_normal_cdf(z) * survivors.size).astype(np.intp), survivors.size - 1)
            np.maximum(latest, survivors[rank] - offset, out=latest)
        return latest / 7.0


def remaining_paths(
    hours: NDArray[np.float64], pace: NDArray[np.float64], stretch: NDArray[np.float64], horizon: int
) -> NDArray[np.float64]:
    """Remaining hours per simulation (rows) at weeks 0..horizon: each worker (column) burns their
    ``hours`` at ``pace`` h/week, the whole path slowed by ``stretch`` (>= 1)."""
    t = np.arange(horizon + 1, dtype=np.float64)
    # (sims, workers, weeks): small (a few hundred paths, a handful of workers, <= 53 weeks).
    burned = pace[:, :, None] * t[None, None, :] / stretch[:, None, None]
    return np.maximum(hours[:, :, None] - burned, 0.0).sum(axis=1)


def burn(
    rng: np.random.Generator,
    remaining: NDArray[np.float64],
    pool: NDArray[np.float64] | None,
    rate: float,
    bounds: tuple[float, float] = (0.5, math.inf),
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Weeks to burn ``remaining`` hours, and the pace (h/week), per simulation.

    With a ``pool`` of past weekly hours, each simulation's pace is the mean of as many weeks drawn from
    it as the work needs (zeros included: weeks without progress are what makes projects late); past
    32 weeks the mean is drawn from its normal approximation. Without a pool: a constant ``rate``.
    The pace stays within ``bounds`` (h/week): see ``pace_bounds``.
    """
    mean = float(pool.mean()) if pool is not None and pool.size else 0.0
    low, high = bounds
    if pool is None or mean <= 0:
        pace = np.full(remaining.size, max(rate, 0.5))  # 0.5 h/week floor: no division by zero
    else:
        n_weeks = max(1, math.ceil(float(remaining.mean()) / max(mean, low)))
        if n_weeks <= 32:
            pace = pool[rng.integers(0, pool.size, size=(remaining.size, n_weeks))].mean(axis=1)
        else:
            pace = mean + float(pool.std()) / math.sqrt(n_weeks) * rng.standard_normal(remaining.size)
        pace = np.maximum(pace, 0.1 * mean)  # a run of empty weeks slows the work, never stops it
    pace = np.clip(pace, min(low, high), high)
    return remaining / pace, pace


def pace_bounds(overall: float, here: float, open_total: float, capacity: float) -> tuple[float, float]:
    """Sane limits on a worker's weekly hours on one project: (floor, ceiling).

    Floor: the share of their recent weekly hours across all projects (``overall``; 80% of
    ``capacity`` without any) that this project's part (``here``) of their open estimated work
    (``open_total``) would get if they worked through their whole queue in proportion. Someone who
    logged a trickle here while busy elsewhere does not take years: when their other work ends, this
    gets their time. Ceiling: their weekly capacity.
    """
    ceiling = max(capacity, 0.5)
    overall = overall or 0.8 * capacity
    share = min(here / open_total, 1.0) if here > 0 and open_total > 0 else 0.0
    return (min(max(0.5, overall * share), ceiling), ceiling)
