"""Completion forecast: Monte Carlo over a project's remaining work (evidence-based scheduling).

Each open task's total effort is its estimate times an actual/estimate ratio drawn from its assignee's
completed tasks (fallback: the project type's, then everyone's); tasks without an estimate draw a whole
actual from the same hierarchy (throughput-based). Hours already logged are subtracted. Each worker's
remaining hours become calendar time through their recent weekly throughput on the project, kept within
sane bounds (``forecast_paths.pace_bounds``: no slower than their share of their whole queue at their
recent overall pace, no faster than their capacity), so a person who logged a trickle on a project
while busy elsewhere does not push it years out. The project finishes when its slowest worker does,
and not before its open tasks have lived as long as such tasks do here (``forecast_paths.Lifetimes``).
P50/P80/P95 finish dates are recalibrated on the workspace's own past (``forecast_calibration``);
``at_risk`` when P80 is past the due date. The weekly burn-down gives remaining-work quantiles over
the simulated paths (P50/P80/P95 bands that reach zero at the matching finish dates). Seeded and
vectorised.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from datetime import date

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from tools.analytics.calendar import WorkCalendar, build_calendar, capacity_hours
from tools.analytics.forecast_calibration import LEVELS, Recalibration, fit_recalibration
from tools.analytics.forecast_paths import Lifetimes, RemainingWork, burn, pace_bounds, remaining_paths
from tools.analytics.frame import NO_DAY, Frame, build_frame, date_of, day_of
from tools.config_types import CapacityConfig
from tools.records import Person, Workspace

_FLOOR = 0.1  # an open task already past its sampled total still needs this share of it
_BAND_SIMS = 500  # simulations used for the burn-down bands
_CALIBRATION_SIMS = 400  # simulations per project at each past cut of the self-backtest
_DEFAULT_ACTUAL = np.asarray([8.0])  # no history at all: a working day per unestimated task
_NO_RATIOS = np.zeros(1)  # no ratio history at all: take estimates at face value
for _constant in (_DEFAULT_ACTUAL, _NO_RATIOS):
    _constant.setflags(write=False)  # shared read-only constants, never state


class BurndownPoint(BaseModel):
    """Remaining hours at the start of a week, quantiles over the simulated paths (P80/P95 = more
    work left: the pessimistic side that matches the P80/P95 finish dates)."""

    model_config = ConfigDict(frozen=True)

    week_start: date
    p10_hours: float
    p50_hours: float
    p80_hours: float
    p90_hours: float
    p95_hours: float


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
    calibration_cases: int = 0  # past (project, cut date) cases the finish dates were recalibrated on
    # Simulated finish, in working days from the forecast date, at forecast_calibration.LEVELS (raw,
    # before recalibration): for the self-backtest, not shown or serialised.
    finish_workdays: tuple[float, ...] = Field(default=(), exclude=True, repr=False)


class ForecastReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: date
    simulations: int
    projects: list[ProjectForecast]  # at-risk first, then by P80
    finished_projects: int  # projects in scope with no open work


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
    calibrate: bool = True,
    keep: dict[str, RemainingWork] | None = None,
) -> ForecastReport:
    """Forecast every project with open tasks (or those in ``project_gids``). With ``calibrate``, the
    finish dates are recalibrated on the workspace's own past (``forecast_calibration``). ``keep``, when
    given, receives each project's simulated paths (the budget forecast runs on the same Monte Carlo)."""
    frame = frame or build_frame(workspace)
    config = config or CapacityConfig()
    calendar = calendar or build_calendar(config, workspace.people)
    holidays = np.asarray([np.datetime64(d) for d in calendar.holidays], dtype="datetime64[D]")

    def workdays_between(a: int, b: int) -> float:
        start, end = np.datetime64(date_of(a)), np.datetime64(date_of(b))
        return float(np.busday_count(start, end, weekmask=calendar.weekmask, holidays=holidays))

    def past(snap: Frame, gids: Sequence[str]) -> list[tuple[str, NDArray[np.float64], float]]:
        found, _ = _forecast_frame(
            snap,
            config,
            calendar,
            gids,
            _CALIBRATION_SIMS,
            seed,
            min_ratio_n,
            lookback_weeks,
            Recalibration(),
        )
        return [(f.project_gid, np.asarray(f.finish_workdays), 0.0) for f in found]

    recal = fit_recalibration(frame, past, workdays_between) if calibrate else Recalibration()
    results, finished = _forecast_frame(
        frame,
        config,
        calendar,
        project_gids,
        simulations,
        seed,
        min_ratio_n,
        lookback_weeks,
        recal,
        keep=keep,
    )
    results.sort(key=lambda f: (not f.at_risk, f.p80, f.name))
    return ForecastReport(
        as_of=date_of(frame.as_of_day),
        simulations=simulations,
        projects=results if top is None else results[:top],
        finished_projects=finished,
    )


def _forecast_frame(
    frame: Frame,
    config: CapacityConfig,
    calendar: WorkCalendar,
    project_gids: Sequence[str] | None,
    simulations: int,
    seed: int,
    min_ratio_n: int,
    lookback_weeks: int,
    recal: Recalibration,
    *,
    with_burndown: bool = True,
    keep: dict[str, RemainingWork] | None = None,
) -> tuple[list[ProjectForecast], int]:
    """Forecasts of the projects with open tasks in ``frame`` (as of its date); and how many had none."""
    pools = _Pools(frame, min_ratio_n)
    lifetimes = Lifetimes(frame)
    rates = _weekly_hours(frame, lookback_weeks)
    series = _weekly_series(frame, lookback_weeks)
    done_hours = np.fmax(frame.task_logged_minutes() / 60.0, np.nan_to_num(frame.act, nan=0.0))
    open_mask = ~frame.completed
    # Share of each person's open estimated work that sits in each project (for throughput fallbacks).
    open_est = np.where(
        open_mask & (frame.est > 0) & (frame.task_project >= 0), np.nan_to_num(frame.est), 0.0
    )
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
                frame, code, tasks, pools, lifetimes, rates, series, done_hours, open_est, person_open, config,
                calendar, simulations, seed, recal, with_burndown, keep,
            )
        )  # fmt: skip
    return results, finished


def _project_series(
    series: dict[tuple[int, int], NDArray[np.float64]], code: int
) -> NDArray[np.float64] | None:
    """The whole project's weekly hours (every person), or None without history."""
    parts = [v for (p, q), v in series.items() if q == code]
    if not parts:
        return None
    # Each person's series is trimmed to its own history (newest week first): pad the shorter ones
    # with zero weeks before summing, or numpy refuses the ragged list.
    width = max(v.size for v in parts)
    total = np.zeros(width)
    for v in parts:
        total[: v.size] += v
    return total / len(parts)


def _forecast_one(
    frame: Frame,
    code: int,
    tasks: NDArray[np.intp],
    pools: _Pools,
    lifetimes: Lifetimes,
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
    recal: Recalibration,
    with_burndown: bool,
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
    bounds = {w: _bounds(frame, w, tasks, open_est, person_open, rates, config) for w in worker_rate}
    worker_list = sorted(worker_rate)
    assign = np.searchsorted(np.asarray(worker_list), frame.task_person[tasks])
    weeks_by_worker = np.zeros((simulations, len(worker_list)))
    hours_by_worker = np.zeros((simulations, len(worker_list)))
    pace_by_worker = np.zeros((simulations, len(worker_list)))
    rate_total = 0.0
    for k, w in enumerate(worker_list):
        per = remaining[:, assign == k].sum(axis=1)
        # The worker's own recent weeks on this project; unassigned work uses the project's weeks.
        weekly: NDArray[np.float64] | None = (
            series.get((w, code)) if w >= 0 else _project_series(series, code)
        )
        if weekly is not None and float(weekly.mean()) < 0.25 * worker_rate[w]:
            weekly = None  # a trickle of history: the fallback rate is the better guess
        weeks_by_worker[:, k], pace_by_worker[:, k] = burn(rng, per, weekly, worker_rate[w], bounds[w])
        hours_by_worker[:, k] = per
        rate_total += float(weekly.mean()) if weekly is not None else max(worker_rate[w], 0.5)
    work_weeks = weeks_by_worker.max(axis=1)
    ages = (frame.as_of_day - frame.created_day[tasks]).astype(np.float64)
    life_weeks = lifetimes.remaining_weeks(
        code, np.maximum(ages[frame.created_day[tasks] != NO_DAY], 0.0), rng, simulations
    )
    weeks_needed = work_weeks if life_weeks is None else np.maximum(work_weeks, life_weeks)
    if keep is not None:
        stretch = np.maximum(weeks_needed / np.maximum(work_weeks, 1e-9), 1.0)
        kept_workers = tuple(frame.person_gids[w] if w >= 0 else None for w in worker_list)
        keep[gid] = RemainingWork(
            gid, date_of(frame.as_of_day), kept_workers, hours_by_worker, pace_by_worker / stretch[:, None]
        )
    days_per_week = calendar.working_days_per_week
    workdays = weeks_needed * days_per_week
    grid = np.quantile(workdays, LEVELS)
    q = [recal.workdays(grid, nominal) for nominal in (0.5, 0.8, 0.95)]
    holidays = np.asarray([np.datetime64(d) for d in calendar.holidays], dtype="datetime64[D]")
    today = np.datetime64(date_of(frame.as_of_day))

    p50, p80, p95 = (workdays_to_date(date_of(frame.as_of_day), float(v), calendar) for v in q)
    due = project.due_on if project else None
    p_on_time = None
    if due is not None:
        available = float(
            np.busday_count(today, np.datetime64(due) + 1, weekmask=calendar.weekmask, holidays=holidays)
        )
        p_on_time = round(recal.probability(grid, available), 3)
    burndown = (
        _burndown(frame, q, days_per_week, weeks_needed, work_weeks, hours_by_worker, pace_by_worker)
        if with_burndown
        else []
    )
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
        calibration_cases=recal.cases,
        finish_workdays=tuple(float(v) for v in grid),
    )


def _burndown(
    frame: Frame,
    finish_workdays: Sequence[float],
    days_per_week: float,
    weeks_needed: NDArray[np.float64],
    work_weeks: NDArray[np.float64],
    hours: NDArray[np.float64],
    pace: NDArray[np.float64],
) -> list[BurndownPoint]:
    """Remaining hours per week: quantiles over the simulated paths (``forecast_paths``), each band's
    path stretched in time to reach zero at that band's (recalibrated) finish, so bands and dates agree.
    P10 and P90 are the raw simulation's."""
    head = slice(0, min(weeks_needed.size, _BAND_SIMS))
    stretch = np.maximum(weeks_needed[head] / np.maximum(work_weeks[head], 1e-9), 1.0)
    nominal = (0.1, 0.5, 0.8, 0.9, 0.95)
    raw_weeks = np.quantile(weeks_needed[head], nominal)
    target = {0.5: finish_workdays[0], 0.8: finish_workdays[1], 0.95: finish_workdays[2]}
    horizon = int(min(52, math.ceil(max(raw_weeks[-1], target[0.95] / days_per_week)) + 1))
    reach = int(min(260, math.ceil(max(raw_weeks[-1], horizon)) + 2))
    raw = np.quantile(remaining_paths(hours[head], pace[head], stretch, reach), nominal, axis=0)
    t = np.arange(horizon + 1, dtype=np.float64)
    bands = []
    for i, level in enumerate(nominal):
        factor = 1.0
        if level in target and raw_weeks[i] > 0:
            factor = max(target[level] / days_per_week, 1e-9) / raw_weeks[i]
        bands.append(np.interp(t / factor, np.arange(reach + 1, dtype=np.float64), raw[i], right=0.0))
    # Quantile paths stretched by different factors may cross by a hair: keep the bands ordered.
    ordered = np.maximum.accumulate(np.vstack(bands), axis=0)
    monday = frame.as_of_day - (frame.as_of_day + 3) % 7
    step = max(1, math.ceil(horizon / 26))  # at most ~27 points: bounded output for charts and chat
    return [
        BurndownPoint(
            week_start=date_of(monday + 7 * k),
            p10_hours=round(float(ordered[0, k]), 1),
            p50_hours=round(float(ordered[1, k]), 1),
            p80_hours=round(float(ordered[2, k]), 1),
            p90_hours=round(float(ordered[3, k]), 1),
            p95_hours=round(float(ordered[4, k]), 1),
        )
        for k in sorted({*range(0, horizon + 1, step), horizon})
    ]


def _bounds(
    frame: Frame,
    w: int,
    tasks: NDArray[np.intp],
    open_est: NDArray[np.float64],
    person_open: dict[int, float],
    rates: tuple[
        dict[tuple[int, int], float], dict[int, float], dict[tuple[int, int], float], dict[int, float]
    ],
    config: CapacityConfig,
) -> tuple[float, float]:
    """``pace_bounds`` for worker ``w`` (code; -1 = the unassigned pseudo-worker)."""
    if w < 0:
        return (0.5, math.inf)
    _, by_person, _, done_person = rates
    who = frame.people.get(frame.person_gids[w]) or Person(gid=frame.person_gids[w], name="")
    capacity = capacity_hours(who, config)
    here = float(open_est[tasks][frame.task_person[tasks] == w].sum())
    overall = by_person.get(w, 0.0) or done_person.get(w, 0.0)
    return pace_bounds(overall, here, person_open.get(w, here), capacity)


def workdays_to_date(as_of: date, workdays: float, calendar: WorkCalendar) -> date:
    """The date ``workdays`` working days (rounded up) after ``as_of``, skipping weekends and holidays."""
    holidays = np.asarray([np.datetime64(d) for d in calendar.holidays], dtype="datetime64[D]")
    moved = np.busday_offset(
        as_of, math.ceil(workdays), roll="forward", weekmask=calendar.weekmask, holidays=holidays
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
    "workdays_to_date",
]
