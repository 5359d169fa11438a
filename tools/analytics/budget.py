"""Budgets: burn against each project's budget, when it runs out, and what the project will cost.

A project's budget comes from Asana's Budgets API (``Workspace.budgets``) or, where a project has none,
from the ``[budgets]`` config (``BudgetConfig.projects``). Time budgets count hours, cost budgets money
(hours times each person's rate on the project: Asana rates, else the project's mapped hourly rate).

Spent is what the synced time entries say (those attributable to the project, filtered by the budget's
``billable_status_filter``), as Asana's own budget actual counts it; only in a workspace without a
single entry (a history of task totals, such as SiP) is it the completed tasks' actual hours. The
forecast does not re-implement a Monte Carlo: it takes the completion forecast's simulations
(``forecast_projects(keep=...)``: each worker's remaining hours, with the estimator's bias, and weekly
pace from their throughput history, slowed as the finish dates are by the task-lifetime model) and asks, per simulation, when spent plus burned work crosses the
budget (exactly: burn is piecewise linear) and what the total at completion is. P50/P80/P95 are
quantiles across simulations; a simulation that finishes under budget never runs out, so "P80: not
before completion" means fewer than 80% of simulations run out.

Alerts are plain data here (which thresholds are crossed, with a stable key per crossing); proposing
them once, through the approval gate, is the agent's job (agent/budget_alerts.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict

from tools.analytics.calendar import WorkCalendar, build_calendar
from tools.analytics.forecast import ProjectForecast, RemainingWork, forecast_projects, workdays_to_date
from tools.analytics.frame import BILLABLE, NON_BILLABLE, Frame, build_frame, date_of
from tools.config_types import BudgetConfig, CapacityConfig
from tools.records import Budget, BudgetSource, BudgetType, Project, Rate, Workspace
from tools.scope import key as name_key

_BURN_WEEKS = 4  # the recent burn rate is the average of the last four weeks
_CHART_POINTS = 27  # at most this many weekly points in a burn series (bounded chart and chat output)
_NOT_APPLICABLE = 3  # frame code of billable_status notApplicable (counted as non-billable)

BudgetState = Literal["over", "at_risk", "watch", "on_track"]


class BurnPoint(BaseModel):
    """One point of the burn chart: spent by that day (history, weekly up to today) or the projected
    band (future, weekly from today)."""

    model_config = ConfigDict(frozen=True)

    day: date
    spent: float | None = None  # cumulative, up to and including ``day`` (history only)
    p10: float | None = None  # cumulative projected spend (future only)
    p50: float | None = None
    p90: float | None = None


class BudgetStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    project_gid: str
    name: str
    source: BudgetSource
    budget_type: BudgetType
    unit: str  # "h" for time budgets, the currency code for cost budgets
    budget: float
    spent: float
    remaining: float  # budget - spent (negative once over)
    pct_spent: float
    burn_per_week: float  # average of the last four weeks
    spent_from: Literal["entries", "task_actuals", "none"]
    open_tasks: int
    eac_p50: float  # estimate at completion (the total the project will have cost)
    eac_p80: float
    eac_p95: float
    p_exceed: float  # share of simulations whose total at completion exceeds the budget
    runs_out_p50: date | None  # None: not before completion at that confidence
    runs_out_p80: date | None
    runs_out_p95: date | None
    ran_out_on: date | None  # already over: the day spending crossed the budget
    finish_p50: date | None  # the completion forecast, for context
    finish_p80: date | None
    state: BudgetState
    burn: list[BurnPoint]
    notes: list[str]


class BudgetReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    as_of: date
    simulations: int
    projects: list[BudgetStatus]  # over first, then at risk, then by share spent
    without_budget: int  # projects in the workspace with no usable budget
    unbudgeted: list[str] = []  # their names (the first 20, by name)
    problems: list[str]  # budgets that could not be used, and why


class BudgetAlert(BaseModel):
    """One threshold crossing. ``key`` names the crossing (project, threshold, budget): the same
    crossing always has the same key, and a changed budget re-arms its alerts."""

    model_config = ConfigDict(frozen=True)

    key: str
    project_gid: str
    name: str
    threshold: str  # "75%", "90%", "100%" or "forecast P80"
    message: str
    pct_spent: float
    budget: float
    unit: str


class _Resolved(BaseModel):
    model_config = ConfigDict(frozen=True)

    budget: Budget
    project: Project


def resolve_budgets(workspace: Workspace, config: BudgetConfig | None) -> tuple[list[_Resolved], list[str]]:
    """Each project's usable budget (Asana first, then the config), and the problems found on the way
    (a budget of 0, negative or missing; a config budget naming no project; one that Asana overrides)."""
    projects = {p.gid: p for p in workspace.projects}
    by_name: dict[str, list[str]] = {}
    for p in workspace.projects:
        by_name.setdefault(name_key(p.name), []).append(p.gid)
    problems: list[str] = []
    chosen: dict[str, Budget] = {}
    for b in sorted(workspace.budgets, key=lambda b: b.gid):
        project = projects.get(b.project_gid)
        if project is None:
            continue  # a budget of a project outside the synced scope
        label = f"{project.name}: the Asana {b.budget_type.value} budget"
        if b.total is None:
            problems.append(f"{label} has no total set; ignored")
        elif not math.isfinite(b.total) or b.total <= 0:
            problems.append(f"{label} is {b.total:g}; a budget must be positive, ignored")
        elif b.project_gid not in chosen:
            chosen[b.project_gid] = b
    for item in config.projects if config else []:
        gids = [item.project] if item.project in projects else by_name.get(name_key(item.project), [])
        if not gids:
            problems.append(f"config budget for {item.project!r}: no synced project has that name or gid")
            continue
        if len(gids) > 1:
            problems.append(
                f"config budget for {item.project!r}: {len(gids)} projects share that name; use a gid"
            )
            continue
        gid = gids[0]
        if gid in chosen and chosen[gid].source is BudgetSource.ASANA:
            problems.append(
                f"config budget for {projects[gid].name!r} ignored: the project has an Asana budget"
            )
            continue
        time_budget = item.hours is not None
        chosen[gid] = Budget(
            gid=f"config:{gid}",
            project_gid=gid,
            budget_type=BudgetType.TIME if time_budget else BudgetType.COST,
            total=(item.hours or 0.0) * 60.0 if time_budget else item.cost,
            units="minutes" if time_budget else (item.currency or projects[gid].currency),
            billable_status_filter=item.billable,
            source=BudgetSource.CONFIG,
        )
    return [_Resolved(budget=b, project=projects[g]) for g, b in sorted(chosen.items())], problems


class _Rates:
    """Money per hour for a person on a project: Asana rate on the project, the person's rate without a
    project, the project's mapped hourly rate; None when nothing says."""

    def __init__(self, rates: Sequence[Rate], projects: dict[str, Project]) -> None:
        self.exact = {(r.project_gid, r.resource_gid): r.rate for r in rates if r.resource_gid}
        self.projects = projects

    def of(self, person_gid: str | None, project_gid: str) -> float | None:
        if person_gid is not None:
            for key in ((project_gid, person_gid), (None, person_gid)):
                if key in self.exact:
                    return self.exact[key]
        project = self.projects.get(project_gid)
        return project.hourly_rate if project else None

    def fallback(self, project_gid: str, people: Sequence[str | None]) -> float | None:
        """For someone without a rate: the mean of the project's known rates (stated in a note)."""
        known = [r for p in people if (r := self.of(p, project_gid)) is not None]
        on_project = [v for (proj, _), v in self.exact.items() if proj == project_gid]
        pool = known or on_project
        return float(np.mean(pool)) if pool else None


def _entry_mask(frame: Frame, code: int, billable_filter: str | None) -> tuple[NDArray[np.bool_], int]:
    """Entries counting toward the project's budget, and how many were left out as unread (billable
    status unknown while the budget counts only billable or only non-billable entries)."""
    mask = (frame.e_project == code) & (frame.e_minutes > 0) & (frame.e_day <= frame.as_of_day)
    if billable_filter in (None, "any"):
        return mask, 0
    unknown = mask & (frame.e_billable == 0)
    if billable_filter == "billable":
        keep = frame.e_billable == BILLABLE
    else:
        keep = (frame.e_billable == NON_BILLABLE) | (frame.e_billable == _NOT_APPLICABLE)
    return mask & keep, int(unknown.sum())


def budget_report(
    workspace: Workspace,
    *,
    budgets: BudgetConfig | None = None,
    capacity: CapacityConfig | None = None,
    calendar: WorkCalendar | None = None,
    project_gids: Sequence[str] | None = None,
    simulations: int = 2000,
    seed: int = 7,
    frame: Frame | None = None,
) -> BudgetReport:
    """Burn, exhaustion dates and totals at completion for every project with a usable budget."""
    frame = frame or build_frame(workspace)
    calendar = calendar or build_calendar(capacity, workspace.people)
    resolved, problems = resolve_budgets(workspace, budgets)
    thresholds = (budgets or BudgetConfig()).thresholds
    watch_pct = min(thresholds) if thresholds else 75.0
    wanted = set(project_gids) if project_gids is not None else None
    resolved = [r for r in resolved if wanted is None or r.project.gid in wanted]
    budgeted = {r.project.gid for r in resolved}
    sims: dict[str, RemainingWork] = {}
    forecast = forecast_projects(
        workspace,
        project_gids=sorted(budgeted),
        simulations=simulations,
        seed=seed,
        config=capacity,
        calendar=calendar,
        frame=frame,
        keep=sims,
    )
    finish = {f.project_gid: f for f in forecast.projects}
    rates = _Rates(workspace.rates, {p.gid: p for p in workspace.projects})
    out: list[BudgetStatus] = []
    for item in resolved:
        status = _one(frame, item, sims.get(item.project.gid), rates, calendar, finish, problems, watch_pct)
        if status is not None:
            out.append(status)
    order = {"over": 0, "at_risk": 1, "watch": 2, "on_track": 3}
    out.sort(key=lambda s: (order[s.state], -s.pct_spent, s.name))
    scope = [p for p in workspace.projects if wanted is None or p.gid in wanted]
    missing = sorted(p.name for p in scope if p.gid not in budgeted and not p.archived)
    return BudgetReport(
        as_of=date_of(frame.as_of_day),
        simulations=simulations,
        projects=out,
        without_budget=len(missing),
        unbudgeted=missing[:20],
        problems=problems,
    )


def _one(
    frame: Frame,
    item: _Resolved,
    sim: RemainingWork | None,
    rates: _Rates,
    calendar: WorkCalendar,
    finish: dict[str, ProjectForecast],
    problems: list[str],
    watch_pct: float,
) -> BudgetStatus | None:
    project, budget = item.project, item.budget
    notes: list[str] = []
    code = frame.project_index.get(project.gid, -1)
    is_time = budget.budget_type is BudgetType.TIME
    total = float(budget.total or 0.0) / (60.0 if is_time else 1.0)
    unit = "h" if is_time else (budget.units or project.currency or "money")
    today = frame.as_of_day

    # Who spent how much, and on which day (hours); then money through rates for cost budgets.
    mask, unread = (
        _entry_mask(frame, code, budget.billable_status_filter) if code >= 0 else (np.zeros(0, bool), 0)
    )
    if unread:
        notes.append(
            f"{unread} entries not counted: their billable status was not read "
            f"(the budget counts {budget.billable_status_filter} time only)"
        )
    people: list[str | None]
    if code >= 0 and (mask.any() or frame.n_entries > 0):
        # Entries are what the budget counts (Asana's own actual sums them): a project without any has
        # spent nothing yet, even if its tasks carry actual hours.
        spent_from: Literal["entries", "task_actuals", "none"] = "entries" if mask.any() else "none"
        people = [frame.person_gids[p] if p >= 0 else None for p in frame.e_person[mask].tolist()]
        days = frame.e_day[mask]
        hours = frame.e_minutes[mask] / 60.0
    else:
        # A team that logs no entries at all (a history of task totals): completed tasks' actual hours,
        # counted on the day each was completed.
        done = (frame.task_project == code) & frame.completed & (np.nan_to_num(frame.act) > 0)
        done &= frame.completed_day <= today
        spent_from = "task_actuals" if code >= 0 and done.any() else "none"
        if spent_from == "task_actuals":
            notes.append("no time entries in this workspace: spent is the completed tasks' actual hours")
        people = [frame.person_gids[p] if p >= 0 else None for p in frame.task_person[done].tolist()]
        days = frame.completed_day[done]
        hours = frame.act[done]
    if is_time:
        weights = np.ones(len(people))
    else:
        fallback = rates.fallback(project.gid, people + list(sim.worker_gids if sim else ()))
        looked = [rates.of(p, project.gid) for p in people]
        missing = sorted(
            {
                frame.person_name(frame.person_index[p]) if p in frame.person_index else "unassigned work"
                for p, r in zip(people, looked, strict=True)
                if r is None and p is not None
            }
        )
        if fallback is None and (any(r is None for r in looked) or not people):
            problems.append(f"{project.name}: a cost budget but no rates for its people; not tracked")
            return None
        if missing:
            notes.append(f"no rate for {', '.join(missing[:3])}: counted at the project's mean rate")
        weights = np.asarray([r if r is not None else fallback for r in looked], dtype=np.float64)
    amounts = hours * weights
    spent = float(amounts.sum())
    recent = days > today - 7 * _BURN_WEEKS
    burn = float(amounts[recent].sum()) / _BURN_WEEKS
    if budget.actual is not None and budget.source is BudgetSource.ASANA:
        asana_spent = budget.actual / (60.0 if is_time else 1.0)
        if not math.isclose(asana_spent, spent, rel_tol=1e-3, abs_tol=0.01):
            notes.append(
                f"Asana counts {asana_spent:,.1f} {unit} spent; the synced entries give {spent:,.1f} {unit}"
            )
    ran_out_on = _crossing_day(days, amounts, total)

    # Forecast: per simulation, the total at completion and when the budget runs out.
    worker_rate = np.ones(0)
    if sim is not None and sim.remaining_hours.size:
        if is_time:
            worker_rate = np.ones(len(sim.worker_gids))
        else:
            fallback = rates.fallback(project.gid, list(sim.worker_gids)) or (
                float(weights.mean()) if weights.size else 0.0
            )
            worker_rate = np.asarray(
                [rates.of(w, project.gid) or fallback for w in sim.worker_gids], dtype=np.float64
            )
        future = sim.remaining_hours @ worker_rate
        weeks_out = _weeks_to_cross(sim, worker_rate, total - spent)
        open_tasks = int(((frame.task_project == code) & ~frame.completed).sum())
    else:
        future = np.zeros(1)
        weeks_out = np.full(1, 0.0 if spent >= total else np.inf)
        open_tasks = 0
    eac = spent + future
    q_eac = np.quantile(eac, [0.5, 0.8, 0.95])
    p_exceed = float(np.mean(eac > total + 1e-9))
    as_of = date_of(today)

    def out_date(q: float) -> date | None:
        if spent >= total:
            return ran_out_on
        weeks = float(np.quantile(weeks_out, q, method="inverted_cdf"))
        if not math.isfinite(weeks):
            return None
        return workdays_to_date(as_of, weeks * calendar.working_days_per_week, calendar)

    pct = 100.0 * spent / total
    if spent >= total:
        state: BudgetState = "over"
    elif q_eac[1] > total:
        state = "at_risk"
    elif pct >= watch_pct:
        state = "watch"
    else:
        state = "on_track"
    fc = finish.get(project.gid)
    return BudgetStatus(
        project_gid=project.gid,
        name=project.name,
        source=budget.source,
        budget_type=budget.budget_type,
        unit=unit,
        budget=round(total, 2),
        spent=round(spent, 2),
        remaining=round(total - spent, 2),
        pct_spent=round(pct, 1),
        burn_per_week=round(burn, 2),
        spent_from=spent_from,
        open_tasks=open_tasks,
        eac_p50=round(float(q_eac[0]), 2),
        eac_p80=round(float(q_eac[1]), 2),
        eac_p95=round(float(q_eac[2]), 2),
        p_exceed=round(p_exceed, 3),
        runs_out_p50=out_date(0.5),
        runs_out_p80=out_date(0.8),
        runs_out_p95=out_date(0.95),
        ran_out_on=ran_out_on if spent >= total else None,
        finish_p50=fc.p50 if fc else None,
        finish_p80=fc.p80 if fc else None,
        state=state,
        burn=_burn_series(days, amounts, today, sim, worker_rate, spent),
        notes=notes[:5],
    )


def _crossing_day(days: NDArray[np.int32], amounts: NDArray[np.float64], total: float) -> date | None:
    """The first day cumulative spending reached ``total`` (None if it has not)."""
    if not days.size or float(amounts.sum()) < total:
        return None
    order = np.argsort(days, kind="stable")
    cumulative = np.cumsum(amounts[order])
    return date_of(int(days[order][int(np.searchsorted(cumulative, total - 1e-9))]))


def _weeks_to_cross(sim: RemainingWork, rate: NDArray[np.float64], need: float) -> NDArray[np.float64]:
    """Per simulation, the weeks until ``need`` more is spent (inf when the work ends first).

    Spending is ``sum_k rate_k * min(pace_k * t, remaining_k)``: piecewise linear and increasing, with a
    break where each worker finishes. Evaluate it at every break, find the segment that reaches
    ``need`` and interpolate inside it, which is exact."""
    n = sim.remaining_hours.shape[0]
    if need <= 0:
        return np.zeros(n)
    rem = sim.remaining_hours
    pace = np.maximum(sim.pace_hours_per_week, 1e-9)
    breaks = np.sort(rem / pace, axis=1)  # (sims, workers)
    spend_at = (rate[None, None, :] * np.minimum(pace[:, None, :] * breaks[:, :, None], rem[:, None, :])).sum(
        axis=2
    )  # (sims, breaks)
    t = np.concatenate([np.zeros((n, 1)), breaks], axis=1)
    c = np.concatenate([np.zeros((n, 1)), spend_at], axis=1)
    reached = c >= need
    out = np.full(n, np.inf)
    ok = reached.any(axis=1)
    j = np.argmax(reached, axis=1)
    rows = np.flatnonzero(ok)
    j1 = j[rows]
    t0, t1 = t[rows, j1 - 1], t[rows, j1]
    c0, c1 = c[rows, j1 - 1], c[rows, j1]
    out[rows] = t0 + (need - c0) / np.maximum(c1 - c0, 1e-12) * (t1 - t0)
    return out


def _burn_series(
    days: NDArray[np.int32],
    amounts: NDArray[np.float64],
    today: int,
    sim: RemainingWork | None,
    rate: NDArray[np.float64],
    spent: float,
) -> list[BurnPoint]:
    """Weekly cumulative spend up to today, then the projected P10/P50/P90 spend, weekly from today
    until the P80 finish."""
    monday = today - (today + 3) % 7
    first = int(days.min()) if days.size else monday
    first -= (first + 3) % 7
    history: list[BurnPoint] = []
    n_hist = (monday - first) // 7 + 1
    step = max(1, math.ceil(n_hist / (_CHART_POINTS // 2)))
    order = np.argsort(days, kind="stable")
    cumulative = np.cumsum(amounts[order])
    sorted_days = days[order]
    for k in sorted({*range(0, n_hist, step), n_hist - 1}):
        end = min(first + 7 * k + 6, today)
        upto = int(np.searchsorted(sorted_days, end, side="right"))
        history.append(
            BurnPoint(day=date_of(end), spent=round(float(cumulative[upto - 1]) if upto else 0.0, 2))
        )
    if sim is None or not sim.remaining_hours.size:
        return history
    pace = np.maximum(sim.pace_hours_per_week, 1e-9)
    weeks_done = float(np.quantile((sim.remaining_hours / pace).max(axis=1), 0.8))
    horizon = int(min(104, math.ceil(weeks_done) + 1))
    step = max(1, math.ceil(horizon / (_CHART_POINTS // 2)))
    head = sim.remaining_hours[:500]
    future: list[BurnPoint] = []
    for k in sorted({*range(step, horizon + 1, step), horizon}):
        burned = (np.minimum(pace[:500] * k, head) * rate[None, :]).sum(axis=1) + spent
        p10, p50, p90 = np.quantile(burned, [0.1, 0.5, 0.9])
        future.append(
            BurnPoint(
                day=date_of(today) + timedelta(weeks=k),
                p10=round(float(p10), 2),
                p50=round(float(p50), 2),
                p90=round(float(p90), 2),
            )
        )
    return history + future


def budget_alerts(report: BudgetReport, config: BudgetConfig | None = None) -> list[BudgetAlert]:
    """Every threshold each project has crossed (the highest-first order a person reads them in); the
    caller proposes only keys it has not proposed before."""
    config = config or BudgetConfig()
    alerts: list[BudgetAlert] = []
    for s in report.projects:
        signature = f"{s.project_gid}:{s.budget_type.value}:{s.budget:g}"
        amount = f"{s.spent:,.1f} of {s.budget:,.1f} {s.unit}"
        for threshold in config.thresholds:
            if s.pct_spent + 1e-9 < threshold:
                continue
            label = f"{threshold:g}%"
            alerts.append(
                BudgetAlert(
                    key=f"budget:{signature}:{label}",
                    project_gid=s.project_gid,
                    name=s.name,
                    threshold=label,
                    message=(
                        f"{s.name} has spent {s.pct_spent:.0f}% of its budget ({amount}, as of "
                        f"{report.as_of.isoformat()}); it crossed the {label} threshold." + _outlook(s)
                    ),
                    pct_spent=s.pct_spent,
                    budget=s.budget,
                    unit=s.unit,
                )
            )
        if config.forecast_alert and s.state == "at_risk":
            alerts.append(
                BudgetAlert(
                    key=f"budget:{signature}:forecast-p80",
                    project_gid=s.project_gid,
                    name=s.name,
                    threshold="forecast P80",
                    message=(
                        f"{s.name} is forecast to exceed its budget: total at completion P80 "
                        f"{s.eac_p80:,.1f} {s.unit} against {s.budget:,.1f} {s.unit} "
                        f"({s.p_exceed:.0%} of simulations exceed it; {amount} spent as of "
                        f"{report.as_of.isoformat()})." + _outlook(s)
                    ),
                    pct_spent=s.pct_spent,
                    budget=s.budget,
                    unit=s.unit,
                )
            )
    return alerts


def _outlook(s: BudgetStatus) -> str:
    if s.state == "over":
        return f" It ran out on {s.ran_out_on.isoformat()}." if s.ran_out_on else ""
    if s.runs_out_p50 is None and s.runs_out_p80 is None:
        return ""
    p50 = s.runs_out_p50.isoformat() if s.runs_out_p50 else "not before completion"
    p80 = s.runs_out_p80.isoformat() if s.runs_out_p80 else "not before completion"
    return f" Forecast to run out: P50 {p50}, P80 {p80}."


__all__ = [
    "BudgetAlert",
    "BudgetReport",
    "BudgetStatus",
    "BurnPoint",
    "budget_alerts",
    "budget_report",
    "resolve_budgets",
]
