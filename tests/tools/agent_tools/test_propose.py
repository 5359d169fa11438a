"""Propose tools: they add a Proposal to state (via Command) and never write; bad input is refused."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.graph import START, StateGraph
from langgraph.prebuilt import ToolNode

from agent.config import Phase, Settings
from agent.context import AgentContext
from agent.state import ChatState
from tools.agent_tools import propose_tools
from tools.proposals import ProposalKind
from tools.records import Workspace


def _run(ctx: AgentContext, name: str, args: dict[str, Any]) -> dict[str, Any]:
    graph = StateGraph(ChatState, context_schema=AgentContext)
    graph.add_node("tools", ToolNode(propose_tools(), handle_tool_errors=True))
    graph.add_edge(START, "tools")
    app = graph.compile()
    call = {"name": name, "args": args, "id": "c1", "type": "tool_call"}
    return app.invoke({"messages": [AIMessage("", tool_calls=[call])]}, context=ctx)


def test_propose_ai_field_adds_a_proposal(chat_ctx: AgentContext) -> None:
    out = _run(
        chat_ctx,
        "propose_ai_field",
        {"task_gid": "10000003", "field": "AI Estimated Hours", "value": "7.5", "reason": "r"},
    )
    [p] = out["proposals"]
    assert p.kind is ProposalKind.SET_FIELD and p.field_name == "AI Estimated Hours" and p.value == 7.5
    msg = out["messages"][-1]
    assert isinstance(msg, ToolMessage) and "pending human approval" in msg.content and p.id in msg.content


@pytest.mark.parametrize("field", ["Estimated Hours", "Actual Hours", "name", "due_on"])
def test_human_fields_get_a_clear_refusal(chat_ctx: AgentContext, field: str) -> None:
    out = _run(
        chat_ctx, "propose_ai_field", {"task_gid": "10000003", "field": field, "value": 0, "reason": "x"}
    )
    assert not out.get("proposals")
    assert "not an agent-owned field" in out["messages"][-1].content


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("AI Estimated Hours", "lots", "not a number"),
        ("AI Estimated Hours", -3, "outside the plausible range"),
        ("AI Estimated Hours", float("nan"), "outside the plausible range"),
        ("AI Forecast Confidence", 500, "outside the plausible range [0, 100]"),
        ("AI Review Flag", "Maybe", "takes one of"),
    ],
)
def test_bad_values_are_refused(chat_ctx: AgentContext, field: str, value: object, needle: str) -> None:
    out = _run(
        chat_ctx, "propose_ai_field", {"task_gid": "10000003", "field": field, "value": value, "reason": "x"}
    )
    assert not out.get("proposals") and needle in out["messages"][-1].content


def test_unknown_task_is_refused(chat_ctx: AgentContext) -> None:
    out = _run(chat_ctx, "propose_comment", {"task_gid": "999", "text": "hi"})
    assert not out.get("proposals") and "no task with gid" in out["messages"][-1].content


def test_comment_and_subtask(chat_ctx: AgentContext) -> None:
    out = _run(chat_ctx, "propose_comment", {"task_gid": "10000003", "text": "Please log time."})
    assert out["proposals"][0].kind is ProposalKind.COMMENT
    out = _run(chat_ctx, "propose_approval_subtask", {"task_gid": "10000003", "title": "Approve re-estimate"})
    [p] = out["proposals"]
    project = next(pr for pr in chat_ctx.workspace.projects if pr.gid == p.project_gid)
    assert p.kind is ProposalKind.SUBTASK and p.assignee_gid == project.owner_gid and p.significant


def test_insight_phase_refuses_every_proposal(chat_workspace: Workspace) -> None:
    ctx = AgentContext.for_workspace(chat_workspace, Settings(EFFORT_PHASE=Phase.INSIGHT))
    out = _run(
        ctx,
        "propose_ai_field",
        {"task_gid": "10000003", "field": "AI Estimated Hours", "value": 3, "reason": "x"},
    )
    assert not out.get("proposals") and "insight" in out["messages"][-1].content


def test_archived_or_out_of_scope_projects_are_refused(chat_ctx: AgentContext) -> None:
    task = next(t for t in chat_ctx.workspace.tasks if t.gid == "10000003")
    ws = chat_ctx.workspace
    archived = [p.model_copy(update={"archived": p.gid == task.project_gid}) for p in ws.projects]
    ctx = AgentContext.for_workspace(ws.model_copy(update={"projects": tuple(archived)}), chat_ctx.settings)
    args = {"task_gid": task.gid, "field": "AI Estimated Hours", "value": 5, "reason": "r"}
    out = _run(ctx, "propose_ai_field", args)
    assert not out.get("proposals") and "outside the scope" in out["messages"][-1].content

    scoped = chat_ctx.settings.model_copy(
        update={"scope": type(chat_ctx.settings.scope)(projects=["some other project"])}
    )
    out = _run(AgentContext.for_workspace(ws, scoped), "propose_ai_field", args)
    assert not out.get("proposals") and "outside the configured scope" in out["messages"][-1].content

    out = _run(AgentContext.for_workspace(ws, chat_ctx.settings), "propose_ai_field", args)
    [p] = out["proposals"]
    assert p.evidence["before"] == task.ai_fields.get("AI Estimated Hours")  # the writer's stale check
