"""The read tools' table: name, function, argument schema, description. No LangChain here, so a
one-question process (offline ``effort ask``) can run a read tool without importing it; catalog.py
wraps the same rows as LangChain tools for the graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from tools.agent_tools import budget_status, reads, timelog
from tools.agent_tools.budget import count_tokens, fit, tool_budget

READS: list[tuple[str, Callable[[Any, Any], str], type[BaseModel], str]] = [
    (
        "variance",
        reads.variance,
        reads.VarianceArgs,
        "Estimate vs actual for completed tasks, grouped by project_type, assignee, tag, section, month or "
        "project, with filters and a period: bias (median actual/estimate), spread, overrun share, sizes, "
        "and the largest overruns with links. Use for 'which task types overran', 'bias by assignee'.",
    ),
    (
        "estimate_task",
        reads.estimate_task,
        reads.EstimateArgs,
        "Estimate hours for an existing task (task_gid) or a new task (title): point, P10-P90 range, "
        "confidence and evidence (similar past tasks, the assignee's bias).",
    ),
    (
        "similar_tasks",
        reads.similar_tasks,
        reads.SimilarArgs,
        "Completed tasks most similar to a text or a task, with their estimate and actual hours.",
    ),
    (
        "anomalies",
        reads.anomalies,
        reads.AnomaliesArgs,
        "Suspicious time entries and tasks (implausible durations, future or weekend dates, duplicates, "
        "large overruns), scored, highest first.",
    ),
    (
        "capacity",
        reads.capacity,
        reads.CapacityArgs,
        "Per-person load for the next weeks: remaining estimates due and Asana allocations vs capacity "
        "(less out-of-office and time off), recent logged hours, over-capacity and sustained-overload flags.",
    ),
    (
        "completion_forecast",
        reads.completion_forecast,
        reads.ForecastArgs,
        "When will a project finish: Monte Carlo P50/P80/P95 dates from remaining work and historical "
        "actual/estimate ratios; at risk when P80 is after the due date.",
    ),
    (
        "billing_draft",
        reads.billing_draft,
        reads.BillingArgs,
        "Draft invoice lines for a client or project and period: billable hours by project and task, "
        "rates, totals to the minute. A draft only; nothing is sent.",
    ),
    (
        "retrospective",
        reads.retrospective,
        reads.RetroArgs,
        "Retrospective for a period: delivered vs estimated, bias by type and its trend, scope creep, "
        "admin overhead, largest overruns.",
    ),
    (
        "task_lookup",
        reads.task_lookup,
        reads.LookupArgs,
        "Find tasks by gid or by words of their name; a gid gives the task's details.",
    ),
]


READS += [
    (
        "time_logged",
        timelog.time_logged,
        timelog.TimeLoggedArgs,
        "Hours logged from time entries, filtered by person, project, client, tag, section, project type, "
        "task and period, optionally billable or non-billable only, grouped (person, project, client, tag, "
        "section, task, month, week, day) and compared with another period. Use for 'hours Ana logged last "
        "week', 'billable hours for Acme in October', 'what did Ben work on', 'hours this month vs last'.",
    ),
    (
        "task_counts",
        timelog.task_counts,
        timelog.TaskCountArgs,
        "Count tasks completed or created in a period, or open or overdue now, with the same filters, grouped "
        "and compared with another period.",
    ),
    (
        "open_work",
        timelog.open_work,
        timelog.OpenWorkArgs,
        "Estimated work still open: estimated hours of open tasks, what remains after hours already logged, "
        "open tasks without an estimate; filtered and grouped.",
    ),
    (
        "overhead",
        timelog.overhead_trend,
        timelog.OverheadArgs,
        "Admin overhead (meetings, admin, internal) month over month: overhead hours, all hours, share.",
    ),
    (
        "at_risk_projects",
        timelog.at_risk_projects,
        timelog.RiskArgs,
        "Projects ranked by the chance of missing their due date (Monte Carlo), with P50/P80 dates.",
    ),
    (
        "budget_status",
        budget_status.budget_status,
        budget_status.BudgetArgs,
        "Budgets (Asana's, or from the config): for one project, or the projects over or forecast to overrun: "
        "budget, spent, left, burn per week, total at completion P50/P80 and the date the budget runs out.",
    ),
]

READ_TOOL_NAMES = frozenset(name for name, *_ in READS)


def with_freshness(env: Any, text: str) -> str:
    """Every read tool's output ends with the one "today" and when the data was last synced."""
    freshness = getattr(env, "freshness", None)
    return f"{text}\n{freshness()}" if callable(freshness) else text


def run_read(name: str, env: Any, args: dict[str, Any]) -> str:
    """Run one read tool directly (offline answers, benchmarks), with the same per-tool budget."""
    for tool_name, fn, schema, _ in READS:
        if tool_name == name:
            return bounded(name, with_freshness(env, fn(env, schema(**args))))
    raise KeyError(name)


def bounded(name: str, text: str) -> str:
    """Cut to the tool's budget, keeping the last line (the dates and freshness) when there is room."""
    budget = tool_budget(name)
    if count_tokens(text) <= budget:
        return text
    head, _, last = text.rpartition("\n")
    tail = f"\n{last}" if last.startswith("dates:") else ""
    return fit(head if tail else text, budget - count_tokens(tail)) + tail
