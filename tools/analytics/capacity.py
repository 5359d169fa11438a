"""Capacity: per person per week, logged trend plus remaining estimates placed by dates, against capacity.

Remaining work of an open task = estimate x the person's bias (median actual/estimate) - hours logged
so far, spread evenly over the person's working days from its start (or now) to its due date. Tasks
without a due date are spread over the whole horizon; overdue tasks over the next seven days. Each week
gets a utilisation, a status (over above 110%, under below 70%) and likelihoods from the spread of the
person's own ratios; two or more consecutive weeks above 110% (recent logged or planned) is a burnout
signal. Past weeks are measured against their own capacity (working days left after holidays, time
off and OOO), exactly as the weeks ahead are.

Asana resourcing, where the API offers it (``Workspace.allocations`` / ``out_of_office`` are empty
otherwise, and everything above stands unchanged):

- Out-of-office entries are time off: they join the config's time off (dates and .ics) in the person's
  working calendar, which is a per-day mask, so a day off in both counts once. An OOO day removes that
  day's share of the weekly capacity and receives no planned work (the task's hours move to the
  person's other working days before the due date), so an OOO week both shrinks capacity and raises
  utilisation.
- Allocations (``effort`` hours per week, or percent of the person's weekly capacity, between two
  dates) are placed on the same working days, pro rata: a week with two of five working days inside
  the allocation (or three days out of office) gets 2/5 of it. Days before today carry none, like
  estimates. Combination, per person, project and week: **planned load = max(allocation, placed
  remaining estimates)**. An allocation is time the lead reserved on that project; estimates are the
  work known in it. When estimates exceed the reservation the person needs more than was reserved;
  when they fall short the reservation still holds the time (unestimated or not yet created work), so
  adding the two would count the same hours twice and taking only one would hide either signal.
  Allocations without a known project add on top. Each week reports both inputs (``planned_hours`` from
  estimates, ``allocated_hours``) and the combination in ``load_hours`` (plus logged hours this week).
  Asana's docs leave open whether an hours allocation is per week or for the whole range; we read it as
  per week (``ALLOCATION_HOURS_PER_WEEK``) because capacity plans show weekly bars.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from tools.analytics.calendar import WorkCalendar, build_calendar, capacity_hours
from tools.analytics.frame import NO_DAY, Frame, build_frame, date_of, day_of, week_start
from tools.analytics.stats import log_ratio_sigma, normal_cdf
from tools.analytics.variance import person_log_ratios
from tools.config_types import CapacityConfig
from tools.records import Allocation, EffortUnit, OutOfOffice, Person, Workspace

ALLOCATION_HOURS_PER_WEEK = True  # see the module docstring: an "hours" effort is hours per week
OVER = 1.10
UNDER = 0.70
Status = Literal["over", "under", "ok", "off"]


class CapacityWeek(BaseModel):
    model_config = ConfigDict(frozen=True)

    week_start: date
    capacity_hours: float
    logged_hours: float  # already logged this week (current week only)
    planned_hours: float  # remaining estimates placed in this week
    load_hours: float  # logged + planned load (max of allocation and estimates per project)
    utilisation: float | None  # load / capacity; None when capacity is zero (all off)
    status: Status
    p_over: float  # likelihood that the week's real load exceeds capacity
    p_under: float  # likelihood that it stays under 70% of capacity
    allocated_hours: float = 0.0  # Asana allocations placed in this week (all projects)
    out_of_office_days: int = 0  # working days lost to Asana OOO entries or config time off


class PersonCapacity(BaseModel):
    model_config = ConfigDict(frozen=True)

    person_gid: str
    name: str
    weekly_capacity_hours: float
    recent_weekly_hours: list[float]  # last complete weeks, oldest first
    recent_average_hours: float
    bias_ratio: float  # applied to remaining estimates
    ratio_sigma: float  # spread of log(actual/estimate) behind the likelihoods
    open_tasks: int
    unestimated_open_tasks: int
    remaining_hours: float
    unscheduled_hours: float  # open work without a due date (spread over the horizon)
    overdue_hours: float
    weeks: list[CapacityWeek]
    burnout: bool
    burnout_weeks: list[date]  # the consecutive >110% weeks (recent or planned)
    allocations: int = 0  # Asana allocations of this person overlapping the horizon


class CapacityReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: date
    horizon_weeks: int
    people: list[PersonCapacity]  # burnout first, then by peak utilisation
    over_allocated: list[tuple[str, date, float]]  # (name, week, utilisation), worst first, top-N
    under_allocated: list[tuple[str, date, float]]
    burnout: list[str]  # names


def _probabilities(logged: float, planned: float, cap: float, sigma: float) -> tuple[float, float]:
    """P(load > cap) and P(load < UNDER * cap) with planned ~ lognormal(median planned, sigma)."""
    if cap <= 0:
        return (1.0 if logged + planned > 0 else 0.0, 0.0)

    def p_above(limit: float) -> float:
        room = limit - logged
        if room <= 0:
            return 1.0
        if planned <= 0:
            return 0.0
        return 1.0 - normal_cdf(math.log(room / planned) / max(sigma, 1e-6))

    return (round(p_above(cap), 3), round(1.0 - p_above(UNDER * cap), 3))


def _status(util: float | None) -> Status:
    if util is None:
        return "off"
    return "over" if util > OVER else "under" if util < UNDER else "ok"


def _runs_over(utils: list[tuple[date, float | None]]) -> list[date]:
    """Weeks in the longest run (>= 2) of consecutive utilisation above OVER, else empty."""
    best: list[date] = []
    run: list[date] = []
    for week, util in utils:
        if util is not None and util > OVER:
            run.append(week)
            if len(run) > len(best):
                best = list(run)
        else:
            run = []
    return best if len(best) >= 2 else []


def merge_out_of_office(
    calendar: WorkCalendar, entries: tuple[OutOfOffice, ...] | list[OutOfOffice]
) -> WorkCalendar:
    """The calendar with Asana OOO ranges added to each person's time off (duplicates dropped; the
    day mask makes overlapping ranges count once)."""
    if not entries:
        return calendar
    merged: dict[str, set[tuple[date, date]]] = {k: set(v) for k, v in calendar.time_off.items()}
    for o in entries:
        if o.end_on >= o.start_on:
            merged.setdefault(o.person_gid, set()).add((o.start_on, o.end_on))
    return calendar.model_copy(update={"time_off": {k: tuple(sorted(v)) for k, v in merged.items()}})


def _allocation_rates(
    allocations: list[Allocation], weekly_cap: float, working_days_per_week: int
) -> list[tuple[str | None, int, int, float]]:
    """``(project gid, first day, last day, hours per working day)`` of each allocation with effort."""
    out: list[tuple[str | None, int, int, float]] = []
    for a in allocations:
        if a.effort_unit is None or not a.effort_value:
            continue
        if a.effort_unit is EffortUnit.PERCENT:
            per_week = weekly_cap * a.effort_value / 100.0
        else:
            per_week = a.effort_value if ALLOCATION_HOURS_PER_WEEK else 0.0
        out.append((a.project_gid, day_of(a.start_on), day_of(a.end_on), per_week / working_days_per_week))
    return out


def capacity_report(
    workspace: Workspace,
    *,
    config: CapacityConfig | None = None,
    calendar: WorkCalendar | None = None,
    weeks: int = 6,
    recent_weeks: int = 4,
    bias: Mapping[str, float] | None = None,
    apply_bias: bool = True,
    min_ratio_n: int = 5,
    top: int = 10,
    top_people: int | None = None,
    frame: Frame | None = None,
) -> CapacityReport:
    """Per-person weekly load vs capacity for ``weeks`` weeks from the workspace's ``as_of``.

    ``bias`` overrides the per-person actual/estimate ratio (by gid); otherwise it comes from the
    person's completed tasks (at least ``min_ratio_n``, else 1.0) when ``apply_bias``.
    ``top_people`` keeps only the first N people (burnout first, then peak utilisation) for compact output.
    """
    frame = frame or build_frame(workspace)
    config = config or CapacityConfig()
    calendar = calendar or build_calendar(config, workspace.people)
    calendar = merge_out_of_office(calendar, workspace.out_of_office)
    today = frame.as_of_day
    week0 = week_start(today)
    horizon_end = week0 + 7 * weeks - 1
    logs_by_person = person_log_ratios(frame)
    logged_hours = frame.task_logged_minutes() / 60.0
    # Open tasks: what has been done so far is the larger of logged entries and an actual field.
    done_hours = np.fmax(logged_hours, np.nan_to_num(frame.act, nan=0.0))
    open_mask = ~frame.completed & (frame.task_person >= 0)

    # Logged hours per person per past week (recent trend, burnout history, the current week so far).
    valid = (frame.e_person >= 0) & (frame.e_minutes > 0) & (frame.e_day <= today)
    first_recent = week0 - 7 * recent_weeks
    recent = valid & (frame.e_day >= first_recent)
    n_codes = len(frame.person_gids)
    slot = ((frame.e_day[recent] - first_recent) // 7).astype(np.int64)
    weekly_logged = np.zeros((n_codes, recent_weeks + 1))
    np.add.at(weekly_logged, (frame.e_person[recent], slot), frame.e_minutes[recent] / 60.0)

    allocations_by_person: dict[str, list[Allocation]] = {}
    for a in workspace.allocations:
        if a.person_gid and a.end_on >= date_of(today) and a.start_on <= date_of(horizon_end):
            allocations_by_person.setdefault(a.person_gid, []).append(a)
    codes = set(range(len(workspace.people))) | set(np.unique(frame.task_person[open_mask]).tolist())
    codes |= {frame.person_index[g] for g in allocations_by_person if g in frame.person_index}
    people: list[PersonCapacity] = []
    for code in sorted(codes):
        gid = frame.person_gids[code]
        person = frame.people.get(gid) or Person(gid=gid, name=gid)
        weekly_cap = capacity_hours(person, config)
        logs = logs_by_person.get(code, np.empty(0))
        if bias is not None and gid in bias:
            ratio = float(bias[gid])
        elif apply_bias and logs.size >= min_ratio_n:
            ratio = float(np.exp(np.median(logs)))
        else:
            ratio = 1.0
        sigma = log_ratio_sigma(logs, default=0.35, min_n=min_ratio_n)
        people.append(
            _person_capacity(
                frame, calendar, code, person, weekly_cap, ratio, sigma, open_mask, done_hours,
                weekly_logged[code], week0, horizon_end, weeks, allocations_by_person.get(gid, []),
            )
        )  # fmt: skip
    people.sort(key=lambda p: (not p.burnout, -max((w.utilisation or 0.0) for w in p.weeks), p.name))
    over = [
        (p.name, w.week_start, w.utilisation or 0.0) for p in people for w in p.weeks if w.status == "over"
    ]
    under = [
        (p.name, w.week_start, w.utilisation or 0.0) for p in people for w in p.weeks if w.status == "under"
    ]
    over.sort(key=lambda x: -x[2])
    under.sort(key=lambda x: x[2])
    return CapacityReport(
        as_of=date_of(today),
        horizon_weeks=weeks,
        people=people if top_people is None else people[:top_people],
        over_allocated=over[:top],
        under_allocated=under[:top],
        burnout=[p.name for p in people if p.burnout],
    )


def _person_capacity(
    frame: Frame,
    calendar: WorkCalendar,
    code: int,
    person: Person,
    weekly_cap: float,
    ratio: float,
    sigma: float,
    open_mask: NDArray[np.bool_],
    done_hours: NDArray[np.float64],
    logged_weeks: NDArray[np.float64],
    week0: int,
    horizon_end: int,
    weeks: int,
    allocations: list[Allocation],
) -> PersonCapacity:
    today = frame.as_of_day
    tasks = np.flatnonzero(open_mask & (frame.task_person == code))
    est = frame.est[tasks]
    has_est = est > 0
    tasks, est = tasks[has_est], est[has_est]
    remaining = np.maximum(est * ratio - done_hours[tasks], 0.0)
    due = frame.due_day[tasks].astype(np.int64)
    start = np.maximum(frame.start_day[tasks].astype(np.int64), today)
    no_due = due == NO_DAY
    overdue = ~no_due & (due < today)
    end = np.where(no_due, horizon_end, np.where(overdue, today + 6, due))
    start = np.minimum(start, end)
    # Day axis from today to the furthest end (capped at two years: beyond that nothing lands in view).
    last = int(min(max(int(end.max()) if end.size else horizon_end, horizon_end), today + 730))
    end = np.minimum(end, last)
    start = np.minimum(start, end)
    n_days = last - today + 1
    mask = calendar.day_mask(today, n_days, person.gid).astype(np.float64)
    cum = np.concatenate(([0.0], np.cumsum(mask)))
    s_idx, e_idx = start - today, end - today
    workdays = cum[e_idx + 1] - cum[s_idx]
    # A window without a working day (due on a Sunday, all time off) still counts its hours.
    calendar_days = (e_idx - s_idx + 1).astype(np.float64)
    masked_rate = np.where(workdays > 0, remaining / np.maximum(workdays, 1), 0.0)
    flat_rate = np.where(workdays > 0, 0.0, remaining / calendar_days)
    # One row per project of the person's open tasks (allocations are compared per project).
    task_projects = [frame.project_gids[c] if c >= 0 else None for c in frame.task_project[tasks].tolist()]
    row_keys: list[str | None] = sorted(set(task_projects), key=lambda k: (k is None, k or ""))
    row_of = {k: i for i, k in enumerate(row_keys)}
    rows = np.asarray([row_of[k] for k in task_projects], dtype=np.int64)
    diff_masked = np.zeros((max(1, len(row_keys)), n_days + 1))
    diff_flat = np.zeros((max(1, len(row_keys)), n_days + 1))
    np.add.at(diff_masked, (rows, s_idx), masked_rate)
    np.add.at(diff_masked, (rows, e_idx + 1), -masked_rate)
    np.add.at(diff_flat, (rows, s_idx), flat_rate)
    np.add.at(diff_flat, (rows, e_idx + 1), -flat_rate)
    daily = np.cumsum(diff_masked, axis=1)[:, :n_days] * mask + np.cumsum(diff_flat, axis=1)[:, :n_days]
    # Place on the week grid (days before today in the current week carry no plan).
    grid = np.zeros((daily.shape[0], weeks * 7))
    offset = today - week0
    visible = min(n_days, weeks * 7 - offset)
    grid[:, offset : offset + visible] = daily[:, :visible]
    planned_by_project = grid.reshape(daily.shape[0], weeks, 7).sum(axis=2)
    planned = planned_by_project.sum(axis=0)
    per_day_cap = weekly_cap / calendar.working_days_per_week
    week_masks = calendar.day_mask(week0, weeks * 7, person.gid).reshape(weeks, 7)
    caps = week_masks.sum(axis=1) * per_day_cap
    nominal_days = calendar.day_mask(week0, weeks * 7).reshape(weeks, 7).sum(axis=1)
    off_days = nominal_days - week_masks.sum(axis=1)
    # Allocations on the same grid: working days from today on, inside each allocation's range.
    grid_days = np.arange(week0, week0 + weeks * 7)
    open_days = week_masks.reshape(-1) & (grid_days >= today)
    allocated_by_key: dict[str | None, NDArray[np.float64]] = {}
    for project_gid, first, last, per_day in _allocation_rates(
        allocations, weekly_cap, calendar.working_days_per_week
    ):
        inside = open_days & (grid_days >= first) & (grid_days <= last)
        weekly = inside.reshape(weeks, 7).sum(axis=1) * per_day
        key = project_gid if project_gid in row_of else f"unmatched:{project_gid}"
        allocated_by_key[key] = allocated_by_key.get(key, np.zeros(weeks)) + weekly
    allocated = np.zeros(weeks)
    committed = planned.copy()
    for key, weekly in allocated_by_key.items():
        allocated += weekly
        if key in row_of:  # same project: max(allocation, estimates), not the sum
            est_row = planned_by_project[row_of[key]]
            committed += np.maximum(weekly, est_row) - est_row
        else:
            committed += weekly
    recent = [round(float(h), 1) for h in logged_weeks[:-1]]
    current_logged = float(logged_weeks[-1])
    week_rows: list[CapacityWeek] = []
    for w in range(weeks):
        cap = float(caps[w])
        logged = current_logged if w == 0 else 0.0
        load = logged + float(committed[w])
        util = load / cap if cap > 0 else None
        p_over, p_under = _probabilities(logged, float(committed[w]), cap, sigma)
        week_rows.append(
            CapacityWeek(
                week_start=date_of(week0 + 7 * w),
                capacity_hours=round(cap, 1),
                logged_hours=round(logged, 1),
                planned_hours=round(float(planned[w]), 1),
                load_hours=round(load, 1),
                utilisation=round(util, 3) if util is not None else None,
                status=_status(util),
                p_over=p_over,
                p_under=p_under,
                allocated_hours=round(float(allocated[w]), 1),
                out_of_office_days=int(off_days[w]),
            )
        )
    # Burnout: recent complete weeks (logged / that week's capacity) followed by the planned weeks.
    # Past capacity comes from the same per-day mask as the weeks ahead, so past OOO and time off
    # shrink it: 30 h logged in a week with 2 days out of office is 30 of 24 h, an overload, not 75%.
    # A past week with no working day left has no utilisation (None), like an "off" week ahead.
    n_recent = len(recent)
    past_caps = (
        calendar.day_mask(week0 - 7 * n_recent, 7 * n_recent, person.gid).reshape(n_recent, 7).sum(axis=1)
        * per_day_cap
        if n_recent
        else np.zeros(0)
    )
    history = [
        (date_of(week0 - 7 * (n_recent - i)), (h / float(past_caps[i])) if past_caps[i] > 0 else None)
        for i, h in enumerate(recent)
    ]
    burnout_weeks = _runs_over(history + [(w.week_start, w.utilisation) for w in week_rows])
    return PersonCapacity(
        person_gid=person.gid,
        name=person.name,
        weekly_capacity_hours=round(weekly_cap, 1),
        recent_weekly_hours=recent,
        recent_average_hours=round(float(np.mean(recent)) if recent else 0.0, 1),
        bias_ratio=round(ratio, 3),
        ratio_sigma=round(sigma, 3),
        open_tasks=int(np.count_nonzero(open_mask & (frame.task_person == code))),
        unestimated_open_tasks=int((~has_est).sum()),
        remaining_hours=round(float(remaining.sum()), 1),
        unscheduled_hours=round(float(remaining[no_due].sum()), 1),
        overdue_hours=round(float(remaining[overdue].sum()), 1),
        weeks=week_rows,
        burnout=bool(burnout_weeks),
        burnout_weeks=burnout_weeks,
        allocations=len(allocations),
    )


__all__ = ["CapacityReport", "CapacityWeek", "PersonCapacity", "capacity_report", "merge_out_of_office"]
