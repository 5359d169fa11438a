"""Compact renderings of the analytics results (tools/analytics) for the chat tools.

Each ``*_view`` calls the real analysis and returns short text: header numbers first (so a budget cut
only ever drops detail), top-N rows with "… and N more", task links, task text wrapped as untrusted.
reads.py resolves the tool arguments, calls these, and reports a failing analysis in one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tools.agent_tools.budget import TOP_N, more_line, top_n, untrusted
from tools.agent_tools.common import match_name, norm
from tools.periods import Period
from tools.records import Task, Workspace

if TYPE_CHECKING:
    from tools.agent_tools.reads import (
        AnomaliesArgs,
        BillingArgs,
        CapacityArgs,
        ToolEnv,
        VarianceArgs,
    )
    from tools.analytics.capacity import PersonCapacity
    from tools.analytics.variance import RatioStats


def _frame_for(env: ToolEnv, ws: Workspace) -> Any:
    """The shared frame when ``ws`` is the whole workspace; None (build a fresh one) for a filtered copy."""
    return env.get_frame() if ws is env.workspace else None


def _link(gid: str, url: str | None, project_gid: str | None = None) -> str:
    return url or f"https://app.asana.com/0/{project_gid or 0}/{gid}"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.0%}"


def _money(value: Decimal | float | None, currency: str | None) -> str:
    return "no rate" if value is None else f"{float(value):.2f} {currency or ''}".rstrip()


# --- variance --------------------------------------------------------------------------------------


# Groups this small give a median ratio that one task can swing: the bias line prefers larger ones.
BIAS_MIN_N = 3
ALL_GROUPS = 100_000  # "no cut" for variance_report; the view cuts to TOP_N for display


def bias_extremes(
    rows: Sequence[RatioStats], min_n: int = BIAS_MIN_N
) -> tuple[RatioStats, RatioStats, bool] | None:
    """(largest median ratio, smallest median ratio, whether both have n >= min_n) over all groups.

    Groups with at least ``min_n`` tasks are preferred; only when there are none do smaller ones count.
    Ties go to the larger sample.
    """
    if not rows:
        return None
    sized = [r for r in rows if r.n >= min_n]
    pool = sized or list(rows)
    largest = max(pool, key=lambda r: (r.median_ratio, r.n))
    smallest = min(pool, key=lambda r: (r.median_ratio, -r.n))
    return largest, smallest, bool(sized)


def _bias_line(rows: Sequence[RatioStats], free_text: bool) -> str | None:
    ext = bias_extremes(rows)
    if ext is None:
        return None
    largest, smallest, sized = ext

    def show(r: RatioStats) -> str:
        label = untrusted(r.label, 60) if free_text else r.label
        return f"{label} {r.median_ratio:.2f}x (n={r.n})"

    line = f"largest bias: {show(largest)}"
    if smallest.key != largest.key:
        line += f"; smallest: {show(smallest)}"
    scope = f"groups with n>={BIAS_MIN_N}" if sized else f"no group has n>={BIAS_MIN_N}, all groups"
    return f"{line} [median actual/estimate over {len(rows)} groups; {scope}]"


def variance_view(
    env: ToolEnv, args: VarianceArgs, ws: Workspace, period: Period | None, filters: str
) -> str:
    """Variance by one dimension: the largest-sample groups, plus which group overran most and least."""
    from tools.analytics.variance import variance_report

    rep = variance_report(
        ws,
        start=period.start if period else None,
        end=period.end if period else None,
        dimensions=[args.group_by],
        top=ALL_GROUPS,  # every group, so the bias line can name the extremes; display is cut below
        frame=_frame_for(env, ws),
    )
    if rep.overall is None:
        return (
            f"variance: no completed tasks with both an estimate and actual hours (filters: {filters}; "
            f"{rep.tasks_considered} completed, {rep.missing_estimate} without estimate, {rep.missing_actual} without actual)."
        )
    o = rep.overall
    all_rows = rep.by.get(args.group_by, [])
    free_text = args.group_by in ("tag", "section", "project", "team")
    lines = [
        f"VARIANCE by {args.group_by} | period {period.describe() if period else 'all time'} | filters: {filters} | "
        f"{rep.with_ratio} of {rep.tasks_considered} completed tasks have estimate+actual "
        f"(no estimate {rep.missing_estimate}, no actual {rep.missing_actual}, zero hours {rep.zero_hours})",
        f"overall: median actual/estimate {o.median_ratio:.2f} ({rep.level:.0%} interval {o.ratio_low:.2f}-{o.ratio_high:.2f}), "
        f"overrun share {o.overrun_share:.0%}, estimated {o.estimate_hours:.1f}h, actual {o.actual_hours:.1f}h",
    ]
    bias = _bias_line(all_rows, free_text)
    if bias:
        lines.append(bias)
    lines.append("group | n | median ratio | interval | overrun share | est total | actual total")
    if args.group_by == "month":  # chronological (as variance_report orders months): the latest ones
        rows, left = all_rows[-args.top_n :], max(0, len(all_rows) - args.top_n)
        more = "earlier months"
    else:  # variance_report orders other groups by sample size, largest first
        rows, left = top_n(all_rows, args.top_n)
        more = "more groups (largest samples shown)"
    for r in rows:
        label = untrusted(r.label, 60) if free_text else r.label
        lines.append(
            f"{label} | {r.n} | {r.median_ratio:.2f} | {r.ratio_low:.2f}-{r.ratio_high:.2f} | "
            f"{r.overrun_share:.0%} | {r.estimate_hours:.1f}h | {r.actual_hours:.1f}h"
        )
    if left:
        lines.append(more_line(left, more))
    if rep.top_overruns:
        lines.append(
            "largest overruns: "
            + "; ".join(
                f"{t.task_gid} {untrusted(t.name, 50)} {_link(t.task_gid, t.permalink_url)} +{t.variance_pct:.0f}%"
                for t in rep.top_overruns[:3]
            )
        )
    lines.append("(ratio > 1 means actual exceeded the estimate)")
    return "\n".join(lines)


# --- estimate --------------------------------------------------------------------------------------


def estimate_view(task: Task, est: Any, ref: str) -> str:
    """An ``tools.analytics.estimator.Estimate`` as text."""
    lines = [
        f"ESTIMATE for {ref}: {est.hours:.1f}h (P10 {est.p10_hours:.1f}h - P90 {est.p90_hours:.1f}h), "
        f"confidence {est.confidence:.0%} that the actual lands within ±25% ({est.mode})",
    ]
    if est.human_estimate_hours is not None:
        lines.append(
            f"human estimate {est.human_estimate_hours:.1f}h; correction x{(est.bias_applied or 1.0):.2f} from track records"
        )
    ev = est.evidence
    if ev.track_records:
        lines.append(
            "track records: "
            + "; ".join(
                f"{r.facet} n={r.tasks} median actual {r.median_actual_hours:.1f}h"
                + (f" ratio {r.median_ratio:.2f}" if r.median_ratio is not None else "")
                for r in ev.track_records[:4]
            )
        )
    if ev.similar:
        lines.append(
            "similar past tasks: "
            + "; ".join(
                f"{s.gid} {untrusted(s.title, 50)} {_link(s.gid, None)} actual {s.actual_hours:.1f}h sim {s.similarity:.2f}"
                for s in ev.similar[:5]
            )
        )
    lines.append(f"learned from {ev.history_tasks} completed tasks")
    return "\n".join(lines)


# --- anomalies -------------------------------------------------------------------------------------


def anomalies_view(env: ToolEnv, args: AnomaliesArgs, period: Period) -> str:
    from tools.analytics.anomalies import detect_anomalies, summarize_anomalies

    ws = env.workspace
    frame = env.get_frame()
    flags = detect_anomalies(ws, start=period.start, end=period.end, frame=frame)
    if args.kind:
        flags = [f for f in flags if f.kind.value == args.kind]
    if args.assignee or args.project:
        people = {p.gid: p.name for p in ws.people}
        tasks = {t.gid: t for t in ws.tasks}
        kept = []
        for f in flags:
            if args.assignee and not match_name(
                args.assignee, [f.person_gid, people.get(f.person_gid or "")]
            ):
                continue
            task = tasks.get(f.task_gid or "")
            if args.project and not (
                task and match_name(args.project, [task.project_name, task.project_gid])
            ):
                continue
            kept.append(f)
        flags = kept
    summary = summarize_anomalies(flags, top=TOP_N, frame=frame)
    filters = ", ".join(
        f"{k}={v}"
        for k, v in (("kind", args.kind), ("person", args.assignee), ("project", args.project))
        if v
    )
    if summary.total == 0:
        return f"ANOMALIES | period {period.describe()} | filters: {filters or 'none'}: none found."
    tasks_by_gid = {t.gid: t for t in ws.tasks}
    lines = [
        f"ANOMALIES | period {period.describe()} | filters: {filters or 'none'} | {summary.total} flags | by kind: "
        + ", ".join(f"{k} {n}" for k, n in sorted(summary.by_kind.items(), key=lambda kv: -kv[1])),
        "most flagged people: "
        + ", ".join(f"{untrusted(name, 40)} {n}" for name, n in summary.by_person[:5]),
        "highest scores (score kind reason link):",
    ]
    for f in summary.top:
        task = tasks_by_gid.get(f.task_gid or "")
        where = _link(task.gid, task.permalink_url, task.project_gid) if task else (f.task_gid or "-")
        # The reason quotes names from the workspace: shown as untrusted text.
        lines.append(f"{f.score:.2f} {f.kind.value} {untrusted(f.reason, 160)} {where}")
    left = summary.total - len(summary.top)
    if left > 0:
        lines.append(more_line(left, "more flags"))
    return "\n".join(lines)


# --- capacity --------------------------------------------------------------------------------------


def capacity_view(env: ToolEnv, args: CapacityArgs, people_gids: set[str] | None) -> str:
    from tools.analytics.capacity import capacity_report

    ws = env.workspace
    rep = capacity_report(
        ws, config=env.settings.capacity, weeks=args.weeks_ahead, top=TOP_N, frame=env.get_frame()
    )
    people = [p for p in rep.people if people_gids is None or p.person_gid in people_gids]
    over_names = {name for name, _, _ in rep.over_allocated}
    lines = [
        f"CAPACITY next {rep.horizon_weeks} weeks from {rep.as_of} | {len(rep.people)} people | "
        f"over-allocated weeks: {len(rep.over_allocated)} | burnout signal: {len(rep.burnout)}",
    ]
    # Days off per (name, week): an over week caused by time off says so, so the reader does not
    # look for extra work that is not there.
    off_days = {(p.name, w.week_start): w.out_of_office_days for p in rep.people for w in p.weeks}
    if rep.over_allocated:
        lines.append(
            "worst weeks: "
            + "; ".join(
                f"{untrusted(n, 40)} week {w} {u:.0%}{_days_off_note(off_days.get((n, w), 0))}"
                for n, w, u in rep.over_allocated[:5]
            )
        )
    if rep.burnout:
        lines.append(
            "sustained overload (burnout signal): " + ", ".join(untrusted(n, 40) for n in rep.burnout[:TOP_N])
        )
    shown, left = top_n(people)
    # Two more columns only when a shown person has an Asana allocation or time off, so outputs
    # without them stay as they were; one row per person keeps the names from repeating.
    resourcing = any(p.allocations or any(w.out_of_office_days for w in p.weeks) for p in shown)
    lines.append(
        "person | peak load | capacity/week | remaining (bias-adjusted) | overdue | recent avg/week"
        + (" | Asana allocated h in view (n) | days off (OOO/time off) by week" if resourcing else "")
    )
    for p in shown:
        peak = max((w.utilisation for w in p.weeks if w.utilisation is not None), default=None)
        flag = " OVER" if p.name in over_names or (peak or 0) > 1.0 else ""
        lines.append(
            f"{untrusted(p.name, 40)} | {_pct(peak)}{flag} | {p.weekly_capacity_hours:.0f}h | "
            f"{p.remaining_hours:.1f}h (x{p.bias_ratio:.2f}) | {p.overdue_hours:.1f}h | {p.recent_average_hours:.1f}h"
            + (_resourcing_cells(p) if resourcing else "")
        )
    if left:
        lines.append(more_line(left, "more people"))
    return "\n".join(lines)


RESOURCING_WEEKS = 2  # weeks with time off listed per person before "+N wk"


def _days_off_note(days: int) -> str:
    return f" ({days}d off)" if days > 0 else ""


def _resourcing_cells(p: PersonCapacity) -> str:
    """`` | allocated | days off`` for one person: hours over the horizon, the first weeks off."""
    allocated = sum(w.allocated_hours for w in p.weeks)
    alloc = f"{allocated:.0f}h ({p.allocations})" if p.allocations else "-"
    off = [w for w in p.weeks if w.out_of_office_days > 0]
    days = ", ".join(f"{w.out_of_office_days}d {w.week_start}" for w in off[:RESOURCING_WEEKS])
    if len(off) > RESOURCING_WEEKS:
        days += f" +{len(off) - RESOURCING_WEEKS} wk"
    return f" | {alloc} | {days or '-'}"


# --- forecast --------------------------------------------------------------------------------------


def forecast_view(env: ToolEnv, project_gid: str, project_name: str) -> str:
    from tools.analytics.forecast import forecast_project

    f = forecast_project(env.workspace, project_gid, config=env.settings.capacity, frame=env.get_frame())
    if f is None:
        return f"FORECAST {untrusted(project_name, 60)} ({project_gid}): no open tasks, nothing to forecast."
    risk = " -> AT RISK (P80 after due date)" if f.at_risk else ""
    on_time = f", P(on time) {f.p_on_time:.0%}" if f.p_on_time is not None else ""
    lines = [
        f"FORECAST {untrusted(project_name, 60)} ({project_gid}): P50 {f.p50}, P80 {f.p80}, P95 {f.p95}; "
        f"due {f.due_on or 'not set'}{on_time}{risk}",
        f"remaining: {f.open_tasks} open tasks ({f.unestimated_tasks} unestimated), {f.remaining_estimate_hours:.1f}h "
        f"estimated, {f.remaining_p50_hours:.1f}h simulated P50; throughput {f.throughput_hours_per_week:.1f}h/week "
        f"from {f.workers} people",
    ]
    if f.burndown:
        pts = f.burndown[:: max(1, len(f.burndown) // 4)][:5]
        lines.append(
            "burn-down (remaining h, P10/P50/P90): "
            + "; ".join(f"{b.week_start} {b.p10_hours:.0f}/{b.p50_hours:.0f}/{b.p90_hours:.0f}" for b in pts)
        )
    if f.notes:
        lines.append("notes: " + "; ".join(n[:120] for n in f.notes[:3]))
    return "\n".join(lines)


# --- billing ---------------------------------------------------------------------------------------


def billing_view(env: ToolEnv, args: BillingArgs, period: Period) -> str:
    from tools.analytics.billing import billing_draft

    ws = env.workspace
    clients = sorted(
        {p.client for p in ws.projects if p.client and args.client and norm(args.client) in norm(p.client)}
    )
    projects = [p.gid for p in ws.projects if args.project and match_name(args.project, [p.name, p.gid])]
    if args.client and not clients:
        known = sorted({p.client for p in ws.projects if p.client})[:10]
        return (
            f"billing_draft: no client matches {args.client!r}; known clients: {', '.join(known) or 'none'}."
        )
    if args.project and not projects:
        return f"billing_draft: no project matches {args.project!r}."
    draft = billing_draft(
        ws, period.start, period.end, clients=clients or None, project_gids=projects or None
    )
    amounts = (
        ", ".join(f"{float(v):.2f} {k}" for k, v in draft.amount_by_currency.items())
        or "no amount (no rates)"
    )
    lines = [
        f"BILLING DRAFT (not sent) {period.describe()} | client={', '.join(clients) or 'all'} | "
        f"{len(draft.lines)} lines",
        f"TOTAL {draft.total_minutes / 60:.2f}h ({draft.total_minutes} min) = {amounts}",
    ]
    client_totals = [t for t in draft.totals if t.project_name is None]
    project_totals = [t for t in draft.totals if t.project_name is not None]
    if len(client_totals) > 1:
        lines.append(
            "by client: "
            + "; ".join(
                f"{t.client} {t.minutes / 60:.2f}h {_money(t.amount, t.currency)}" for t in client_totals[:5]
            )
        )
    shown_p, left_p = top_n(sorted(project_totals, key=lambda t: -t.minutes), 5)
    for t in shown_p:
        lines.append(
            f"project {untrusted(t.project_name, 50)} ({t.client}): {t.minutes / 60:.2f}h = {_money(t.amount, t.currency)}"
        )
    if left_p:
        lines.append(more_line(left_p, "more projects"))
    shown_l, left_l = top_n(sorted(draft.lines, key=lambda line: -line.minutes), 6)
    for line in shown_l:
        lines.append(
            f"  line: {line.task_gid} {untrusted(line.task_name, 50)} {_link(line.task_gid, line.permalink_url, line.project_gid)} "
            f"{line.minutes / 60:.2f}h x {line.hourly_rate if line.hourly_rate is not None else 'no rate'} = "
            f"{_money(line.amount, line.currency)}"
        )
    if left_l:
        lines.append("  " + more_line(left_l, "more lines"))
    if draft.warnings:
        lines.append("warnings: " + "; ".join(w[:120] for w in draft.warnings[:3]))
    if draft.excluded_entries:
        lines.append("excluded entries: " + ", ".join(f"{k} {v}" for k, v in draft.excluded_entries.items()))
    return "\n".join(lines)


# --- retrospective ---------------------------------------------------------------------------------


def retro_view(env: ToolEnv, ws: Workspace, period: Period, project: str | None) -> str:
    from tools.analytics.retro import retrospective

    rep = retrospective(
        ws,
        period.start,
        period.end,
        capacity_config=env.settings.capacity,
        include_capacity=False,
        include_forecasts=False,
        include_billing=False,
        top=5,
        frame=_frame_for(env, ws),
    )
    v = rep.variance
    lines = [
        f"RETROSPECTIVE {period.describe()}" + (f" project={project}" if project else ""),
        f"completed {rep.tasks_completed} tasks, created {rep.tasks_created}; {rep.entries} time entries, "
        f"{rep.hours_logged:.1f}h logged",
    ]
    if v.overall is not None:
        o = v.overall
        lines.append(
            f"estimates: {v.with_ratio} tasks with estimate+actual, estimated {o.estimate_hours:.1f}h, actual "
            f"{o.actual_hours:.1f}h, bias (median actual/estimate) {o.median_ratio:.2f}, overrun share {o.overrun_share:.0%}"
        )
    by_type = v.by.get("project_type", [])
    if by_type:
        lines.append(
            "bias by type: " + "; ".join(f"{r.label} {r.median_ratio:.2f} (n={r.n})" for r in by_type[:5])
        )
    if rep.bias_trends:
        lines.append(
            "trends: "
            + "; ".join(f"{t.dimension} {untrusted(t.label, 30)} {t.direction}" for t in rep.bias_trends[:4])
        )
    if v.top_overruns:
        lines.append(
            "largest overruns: "
            + "; ".join(
                f"{t.task_gid} {untrusted(t.name, 50)} {_link(t.task_gid, t.permalink_url)} +{t.variance_pct:.0f}%"
                for t in v.top_overruns[:3]
            )
        )
    sc = rep.scope_creep
    lines.append(
        f"scope creep: {sc.tasks_added} tasks added after start (+{sc.added_estimate_hours:.1f}h), "
        f"{sc.estimates_raised} estimates raised (+{sc.raised_hours:.1f}h), {sc.estimates_lowered} lowered"
    )
    oh = rep.overhead
    lines.append(f"admin overhead: {oh.overhead_hours:.1f}h of {oh.total_hours:.1f}h ({oh.share:.0%})")
    an = rep.anomalies
    if an.total:
        lines.append(
            f"anomalies: {an.total} flags ("
            + ", ".join(f"{k} {n}" for k, n in list(an.by_kind.items())[:5])
            + ")"
        )
    return "\n".join(lines)
