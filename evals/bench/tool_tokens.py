"""Chat tool output per turn (cl100k tokens) at 100, 10k and 100k tasks: the 3,000-token quality bar.

Runs real turns through the chat graph (budget wrapper included): the offline router on the common
questions, and a worst case where a scripted model calls every read tool three times in one turn.
``python -m evals.bench.tool_tokens [--sizes 100 10000 100000]`` prints a table and JSON.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import AgentContext
from agent.graph import build_chat_graph, current_turn
from tools._offline import configure_offline_environment
from tools.agent_tools import run_read
from tools.agent_tools.budget import TURN_BUDGET, count_tokens
from tools.agent_tools.synthetic import synthetic_workspace

QUESTIONS = [
    "Which task types overran last quarter?",
    "Show the estimation bias by assignee",
    "Is anyone over capacity in the next 3 weeks?",
    "When will Website Redesign finish?",
    "Draft March's invoice for Acme",
    "Estimate for Fix login page",
    "Similar tasks to checkout flow",
    "Any suspicious time entries last month?",
    "Retro for last month",
    "find task login page",
    "How many hours did Person 3 log last month, by project?",
    "billable hours by client this quarter vs last quarter",
    "how many tasks did we complete last month per person?",
    "which project is most likely to miss its deadline?",
]
EVERY_TOOL: list[tuple[str, dict[str, Any]]] = [
    ("variance", {"group_by": "assignee"}),
    ("estimate_task", {"title": "Fix login page"}),
    ("similar_tasks", {"query": "login page", "k": 10}),
    ("anomalies", {}),
    ("capacity", {"weeks_ahead": 12}),
    ("completion_forecast", {"project": "Website Redesign"}),
    ("billing_draft", {"period": "2026-03"}),
    ("retrospective", {"period": "Q1 2026"}),
    ("task_lookup", {"query": "page"}),
    ("time_logged", {"group_by": "task", "top_n": 25}),
    ("task_counts", {"status": "open", "group_by": "person", "top_n": 25}),
    ("at_risk_projects", {"top_n": 15}),
]


class _ScriptedModel(BaseChatModel):
    """A chat model that replays AIMessages (no network), for the worst-case turn."""

    script: list[AIMessage]

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        message = self.script.pop(0) if self.script else AIMessage(content="done")
        return ChatResult(generations=[ChatGeneration(message=message)])

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self

    @property
    def _llm_type(self) -> str:
        return "scripted"


def _turn_tokens(out: dict[str, Any]) -> int:
    return sum(
        count_tokens(str(m.content)) for m in current_turn(out["messages"]) if isinstance(m, ToolMessage)
    )


def measure(n_tasks: int) -> dict[str, Any]:
    """Token figures for one workspace size."""
    started = time.perf_counter()
    ws = synthetic_workspace(n_tasks, seed=3)
    build_s = time.perf_counter() - started
    ctx = AgentContext.for_workspace(ws)
    offline = build_chat_graph(None, InMemorySaver())
    per_question: dict[str, int] = {}
    turn_seconds: list[float] = []
    for i, question in enumerate(QUESTIONS):
        t0 = time.perf_counter()
        out = offline.invoke(
            {"messages": [HumanMessage(question)]}, {"configurable": {"thread_id": f"q{i}"}}, context=ctx
        )
        turn_seconds.append(time.perf_counter() - t0)
        per_question[question] = _turn_tokens(out)
    # Uncapped size of each report: what the budget saves at this workspace size.
    raw = {name: count_tokens(run_read(name, ctx, args)) for name, args in EVERY_TOOL}
    rounds = [
        AIMessage(
            content="",
            tool_calls=[
                {"name": n, "args": a, "id": f"r{r}_{i}", "type": "tool_call"}
                for i, (n, a) in enumerate(EVERY_TOOL)
            ],
        )
        for r in range(3)
    ]
    worst_graph = build_chat_graph(
        _ScriptedModel(script=[*rounds, AIMessage(content="summary")]), InMemorySaver()
    )
    t0 = time.perf_counter()
    out = worst_graph.invoke(
        {"messages": [HumanMessage("everything")]}, {"configurable": {"thread_id": "w"}}, context=ctx
    )
    worst_s = time.perf_counter() - t0
    worst = _turn_tokens(out)
    typical = list(per_question.values())
    return {
        "tasks": n_tasks,
        "entries": len(ws.entries),
        "max_tokens": max([*typical, worst]),
        "typical_turn_max_tokens": max(typical),
        "typical_turn_mean_tokens": round(sum(typical) / len(typical), 1),
        "worst_case_turn_tokens": worst,
        "worst_case_tool_calls": 3 * len(EVERY_TOOL),
        "per_question_tokens": per_question,
        "per_tool_tokens": raw,
        "typical_turn_seconds_max": round(max(turn_seconds), 3),
        "worst_case_turn_seconds": round(worst_s, 3),
        "workspace_build_seconds": round(build_s, 2),
        "budget": TURN_BUDGET,
    }


def run(sizes: Sequence[int] = (100, 10_000, 100_000)) -> dict[str, Any]:
    """Entry point for evals/bench/all.py."""
    configure_offline_environment()
    return {"sizes": [measure(n) for n in sizes], "budget": TURN_BUDGET}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000, 100_000])
    parser.add_argument("--json", action="store_true", help="print the raw JSON only")
    args = parser.parse_args(argv)
    result = run(args.sizes)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{'tasks':>8} | {'typical max':>11} | {'typical mean':>12} | {f'worst case ({3 * len(EVERY_TOOL)} calls)':>21} | {'budget':>6} | worst-case s"
    )
    for r in result["sizes"]:
        print(
            f"{r['tasks']:>8} | {r['typical_turn_max_tokens']:>11} | {r['typical_turn_mean_tokens']:>12} | "
            f"{r['worst_case_turn_tokens']:>21} | {r['budget']:>6} | {r['worst_case_turn_seconds']}"
        )
    print(json.dumps({str(r["tasks"]): r["per_tool_tokens"] for r in result["sizes"]}))


if __name__ == "__main__":
    main()
