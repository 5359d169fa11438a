"""The chat graph: LLM (or the offline router) -> read/propose tools -> approval gate -> apply.

    START -> agent -> (tools | agent | approval | END)
    tools -> agent                       # the model explains its proposals before the gate
    approval -> apply -> agent           # one interrupt per batch at the end of the turn; the writer
                                         # applies the decisions, then the agent reports what happened

The LLM node (agent/llm_node.py) offers the model only the routed intent's tools, checks its calls and
its numbers, and falls back to the offline router's answer (agent/offline.py) with the reason shown.

Built by hand as a ``StateGraph`` (``create_react_agent`` is deprecated) in the layout of langchain-ai's
react-agent template: state (agent/state.py), tools (tools/agent_tools), prompts (prompts/), runtime
context (agent/context.py). Tool output is bounded per turn (``TURN_BUDGET`` cl100k tokens): each result
is cut to what is left, and once the budget is spent the model is called without tools so it must answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command

from agent.approval import apply_node, approval_node, pending_proposals
from agent.context import AgentContext
from agent.graph_kinds import GraphKind
from agent.state import ChatState
from prompts import load_prompt
from tools.agent_tools import all_tools
from tools.agent_tools.budget import TURN_BUDGET, count_tokens, fit, tool_budget

log = logging.getLogger(__name__)

SYSTEM_PROMPT = "system_chat"
MAX_HISTORY_TURNS = 6  # earlier turns are dropped from what the model sees (the checkpoint keeps them)
MAX_MODEL_CALLS_PER_TURN = 8  # a model that keeps calling tools is made to answer after this many calls
BUDGET_FLOOR = 80  # below this many tokens left, tools are withdrawn so the model answers
GRAPH_KIND = GraphKind.CHAT.value  # the one graph-kind registry (agent/graph_kinds.py)


class ChatGraphState(ChatState, total=False):
    """ChatState plus what the chat loop tracks for itself."""

    prompt_ref: str  # e.g. "system_chat@v2": which template produced the answers
    applied_seen: int  # how many ``applied`` summaries the agent has already reported
    llm_turn: dict[str, Any]  # the LLM node's record of the current turn (agent/llm_node.TurnInfo)


# --- turn accounting ------------------------------------------------------------------------------
def current_turn(messages: Sequence[AnyMessage]) -> list[AnyMessage]:
    """Messages after the last human message: one user turn."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return list(messages[i + 1 :])
    return list(messages)


def recent_turns(messages: Sequence[AnyMessage], max_turns: int) -> list[AnyMessage]:
    """The last ``max_turns`` user turns, cut at human messages so tool calls stay paired with results."""
    starts = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    if len(starts) <= max_turns:
        return list(messages)
    return list(messages[starts[-max_turns] :])


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(c if isinstance(c, str) else str(c.get("text", "")) for c in content)
    return str(content)


def turn_tool_tokens(messages: Sequence[AnyMessage]) -> int:
    """cl100k tokens of tool output in the current turn."""
    return sum(count_tokens(_text(m.content)) for m in current_turn(messages) if isinstance(m, ToolMessage))


def _last_ai(messages: Sequence[AnyMessage]) -> AIMessage | None:
    return next((m for m in reversed(messages) if isinstance(m, AIMessage)), None)


# --- the budget wrapper around every tool call -----------------------------------------------------
def budget_tool_call(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
    """Cut each tool result to min(its own budget, its share of what the turn has left).

    Parallel calls from one model message share the remainder equally, so the turn total stays under
    ``TURN_BUDGET`` however many calls the model makes and however big the workspace is.
    """
    messages: list[AnyMessage] = list((request.state or {}).get("messages", []))
    used = turn_tool_tokens(messages)
    last = _last_ai(messages)
    calls = max(1, len(last.tool_calls) + len(last.invalid_tool_calls)) if last else 1
    share = max(0, (TURN_BUDGET - used) // calls)
    limit = min(tool_budget(request.tool_call["name"]), share)
    if limit < BUDGET_FLOOR // 2:
        return ToolMessage(
            content=fit("Tool output budget for this turn is used up; answer with what you have.", limit),
            tool_call_id=request.tool_call["id"],
            name=request.tool_call["name"],
            status="error",
        )
    result = execute(request)
    if isinstance(result, ToolMessage):
        text = _text(result.content)
        cut = fit(text, limit)
        if cut != text:
            result = result.model_copy(update={"content": cut})
    elif isinstance(result, Command) and isinstance(result.update, dict):
        msgs = [
            m.model_copy(update={"content": fit(_text(m.content), limit)})
            if isinstance(m, ToolMessage)
            else m
            for m in result.update.get("messages", [])
        ]
        result = Command(update={**result.update, "messages": msgs}, goto=result.goto, graph=result.graph)
    return result


def route_after_llm(state: ChatGraphState) -> Literal["tools", "agent", "approval", "__end__"]:
    """Tools when the model called some; back to the model when all its calls were malformed;
    the approval gate when proposals wait; else the turn is over."""
    ai = _last_ai(state.get("messages", []))
    if ai is not None and ai.tool_calls:
        return "tools"
    if ai is not None and ai.invalid_tool_calls:
        turn = current_turn(state.get("messages", []))
        if sum(isinstance(m, AIMessage) for m in turn) < MAX_MODEL_CALLS_PER_TURN:
            return "agent"
    if pending_proposals(state):
        return "approval"
    return "__end__"


def build_chat_graph(
    llm: BaseChatModel | None,
    checkpointer: BaseCheckpointSaver[Any] | None = None,
    *,
    tools: Sequence[BaseTool] | None = None,
    prompt_version: int | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """Compile the chat graph. ``llm=None`` uses the offline intent router (agent/offline.py) as the
    agent node; everything else (tools, budget, approval, apply) is identical.

    Invoke with ``context=AgentContext(...)`` and ``config={"configurable": {"thread_id": ...}}``.
    """
    tool_list = list(tools) if tools is not None else all_tools()
    prompt = load_prompt(SYSTEM_PROMPT, prompt_version)
    if llm is None:
        from agent.offline import make_offline_node

        agent_node = make_offline_node(prompt)
    else:
        from agent.llm_node import make_llm_node

        agent_node = make_llm_node(llm, tool_list, prompt)
    graph = StateGraph(ChatGraphState, context_schema=AgentContext)
    graph.add_node("agent", agent_node)
    graph.add_node("tools", ToolNode(tool_list, handle_tool_errors=True, wrap_tool_call=budget_tool_call))
    graph.add_node("approval", approval_node)
    graph.add_node("apply", apply_node)  # type: ignore[arg-type]  # typed on ChatState
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", route_after_llm)
    graph.add_edge("tools", "agent")  # the model sees proposals and explains them before the gate
    graph.add_edge("approval", "apply")
    graph.add_edge("apply", "agent")
    return graph.compile(checkpointer=checkpointer)
