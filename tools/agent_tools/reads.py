"""Read reports behind the chat tools: compact text aggregates over a Workspace, bounded in size.

Each function takes a ``ToolEnv`` (the runtime context) and a pydantic argument model and returns a
short text block: a header with the filters and sample sizes, top-N rows, "… and N more", and task
links. Task names and notes only ever appear wrapped by ``untrusted()``. The analytics modules
(tools/analytics) do the computing; ``views`` renders their results. This module resolves the
arguments (periods, filters, names) and turns a failing analysis into a one-line tool message.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from tools.agent_tools import views
from tools.agent_tools.budget import TOP_N, compact_json, more_line, top_n, untrusted
from tools.agent_tools.common import (
    find_person,
    find_project,
    h,
    match_name,
    norm,
    task_ref,
    words,
)
from tools.config_types import RuntimeSettings
from tools.periods import Period, PeriodError, find_period, parse_period
from tools.records import Task, Workspace
from tools.redact import Redactor


class ToolEnv(Protocol):
    """What a read tool needs from the runtime context (agent/context.py's AgentContext)."""

    @property
    def settings(self) -> RuntimeSettings: ...

    index: Any
    estimator: Any

    @property
    def workspace(self) -> Workspace: ...

    def today(self) -> date: ...

    def get_estimator(self) -> Any: ...

    def get_frame(self) -> Any: ...

    def freshness(self) -> str: ...


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
    client: str | None = Field(None, description="Only tasks of projects of this client.")
    top_n: int = Field(TOP_N, ge=1, le=25, description="Groups to show.")


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
    kind: (
        Literal[
            "weekend",
            "duplicate",
            "implausible_duration",
            "future_date",
            "variance",
            "pace",
            "holiday",
            "missing_log",
        ]
        | None
    ) = Field(None, description="Only flags of this kind (weekend, duplicate, future_date, ...).")


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


def read_period(text: str | None, today: date) -> Period | None:
    """A period argument: the whole value by the grammar ("May", "last month"), else the first period
    inside it ("hours in May 2026"), else None. A senseless one ("2026-13") raises PeriodError."""
    if not text:
        return None
    try:
        return parse_period(text, today)
    except PeriodError:
        return find_period(text, today)


def _period_or_default(text: str | None, today: date, days: int) -> Period:
    parsed = read_period(text, today)
    return parsed or Period(start=today - timedelta(days=days), end=today, label=f"last {days} days")


def _filtered(
    tasks: Iterable[Task], args: VarianceArgs, period: Period | None, clients: dict[str, str | None]
) -> list[Task]:
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
        if args.client and norm(clients.get(t.project_gid or "")) != norm(args.client):
            continue
        out.append(t)
    return out


def _filters_line(args: BaseModel) -> str:
    parts = [
        f"{k}={v}" for k, v in args.model_dump(exclude_none=True).items() if k not in ("group_by", "top_n")
    ]
    return ", ".join(parts) or "none"


# --- similar tasks ---------------------------------------------------------------------


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
    getter = getattr(env, "get_index", None)
    index = getter() if callable(getter) else env.index
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


# --- public tool functions: each runs one analytics view (tools/agent_tools/views.py) --------------

_DB_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")


def _failure_line(env: ToolEnv, exc: BaseException) -> str:
    """Exception type and the first line of its message, with secrets (tokens, DB password) masked."""
    first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    detail = _DB_PASSWORD.sub(r"\1***@", Redactor(env.settings.secrets())(first))[:160]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _run_view(env: ToolEnv, tool: str, view: Callable[[], str]) -> str:
    """Run one analytics view; if the analysis raises, log it and answer with a one-line failure.

    A failing analysis must not end the chat turn: the model (or the offline router) gets a short,
    clear tool message instead of numbers, and can say so or try other arguments.
    """
    try:
        return view()
    except Exception as exc:
        # The traceback is redacted here too: a root-logger filter is not installed everywhere (tests).
        redact = Redactor(env.settings.secrets())
        trace = _DB_PASSWORD.sub(r"\1***@", redact("".join(traceback.format_exception(exc))))
        log.warning("%s: analysis failed\n%s", tool, trace)
        return (
            f"{tool}: the analysis failed ({_failure_line(env, exc)}). No numbers are available from "
            "this tool for this request; try other arguments or a different question."
        )


def variance(env: ToolEnv, args: VarianceArgs) -> str:
    """Actual vs estimate by group: bias (median actual/estimate), spread, overrun share, sample size."""
    period = read_period(args.period, env.today())
    if args.period and period is None:
        return f"Could not read the period {args.period!r}. Try 'last quarter', '2026-03' or 'Q1 2026'."

    def view() -> str:
        ws = env.workspace
        if args.client and not any(norm(p.client) == norm(args.client) for p in ws.projects):
            return f"variance: no client matches {args.client!r}; nothing was computed."
        if args.assignee and not find_person(ws, args.assignee):
            return f"variance: no person matches {args.assignee!r}; nothing was computed."
        if any((args.project, args.assignee, args.tag, args.section, args.project_type, args.client)):
            clients = {p.gid: p.client for p in ws.projects}
            ws = ws.model_copy(update={"tasks": tuple(_filtered(ws.tasks, args, None, clients))})
        return views.variance_view(env, args, ws, period, _filters_line(args))

    return _run_view(env, "variance", view)


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
    subject = _estimate_subject(env, args)
    if isinstance(subject, str):
        return subject
    task = subject

    def view() -> str:
        estimator = env.get_estimator()
        if estimator is None:
            return "estimate_task: no estimator is available (no completed history to learn from)."
        est = estimator.predict(task, use_estimate=task.estimate_hours is not None)
        ref = task_ref(task) if task.gid != "new" else f"a new task {untrusted(task.name, 80)}"
        return views.estimate_view(task, est, ref)

    return _run_view(env, "estimate_task", view)


def anomalies(env: ToolEnv, args: AnomaliesArgs) -> str:
    """Suspicious time entries and tasks, scored, highest first."""
    today = env.today()
    if args.kind == "future_date" and not args.period:  # future-dated entries lie after today
        period = Period(
            start=today - timedelta(days=90), end=today + timedelta(days=366), label="from 90 days ago on"
        )
    else:
        period = _period_or_default(args.period, today, 90)
    return _run_view(env, "anomalies", lambda: views.anomalies_view(env, args, period))


def capacity(env: ToolEnv, args: CapacityArgs) -> str:
    """Per person: planned load vs capacity for the coming weeks, recent hours, burnout signal.

    Planned load includes Asana allocations and capacity excludes OOO / time off; people with either
    get one extra compact line each (allocated hours, weeks off), so the answer can say why a week is over.
    """
    gids: set[str] | None = None
    if args.person:
        found = find_person(env.workspace, args.person)
        if not found:
            return f"capacity: nobody named {args.person!r}."
        gids = {p.gid for p in found}
    return _run_view(env, "capacity", lambda: views.capacity_view(env, args, gids))


def completion_forecast(env: ToolEnv, args: ForecastArgs) -> str:
    """Monte Carlo completion dates (P50/P80/P95) for one project."""
    matches = find_project(env.workspace, args.project)
    if not matches:
        return f"completion_forecast: no project matches {args.project!r}."
    if len(matches) > 1:
        names = ", ".join(f"{untrusted(p.name, 40)} ({p.gid})" for p in matches[:TOP_N])
        return f"completion_forecast: {len(matches)} projects match {args.project!r}: {names}. Which one?"
    project = matches[0]
    return _run_view(env, "completion_forecast", lambda: views.forecast_view(env, project.gid, project.name))


def billing_draft(env: ToolEnv, args: BillingArgs) -> str:
    """Billable hours and amounts for a period: a draft, nothing is sent."""
    period = read_period(args.period, env.today())
    if period is None:
        return f"billing_draft: could not read the period {args.period!r} (try 'March' or '2026-03')."
    return _run_view(env, "billing_draft", lambda: views.billing_view(env, args, period))


def retrospective(env: ToolEnv, args: RetroArgs) -> str:
    """Period review: delivered vs estimated, bias and trend, scope creep, overhead, anomalies."""
    period = read_period(args.period, env.today())
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

    return _run_view(env, "retrospective", view)
