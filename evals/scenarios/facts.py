"""Facts for the classic chat scenarios, computed by the analytics at build time (the natural set's
facts come from the independent reference, evals/reference.py), and the picking of tasks to ask about."""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from evals.scenarios.model import Fact
from tools.records import Task, Workspace

# --------------------------------------------------------------------------- periods (own calendar math)


def month_period(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def last_month(today: date) -> tuple[date, date]:
    prev = today.replace(day=1) - timedelta(days=1)
    return month_period(prev.year, prev.month)


def last_quarter(today: date) -> tuple[date, date]:
    q = (today.month - 1) // 3  # 0-based current quarter
    year, q = (today.year, q - 1) if q > 0 else (today.year - 1, 3)
    start = date(year, 3 * q + 1, 1)
    end_month = 3 * q + 3
    return start, date(year, end_month, calendar.monthrange(year, end_month)[1])


# --------------------------------------------------------------------------- facts from analytics


def ratio_fact(label: str, name: str, ratio: float) -> list[Fact]:
    return [Fact(label=f"{label}: name", text=[name]), Fact(label=f"{label}: median ratio", numbers=[ratio])]


def top_overrun(
    ws: Workspace,
    dimension: str,
    *,
    start: date | None = None,
    end: date | None = None,
    min_n: int = 3,
    exclude: Sequence[str] = (),
) -> tuple[str, float, int] | None:
    """(group label, median ratio, n) of the group with the highest median actual/estimate."""
    from tools.analytics.variance import variance_report

    report = variance_report(ws, start=start, end=end, dimensions=(dimension,), min_n=min_n, top=1000)  # type: ignore[arg-type]
    groups = [g for g in report.by.get(dimension, []) if g.label not in exclude]
    if not groups:
        return None
    best = max(groups, key=lambda g: (g.median_ratio, g.n))
    return best.label, best.median_ratio, best.n


def group_ratio(ws: Workspace, dimension: str, label: str, **kwargs: Any) -> float | None:
    from tools.analytics.variance import variance_report

    report = variance_report(ws, dimensions=(dimension,), top=1000, **kwargs)  # type: ignore[arg-type]
    return next(
        (g.median_ratio for g in report.by.get(dimension, []) if g.label.lower() == label.lower()), None
    )


def overall(ws: Workspace, **kwargs: Any) -> tuple[float, float, int]:
    from tools.analytics.variance import variance_report

    report = variance_report(ws, dimensions=(), **kwargs)
    if report.overall is None:
        raise ValueError("no completed tasks with estimate and actual in the eval workspace")
    return report.overall.median_ratio, report.overall.overrun_share, report.overall.n


def latest_month(ws: Workspace) -> tuple[str, float]:
    from tools.analytics.variance import variance_report

    months = variance_report(ws, dimensions=("month",), top=1000).by["month"]
    last = max(months, key=lambda g: g.key)
    return last.label, last.median_ratio


def over_capacity(ws: Workspace, weeks: int) -> list[str]:
    """Names over 110% in any of the next ``weeks`` weeks (capacity analytics)."""
    from tools.analytics.capacity import capacity_report

    report = capacity_report(ws, weeks=weeks, top=1000)
    return sorted({name for name, _week, _util in report.over_allocated})


def forecast_facts(ws: Workspace, project_gid: str) -> list[Fact]:
    """P80 date (Monte Carlo, so ±3 days) and the at-risk verdict from the forecast analytics."""
    from tools.analytics.forecast import forecast_project

    fc = forecast_project(ws, project_gid)
    if fc is None:
        return []
    window = [(fc.p80 + timedelta(days=d)).isoformat() for d in range(-3, 4)]
    facts = [Fact(label="P80 finish date (±3 days)", text=window)]
    facts.append(
        Fact(label="at-risk verdict", text=["at risk"] if fc.at_risk else ["on track", "not at risk"])
    )
    return facts


def riskiest_project(ws: Workspace) -> tuple[str, str] | None:
    """(gid, name) of the at-risk project with the latest P80 relative to its due date."""
    from tools.analytics.forecast import forecast_projects

    report = forecast_projects(ws)
    risky = [(f, f.due_on) for f in report.projects if f.at_risk and f.due_on is not None]
    if not risky:
        return None
    worst, _ = max(risky, key=lambda pair: ((pair[0].p80 - pair[1]).days, pair[0].project_gid))
    return worst.project_gid, worst.name


def best_billing_month(ws: Workspace, today: date) -> tuple[str, date, date, float] | None:
    """(client, start, end, billable hours) of the client-month with the most billable time, last 3 months."""
    from tools.analytics.billing import billing_draft

    best: tuple[str, date, date, float] | None = None
    clients = sorted({p.client for p in ws.projects if p.client})
    month = today.replace(day=1)
    for _ in range(3):
        start, end = month_period(month.year, month.month)
        for client in clients:
            draft = billing_draft(ws, start, min(end, today), clients=[client])
            hours = draft.total_minutes / 60
            if hours > 0 and (best is None or hours > best[3]):
                best = (client, start, end, hours)
        month = (month - timedelta(days=1)).replace(day=1)
    return best


def anomaly_count(ws: Workspace, start: date, end: date) -> int:
    from tools.analytics.anomalies import detect_anomalies

    return len(detect_anomalies(ws, start=start, end=end))


def retro_facts(ws: Workspace, start: date, end: date) -> list[Fact]:
    from tools.analytics.retro import retrospective

    report = retrospective(
        ws, start, end, include_capacity=False, include_forecasts=False, include_billing=False
    )
    facts = [Fact(label="tasks completed in the period", numbers=[float(report.tasks_completed)])]
    if report.variance.overall is not None:
        facts.append(Fact(label="period bias (median ratio)", numbers=[report.variance.overall.median_ratio]))
    return facts


# --------------------------------------------------------------------------- picking tasks


def open_tasks_in(ws: Workspace, scope: set[str]) -> list[Task]:
    return sorted(
        (t for t in ws.tasks if not t.completed and t.project_gid in scope and not t.parent_gid),
        key=lambda t: t.gid,
    )


def unique_name(ws: Workspace, tasks: Sequence[Task]) -> Task:
    counts: dict[str, int] = {}
    for t in ws.tasks:
        key = t.name.lower()
        counts[key] = counts.get(key, 0) + 1
    return next(t for t in tasks if counts[t.name.lower()] == 1 and len(t.name) < 60)
