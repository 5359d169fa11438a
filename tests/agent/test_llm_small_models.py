"""The LLM path built for small local models, driven through the REAL ChatOpenAI client against the
scripted stub: text-form tool calls, checked numbers, the router's answer when the model fails, the
prompt's size and shape. Plus the pieces on their own: the text-call parser and the grounding rule."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from pydantic import SecretStr

from agent.checkpoint import open_checkpointer
from agent.config import ScopeConfig, Settings
from agent.context import AgentContext
from agent.graph import build_chat_graph
from agent.llm import endpoint_url, llm_error_text, make_llm
from agent.llm_node import DEFAULT_TOOLS, LLM_VIEW_TOKENS, llm_view
from agent.tool_calls import check_call, parse_text_calls
from prompts import load_prompt
from tests.fixtures.llm import RecordingWriter
from tests.openai_stub import StubServer, calls, failure, fenced_call, slow, tagged_call, text, tool_results
from tools.agent_tools import all_tools
from tools.agent_tools.budget import count_tokens
from tools.grounding import grounded, ungrounded_numbers
from tools.records import Workspace

SECRET = "sk-test-secret-123"


@contextmanager
def session(
    stub: StubServer, ws: Workspace, tmp_path: Any, *, timeout: float = 10, **settings: Any
) -> Iterator[tuple[Any, AgentContext, dict[str, Any]]]:
    s = Settings(
        OPENAI_BASE_URL=stub.url,
        OPENAI_API_KEY=SecretStr(SECRET),
        EFFORT_DATABASE_URL=f"sqlite:///{tmp_path}/effort.db",
        scope=ScopeConfig(projects=["*"]),
        **settings,
    )
    ctx = AgentContext.for_workspace(ws, s, writer=RecordingWriter())
    with open_checkpointer(s) as saver:
        graph = build_chat_graph(make_llm(s, streaming=True, max_retries=0, timeout=timeout), saver)
        yield graph, ctx, {"configurable": {"thread_id": "t-small", "approver": "lead"}}


def ask(graph: Any, ctx: AgentContext, cfg: dict[str, Any], question: str) -> dict[str, Any]:
    return graph.invoke({"messages": [HumanMessage(question)]}, cfg, context=ctx)


def _ratio(body: dict[str, Any]) -> str:
    """The overall median ratio from the variance result the model was sent."""
    import re

    m = re.search(r"median actual/estimate (\d+\.\d+)", tool_results(body)[0])
    assert m is not None
    return m.group(1)


# --- through the graph -------------------------------------------------------------------------------
@pytest.mark.parametrize("form", [fenced_call, tagged_call])
def test_a_call_written_as_text_is_parsed_checked_and_run(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any, form: Any
) -> None:
    openai_stub.script = [
        form("variance", {"group_by": "assignee"}),
        lambda body: text(f"Work ran at {_ratio(body)} times the estimate overall."),
    ]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "bias by assignee")
    [tool_msg] = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert tool_msg.name == "variance" and "VARIANCE by assignee" in tool_msg.content
    assert out["messages"][-1].content.startswith("Work ran at ")
    assert out["llm_turn"]["text_calls"] == 1 and out["llm_turn"]["fallback"] is None
    # What the model read back is its call as a proper tool call, answered by a tool message.
    second = openai_stub.requests[1]["messages"]
    assert second[-2]["tool_calls"][0]["function"]["name"] == "variance" and second[-1]["role"] == "tool"


def test_an_answer_with_numbers_not_in_the_tool_results_is_replaced(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    openai_stub.script = [
        calls(("variance", {"group_by": "project_type"})),
        text("Client builds overran by 73.4% on 1234 tasks."),
    ]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "which task types overran?")
    answer = out["messages"][-1].content
    assert answer.startswith(
        "Note: the model's answer stated numbers that are in no tool result (73.4%, 1234)"
    )
    assert "73.4" not in answer.split("\n", 1)[1] and "variance by project_type" in answer.lower()
    assert len(openai_stub.requests) == 2  # the tool ran once; the router reused its result


def test_an_answer_without_a_tool_gets_one_correction(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    openai_stub.script = [
        text("Person 3 is overloaded."),  # from memory
        calls(("capacity", {"weeks_ahead": 3})),
        text("Some people are over capacity."),
    ]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "who is over capacity?")
    correction = openai_stub.requests[1]["messages"][-1]["content"]
    assert "Answer from a tool result" in correction and "capacity" in correction
    assert out["messages"][-1].content == "Some people are over capacity."
    assert out["llm_turn"]["retries"] == 1


def test_an_invented_proposal_value_is_refused_until_a_tool_gives_it(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    invented = {"task_gid": "10000003", "field": "AI Estimated Hours", "value": 8.25, "reason": "feels right"}
    openai_stub.script = [calls(("propose_ai_field", invented)), text("I cannot say.")]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "propose an AI estimate for task 10000003")
    assert "the value 8.25 is not in any tool result" in openai_stub.requests[1]["messages"][-1]["content"]
    # The model gave up; the router estimated and proposed from the estimate instead.
    [proposal] = out["proposals"]
    assert proposal.value != 8.25 and out["llm_turn"]["fallback"].startswith("the model did not make")
    assert "__interrupt__" in out and ctx.writer.calls == []


def test_a_refusal_is_the_routers_and_never_reaches_the_model(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "Set Estimated Hours on task 10000003 to 5")
    assert openai_stub.requests == []
    assert "human-owned field" in out["messages"][-1].content and not out.get("proposals")


def test_a_question_the_router_does_not_know_gets_the_default_tools(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    openai_stub.script = [text("Hello! Ask me about estimates, capacity or forecasts.")]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "hello there")
    assert [t["function"]["name"] for t in openai_stub.requests[0]["tools"]] == list(DEFAULT_TOOLS)
    assert out["messages"][-1].content.startswith("Hello!")  # no number, no tool needed


def test_a_slow_model_past_the_timeout_gets_the_routers_answer(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    openai_stub.script = [slow(calls(("capacity", {"weeks_ahead": 3})), 3.0)]
    with session(openai_stub, chat_workspace, tmp_path, timeout=0.5) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "who is over capacity?")
    answer = out["messages"][-1].content
    assert answer.startswith(f"Note: the LLM at {openai_stub.url} did not answer within 120 s")
    assert "capacity" in answer.lower() and out["llm_turn"]["llm_error"]


def test_an_http_error_is_explained_without_the_key(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    openai_stub.script = [failure(401, f"bad key {SECRET}")]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "who is over capacity?")
    answer = out["messages"][-1].content
    assert "refused the API key (HTTP 401)" in answer and SECRET not in json.dumps(out["llm_turn"])
    assert SECRET not in answer


def test_the_prompt_is_small_static_and_has_no_quotable_phrases(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    openai_stub.script = [calls(("variance", {"group_by": "project_type"})), text("Fine.")]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        ask(graph, ctx, cfg, "which task types overran?")
    system = openai_stub.requests[0]["messages"][0]["content"]
    assert count_tokens(system) <= 800
    v1 = load_prompt("system_chat", 1).text  # still loadable
    assert "waiting for approval" in v1 and "waiting for approval" not in system and '"' not in system
    for body in openai_stub.requests:
        assert len(body.get("tools") or []) <= 4
        for message in body["messages"]:
            if message["role"] == "tool":  # what the model reads of a tool result: no links, bounded
                assert "https://" not in message["content"]
                assert count_tokens(message["content"]) <= LLM_VIEW_TOKENS + 20


def test_endpoint_errors_name_the_url_without_credentials() -> None:
    settings = Settings(OPENAI_BASE_URL="https://user:pw@llm.example.com:8443/v1?api-version=x&key=y")
    assert endpoint_url(settings) == "https://llm.example.com:8443/v1"
    text_ = llm_error_text(ConnectionError("boom"), settings)
    assert "https://llm.example.com:8443/v1" in text_ and "pw" not in text_ and "key=y" not in text_


def test_the_view_a_model_gets_drops_links_and_stays_bounded() -> None:
    raw = "row 10000303 https://app.asana.com/0/800023/10000303 +174%\n" * 200
    view = llm_view(raw)
    assert "https://" not in view and count_tokens(view) <= LLM_VIEW_TOKENS + 20 and "+174%" in view


# --- the text-call parser -----------------------------------------------------------------------------
NAMES = ["variance", "capacity"]


@pytest.mark.parametrize(
    "content",
    [
        '```json\n{"name": "capacity", "arguments": {"weeks_ahead": 3}}\n```',
        'I will check.\n```\n{"name": "capacity", "arguments": {"weeks_ahead": 3}}\n```',
        '<tool_call>\n{"name": "capacity", "arguments": {"weeks_ahead": 3}}\n</tool_call>',
        '<tool_call>{"name": "capacity", "arguments": {"weeks_ahead": 3}}',  # unclosed tag
        '{"name": "capacity", "arguments": "{\\"weeks_ahead\\": 3}"}',  # arguments as a JSON string
        "{'name': 'capacity', 'parameters': {'weeks_ahead': 3,},}",  # Python-ish, trailing commas
        '{"function": {"name": "capacity", "arguments": {"weeks_ahead": 3}}}',
    ],
)
def test_text_calls_in_the_forms_small_models_write(content: str) -> None:
    parsed = parse_text_calls(content, NAMES)
    assert [(c.name, c.args) for c in parsed.calls] == [("capacity", {"weeks_ahead": 3})]
    assert parsed.errors == []


@pytest.mark.parametrize(
    ("content", "found"),
    [
        ("Client builds overran the most.", False),
        ("```python\nprint(1)\n```", False),
        ('```json\n{"group": "support", "ratio": 1.02}\n```', False),  # JSON, but not a call
        ('```json\n{"name": "capacity", "arguments": {"weeks_ahead": 3,,}\n```', True),  # broken
        ('```json\n{"name": "capacity", "arguments": [3]}\n```', True),
    ],
)
def test_text_that_is_not_a_usable_call(content: str, found: bool) -> None:
    parsed = parse_text_calls(content, NAMES)
    assert parsed.calls == [] and bool(parsed.errors) is found


def test_calls_are_checked_against_the_offered_schema() -> None:
    offered = {t.name: t for t in all_tools() if t.name in NAMES}
    assert check_call("capacity", {"weeks_ahead": 3}, offered) is None
    assert "weeks_ahead" in str(check_call("capacity", {"weeks_ahead": 40}, offered))
    assert "not one of the tools offered" in str(check_call("billing_draft", {}, offered))


# --- the grounding rule --------------------------------------------------------------------------------
EVIDENCE = [
    "overall: median actual/estimate 1.39 (90% interval 1.26-1.47), overrun share 84%, actual 3,150.1h",
    "FORECAST P80 2026-09-14; task 10000303 https://app.asana.com/0/800023/10000303",
]


@pytest.mark.parametrize(
    "answer",
    [
        "Work took 1.39x the estimate; 84% of tasks overran.",
        "About 1.4 times the estimate, 39% over, 3150h logged.",  # rounded, ratio as percent
        "1. Client build\n2. Support",  # list markers are not claims
        "See task 10000303 (https://app.asana.com/0/800023/10000303); P80 is 2026-09-14.",
    ],
)
def test_grounded_answers(answer: str) -> None:
    assert grounded(answer, EVIDENCE)


@pytest.mark.parametrize(
    ("answer", "bad"),
    [
        ("Work took 1.8x the estimate.", ["1.8"]),
        ("84% overran, 12 tasks late.", ["12"]),
        ("It finishes on 2026-09-15.", ["2026-09-15"]),
        ("Overran by 45%.", ["45%"]),
    ],
)
def test_ungrounded_answers_name_the_numbers(answer: str, bad: list[str]) -> None:
    assert ungrounded_numbers(answer, EVIDENCE) == bad


# --- what a person sees ---------------------------------------------------------------------------------
def _shown(renderable: Any) -> str:
    from rich.console import Console

    console = Console(width=160, record=True, force_terminal=False)
    console.print(renderable)
    return console.export_text()


def test_tool_text_is_shown_as_a_table_with_task_names() -> None:
    from agent.cli.chat_view import render_answer

    tool_text = (
        "VARIANCE by project_type | period Q1 2026 | 59 completed tasks\n"
        "group | n | median ratio\n"
        "client build | 28 | 1.42\n"
        "support | 14 | 0.84\n"
        "largest overruns: 10000210 <<task-text>>Plan login page<</task-text>> "
        "https://app.asana.com/0/800023/10000210 +225%"
    )
    shown = _shown(render_answer(tool_text))
    assert "┃" in shown and "client build" in shown and " | " not in shown
    assert "\u201cPlan login page\u201d 10000210 +225%" in shown
    assert "<<task-text>>" not in shown and "https://" not in shown


def test_model_prose_is_markdown_with_markers_as_quotes() -> None:
    from agent.cli.chat_view import looks_like_tool_text, render_answer

    prose = "**Client build** ran over: 1.42x the estimate. See <<task-text>>Plan login page<</task-text>>."
    assert not looks_like_tool_text(prose.replace("<<task-text>>", "").replace("<</task-text>>", ""))
    shown = _shown(render_answer(prose))
    assert "Client build ran over" in shown and "**" not in shown and "<<task-text>>" not in shown


def test_a_repeated_call_is_answered_from_the_result_already_there(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    openai_stub.script = [
        calls(("capacity", {"weeks_ahead": 3})),
        calls(("capacity", {"weeks_ahead": 3})),  # the same call again
        text("Some people are over capacity."),
    ]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "who is over capacity?")
    assert len([m for m in out["messages"] if isinstance(m, ToolMessage)]) == 1
    retry = openai_stub.requests[2]
    assert (
        "already called" in retry["messages"][-1]["content"]
        and retry["tools"] == openai_stub.requests[0]["tools"]
    )
    assert out["messages"][-1].content == "Some people are over capacity."


def test_eval_llm_samples_every_category() -> None:
    from evals.llm_eval import stratified
    from evals.scenarios.model import Scenario

    pool = [Scenario(id=f"{c}-{i}", category=c, question="q") for c in ("plain", "write") for i in range(10)]
    pool += [Scenario(id="ambiguous-0", category="ambiguous", question="q")]
    picked = stratified(pool, 6)
    assert {s.category for s in picked} == {"plain", "write", "ambiguous"} and len(picked) <= 8
    assert stratified(pool, 0) == pool


def test_a_second_round_of_proposals_is_refused_once_one_was_made(
    openai_stub: StubServer, chat_workspace: Workspace, tmp_path: Any
) -> None:
    flag = {"task_gid": "10000003", "field": "AI Review Flag", "value": "Review", "reason": "asked"}
    openai_stub.script = [
        calls(("propose_ai_field", flag)),
        calls(("propose_ai_field", {**flag, "reason": "asked again"})),
        text("Flagged for review; it needs your approval."),
    ]
    with session(openai_stub, chat_workspace, tmp_path) as (graph, ctx, cfg):
        out = ask(graph, ctx, cfg, "flag task 10000003 for review")
    assert (
        len(out["proposals"]) == 1 and "already called" in openai_stub.requests[2]["messages"][-1]["content"]
    )
    assert out["messages"][-1].content.startswith("Flagged for review") and ctx.writer.calls == []
