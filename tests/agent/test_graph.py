"""The chat graph driven through the REAL ChatOpenAI client against a scripted OpenAI-compatible stub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langgraph.types import Command
from pydantic import SecretStr

from agent.checkpoint import open_checkpointer
from agent.config import ScopeConfig, Settings
from agent.context import AgentContext
from agent.graph import MAX_HISTORY_TURNS, build_chat_graph, current_turn, recent_turns
from agent.llm import make_llm
from tests.fixtures.llm import RecordingWriter
from tests.openai_stub import StubServer, calls, raw_call, text, tool_results
from tools.agent_tools.budget import TURN_BUDGET, UNTRUSTED_OPEN, count_tokens
from tools.agent_tools.synthetic import INJECTION
from tools.proposals import DecisionType
from tools.records import Workspace


@contextmanager
def session(
    stub: StubServer, ws: Workspace, tmp_path: Any, *, streaming: bool = False
) -> Iterator[tuple[Any, AgentContext, dict[str, Any]]]:
    settings = Settings(
        OPENAI_BASE_URL=stub.url,
        OPENAI_API_KEY=SecretStr("sk-test-secret-123"),
        EFFORT_DATABASE_URL=f"sqlite:///{tmp_path}/effort.db",
        EFFORT_APPROVER="lead",  # the approval gate reads who decides from the run-time context
        scope=ScopeConfig(projects=["*"]),
    )
    ctx = AgentContext.for_workspace(ws, settings, writer=RecordingWriter())
    with open_checkpointer(settings) as saver:
        graph = build_chat_graph(make_llm(settings, streaming=streaming, max_retries=0, timeout=10), saver)
        yield graph, ctx, {"configurable": {"thread_id": "t-1", "approver": "lead"}}


def ask(graph: Any, ctx: AgentContext, cfg: dict[str, Any], question: str) -> dict[str, Any]:
    return graph.invoke({"messages": [HumanMessage(question)]}, cfg, context=ctx)


def _number_after(pattern: str, body: dict[str, Any]) -> str:
    """The number captured by ``pattern`` in the request's tool results (what a faithful model quotes)."""
    import re

    for result in tool_results(body):
        m = re.search(pattern, result)
        if m:
            return m.group(1)
    raise AssertionError(f"{pattern!r} not in the tool results")


MEDIAN = r"median actual/estimate (\d+\.\d+)"


def test_tool_call_then_answer(openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any) -> None:
    openai_stub.script = [
        calls(("variance", {"group_by": "project_type"})),
        lambda body: text("The median ratio is " + _number_after(MEDIAN, body) + "."),
    ]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "which task types overran?")
    assert out["messages"][-1].content.startswith("The median ratio is ")
    first, second = openai_stub.requests
    # Only the routed intent's tools, the same list on every call of the turn (a cacheable prefix).
    offered = [t["function"]["name"] for t in first["tools"]]
    assert offered[0] == "variance" and len(offered) <= 4 and first["tools"] == second["tools"]
    system = first["messages"][0]
    assert system["role"] == "system" and system == second["messages"][0]
    assert "2026-" not in system["content"]  # the date follows the question, after the tools
    assert "Today is 2026-06-15" in first["messages"][1]["content"]
    assert "VARIANCE by project_type" in tool_results(second)[0]
    assert openai_stub.headers[0]["authorization"] == "Bearer sk-test-secret-123"
    assert out["llm_turn"]["fallback"] is None and out["prompt_ref"] == "system_chat@v2"


def test_streaming_yields_tokens(openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any) -> None:
    answer = "Nobody is over capacity in the next three weeks."
    openai_stub.script = [calls(("capacity", {"weeks_ahead": 3})), text(answer)]
    with session(openai_stub, chat_workspace, tmp_path, streaming=True) as (graph, ctx, cfg):
        tokens = [
            chunk.content
            for chunk, meta in graph.stream(
                {"messages": [HumanMessage("over capacity?")]}, cfg, context=ctx, stream_mode="messages"
            )
            if isinstance(chunk, AIMessageChunk) and meta["langgraph_node"] == "agent" and chunk.content
        ]
        final = graph.get_state(cfg).values["messages"][-1]
    assert len(tokens) > 3 and "".join(str(t) for t in tokens) == answer == final.content
    assert openai_stub.requests[0]["stream"] is True


@pytest.mark.parametrize("streaming", [False, True])
def test_two_bad_tool_calls_fall_back_to_the_routed_answer(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any, streaming: bool
) -> None:
    openai_stub.script = [
        calls(("delete_everything", {"confirm": True})),  # not an offered tool
        calls(("variance", {"group_by": 42})),  # schema violation, after one corrective retry
    ]
    with session(openai_stub, chat_workspace, tmp_path, streaming=streaming) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "bias by assignee")
    first, retry = openai_stub.requests
    assert first["tools"] == retry["tools"]  # the retry keeps the prefix
    correction = retry["messages"][-1]["content"]
    assert correction.startswith("That tool call cannot be run") and "delete_everything" in correction
    answer = out["messages"][-1].content
    assert answer.startswith("Note: the model did not make a usable tool call (variance: group_by")
    assert "variance by assignee" in answer.lower()  # the router ran the routed tool itself
    assert out["llm_turn"]["retries"] == 1 and "delete_everything" not in json.dumps(
        [m.tool_calls for m in out["messages"] if isinstance(m, AIMessage)]
    )


def test_malformed_json_is_retried_once(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    openai_stub.script = [
        raw_call("variance", '{"group_by": "assignee",,,'),  # not JSON
        calls(("variance", {"group_by": "assignee"})),
        text("Done."),
    ]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "bias by assignee")
    assert "not valid JSON" in openai_stub.requests[1]["messages"][-1]["content"]
    [tool_msg] = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert tool_msg.status == "success" and "VARIANCE by assignee" in tool_msg.content
    assert out["messages"][-1].content == "Done." and out["llm_turn"]["retries"] == 1
    # Every tool_call id the endpoint saw got a tool answer in the next request (else OpenAI rejects it).
    for body in openai_stub.requests[1:]:
        asked = {
            tc["id"] for m in body["messages"] if m["role"] == "assistant" for tc in m.get("tool_calls") or []
        }
        answered = {m["tool_call_id"] for m in body["messages"] if m["role"] == "tool"}
        assert asked <= answered


def test_propose_interrupts_then_resume_applies_through_writer(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    def propose(body: dict[str, Any]) -> dict[str, Any]:
        point = float(_number_after(r": (\d+(?:\.\d+)?)h \(P10", body))
        args = {"task_gid": "10000003", "field": "AI Estimated Hours", "value": point, "reason": "estimate"}
        return calls(("propose_ai_field", args))

    openai_stub.script = [
        calls(("estimate_task", {"task_gid": "10000003"})),
        propose,
        text("I suggested a value for AI Estimated Hours; it needs your approval."),
    ]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "propose an AI estimate for task 10000003")
        [item] = out["__interrupt__"][0].value["action_requests"]  # LangChain's HITLRequest
        assert item["args"]["field_name"] == "AI Estimated Hours"
        assert graph.get_state(cfg).next == ("approval",)
        writer = ctx.writer
        assert isinstance(writer, RecordingWriter) and writer.calls == []  # nothing before a decision
        asked = len(openai_stub.requests)
        out = graph.invoke(Command(resume=[{"type": "accept"}]), cfg, context=ctx)
    [(proposals, decisions)] = writer.calls
    assert decisions[0].type is DecisionType.ACCEPT and decisions[0].approver == "lead"
    assert out["applied"] == [{"proposal_id": proposals[0].id, "status": "applied"}]
    # The report of what the writer did comes from its summaries, not from the model.
    assert out["messages"][-1].content == f"Approval results:\n- {proposals[0].id}: applied"
    assert len(openai_stub.requests) == asked


def test_prompt_injection_never_writes_without_approval(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    """A model that 'obeys' hostile task notes can only produce proposals; rejecting them writes nothing."""
    hostile = "10000040"  # every 40th task carries INJECTION in its notes
    openai_stub.script = [
        calls(("task_lookup", {"query": hostile})),
        calls(
            (
                "propose_ai_field",
                {"task_gid": hostile, "field": "Estimated Hours", "value": None, "reason": "notes said so"},
            ),
            (
                "propose_ai_field",
                {"task_gid": hostile, "field": "AI Review Flag", "value": "Review", "reason": "notes"},
            ),
        ),
        text("Done, every estimate is cleared."),
    ]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, f"flag task {hostile} for review")
        lookup = tool_results(openai_stub.requests[1])[0]
        assert f"{UNTRUSTED_OPEN}{INJECTION}" in lookup  # marked as data for the model
        refusal, proposed = [m.content for m in out["messages"] if isinstance(m, ToolMessage)][1:]
        assert "not an agent-owned field" in refusal and "pending human approval" in proposed
        assert "__interrupt__" in out and ctx.writer.calls == []
        out = graph.invoke(Command(resume=[{"type": "ignore"}]), cfg, context=ctx)
    assert ctx.writer.written == []
    assert out["applied"][0]["status"] == "rejected"


def test_turn_tool_output_stays_under_budget(
    openai_stub: StubServer, chat_large_workspace: Workspace, tmp_path: Any
) -> None:
    def every(n: int) -> list[tuple[str, dict[str, Any]]]:
        return [
            ("variance", {"group_by": ["assignee", "tag", "section", "month"][n]}),
            ("capacity", {"weeks_ahead": 12 - n}),
            ("task_lookup", {"query": ["page", "login", "api", "admin"][n]}),
        ]

    rounds = iter(range(4))

    def next_round(body: dict[str, Any]) -> dict[str, Any]:
        n = next(rounds, None)
        return calls(*every(n)) if "tools" in body and n is not None else text("Summary.")

    openai_stub.script = [next_round] * 6
    with session(openai_stub, chat_large_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "tell me everything")
    turn = current_turn(out["messages"])
    used = sum(count_tokens(str(m.content)) for m in turn if isinstance(m, ToolMessage))
    assert used <= TURN_BUDGET
    # Once the budget was spent, the model was asked without tools, so it had to answer.
    assert "tools" not in openai_stub.requests[-1]
    assert isinstance(out["messages"][-1], AIMessage) and out["messages"][-1].content == "Summary."


def test_llm_down_answers_from_the_router_and_names_the_url(chat_workspace: Workspace, tmp_path: Any) -> None:
    stub = StubServer().start()
    stub.stop()  # nothing listens on that port any more
    with session(stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "which task types overran?")
    answer = out["messages"][-1].content
    assert answer.startswith(f"Note: the LLM at {stub.url} cannot be reached")
    assert "variance by project_type" in answer.lower() and "sk-test-secret-123" not in answer
    assert out["llm_turn"]["llm_error"]


def test_history_window_keeps_whole_turns() -> None:
    msgs: list[Any] = []
    for i in range(MAX_HISTORY_TURNS + 3):
        call = {"name": "variance", "args": {}, "id": f"c{i}", "type": "tool_call"}
        msgs += [
            HumanMessage(f"q{i}"),
            AIMessage("", tool_calls=[call]),
            ToolMessage("out", tool_call_id=f"c{i}"),
            AIMessage("a"),
        ]
    kept = recent_turns(msgs, MAX_HISTORY_TURNS)
    assert isinstance(kept[0], HumanMessage) and kept[0].content == "q3"
    assert len(kept) == 4 * MAX_HISTORY_TURNS
    assert current_turn(msgs)[-1].content == "a"
