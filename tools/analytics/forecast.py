"""Completion forecast: Monte Carlo over a project's remaining work (evidence-based scheduling).

Each open task's total effort is its estimate times an actual/estimate ratio drawn from its assignee's
completed tasks (fallback: the project type's, then everyone's); tasks without an estimate draw a whole
actual from the same hierarchy (throughput-based). Hours already logged are subtracted. Each worker's
remaining hours become calendar time through their recent weekly throughput on the project; the project
finishes when its slowest worker does. P50/P80/P95 finish dates, ``at_risk`` when P80 is past the due
date, and a weekly burn-down with P10-P90 bands. Seeded and vectorised: thousands of simulations per
project in milliseconds.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from tools.analytics.calendar import WorkCalendar, build_calendar, capacity_hours
from tools.analytics.frame import NO_DAY, Frame, build_frame, date_of, day_of
from tools.config_types import CapacityConfig
from tools.records import Person, Workspace

_FLOOR = 0.1  # an open task already past its sampled total still needs this share of it
_BAND_SIMS = 500  # simulations used for the burn-down bands
_DEFAULT_ACTUAL = np.asarray([8.0])  # no history at all: a working day per unestimated task
_NO_RATIOS = np.zeros(1)  # no ratio history at all: take estimates at face value
for _constant in (_DEFAULT_ACTUAL, _NO_RATIOS):
    _constant.setflags(write=False)  # shared read-only constants, never state


class BurndownPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    week_start: date
    p10_hours: float
    p50_hours: float
    p90_hours: float


class ProjectForecast(BaseModel):
    model_config = ConfigDict(frozen=True)

    project_gid: str
    name: str
    due_on: date | None
    open_tasks: int
    unestimated_tasks: int
    remaining_estimate_hours: float  # human estimates minus logged, no bias
    remaining_p50_hours: float  # simulated
    throughput_hours_per_week: float  # the workers' combined weekly hours on this project
    workers: int
    p50: date
    p80: date
    p95: date
    at_risk: bool  # P80 after the due date
    p_on_time: float | None  # share of simulations finishing on or before the due date
    ratio_sources: dict[str, int]  # tasks per ratio pool: person / project_type / global / none
    burndown: list[BurndownPoint]
    notes: list[str]


class ForecastReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: date
    simulations: int
    projects: list[ProjectForecast]  # at-risk first, then by P80
    finished_projects: int  # projects in scope with no open work


@dataclass(frozen=True)
class RemainingWork:
    """One project's simulations (rows) per worker (columns): hours still to do and weekly pace.

    A worker burns ``min(pace * t, remaining)`` hours by week ``t``; the project finishes when the
    slowest worker does. ``worker_gids`` None = unassigned work."""

    project_gid: str
    as_of: date
    worker_gids: tuple[str | None, ...]
    remaining_hours: NDArray[np.float64]  # (simulations, workers)
    pace_hours_per_week: NDArray[np.float64]  # (simulations, workers)


class _Pools:
    """Log-ratio and actual-hours pools from tasks completed before the forecast date."""

    def __init__(self, frame: Frame, min_n: int) -> None:
        today = frame.as_of_day
        done = frame.completed & (frame.completed_day != NO_DAY) & (frame.completed_day <= today)
        done |= frame.completed & (frame.completed_day == NO_DAY)
        ratio_ok = done & (frame.est > 0) & (frame.act > 0)
        actual_ok = done & (frame.act > 0)
        self.min_n = min_n
        types = _task_types(frame)
        self.types = types
        self.ratio_person = _split(
            np.log(frame.act / np.where(frame.est > 0, frame.est, 1.0)), frame.task_person, ratio_ok
        )
        self.ratio_type = _split_labels(
            np.log(frame.act / np.where(frame.est > 0, frame.est, 1.0)), types, ratio_ok
        )
        self.ratio_global = np.log(frame.act[ratio_ok] / frame.est[ratio_ok])
        self.actual_person = _split(frame.act, frame.task_person, actual_ok)
        self.actual_project = _split(frame.act, frame.task_project, actual_ok)
        self.actual_global = frame.act[actual_ok]

    def ratio_pool(self, person: int, type_label: str) -> tuple[str, NDArray[np.float64]]:
        pool = self.ratio_person.get(person)
        if person >= 0 and pool is not None and pool.size >= self.min_n:
            return ("person", pool)
        pool = self.ratio_type.get(type_label)
        if pool is not None and pool.size >= self.min_n:
            return ("project_type", pool)
        if self.ratio_global.size:
            return ("global", self.ratio_global)
        return ("none", _NO_RATIOS)

    def actual_pool(self, person: int, project: int) -> tuple[str, NDArray[np.float64] | None]:
        for source, pools, key in (
            ("person", self.actual_person, person),
            ("project", self.actual_project, project),
        ):
            pool = pools.get(key)
            if key >= 0 and pool is not None and pool.size >= self.min_n:
                return (source, pool)
        if self.actual_global.size:
            return ("global", self.actual_global)
        return ("none", None)


def _task_types(frame: Frame) -> list[str]:
    out: list[str] = []
    for i, task in enumerate(frame.tasks):
        label = task.project_type
        if label is None:
            code = int(frame.task_project[i])
            project = frame.projects.get(frame.project_gids[code]) if code >= 0 else None
            label = project.project_type if project else None
        out.append(label or "")
    return out


def _split(
    values: NDArray[np.float64], keys: NDArray[np.int32], mask: NDArray[np.bool_]
) -> dict[int, NDArray[np.float64]]:
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return {}
    order = idx[np.argsort(keys[idx], kind="stable")]
    cuts = np.flatnonzero(np.diff(keys[order])) + 1
    return {int(keys[chunk[0]]): values[chunk] for chunk in np.split(order, cuts)}


def _split_labels(
    values: NDArray[np.float64], labels: list[str], mask: NDArray[np.bool_]
) -> dict[str, NDArray[np.float64]]:
    groups: dict[str, list[int]] = {}
    for i in np.flatnonzero(mask).tolist():
        if labels[i]:
            groups.setdefault(labels[i], []).append(i)
    return {k: values[np.asarray(v)] for k, v in groups.items()}


def _sum_by_pair(
    people: NDArray[np.int32], projects: NDArray[np.int32], hours: NDArray[np.float64]
) -> tuple[dict[tuple[int, int], float], dict[int, float]]:
    """Sums of ``hours`` by (person, project) and by person (numpy grouping, then small dicts)."""
    code = (people.astype(np.int64) << 32) | (projects.astype(np.int64) & 0xFFFFFFFF)
    uniq, inverse = np.unique(code, return_inverse=True)
    sums = np.bincount(inverse, weights=hours, minlength=uniq.size)
    pair: dict[tuple[int, int], float] = {}
    person: dict[int, float] = {}
    for c, h in zip(uniq.tolist(), sums.tolist(), strict=True):
        p, q = c >> 32, c & 0xFFFFFFFF
        q = q - (1 << 32) if q >= (1 << 31) else q  # -1 (no project) round-trips
        pair[(p, q)] = h
        person[p] = person.get(p, 0.0) + h
    return pair, person


def _weekly_hours(
    frame: Frame, lookback_weeks: int
) -> tuple[dict[tuple[int, int], float], dict[int, float], dict[tuple[int, int], float], dict[int, float]]:
    """Recent weekly hours by (person, project) and by person: from entries, and from completed tasks'
    actual hours credited at completion (for teams that do not log entries)."""
    today = frame.as_of_day
    since = today - 7 * lookback_weeks
    ok = (frame.e_day > since) & (frame.e_day <= today) & (frame.e_minutes > 0)
    by_pair, by_person = _sum_by_pair(
        frame.e_person[ok], frame.e_project[ok], frame.e_minutes[ok] / 60.0 / lookback_weeks
    )
    done = frame.completed & (frame.completed_day > since) & (frame.completed_day <= today) & (frame.act > 0)
    done_pair, done_person = _sum_by_pair(
        frame.task_person[done], frame.task_project[done], frame.act[done] / lookback_weeks
    )
    return by_pair, by_person, done_pair, done_person


def _weekly_series(frame: Frame, lookback_weeks: int) -> dict[tuple[int, int], NDArray[np.float64]]:
    """Hours per (person, project) in each of the last ``lookback_weeks`` rolling weeks (index 0 = the
    7 days up to now), from entries; pairs without entries fall back to completed tasks' actuals
    credited at completion. For entries, weeks before the pair's first activity are dropped (someone who
    joined a project three weeks ago has three weeks of pace, not thirteen empty ones; at least four)."""
    today = frame.as_of_day
    since = today - 7 * lookback_weeks

    def collect(
        people: NDArray[np.int32],
        projects: NDArray[np.int32],
        days: NDArray[np.int32],
        hours: NDArray[np.float64],
    ) -> dict[tuple[int, int], NDArray[np.float64]]:
        found: dict[tuple[int, int], NDArray[np.float64]] = {}
        week = ((today - days) // 7).astype(np.int64)
        code = ((people.astype(np.int64) + 1) << 40) | ((projects.astype(np.int64) + 1) << 16) | week
        uniq, inverse = np.unique(code, return_inverse=True)
        sums = np.bincount(inverse, weights=hours, minlength=uniq.size)
        for c, h in zip(uniq.tolist(), sums.tolist(), strict=True):
            key = ((c >> 40) - 1, ((c >> 16) & 0xFFFFFF) - 1)
            series = found.get(key)
            if series is None:
                series = found[key] = np.zeros(lookback_weeks)
            series[c & 0xFFFF] += h
        return found

    ok = (frame.e_day > since) & (frame.e_day <= today) & (frame.e_minutes > 0)
    out = collect(frame.e_person[ok], frame.e_project[ok], frame.e_day[ok], frame.e_minutes[ok] / 60.0)
    done = frame.completed & (frame.completed_day > since) & (frame.completed_day <= today) & (frame.act > 0)
    credited = collect(
        frame.task_person[done], frame.task_project[done], frame.completed_day[done], frame.act[done]
    )
    for key, series in out.items():
        oldest = int(np.flatnonzero(series).max()) if series.any() else 0
        out[key] = series[: max(4, oldest + 1)]
    # Completion credit is lumpy (work happens in weeks that complete nothing): keep the whole window.
    for key, series in credited.items():
        out.setdefault(key, series)
    return out


def _burn(
    rng: np.random.Generator,
    remaining: NDArray[np.float64],
    pool: NDArray[np.float64] | None,
    rate: float,
    horizon: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Weeks to burn ``remaining`` hours (per simulation), hours burned by week 0..horizon, and the
    weekly pace of each simulation.

    With a ``pool`` of past weekly hours, each simulation's pace is the mean of as many weeks drawn from
    it as the work needs (zeros included: weeks without progress are what makes projects late); past
    32 weeks the mean is drawn from its normal approximation. Without a pool: a constant ``rate``.
    """
    t = np.arange(horizon + 1, dtype=np.float64)
    mean = float(pool.mean()) if pool is not None and pool.size else 0.0
    if pool is None or mean <= 0:
        pace = np.full(remaining.size, max(rate, 0.5))  # 0.5 h/week floor: no division by zero
    else:
        n_weeks = max(1, math.ceil(float(remaining.mean()) / mean))
        if n_weeks <= 32:
            pace = pool[rng.integers(0, pool.size, size=(remaining.size, n_weeks))].mean(axis=1)
        else:
            pace = mean + float(pool.std()) / math.sqrt(n_weeks) * rng.standard_normal(remaining.size)
        pace = np.maximum(pace, 0.1 * mean)  # a run of empty weeks slows the work, never stops it
    weeks = remaining / pace
    # Bands only need a few hundred paths: the burn-down uses the first _BAND_SIMS simulations.
    head = slice(0, min(remaining.size, _BAND_SIMS))
    burned = np.minimum(pace[head, None] * t[None, :], remaining[head, None])
    return weeks, burned, pace


def forecast_projects(
    workspace: Workspace,
    *,
    project_gids: Sequence[str] | None = None,
    simulations: int = 4000,
    seed: int = 7,
    min_ratio_n: int = 5,
    lookback_weeks: int = 16,
    config: CapacityConfig | None = None,
    calendar: WorkCalendar | None = None,
    top: int | None = None,
    frame: Frame | None = None,
) -> ForecastReport:
    """Forecast every project with open tasks (or those in ``project_gids``)."""
    return _run(
        workspace, project_gids, simulations, seed, min_ratio_n, lookback_weeks, config, calendar, top, frame,
        keep=None,
    )  # fmt: skip


def simulate_remaining(
    workspace: Workspace,
    *,
    project_gids: Sequence[str] | None = None,
    simulations: int = 4000,
    seed: int = 7,
    config: CapacityConfig | None = None,
    calendar: WorkCalendar | None = None,
    frame: Frame | None = None,
) -> tuple[ForecastReport, dict[str, RemainingWork]]:
    """The completion forecast plus, per project with open work, the simulations behind it: each
    worker's remaining hours and weekly pace in every simulation (budget exhaustion runs on these, so
    it shares this Monte Carlo instead of re-implementing it)."""
    keep: dict[str, RemainingWork] = {}
    report = _run(
        workspace, project_gids, simulations, seed, 5, 16, config, calendar, None, frame, keep=keep
    )  # fmt: skip
    return report, keep


def _run(
    workspace: Workspace,
    project_gids: Sequence[str] | None,
    simulations: int,
    seed: int,
    min_ratio_n: int,
    lookback_weeks: int,
    config: CapacityConfig | None,
    calendar: WorkCalendar | None,
    top: int | None,
    frame: Frame | None,
    *,
    keep: dict[str, RemainingWork] | None,
) -> ForecastReport:
    frame = frame or build_frame(workspace)
    config = config or CapacityConfig()
    calendar = calendar or build_calendar(config, workspace.people)
    pools = _Pools(frame, min_ratio_n)
    rates = _weekly_hours(frame, lookback_weeks)
    series = _weekly_series(frame, lookback_weeks)
    done_hours = np.fmax(frame.task_logged_minutes() / 60.0, np.nan_to_num(frame.act, nan=0.0))
    open_mask = ~frame.completed
    # Share of each person's open estimated work that sits in each project (for throughput fallbacks).
    open_est = np.where(open_mask & (frame.est > 0), np.nan_to_num(frame.est), 0.0)
    person_open: dict[int, float] = {}
    for p, h in zip(frame.task_person.tolist(), open_est.tolist(), strict=True):
        person_open[p] = person_open.get(p, 0.0) + h + 1e-9
    wanted = set(project_gids) if project_gids is not None else None
    results: list[ProjectForecast] = []
    finished = 0
    for code, gid in enumerate(frame.project_gids):
        if wanted is not None and gid not in wanted:
            continue
        tasks = np.flatnonzero((frame.task_project == code) & open_mask)
        if tasks.size == 0:
            finished += 1
            continue
        results.append(
            _forecast_one(
                frame, code, tasks, pools, rates, series, done_hours, open_est, person_open, config, calendar,
                simulations, seed, keep,
            )
        )  # fmt: skip
    results.sort(key=lambda f: (not f.at_risk, f.p80, f.name))
    return ForecastReport(
        as_of=date_of(frame.as_of_day),
        simulations=simulations,
        projects=results if top is None else results[:top],
        finished_projects=finished,
    )


def _project_series(
    series: dict[tuple[int, int], NDArray[np.float64]], code: int
) -> NDArray[np.float64] | None:
    """The whole project's weekly hours (every person), or None without history."""
    parts = [v for (p, q), v in series.items() if q == code]
    return np.sum(parts, axis=0) / max(1, len(parts)) if parts else None


def _forecast_one(
    frame: Frame,
    code: int,
    tasks: NDArray[np.intp],
    pools: _Pools,
    rates: tuple[
        dict[tuple[int, int], float], dict[int, float], dict[tuple[int, int], float], dict[int, float]
    ],
    series: dict[tuple[int, int], NDArray[np.float64]],
    done_hours: NDArray[np.float64],
    open_est: NDArray[np.float64],
    person_open: dict[int, float],
    config: CapacityConfig,
    calendar: WorkCalendar,
    simulations: int,
    seed: int,
    keep: dict[str, RemainingWork] | None = None,
) -> ProjectForecast:
    gid = frame.project_gids[code]
    project = frame.projects.get(gid)
    rng = np.random.default_rng([seed, zlib.crc32(gid.encode())])
    notes: list[str] = []
    n_tasks = tasks.size
    samples = np.empty((simulations, n_tasks))
    sources: dict[str, int] = {}
    # Draw per pool so that each pool is sampled with one vectorised call.
    by_pool: dict[tuple[str, int], tuple[NDArray[np.float64], list[int]]] = {}
    # Tasks sharing (assignee, type, has estimate) share a pool: look each combination up once.
    has_estimate = (frame.est[tasks] > 0).tolist()
    combos: dict[tuple[int, str, bool], list[int]] = {}
    for j, (i, person) in enumerate(zip(tasks.tolist(), frame.task_person[tasks].tolist(), strict=True)):
        combos.setdefault((person, pools.types[i], has_estimate[j]), []).append(j)
    unestimated = 0
    for (person, type_label, estimated), members in combos.items():
        if estimated:
            source, pool = pools.ratio_pool(person, type_label)
            key = ("r", id(pool))
        else:
            unestimated += len(members)
            source, apool = pools.actual_pool(person, code)
            if apool is None:
                source, pool = "none", _DEFAULT_ACTUAL
                key = ("a", -1)
            else:
                pool, key = apool, ("a", id(apool))
        sources[source] = sources.get(source, 0) + len(members)
        by_pool.setdefault(key, (pool, []))[1].extend(members)
    est = frame.est[tasks]
    for (kind, _), (pool, columns) in by_pool.items():
        cols = np.asarray(columns)
        draws = pool[rng.integers(0, pool.size, size=(simulations, cols.size))]
        samples[:, cols] = est[cols] * np.exp(draws) if kind == "r" else draws
    if sources.get("none"):
        notes.append(f"{sources['none']} task(s) had no history to draw from (assumed ratio 1 or 8 h)")
    done = done_hours[tasks]
    remaining = np.maximum(samples - done, _FLOOR * samples)

    # Workers: assignees (unassigned work is its own pseudo-worker at the team's median rate).
    by_pair, by_person, done_pair, done_person = rates
    workers = np.unique(frame.task_person[tasks])
    worker_rate: dict[int, float] = {}
    for w in workers.tolist():
        if w < 0:
            continue
        share = float(open_est[tasks][frame.task_person[tasks] == w].sum()) / person_open.get(w, 1.0)
        share = min(1.0, max(share, 0.1))
        rate = by_pair.get((w, code), 0.0) or done_pair.get((w, code), 0.0)
        if rate <= 0:
            overall = by_person.get(w, 0.0) or done_person.get(w, 0.0)
            if overall <= 0:
                who = frame.people.get(frame.person_gids[w]) or Person(gid=frame.person_gids[w], name="")
                overall = capacity_hours(who, config) * 0.8
                notes.append(f"{frame.person_name(w)}: no recent hours, assumed 80% of capacity")
            rate = overall * share
        worker_rate[w] = rate
    if (workers < 0).any():
        team = [r for r in worker_rate.values() if r > 0]
        recent_team = sum(h for (p, q), h in by_pair.items() if q == code) or sum(
            h for (p, q), h in done_pair.items() if q == code
        )
        worker_rate[-1] = float(np.median(team)) if team else (recent_team or config.hours_per_week * 0.5)
        notes.append("unassigned work is scheduled at the median worker's rate")
    worker_list = sorted(worker_rate)
    assign = np.searchsorted(np.asarray(worker_list), frame.task_person[tasks])
    horizon = 52
    weeks_by_worker = np.zeros((simulations, len(worker_list)))
    kept_remaining = np.zeros_like(weeks_by_worker)
    kept_pace = np.zeros_like(weeks_by_worker)
    burned = np.zeros((min(simulations, _BAND_SIMS), horizon + 1))
    left_total = np.zeros(simulations)
    rate_total = 0.0
    for k, w in enumerate(worker_list):
        per = remaining[:, assign == k].sum(axis=1)
        # The worker's own recent weeks on this project; unassigned work uses the project's weeks.
        weekly: NDArray[np.float64] | None = (
            series.get((w, code)) if w >= 0 else _project_series(series, code)
        )
        if weekly is not None and float(weekly.mean()) < 0.25 * worker_rate[w]:
            weekly = None  # a trickle of history: the fallback rate is the better guess
        weeks_k, burned_k, pace_k = _burn(rng, per, weekly, worker_rate[w], horizon)
        weeks_by_worker[:, k] = weeks_k
        if keep is not None:
            kept_remaining[:, k], kept_pace[:, k] = per, pace_k
        burned += burned_k
        left_total += per
        rate_total += float(weekly.mean()) if weekly is not None else max(worker_rate[w], 0.5)
    weeks_needed = weeks_by_worker.max(axis=1)
    days_per_week = calendar.working_days_per_week
    workdays = weeks_needed * days_per_week
    q = np.quantile(workdays, [0.5, 0.8, 0.95])
    holidays = np.asarray([np.datetime64(d) for d in calendar.holidays], dtype="datetime64[D]")
    today = np.datetime64(date_of(frame.as_of_day))

    p50, p80, p95 = (workdays_to_date(date_of(frame.as_of_day), float(v), calendar) for v in q)
    if keep is not None:
        keep[gid] = RemainingWork(
            project_gid=gid,
            as_of=date_of(frame.as_of_day),
            worker_gids=tuple(frame.person_gids[w] if w >= 0 else None for w in worker_list),
            remaining_hours=kept_remaining,
            pace_hours_per_week=kept_pace,
        )
    due = project.due_on if project else None
    p_on_time = None
    if due is not None:
        available = float(
            np.busday_count(today, np.datetime64(due) + 1, weekmask=calendar.weekmask, holidays=holidays)
        )
        p_on_time = round(float(np.mean(workdays <= available)), 3)
    # Burn-down: remaining hours per week (P10-P90 bands across simulations).
    horizon = int(min(52, math.ceil(float(np.quantile(weeks_needed, 0.95))) + 1))
    left = np.maximum(left_total[: burned.shape[0], None] - burned[:, : horizon + 1], 0.0)
    bands = np.quantile(left, [0.1, 0.5, 0.9], axis=0)
    monday = frame.as_of_day - (frame.as_of_day + 3) % 7
    step = max(1, math.ceil(horizon / 26))  # at most ~27 points: bounded output for charts and chat
    burndown = [
        BurndownPoint(
            week_start=date_of(monday + 7 * k),
            p10_hours=round(float(bands[0, k]), 1),
            p50_hours=round(float(bands[1, k]), 1),
            p90_hours=round(float(bands[2, k]), 1),
        )
        for k in sorted({*range(0, horizon + 1, step), horizon})
    ]
    plain_remaining = np.maximum(np.nan_to_num(est) - done, 0.0)
    return ProjectForecast(
        project_gid=gid,
        name=project.name if project else gid,
        due_on=due,
        open_tasks=int(n_tasks),
        unestimated_tasks=unestimated,
        remaining_estimate_hours=round(float(plain_remaining.sum()), 1),
        remaining_p50_hours=round(float(np.median(remaining.sum(axis=1))), 1),
        throughput_hours_per_week=round(rate_total, 1),
        workers=len(worker_list),
        p50=p50,
        p80=p80,
        p95=p95,
        at_risk=bool(due is not None and p80 > due),
        p_on_time=p_on_time,
        ratio_sources=dict(sorted(sources.items())),
        burndown=burndown,
        notes=notes[:5],
    )


def workdays_to_date(as_of: date, workdays: float, calendar: WorkCalendar) -> date:
    """The date ``workdays`` working days (rounded up) after ``as_of``, skipping weekends and holidays:
    how every simulated duration becomes a calendar date."""
    holidays = np.asarray([np.datetime64(d) for d in calendar.holidays], dtype="datetime64[D]")
    moved = np.busday_offset(
        np.datetime64(as_of),
        math.ceil(workdays),
        roll="forward",
        weekmask=calendar.weekmask,
        holidays=holidays,
    )
    return moved.astype(object)  # type: ignore[no-any-return]


def forecast_project(workspace: Workspace, project_gid: str, **kwargs: object) -> ProjectForecast | None:
    """One project's forecast (None when it has no open tasks or is unknown)."""
    report = forecast_projects(workspace, project_gids=[project_gid], **kwargs)  # type: ignore[arg-type]
    return report.projects[0] if report.projects else None


__all__ = [
    "BurndownPoint",
    "ForecastReport",
    "ProjectForecast",
    "RemainingWork",
    "day_of",
    "forecast_project",
    "forecast_projects",
    "simulate_remaining",
    "workdays_to_date",
]
