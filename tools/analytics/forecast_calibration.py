"""Completion forecast, part three: recalibrate the finish dates on the workspace's own past.

The simulation's spread is only as good as its model of how work gets done, and teams differ (some
close tasks as they work them, some leave tasks open for months). So the forecast backtests itself:
at earlier cut dates it forecasts from what was known then (a snapshot of the frame: tasks created
by the cut, completed ones only if completed by then, time entries up to then) and records where
each project's real finish fell against its simulated distribution: log(real / simulated median) in
units of the simulation's own spread (log P90 - log median). The reported P50/P80/P95 are the simulated
median moved by those scores' quantiles (so they can reach past anything the simulation drew, as real
finishes do), pulled toward the raw simulation when the past holds few cases. A project still open at
the forecast date finishes after it, by an unknown amount: its score is taken CENSORED_SHIFT spreads
later than it was on that date.
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tools.analytics.estimator_math import conformal_quantile
from tools.analytics.frame import NO_DAY, Frame

LEVELS = np.linspace(0.01, 0.99, 99)  # levels of the kept finish-time quantiles (workdays)
CUT_WEEKS = 13  # one cut a quarter
MAX_CUTS = 8
MAX_PROJECTS_PER_CUT = 25
MIN_HISTORY_DAYS = 182  # a cut needs half a year of history before it
MIN_OPEN = 3
PRIOR_CASES = 10.0  # pseudo-cases of a perfectly calibrated past
MIN_SPREAD = 0.05
CENSORED_SHIFT = 0.75  # no simulation knows a finish date to better than about 25%
MAX_WORKDAYS = 2600.0  # ten years: past that, a date says nothing a lead can use


def _spread(grid: NDArray[np.float64]) -> tuple[float, float]:
    """(log median, log spread to P90) of a finish-time grid in workdays (log1p: day 0 is fine)."""
    median = math.log1p(max(float(np.interp(0.5, LEVELS, grid)), 0.0))
    p90 = math.log1p(max(float(np.interp(0.9, LEVELS, grid)), 0.0))
    return median, max(p90 - median, MIN_SPREAD)


@dataclass(frozen=True)
class Recalibration:
    """Past scores of real finishes: log(actual / simulated median) in units of the simulation's own
    spread (log P90 - log median). The reported quantiles are the simulated median moved by the
    scores' quantiles, pulled toward the raw simulation by PRIOR_CASES when the past holds few cases."""

    scores: tuple[float, ...] = ()

    @property
    def cases(self) -> int:
        return len(self.scores)

    def _weight(self) -> float:
        n = len(self.scores)
        return n / (n + PRIOR_CASES)

    def _quantile(self, nominal: float) -> float:
        # Split-conformal rank (n + 1 rule): with 20 past cases, "P95" must not be the 19th of 20.
        return conformal_quantile(np.asarray(self.scores), nominal)

    def workdays(self, grid: NDArray[np.float64], nominal: float) -> float:
        """Working days to the ``nominal`` quantile of the finish (grid: raw quantiles at LEVELS)."""
        raw = math.log1p(max(float(np.interp(nominal, LEVELS, grid)), 0.0))
        if not self.scores:
            return math.expm1(raw)
        median, spread = _spread(grid)
        calibrated = median + self._quantile(nominal) * spread
        w = self._weight()
        return min(max(math.expm1(w * calibrated + (1 - w) * raw), 0.0), MAX_WORKDAYS)

    def probability(self, grid: NDArray[np.float64], workdays: float) -> float:
        """Probability of finishing within ``workdays``."""
        raw = float(np.interp(workdays, grid, LEVELS, left=0.0, right=1.0))
        if not self.scores:
            return raw
        median, spread = _spread(grid)
        score = (math.log1p(max(workdays, 0.0)) - median) / spread
        w = self._weight()
        return w * float(np.mean(np.asarray(self.scores) <= score)) + (1 - w) * raw


def snapshot_frame(frame: Frame, cut: int) -> Frame:
    """The frame as it was on day ``cut``: later tasks out of every project, later completions open
    again (actual hidden), later time entries weigh nothing."""
    done = frame.completed & (frame.completed_day != NO_DAY) & (frame.completed_day <= cut)
    exists = (frame.created_day == NO_DAY) | (frame.created_day <= cut)
    return dataclasses.replace(
        frame,
        as_of_day=int(cut),
        completed=done,
        act=np.where(done, frame.act, np.nan),
        completed_day=np.where(done, frame.completed_day, NO_DAY).astype(np.int32),
        task_person=np.where(exists, frame.task_person, -1).astype(np.int32),
        task_project=np.where(exists, frame.task_project, -1).astype(np.int32),
        e_minutes=np.where(frame.e_day <= cut, frame.e_minutes, 0),
        _task_logged={},
    )


def fit_recalibration(
    frame: Frame,
    forecast: Callable[[Frame, Sequence[str]], Sequence[tuple[str, NDArray[np.float64], float]]],
    workdays_between: Callable[[int, int], float],
) -> Recalibration:
    """PITs of past real finishes. ``forecast(snapshot, project_gids)`` gives, per project, its gid,
    its finish quantiles in workdays at LEVELS, and the days per workday; ``workdays_between(a, b)``
    counts working days from day a to day b."""
    today = frame.as_of_day
    created = frame.created_day[frame.created_day != NO_DAY]
    if not created.size:
        return Recalibration()
    first = int(created.min()) + MIN_HISTORY_DAYS
    cuts = [today - 7 * CUT_WEEKS * j for j in range(1, MAX_CUTS + 1)]
    scores: list[float] = []
    for cut in cuts:
        if cut < first:
            break
        snap = snapshot_frame(frame, cut)
        open_now = ~snap.completed & (snap.task_project >= 0)
        finish: dict[str, tuple[int, bool]] = {}
        counts = np.bincount(snap.task_project[open_now], minlength=len(frame.project_gids))
        wanted = [frame.project_gids[c] for c in np.flatnonzero(counts >= MIN_OPEN).tolist()]
        # A bounded sample of projects per cut (the same ones whatever the order): cost stays flat.
        wanted = sorted(wanted, key=lambda g: zlib.crc32(g.encode()))[:MAX_PROJECTS_PER_CUT]
        for gid in wanted:
            rows = np.flatnonzero(open_now & (snap.task_project == frame.project_index[gid]))
            still_open = ~frame.completed[rows] | (frame.completed_day[rows] == NO_DAY)
            last = int(frame.completed_day[rows][~still_open].max()) if (~still_open).any() else cut
            finish[gid] = (today if still_open.any() else last, bool(still_open.any()))
        if not wanted:
            continue
        for gid, grid, _ in forecast(snap, wanted):
            day, censored_case = finish[gid]
            median, spread = _spread(grid)
            score = (math.log1p(workdays_between(cut, day)) - median) / spread
            # Still open today: it finishes later than today by an unknown amount; counted as
            # CENSORED_SHIFT spreads later (in between "today" and the long tail such projects have).
            scores.append(score + CENSORED_SHIFT if censored_case else score)
    return Recalibration(tuple(scores))
