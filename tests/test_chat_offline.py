"""Offline mode: the common questions answered through the same tools, numbers only from tool output."""

from __future__ import annotations

import re
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from agent.context import AgentContext
from agent.graph import build_chat_graph
from agent.offline import OFFLINE_NOTE, SUPPORTED_QUESTIONS, route
from tools.agent_tools.budget import TURN_BUDGET, count_tokens

COMMON = [
    ("Which task types overran last quarter?", "variance", "VARIANCE by project_type | period Q1 2026"),
    ("Show the estimation bias by assignee", "variance", "VARIANCE by assignee"),
    ("bias by tag in March", "variance", "VARIANCE by tag | period 2026-03"),
    ("Is anyone over capacity in the next 3 weeks?", "capacity", "CAPACITY next 3 weeks"),
    ("When will Website Redesign finish?", "completion_forecast", "FORECAST"),
    (
        "Draft March's invoice for Acme",
        "billing_draft",
        "BILLING DRAFT (not sent) 2026-03 (2026-03-01..2026-03-31) | client=Acme",
    ),
    ("Estimate for Fix login page", "estimate_task", "ESTIMATE for new"),
    ("estimate for task 10000003", "estimate_task", "ESTIMATE for 10000003"),
    ("Similar tasks to checkout flow", "similar_tasks", "SIMILAR completed tasks"),
    ("Any suspicious time entries last month?", "anomalies", "ANOMALIES | period 2026-05"),
    ("Retro for last month", "retrospective", "RETROSPECTIVE 2026-05"),
    ("find task login page", "task_lookup", "TASKS matching"),
]

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _ask(graph: Any, ctx: AgentContext, question: str, thread: str = "t") -> dict[str, Any]:
    cfg = {"configurable": {"thread_id": thread, "approver": "lead"}}
    return graph.invoke({"messages": [HumanMessage(question)]}, cfg, context=ctx)


@pytest.fixture
def offline_graph() -> Any:
    return build_chat_graph(None, InMemorySaver())


@pytest.mark.parametrize(("question", "tool", "marker"), COMMON)
def test_common_questions(
    offline_graph: Any, chat_ctx: AgentContext, question: str, tool: str, marker: str
) -> None:
    out = _ask(offline_graph, chat_ctx, question)
    answer = out["messages"][-1].content
    tool_msgs = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in tool_msgs] == [tool]
    assert answer.startswith(OFFLINE_NOTE) and marker in answer
    outputs = "\n".join(str(m.content) for m in tool_msgs)
    # Every number in the answer comes from the tool output.
    assert set(_NUMBER.findall(answer)) <= set(_NUMBER.findall(outputs))
    assert sum(count_tokens(str(m.content)) for m in tool_msgs) <= TURN_BUDGET


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        ("hello there", "Offline, I can answer questions like"),
        ("when will the project finish?", "Which project?"),
        ("draft an invoice for Acme", "For which period?"),
        ("draft the March invoice", "For which client?"),
        ("propose an AI estimate for task login", "Which one (gid)?"),
    ],
)
def test_ambiguous_questions_get_a_clarifying_answer(
    offline_graph: Any, chat_ctx: AgentContext, question: str, needle: str
) -> None:
    out = _ask(offline_graph, chat_ctx, question)
    assert needle in out["messages"][-1].content
    assert not any(isinstance(m, ToolMessage) for m in out["messages"])


def test_offline_proposal_goes_through_the_approval_gate(offline_graph: Any, chat_ctx: AgentContext) -> None:
    cfg = {"configurable": {"thread_id": "p", "approver": "lead"}}
    out = offline_graph.invoke(
        {"messages": [HumanMessage("Propose an AI estimate for task 10000003")]}, cfg, context=chat_ctx
    )
    assert [m.name for m in out["messages"] if isinstance(m, ToolMessage)] == [
        "estimate_task",
        "propose_ai_field",
    ]
    estimate = float(re.search(r"ESTIMATE for 10000003 .*?: ([\d.]+)h", out["messages"][2].content).group(1))  # type: ignore[union-attr]
    [p] = out["proposals"]
    assert p.field_name == "AI Estimated Hours" and p.value == estimate
    assert "__interrupt__" in out and "Nothing is written until" in out["messages"][-1].content
    assert chat_ctx.writer.calls == []
    out = offline_graph.invoke(Command(resume=[{"type": "accept"}]), cfg, context=chat_ctx)
    assert chat_ctx.writer.written == [p.id]
    assert f"{p.id}: applied" in out["messages"][-1].content


def test_offline_comment_proposal(offline_graph: Any, chat_ctx: AgentContext) -> None:
    out = _ask(offline_graph, chat_ctx, "Propose a comment on task 10000003: Please log your hours.")
    assert out["proposals"][0].text == "Please log your hours."


def test_supported_questions_route_to_a_tool(chat_ctx: AgentContext) -> None:
    for question, _ in SUPPORTED_QUESTIONS:
        if "<" in question:
            continue
        plan = route(question, chat_ctx)
        assert plan.calls, question
