"""Build `ReportData` from analytics results (`tools.analytics.retro.RetroReport` and friends).

The retro bundle holds aggregates; the per-task scatter and the logged burn-down history need the
workspace snapshot the retro was computed from, so callers pass it when they have it (the retro graph
does). Without it the scatter falls back to the retro's top over- and underruns, and burn-downs show the
forecast only.

Forecast bands: the chart shows the forecast's own burn-down, remaining work per week as P50/P80/P95
quantiles over the simulated remaining-work paths (``tools.analytics.forecast``); each band reaches
zero at the matching finish date, so band edges and finish markers agree.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from agent.reports.model import (
    AnomalyRow,
    BandPoint,
    BiasGroup,
    BillingLine,
    Burndown,
    CapacityCell,
    EstimatePoint,
    Headline,
    RemainingPoint,
    ReportData,
    SuggestedEstimate,
)

HISTORY_WEEKS = 8  # logged burn-down shown before the snapshot date


def _day(value: date | datetime | None) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def bias_groups(variance: Any, dimension: str = "project_type") -> list[BiasGroup]:
    """`VarianceReport.by[dimension]` as chart rows (median ratio with its interval)."""
    rows = (getattr(variance, "by", None) or {}).get(dimension, [])
    return [
        BiasGroup(
            group=r.label or r.key,
            median_ratio=r.median_ratio,
            low=r.ratio_low,
            high=r.ratio_high,
            n=r.n,
            overrun_share=r.overrun_share,
        )
        for r in rows
    ]


def estimate_points(workspace: Any, start: date, end: date) -> list[EstimatePoint]:
    """Tasks completed in ``[start, end]`` with both an estimate and actual hours."""
    out: list[EstimatePoint] = []
    for t in workspace.tasks:
        done = _day(t.completed_at)
        if not t.completed or done is None or not start <= done <= end:
            continue
        if t.estimate_hours is None or t.actual_hours is None:
            continue
        out.append(
            EstimatePoint(
                task_gid=t.gid,
                name=t.name,
                estimate_hours=t.estimate_hours,
                actual_hours=t.actual_hours,
                group=t.project_type or "unknown type",
                url=t.permalink_url,
            )
        )
    return out


def _points_from_variance(variance: Any) -> list[EstimatePoint]:
    rows = [*getattr(variance, "top_overruns", []), *getattr(variance, "top_underruns", [])]
    return [
        EstimatePoint(
            task_gid=r.task_gid,
            name=r.name,
            estimate_hours=r.estimate_hours,
            actual_hours=r.actual_hours,
            group="overrun" if r.actual_hours > r.estimate_hours else "underrun",
            url=r.permalink_url,
        )
        for r in rows
    ]


def remaining_history(
    workspace: Any, project_gid: str, as_of: date, weeks: int = HISTORY_WEEKS
) -> list[RemainingPoint]:
    """Weekly remaining estimate (estimate minus hours logged, floored at 0, open tasks only) up to ``as_of``."""
    tasks = [t for t in workspace.tasks if t.project_gid == project_gid and t.estimate_hours is not None]
    if not tasks:
        return []
    by_task: dict[str, list[tuple[date, float]]] = {}
    for e in workspace.entries:
        by_task.setdefault(e.task_gid, []).append((e.entered_on, e.duration_minutes / 60.0))
    cumulative: dict[str, tuple[list[date], list[float]]] = {}
    for gid, rows in by_task.items():
        rows.sort()
        days, sums, total = [], [], 0.0
        for d, h in rows:
            total += max(h, 0.0)
            days.append(d)
            sums.append(total)
        cumulative[gid] = (days, sums)
    out: list[RemainingPoint] = []
    for k in range(weeks, -1, -1):
        day = as_of - timedelta(weeks=k)
        remaining = 0.0
        for t in tasks:
            created, done = _day(t.created_at), _day(t.completed_at)
            if created is not None and created > day:
                continue
            if t.completed and done is not None and done <= day:
                continue
            days, sums = cumulative.get(t.gid, ([], []))
            i = bisect.bisect_right(days, day)
            logged = sums[i - 1] if i else 0.0
            remaining += max((t.estimate_hours or 0.0) - logged, 0.0)
        out.append(RemainingPoint(day=day, remaining_hours=round(remaining, 1)))
    return out


def _bands(points: Sequence[Any], as_of: date) -> list[BandPoint]:
    """The forecast's weekly remaining-work quantiles as chart points; the first starts at ``as_of``."""
    out: list[BandPoint] = []
    for i, p in enumerate(points):
        day = max(p.week_start, as_of) if i == 0 else p.week_start
        if out and day <= out[-1].day:
            continue
        out.append(BandPoint(day=day, p50=p.p50_hours, p80=p.p80_hours, p95=p.p95_hours))
    return out


def burndowns(forecasts: Any, workspace: Any | None, as_of: date) -> list[Burndown]:
    out: list[Burndown] = []
    for f in getattr(forecasts, "projects", None) or []:
        history = remaining_history(workspace, f.project_gid, as_of) if workspace is not None else []
        out.append(
            Burndown(
                project_gid=f.project_gid,
                project_name=f.name,
                history=history,
                forecast=_bands(f.burndown, as_of),
                finish_p50=f.p50,
                finish_p80=f.p80,
                finish_p95=f.p95,
                due_on=f.due_on,
                at_risk=f.at_risk,
            )
        )
    return out


def capacity_cells(capacity: Any) -> list[CapacityCell]:
    return [
        CapacityCell(
            person=p.name,
            week_start=w.week_start,
            planned_hours=max(w.load_hours, 0.0),
            capacity_hours=max(w.capacity_hours, 0.0),
            allocated_hours=getattr(w, "allocated_hours", 0.0),
            out_of_office_days=getattr(w, "out_of_office_days", 0),
        )
        for p in (getattr(capacity, "people", None) or [])
        for w in p.weeks
    ]


def anomaly_rows(flags: Iterable[Any], workspace: Any | None) -> list[AnomalyRow]:
    tasks = {t.gid: t for t in workspace.tasks} if workspace is not None else {}
    people = {p.gid: p.name for p in workspace.people} if workspace is not None else {}
    rows = []
    for f in flags:
        task = tasks.get(f.task_gid or "")
        rows.append(
            AnomalyRow(
                task_gid=f.task_gid or f.entry_gid or "",
                task_name=task.name if task else (f.task_gid or ""),
                person=people.get(f.person_gid or "", f.person_gid),
                entered_on=f.day,
                hours=f.hours,
                kind=str(f.kind),
                score=f.score,
                reason=f.reason,
                url=task.permalink_url if task else None,
            )
        )
    return rows


def billing_lines(billing: Any) -> list[BillingLine]:
    return [
        BillingLine(
            client=t.client,
            project=t.project_name or "all projects",
            hours=round(t.minutes / 60.0, 2),
            amount=float(t.amount) if t.amount is not None else None,
            currency=t.currency,
        )
        for t in (getattr(billing, "totals", None) or [])
    ]


def headlines(retro: Any) -> list[Headline]:
    out = [
        Headline(
            label="Hours logged", value=f"{retro.hours_logged:,.1f} h", detail=f"{retro.entries} entries"
        ),
        Headline(
            label="Tasks completed", value=str(retro.tasks_completed), detail=f"{retro.tasks_created} created"
        ),
    ]
    overall = retro.variance.overall
    if overall is not None:
        out.append(
            Headline(
                label="Median bias",
                value=f"{overall.median_ratio:.2f}×",
                detail=f"actual ÷ estimate, n={overall.n}",
            )
        )
        out.append(
            Headline(label="Overrun share", value=f"{overall.overrun_share:.0%}", detail="actual > estimate")
        )
    if retro.forecasts is not None and retro.forecasts.projects:
        risky = sum(1 for p in retro.forecasts.projects if p.at_risk)
        out.append(
            Headline(
                label="Projects at risk",
                value=f"{risky} of {len(retro.forecasts.projects)}",
                detail="P80 after due date",
            )
        )
    out.append(Headline(label="Anomalies", value=str(retro.anomalies.total), detail="time-entry flags"))
    if retro.overhead.total_hours > 0:
        out.append(
            Headline(label="Admin overhead", value=f"{retro.overhead.share:.0%}", detail="of logged hours")
        )
    return out


def report_from_retro(
    retro: Any,
    *,
    title: str | None = None,
    scope: str | None = None,
    workspace: Any | None = None,
    suggestions: Sequence[SuggestedEstimate] = (),
    notes: Sequence[str] = (),
    generated_at: datetime | None = None,
    link_base: str | None = None,
    data_freshness: str | None = None,
) -> ReportData:
    """`ReportData` for a `RetroReport` (see the module docstring for what ``workspace`` adds).

    ``link_base``: the Asana web root task links point to (``tools.links.asana_web_root`` of the
    configured base URL); ``data_freshness``: the store's "data as of …" line (``tools.freshness``)."""
    points = (
        estimate_points(workspace, retro.period_start, retro.period_end)
        if workspace is not None
        else _points_from_variance(retro.variance)
    )
    extra: dict[str, Any] = {}
    if generated_at is not None:
        extra["generated_at"] = generated_at
    all_notes = list(notes)
    if workspace is None:
        all_notes.append("Scatter shows only the largest over- and underruns (no workspace snapshot given).")
    if retro.billing is not None:
        all_notes += [f"Billing: {w}" for w in retro.billing.warnings[:5]]
    return ReportData(
        title=title or f"Retrospective {retro.period_start.isoformat()} – {retro.period_end.isoformat()}",
        period_start=retro.period_start,
        period_end=retro.period_end,
        scope=scope or "all projects in scope",
        notes=all_notes,
        highlights=list(retro.highlights),
        headlines=headlines(retro),
        bias=bias_groups(retro.variance),
        points=points,
        burndowns=burndowns(retro.forecasts, workspace, retro.as_of),
        capacity=capacity_cells(retro.capacity),
        anomalies=anomaly_rows(retro.anomalies.top, workspace),
        suggestions=_with_permalinks(suggestions, workspace),
        billing=billing_lines(retro.billing),
        budgets=list(retro.budgets.projects) if getattr(retro, "budgets", None) is not None else [],
        link_base=link_base,
        data_freshness=data_freshness,
        **extra,
    )


def _with_permalinks(
    suggestions: Sequence[SuggestedEstimate], workspace: Any | None
) -> list[SuggestedEstimate]:
    """Suggested estimates carry their task's permalink (from the snapshot) so the report links them."""
    tasks = {t.gid: t for t in workspace.tasks} if workspace is not None else {}
    return [
        s
        if s.url or s.task_gid not in tasks
        else s.model_copy(update={"url": tasks[s.task_gid].permalink_url})
        for s in suggestions
    ]
