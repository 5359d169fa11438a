"""The read tools as LangChain tools: pydantic argument schemas, LLM-facing docstrings, bounded output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel

from tools.agent_tools import reads
from tools.agent_tools.budget import fit, tool_budget

_READS: list[tuple[str, Callable[[Any, Any], str], type[BaseModel], str]] = [
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


def _bind(name: str, fn: Callable[[Any, Any], str], schema: type[BaseModel]) -> Callable[..., str]:
    def run(runtime: ToolRuntime[Any, Any], **kwargs: Any) -> str:
        return fit(fn(runtime.context, schema(**kwargs)), tool_budget(name))

    run.__name__ = name
    return run


def read_tools() -> list[BaseTool]:
    """The typed read tools, each answering with a compact, token-bounded text aggregate."""
    return [
        StructuredTool.from_function(
            func=_bind(name, fn, schema), name=name, description=desc, args_schema=schema
        )
        for name, fn, schema, desc in _READS
    ]


def run_read(name: str, env: Any, args: dict[str, Any]) -> str:
    """Run one read report directly (benchmarks), with the same per-tool budget."""
    for tool_name, fn, schema, _ in _READS:
        if tool_name == name:
            return fit(fn(env, schema(**args)), tool_budget(name))
    raise KeyError(name)


READ_TOOL_NAMES = frozenset(name for name, *_ in _READS)
