"""Read reports behind the chat tools: compact text aggregates over a Workspace, bounded in size.

Each function takes a ``ToolEnv`` (the runtime context) and a pydantic argument model and returns a
short text block: a header with the filters and sample sizes, top-N rows, "… and N more", and task
links. Task names and notes only ever appear wrapped by ``untrusted()``. The analytics modules
(tools/analytics, tools/index) do the heavy lifting where they are installed; the small built-in
computations here keep every tool answering when they are not (a fresh checkout, a unit test).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol

import numpy as np
from pydantic import BaseModel, Field

from agent.config import Settings
from tools.agent_tools.budget import TOP_N, compact_json, more_line, top_n, untrusted
from tools.agent_tools.common import (
    Period,
    find_person,
    find_project,
    h,
    match_name,
    median,
    norm,
    parse_period,
    quantile,
    ratio,
    task_ref,
    words,
)
from tools.records import BillableStatus, Task, Workspace


class ToolEnv(Protocol):
    """What a read tool needs from the runtime context (agent/context.py's AgentContext)."""

    settings: Settings
    index: Any
    estimator: Any

    @property
    def workspace(self) -> Workspace: ...

    def today(self) -> date: ...

    def get_estimator(self) -> Any: ...

    def get_frame(self) -> Any: ...


log = logging.getLogger(__name__)

GroupBy = Literal["project_type", "assignee", "tag", "section", "month", "project"]


class VarianceArgs(BaseModel):
    group_by: GroupBy = Field("project_type", description="How to group completed tasks.")
    period: str | None = Field(
        None, description='Completion period in words: "last quarter", "2026-03", "Q1 2026", "last 8 weeks".'
    )
    project: str | None = Field(None, description="Only tasks of projects whose name contains this.")
    assignee: str | None = Field(None, description="Only tasks of this person (name or gid).")
    tag: str | None = Field(None, description="Only tasks with this tag.")
    section: str | None = Field(None, description="Only tasks in this section.")
    project_type: str | None = Field(None, description="Only tasks of this project type.")


class EstimateArgs(BaseModel):
    task_gid: str | None = Field(None, description="Estimate this existing task (its gid).")
    title: str | None = Field(None, description="Or: the title of a new task to estimate.")
    description: str | None = Field(None, description="Optional description of the new task.")
    project: str | None = Field(None, description="Project (name) of the new task, if known.")
    assignee: str | None = Field(None, description="Assignee (name) of the new task, if known.")
    human_estimate_hours: float | None = Field(None, description="A human estimate to improve, if any.")


class SimilarArgs(BaseModel):
    query: str | None = Field(None, description="Free text describing the work.")
    task_gid: str | None = Field(None, description="Or: find tasks similar to this task.")
    k: int = Field(5, ge=1, le=10, description="How many similar completed tasks to return.")


class AnomaliesArgs(BaseModel):
    period: str | None = Field(
        None, description='Entry dates, in words ("last month"); default last 90 days.'
    )
    assignee: str | None = Field(None, description="Only entries of this person.")
    project: str | None = Field(None, description="Only entries on this project.")


class CapacityArgs(BaseModel):
    weeks_ahead: int = Field(3, ge=1, le=12, description="How many weeks ahead to look.")
    person: str | None = Field(None, description="Only this person (name or gid).")


class ForecastArgs(BaseModel):
    project: str = Field(description="Project name (or gid) to forecast.")


class BillingArgs(BaseModel):
    period: str = Field(description='Billing period, e.g. "March", "2026-03", "last month".')
    client: str | None = Field(None, description="Client name (matches the project's client).")
    project: str | None = Field(None, description="Or a project name.")


class RetroArgs(BaseModel):
    period: str = Field("last month", description='Period in words, e.g. "last month", "Q1 2026".')
    project: str | None = Field(None, description="Only this project.")


class LookupArgs(BaseModel):
    query: str = Field(description="A task gid, or words from the task's name.")


# --- shared filters --------------------------------------------------------------------------------


def _period_or_default(text: str | None, today: date, days: int) -> Period:
    parsed = parse_period(text, today)
    return parsed or Period(start=today - timedelta(days=days), end=today, label=f"last {days} days")


def _group_keys(task: Task, group_by: GroupBy) -> list[str]:
    if group_by == "project_type":
        return [task.project_type or "(no type)"]
    if group_by == "assignee":
        return [task.assignee_name or "(unassigned)"]
    if group_by == "tag":
        return list(task.tags) or ["(no tag)"]
    if group_by == "section":
        return [task.section or "(no section)"]
    if group_by == "project":
        return [task.project_name or "(no project)"]
    when = task.completed_at
    return [f"{when:%Y-%m}" if when else "(open)"]


def _filtered(tasks: Iterable[Task], args: VarianceArgs, period: Period | None) -> list[Task]:
    out = []
    for t in tasks:
        if period is not None and not period.contains(t.completed_at):
            continue
        if args.project and not match_name(args.project, [t.project_name, t.project_gid]):
            continue
        if args.assignee and not match_name(args.assignee, [t.assignee_name, t.assignee_gid]):
            continue
        if args.tag and not any(norm(args.tag) == norm(x) for x in t.tags):
            continue
        if args.section and not match_name(args.section, [t.section]):
            continue
        if args.project_type and not match_name(args.project_type, [t.project_type]):
            continue
        out.append(t)
    return out


def _filters_line(args: BaseModel) -> str:
    parts = [f"{k}={v}" for k, v in args.model_dump(exclude_none=True).items() if k != "group_by"]
    return ", ".join(parts) or "none"


# --- variance --------------------------------------------------------------------------------------


def _variance_builtin(env: ToolEnv, args: VarianceArgs) -> str:
    """Actual vs estimate by group: bias (median actual/estimate), spread, overrun share, sample size."""
    period = parse_period(args.period, env.today())
    if args.period and period is None:
        return f"Could not read the period {args.period!r}. Try 'last quarter', '2026-03' or 'Q1 2026'."
    tasks = [t for t in _filtered(env.workspace.tasks, args, period) if t.completed and ratio(t) is not None]
    if not tasks:
        return f"variance: no completed tasks with both an estimate and actual hours (filters: {_filters_line(args)})."
    groups: dict[str, list[Task]] = defaultdict(list)
    for t in tasks:
        for key in _group_keys(t, args.group_by):
            groups[key].append(t)
    rows = []
    for key, members in groups.items():
        ratios = [r for t in members if (r := ratio(t)) is not None]
        rows.append(
            (
                key,
                len(members),
                median(ratios),
                quantile(ratios, 0.25),
                quantile(ratios, 0.75),
                sum(r > 1.0 for r in ratios) / len(ratios),
                sum(t.estimate_hours or 0 for t in members),
                sum(t.actual_hours or 0 for t in members),
            )
        )
    # Months read best in order; other groupings by how far the bias is from 1 (worst first).
    if args.group_by == "month":
        rows.sort(key=lambda r: r[0])
    else:
        rows.sort(key=lambda r: (-abs(math.log(max(r[2], 1e-6))), -r[1]))
    all_ratios = [r for t in tasks if (r := ratio(t)) is not None]
    lines = [
        f"VARIANCE by {args.group_by} | period {period.label if period else 'all time'} | "
        f"filters: {_filters_line(args)} | {len(tasks)} completed tasks with estimate+actual",
        f"overall: median actual/estimate {median(all_ratios):.2f}, "
        f"overrun share {sum(r > 1 for r in all_ratios) / len(all_ratios):.0%}",
        "group | n | median ratio | P25-P75 | overrun share | est total | actual total",
    ]
    shown, left = top_n(rows)
    for key, n, med, p25, p75, share, est, act in shown:
        lines.append(
            f"{untrusted(key, 60) if args.group_by in ('tag', 'section', 'project') else key} | {n} | "
            f"{med:.2f} | {p25:.2f}-{p75:.2f} | {share:.0%} | {est:.1f}h | {act:.1f}h"
        )
    if left:
        lines.append(more_line(left, "more groups"))
    worst = sorted(tasks, key=lambda t: -(ratio(t) or 0))[:3]
    lines.append("largest overruns: " + "; ".join(f"{task_ref(t, 50)} ratio {ratio(t):.2f}" for t in worst))
    lines.append("(ratio > 1 means actual exceeded the estimate)")
    return "\n".join(lines)


# --- similar tasks and estimates ---------------------------------------------------------------------


def _task_by_gid(ws: Workspace, gid: str) -> Task | None:
    return next((t for t in ws.tasks if t.gid == gid), None)


def _similar_fallback(ws: Workspace, text: str, k: int, exclude: str | None) -> list[tuple[Task, float]]:
    """Word-overlap (Jaccard) over completed tasks with actuals: used when no index is configured."""
    query = words(text)
    if not query:
        return []
    scored: list[tuple[float, Task]] = []
    for t in ws.tasks:
        if not t.completed or t.actual_hours is None or t.gid == exclude:
            continue
        tw = words(t.name)
        inter = len(query & tw)
        if inter:
            scored.append((inter / len(query | tw), t))
    scored.sort(key=lambda st: (-st[0], st[1].gid))
    return [(t, s) for s, t in scored[:k]]


def _similar(env: ToolEnv, text: str, k: int, exclude: str | None) -> list[tuple[Task, float]]:
    index = env.index
    if index is not None and hasattr(index, "similar"):
        try:
            hits = index.similar(text, k=k + 1)
            by_gid = {t.gid: t for t in env.workspace.tasks}
            out = []
            for hit in hits:
                gid = getattr(hit, "gid", None) or getattr(hit, "task_gid", None)
                score = float(getattr(hit, "score", getattr(hit, "similarity", 0.0)))
                if gid in by_gid and gid != exclude:
                    out.append((by_gid[gid], score))
            if out:  # an empty or stale index falls through to word overlap
                return out[:k]
        except Exception:  # an index problem must not break the chat: fall back to word overlap
            pass
    return _similar_fallback(env.workspace, text, k, exclude)


def similar_tasks(env: ToolEnv, args: SimilarArgs) -> str:
    """Completed tasks most similar to a text or to a task, with their estimate and actual."""
    exclude = None
    text = args.query or ""
    if args.task_gid:
        task = _task_by_gid(env.workspace, args.task_gid)
        if task is None:
            return f"similar_tasks: no task with gid {args.task_gid}."
        text, exclude = f"{task.name} {task.notes[:200]}", task.gid
    if not text.strip():
        return "similar_tasks: give a query text or a task_gid."
    hits = _similar(env, text, args.k, exclude)
    if not hits:
        return "similar_tasks: no similar completed tasks found."
    lines = [
        f"SIMILAR completed tasks (top {len(hits)}): gid name | similarity | estimate | actual | project"
    ]
    for t, s in hits:
        lines.append(
            f"{task_ref(t, 60)} | {s:.2f} | {h(t.estimate_hours)} | {h(t.actual_hours)} | {t.project_name}"
        )
    return "\n".join(lines)


def _estimator_result(env: ToolEnv, task: Task) -> Any | None:
    est = env.estimator
    if est is None:
        return None
    for name in ("estimate_task", "estimate", "predict"):
        fn: Callable[..., Any] | None = getattr(est, name, None)
        if fn is not None:
            try:
                return fn(task)
            except Exception:  # fall back to the built-in evidence below
                return None
    return None


def _estimate_task_builtin(env: ToolEnv, args: EstimateArgs) -> str:
    """Point estimate, P10-P90 range and confidence, from similar tasks and the assignee's track record."""
    ws = env.workspace
    if args.task_gid:
        found = _task_by_gid(ws, args.task_gid)
        if found is None:
            return f"estimate_task: no task with gid {args.task_gid}."
        task = found
    elif args.title:
        project = (
            find_project(ws, args.project)[0] if args.project and find_project(ws, args.project) else None
        )
        task = Task(
            gid="new",
            name=args.title,
            notes=args.description or "",
            project_gid=project.gid if project else None,
            project_name=project.name if project else args.project,
            project_type=project.project_type if project else None,
            assignee_name=args.assignee,
            created_at=env.workspace.as_of or datetime.now(UTC),
            estimate_hours=args.human_estimate_hours,
        )
    else:
        return "estimate_task: give a task_gid or the title of a new task."
    human = args.human_estimate_hours or task.estimate_hours
    external = _estimator_result(env, task)
    if external is not None:
        return f"ESTIMATE for {task_ref(task)} (estimator model):\n{compact_json(external)}"

    hits = _similar(env, f"{task.name} {task.notes[:200]}", 8, task.gid)
    actuals = [t.actual_hours for t, _ in hits if t.actual_hours is not None and t.actual_hours > 0]
    # The assignee's own bias (median actual/estimate) corrects a human estimate when there is one.
    own = [
        r
        for t in ws.tasks
        if t.completed
        and (r := ratio(t)) is not None
        and task.assignee_name
        and t.assignee_name == task.assignee_name
    ]
    bias = median(own) if len(own) >= 3 else None
    if human:
        point = human * (bias or 1.0)
        spread = [human * r for r in own] if len(own) >= 5 else [human * 0.7, human * 1.6]
        basis = (
            f"human estimate {human:.1f}h x assignee bias {bias:.2f}"
            if bias
            else f"human estimate {human:.1f}h"
        )
    elif actuals:
        point = median(actuals)
        spread = actuals
        basis = f"median actual of {len(actuals)} similar tasks"
    else:
        return f"estimate_task: no similar completed tasks and no human estimate for {task_ref(task)}."
    p10 = min(quantile(spread, 0.1), point)
    p90 = max(quantile(spread, 0.9), point)
    n = len(actuals) + len(own)
    confidence = "high" if n >= 20 and p90 / max(p10, 0.1) < 3 else "medium" if n >= 6 else "low"
    lines = [
        f"ESTIMATE for {task_ref(task)}: {point:.1f}h (P10 {p10:.1f}h - P90 {p90:.1f}h), confidence {confidence}",
        f"basis: {basis}; assignee track record n={len(own)}"
        + (f", median ratio {bias:.2f}" if bias else ""),
        "evidence (similar completed tasks): "
        + "; ".join(f"{task_ref(t, 50)} actual {h(t.actual_hours)}" for t, _ in hits[:5]),
    ]
    return "\n".join(lines)


# --- anomalies -------------------------------------------------------------------------------------


def _anomalies_builtin(env: ToolEnv, args: AnomaliesArgs) -> str:
    """Suspicious time entries and tasks: implausible durations, future dates, weekends, duplicates, overruns."""
    ws = env.workspace
    today = env.today()
    period = _period_or_default(args.period, today, 90)
    people = {p.gid: p.name for p in ws.people}
    tasks = {t.gid: t for t in ws.tasks}
    weekend = set(env.settings.capacity.weekend_days)
    holidays = set(env.settings.capacity.holidays)
    flags: list[tuple[float, str]] = []
    seen: dict[tuple[str, str | None, date, int], str] = {}
    for e in ws.entries:
        if not period.contains(e.entered_on) and e.entered_on <= today:
            continue
        who = people.get(e.user_gid or "", e.user_gid or "unknown")
        if args.assignee and not match_name(args.assignee, [who, e.user_gid]):
            continue
        task = tasks.get(e.task_gid)
        if args.project and not (task and match_name(args.project, [task.project_name, task.project_gid])):
            continue
        where = task_ref(task, 50) if task else e.task_gid
        hours = e.duration_minutes / 60
        if e.duration_minutes <= 0 or hours > 12:
            flags.append(
                (
                    min(1.0, 0.6 + hours / 48),
                    f"implausible duration {hours:.1f}h by {who} on {e.entered_on} ({where})",
                )
            )
        if e.entered_on > today:
            flags.append((0.9, f"future date {e.entered_on} ({hours:.1f}h) by {who} ({where})"))
        elif e.entered_on.weekday() in weekend or e.entered_on in holidays:
            flags.append((0.3, f"weekend/holiday entry {e.entered_on} {hours:.1f}h by {who} ({where})"))
        key = (e.task_gid, e.user_gid, e.entered_on, e.duration_minutes)
        if key in seen:
            flags.append(
                (
                    0.7,
                    f"possible duplicate of entry {seen[key]}: {hours:.1f}h by {who} on {e.entered_on} ({where})",
                )
            )
        else:
            seen[key] = e.gid
    for t in ws.tasks:
        r = ratio(t)
        if r is not None and r > 1.5 and t.completed and period.contains(t.completed_at):
            if args.assignee and not match_name(args.assignee, [t.assignee_name, t.assignee_gid]):
                continue
            if args.project and not match_name(args.project, [t.project_name, t.project_gid]):
                continue
            flags.append(
                (
                    min(1.0, 0.4 + (r - 1.5) / 4),
                    f"actual {h(t.actual_hours)} is {r - 1:.0%} over estimate {h(t.estimate_hours)}: {task_ref(t, 50)}",
                )
            )
    if not flags:
        return f"ANOMALIES | period {period.label}: none found."
    flags.sort(key=lambda f: (-f[0], f[1]))
    shown, left = top_n(flags)
    lines = [
        f"ANOMALIES | period {period.label} | filters: {_filters_line(args)} | {len(flags)} flags, highest score first"
    ]
    lines += [f"{score:.2f} {reason}" for score, reason in shown]
    if left:
        lines.append(more_line(left, "more flags"))
    return "\n".join(lines)


# --- capacity --------------------------------------------------------------------------------------


def _weekly_capacity(env: ToolEnv, gid: str, name: str, default: float) -> float:
    cfg = env.settings.capacity
    return cfg.per_person.get(name, cfg.per_person.get(gid, default))


def _capacity_builtin(env: ToolEnv, args: CapacityArgs) -> str:
    """Per person: logged trend (last 4 weeks) and remaining estimates due in the window vs capacity."""
    ws = env.workspace
    today = env.today()
    end = today + timedelta(weeks=args.weeks_ahead)
    people = list(ws.people)
    if args.person:
        people = find_person(ws, args.person)
        if not people:
            return f"capacity: nobody named {args.person!r}."
    logged: dict[str, float] = defaultdict(float)
    since = today - timedelta(weeks=4)
    for e in ws.entries:
        if e.user_gid and since < e.entered_on <= today:
            logged[e.user_gid] += e.duration_minutes / 60
    remaining: dict[str, float] = defaultdict(float)
    for t in ws.tasks:
        if t.completed or not t.assignee_gid or not t.estimate_hours:
            continue
        if t.due_on is not None and t.due_on > end:
            continue
        left = max(t.estimate_hours - (t.actual_hours or 0.0), 0.0)
        remaining[t.assignee_gid] += left
    rows = []
    for p in people:
        cap = p.capacity_hours_per_week or _weekly_capacity(
            env, p.gid, p.name, env.settings.capacity.hours_per_week
        )
        window_cap = cap * args.weeks_ahead
        load = remaining[p.gid]
        rows.append(
            (load / window_cap if window_cap else math.inf, p.name, load, window_cap, logged[p.gid] / 4, cap)
        )
    rows.sort(key=lambda r: (-r[0], r[1]))
    over = [r for r in rows if r[0] > 1.0]
    lines = [
        f"CAPACITY next {args.weeks_ahead} weeks ({today}..{end}) | {len(rows)} people | {len(over)} over capacity",
        "person | load % | remaining est due in window | capacity in window | logged avg/week (last 4w)",
    ]
    shown, left = top_n(rows)
    for util, name, load, wcap, avg, _cap in shown:
        flag = " OVER" if util > 1.0 else ""
        lines.append(f"{untrusted(name, 40)} | {util:.0%}{flag} | {load:.1f}h | {wcap:.1f}h | {avg:.1f}h")
    if left:
        lines.append(more_line(left, "more people"))
    sustained = [r for r in rows if r[4] > r[5] * 1.1]
    if sustained:
        lines.append(
            "sustained overload (logged > 110% of capacity for 4 weeks): "
            + ", ".join(untrusted(r[1], 40) for r in sustained[:TOP_N])
        )
    return "\n".join(lines)


# --- completion forecast ---------------------------------------------------------------------------


def _completion_forecast_builtin(env: ToolEnv, args: ForecastArgs) -> str:
    """Monte Carlo over remaining work with historical actual/estimate ratios: P50/P80/P95 finish dates."""
    ws = env.workspace
    matches = find_project(ws, args.project)
    if not matches:
        return f"completion_forecast: no project matches {args.project!r}."
    if len(matches) > 1:
        names = ", ".join(f"{untrusted(p.name, 40)} ({p.gid})" for p in matches[:TOP_N])
        return f"completion_forecast: {len(matches)} projects match {args.project!r}: {names}. Which one?"
    project = matches[0]
    today = env.today()
    tasks = [t for t in ws.tasks if t.project_gid == project.gid]
    open_tasks = [t for t in tasks if not t.completed]
    if not open_tasks:
        return f"FORECAST {untrusted(project.name, 60)}: all {len(tasks)} tasks are complete."
    # Ratios by assignee, team-wide as the fallback, 1.0 when there is no history at all.
    by_person: dict[str | None, list[float]] = defaultdict(list)
    team: list[float] = []
    for t in ws.tasks:
        r = ratio(t)
        if t.completed and r is not None:
            by_person[t.assignee_gid].append(r)
            team.append(r)
    team = team or [1.0]
    remaining = [
        max(
            (t.estimate_hours or median([x.actual_hours or 0 for x in tasks] or [4.0]) or 4.0)
            - (t.actual_hours or 0),
            0.5,
        )
        for t in open_tasks
    ]
    pools = [
        by_person.get(t.assignee_gid) if len(by_person.get(t.assignee_gid, [])) >= 3 else team
        for t in open_tasks
    ]
    rng = np.random.default_rng(7)  # seeded: the same data gives the same dates
    sims = 2000
    total = np.zeros(sims)
    for rem, pool in zip(remaining, pools, strict=True):
        total += rem * rng.choice(np.asarray(pool, dtype=float), size=sims)
    recent = [e for e in ws.entries if e.project_gid == project.gid or e.task_gid in {t.gid for t in tasks}]
    recent_hours = (
        sum(e.duration_minutes for e in recent if today - timedelta(weeks=6) < e.entered_on <= today) / 60
    )
    throughput = recent_hours / 6
    basis = "logged hours on the project, last 6 weeks"
    if throughput <= 0:
        assignees = {t.assignee_gid for t in open_tasks if t.assignee_gid} or {"?"}
        throughput = 0.5 * env.settings.capacity.hours_per_week * len(assignees)
        basis = f"no recent logs: assumed half capacity of {len(assignees)} assignee(s)"
    weeks = total / throughput
    p50, p80, p95 = (today + timedelta(days=float(np.percentile(weeks, q)) * 7) for q in (50, 80, 95))
    due = project.due_on
    at_risk = due is not None and p80 > due
    return "\n".join(
        [
            f"FORECAST {untrusted(project.name, 60)} ({project.gid}) as of {today}: "
            f"P50 {p50}, P80 {p80}, P95 {p95}; due {due or 'not set'}"
            + (" -> AT RISK (P80 after due date)" if at_risk else ""),
            f"remaining: {len(open_tasks)} open tasks, {sum(remaining):.1f}h estimated, "
            f"{float(np.percentile(total, 50)):.1f}h after bias (P50); throughput {throughput:.1f}h/week ({basis})",
            f"{len(tasks) - len(open_tasks)} of {len(tasks)} tasks complete; {sims} seeded Monte Carlo runs",
        ]
    )


# --- billing ---------------------------------------------------------------------------------------


def _billing_draft_builtin(env: ToolEnv, args: BillingArgs) -> str:
    """Billable hours and amounts by project and task for a period: a draft, nothing is sent."""
    ws = env.workspace
    period = parse_period(args.period, env.today())
    if period is None:
        return f"billing_draft: could not read the period {args.period!r} (try 'March' or '2026-03')."
    projects = [
        p
        for p in ws.projects
        if (not args.client or match_name(args.client, [p.client]))
        and (not args.project or match_name(args.project, [p.name, p.gid]))
    ]
    if not projects:
        return f"billing_draft: no project for client={args.client!r} project={args.project!r}."
    by_gid = {p.gid: p for p in projects}
    tasks = {t.gid: t for t in ws.tasks if t.project_gid in by_gid}
    seen: set[str] = set()
    minutes: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for e in ws.entries:
        if e.gid in seen or not period.contains(e.entered_on):
            continue
        task = tasks.get(e.task_gid)
        if task is None:
            continue
        billable = e.billable_status == BillableStatus.BILLABLE or (
            e.billable_status is None and task.billable is not False
        )
        if not billable:
            continue
        seen.add(e.gid)  # an entry is billed once even if listed twice
        minutes[task.project_gid or ""][task.gid] += e.duration_minutes
    if not minutes:
        return f"BILLING DRAFT {period.label} client={args.client or '-'}: no billable entries."
    grand_min = sum(sum(per_task.values()) for per_task in minutes.values())
    grand_amount = sum(sum(pt.values()) / 60 * (by_gid[pg].hourly_rate or 0) for pg, pt in minutes.items())
    currency = next((by_gid[pg].currency for pg in minutes if by_gid[pg].currency), "")
    # Totals first: if the result is ever cut to the token budget, only line detail is lost.
    lines = [
        f"BILLING DRAFT (not sent) {period.label} | client={args.client or 'all'} | {len(seen)} billable entries",
        f"TOTAL {grand_min / 60:.2f}h ({grand_min} min) = {grand_amount:.2f} {currency}".rstrip(),
    ]
    ordered = sorted(minutes.items(), key=lambda kv: -sum(kv[1].values()))
    shown_projects, left_projects = top_n(ordered, 5)
    for pgid, per_task in shown_projects:
        p = by_gid[pgid]
        total_min = sum(per_task.values())
        amount = total_min / 60 * (p.hourly_rate or 0)
        lines.append(
            f"project {untrusted(p.name, 50)} ({p.client or 'no client'}): {total_min / 60:.2f}h x "
            f"{p.hourly_rate if p.hourly_rate is not None else 'no rate'} = {amount:.2f} {p.currency or ''}".rstrip()
        )
        items = sorted(per_task.items(), key=lambda kv: -kv[1])
        shown, left = top_n(items, 3)
        for gid, mins in shown:
            lines.append(f"  line: {task_ref(tasks[gid], 50)} {mins / 60:.2f}h")
        if left:
            lines.append("  " + more_line(left, "more task lines"))
    if left_projects:
        lines.append(more_line(left_projects, "more projects"))
    return "\n".join(lines)


# --- retrospective ---------------------------------------------------------------------------------


def _retrospective_builtin(env: ToolEnv, args: RetroArgs) -> str:
    """Period review: delivered vs estimated, bias by project type and its trend, scope creep, overruns."""
    ws = env.workspace
    period = parse_period(args.period, env.today())
    if period is None:
        return f"retrospective: could not read the period {args.period!r}."
    tasks = [
        t for t in ws.tasks if not args.project or match_name(args.project, [t.project_name, t.project_gid])
    ]
    done = [t for t in tasks if t.completed and period.contains(t.completed_at)]
    created = [t for t in tasks if period.contains(t.created_at)]
    starts = {p.gid: p.start_on for p in ws.projects}
    creep = [
        t
        for t in created
        if t.project_gid
        and starts.get(t.project_gid)
        and t.created_at.date() > (starts[t.project_gid] or date.max)
    ]
    raised = [
        c
        for c in ws.field_changes
        if period.contains(c.changed_at)
        and isinstance(c.old_value, int | float)
        and isinstance(c.new_value, int | float)
        and c.new_value > c.old_value
    ]
    rated = [t for t in done if ratio(t) is not None]
    lines = [
        f"RETROSPECTIVE {period.label}" + (f" project={args.project}" if args.project else ""),
        f"completed {len(done)} tasks; with estimate+actual {len(rated)}: "
        f"estimated {sum(t.estimate_hours or 0 for t in rated):.1f}h, actual {sum(t.actual_hours or 0 for t in rated):.1f}h",
    ]
    if rated:
        rs = [r for t in rated if (r := ratio(t)) is not None]
        lines.append(
            f"bias (median actual/estimate) {median(rs):.2f}; overrun share {sum(r > 1 for r in rs) / len(rs):.0%}"
        )
        by_type: dict[str, list[float]] = defaultdict(list)
        for t in rated:
            by_type[t.project_type or "(no type)"].append(ratio(t) or 0)
        types = sorted(by_type.items(), key=lambda kv: -abs(math.log(max(median(kv[1]), 1e-6))))
        shown, left = top_n(types, 5)
        lines.append(
            "bias by type: "
            + "; ".join(f"{k} {median(v):.2f} (n={len(v)})" for k, v in shown)
            + (f"; {more_line(left)}" if left else "")
        )
        prev = Period(
            start=period.start - (period.end - period.start) - timedelta(days=1),
            end=period.start - timedelta(days=1),
            label="previous",
        )
        prev_rs = [
            r for t in tasks if t.completed and prev.contains(t.completed_at) and (r := ratio(t)) is not None
        ]
        if prev_rs:
            lines.append(f"trend: previous period bias {median(prev_rs):.2f} -> this period {median(rs):.2f}")
        worst = sorted(rated, key=lambda t: -(ratio(t) or 0))[:3]
        lines.append(
            "largest overruns: " + "; ".join(f"{task_ref(t, 50)} ratio {ratio(t):.2f}" for t in worst)
        )
    lines.append(
        f"scope creep: {len(creep)} tasks added after their project started; {len(raised)} estimate increases"
    )
    admin = [t for t in done if any("admin" in norm(x) for x in t.tags) or "admin" in norm(t.section)]
    if admin:
        lines.append(
            f"admin overhead: {sum(t.actual_hours or 0 for t in admin):.1f}h on {len(admin)} admin tasks"
        )
    return "\n".join(lines)


# --- lookup ----------------------------------------------------------------------------------------


def task_lookup(env: ToolEnv, args: LookupArgs) -> str:
    """Find tasks by gid or name words; returns links and numbers, task text as untrusted data."""
    ws = env.workspace
    q = args.query.strip()
    exact = _task_by_gid(ws, q)
    if exact is not None:
        t = exact
        status = "completed" if t.completed else "open"
        return "\n".join(
            [
                f"TASK {task_ref(t, 100)}",
                f"project {t.project_name} | section {t.section} | assignee {t.assignee_name} | {status} | due {t.due_on}",
                f"estimate {h(t.estimate_hours)} | actual {h(t.actual_hours)} ({t.actual_source.value}) | tags {', '.join(t.tags) or '-'}",
                f"AI fields: {compact_json(t.ai_fields) if t.ai_fields else 'none'}",
                f"notes: {untrusted(t.notes, 300)}",
            ]
        )
    qw = norm(q)
    hits = [t for t in ws.tasks if qw and qw in norm(t.name)]
    if not hits:
        qs = words(q)
        hits = [t for t in ws.tasks if qs and qs <= words(t.name)]
    if not hits:
        return f"task_lookup: no task matches {untrusted(q, 60)}."
    hits.sort(key=lambda t: (t.completed, t.gid))
    shown, left = top_n(hits)
    lines = [f"TASKS matching {untrusted(q, 60)}: {len(hits)} found"]
    for t in shown:
        lines.append(
            f"{task_ref(t, 70)} | {'done' if t.completed else 'open'} | est {h(t.estimate_hours)} | actual {h(t.actual_hours)} | {t.assignee_name}"
        )
    if left:
        lines.append(more_line(left, "more tasks (refine the query)"))
    return "\n".join(lines)


# --- public tool functions: the analytics modules first, the built-ins above as the fallback -------


def _with_analytics(view: Callable[[], str | None], fallback: Callable[[], str]) -> str:
    """The analytics view, or the built-in summary when the analytics modules are missing or fail."""
    try:
        out = view()
    except ImportError:
        return fallback()
    except Exception:  # a failing analysis must not end the chat turn; the fallback still answers
        log.warning("analytics view failed; answering with the built-in summary", exc_info=True)
        return fallback()
    return out if out is not None else fallback()


def variance(env: ToolEnv, args: VarianceArgs) -> str:
    """Actual vs estimate by group: bias (median actual/estimate), spread, overrun share, sample size."""
    from tools.agent_tools import views

    period = parse_period(args.period, env.today())
    if args.period and period is None:
        return f"Could not read the period {args.period!r}. Try 'last quarter', '2026-03' or 'Q1 2026'."

    def view() -> str:
        ws = env.workspace
        if any((args.project, args.assignee, args.tag, args.section, args.project_type)):
            ws = ws.model_copy(update={"tasks": tuple(_filtered(ws.tasks, args, None))})
        return views.variance_view(env, args, ws, period, _filters_line(args))

    return _with_analytics(view, lambda: _variance_builtin(env, args))


def _estimate_subject(env: ToolEnv, args: EstimateArgs) -> Task | str:
    ws = env.workspace
    if args.task_gid:
        found = _task_by_gid(ws, args.task_gid)
        if found is None:
            return f"estimate_task: no task with gid {args.task_gid}."
        if args.human_estimate_hours is not None:
            return found.model_copy(update={"estimate_hours": args.human_estimate_hours})
        return found
    if not args.title:
        return "estimate_task: give a task_gid or the title of a new task."
    matches = find_project(ws, args.project) if args.project else []
    project = matches[0] if matches else None
    person = find_person(ws, args.assignee) if args.assignee else []
    return Task(
        gid="new",
        name=args.title,
        notes=args.description or "",
        project_gid=project.gid if project else None,
        project_name=project.name if project else args.project,
        project_type=project.project_type if project else None,
        assignee_gid=person[0].gid if person else None,
        assignee_name=person[0].name if person else args.assignee,
        created_at=ws.as_of or datetime.now(UTC),
        estimate_hours=args.human_estimate_hours,
    )


def estimate_task(env: ToolEnv, args: EstimateArgs) -> str:
    """Point estimate, P10-P90 range and confidence, from similar tasks and track records."""
    from tools.agent_tools import views

    subject = _estimate_subject(env, args)
    if isinstance(subject, str):
        return subject
    task = subject

    def view() -> str | None:
        estimator = env.get_estimator()
        if estimator is None:
            return None
        est = estimator.predict(task, use_estimate=task.estimate_hours is not None)
        return views.estimate_view(task, est, task_ref(task))

    return _with_analytics(view, lambda: _estimate_task_builtin(env, args))


def anomalies(env: ToolEnv, args: AnomaliesArgs) -> str:
    """Suspicious time entries and tasks, scored, highest first."""
    from tools.agent_tools import views

    period = _period_or_default(args.period, env.today(), 90)
    return _with_analytics(
        lambda: views.anomalies_view(env, args, period), lambda: _anomalies_builtin(env, args)
    )


def capacity(env: ToolEnv, args: CapacityArgs) -> str:
    """Per person: planned load vs capacity for the coming weeks, recent hours, burnout signal."""
    from tools.agent_tools import views

    gids: set[str] | None = None
    if args.person:
        found = find_person(env.workspace, args.person)
        if not found:
            return f"capacity: nobody named {args.person!r}."
        gids = {p.gid for p in found}
    return _with_analytics(lambda: views.capacity_view(env, args, gids), lambda: _capacity_builtin(env, args))


def completion_forecast(env: ToolEnv, args: ForecastArgs) -> str:
    """Monte Carlo completion dates (P50/P80/P95) for one project."""
    from tools.agent_tools import views

    matches = find_project(env.workspace, args.project)
    if not matches:
        return f"completion_forecast: no project matches {args.project!r}."
    if len(matches) > 1:
        names = ", ".join(f"{untrusted(p.name, 40)} ({p.gid})" for p in matches[:TOP_N])
        return f"completion_forecast: {len(matches)} projects match {args.project!r}: {names}. Which one?"
    project = matches[0]
    return _with_analytics(
        lambda: views.forecast_view(env, project.gid, project.name),
        lambda: _completion_forecast_builtin(env, args),
    )


def billing_draft(env: ToolEnv, args: BillingArgs) -> str:
    """Billable hours and amounts for a period: a draft, nothing is sent."""
    from tools.agent_tools import views

    period = parse_period(args.period, env.today())
    if period is None:
        return f"billing_draft: could not read the period {args.period!r} (try 'March' or '2026-03')."
    return _with_analytics(
        lambda: views.billing_view(env, args, period), lambda: _billing_draft_builtin(env, args)
    )


def retrospective(env: ToolEnv, args: RetroArgs) -> str:
    """Period review: delivered vs estimated, bias and trend, scope creep, overhead, anomalies."""
    from tools.agent_tools import views

    period = parse_period(args.period, env.today())
    if period is None:
        return f"retrospective: could not read the period {args.period!r}."

    def view() -> str:
        ws = env.workspace
        if args.project:
            keep = {p.gid for p in find_project(ws, args.project)}
            ws = ws.model_copy(
                update={
                    "tasks": tuple(t for t in ws.tasks if t.project_gid in keep),
                    "entries": tuple(e for e in ws.entries if e.project_gid in keep),
                }
            )
        return views.retro_view(env, ws, period, args.project)

    return _with_analytics(view, lambda: _retrospective_builtin(env, args))
