"""Offline mode: with no LLM configured, the intent router (agent/chat) answers through the SAME tools,
the same token budget and the same approval gate as the LLM graph.

The router is the graph's "agent" node. On a new question it plans the turn (agent/chat/plan.py:
refusals, parts, intents by nearest labelled examples, slots from the synced workspace) and calls the
planned tools, or replies with one clarifying question; once the tool results are in, it answers with
the tool output made readable (agent/chat/render.py), so every number comes from a tool, and it says
that it is offline, which filters it could not apply, and the dates.

``answer_offline`` runs the same plan and the same read tools without the graph, for a one-question
process (``effort ask`` offline) when no proposal is involved: no LangGraph import, no checkpoint.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.chat.intents import PROPOSE_INTENTS, readme_questions
from agent.chat.plan import TurnPlan, plan_turn
from agent.chat.refusals import OFFLINE_NOTE, help_text
from agent.chat.render import compose
from agent.config import Settings
from agent.context import AgentContext

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage, ToolMessage
    from langchain_core.runnables import RunnableConfig
    from langgraph.runtime import Runtime

    from prompts import Prompt

# Quoted in the README ("Without an LLM"): what offline mode understands, one line per intent.
SUPPORTED_QUESTIONS: tuple[str, ...] = tuple(readme_questions())

# Anchored on the untrusted-text delimiters: a task name cannot fake the numbers the router reads.
_ESTIMATE = re.compile(
    r"ESTIMATE for (?P<gid>\S+) <<task-text>>.*?<</task-text>> \S+: "
    r"(?P<point>[\d.]+)h \(P10 (?P<p10>[\d.]+)h - P90 (?P<p90>[\d.]+)h\)"
)
_PART = re.compile(r"^offline_p(\d+)_")


def _follow_up(plan: TurnPlan, tool_messages: Sequence[ToolMessage]) -> list[tuple[int, str, dict[str, Any]]]:
    """The second step of a two-step intent (propose an estimate: estimate first, then propose it)."""
    out: list[tuple[int, str, dict[str, Any]]] = []
    for i, part in enumerate(plan.parts):
        if part.follow_up != "propose_estimate":
            continue
        mine = [m for m in tool_messages if _part_of(m) == i]
        if any(m.name == "propose_ai_field" for m in mine):
            continue
        est = next((m for m in mine if m.name == "estimate_task"), None)
        m = _ESTIMATE.search(str(est.content)) if est else None
        if m is None:
            continue
        reason = f"estimate_task: {m.group('point')}h (P10 {m.group('p10')}h - P90 {m.group('p90')}h)"
        args = {
            "task_gid": m.group("gid"),
            "field": "AI Estimated Hours",
            "value": float(m.group("point")),
            "reason": reason,
        }
        out.append((i, "propose_ai_field", args))
    return out


def _part_of(message: ToolMessage) -> int:
    m = _PART.match(message.tool_call_id or "")
    return int(m.group(1)) if m else 0


def _calls_message(calls: Sequence[tuple[int, str, dict[str, Any]]]) -> AIMessage:
    from langchain_core.messages import AIMessage

    return AIMessage(
        content="",
        tool_calls=[
            {
                "name": name,
                "args": args,
                "id": f"offline_p{part}_{uuid.uuid4().hex[:12]}",
                "type": "tool_call",
            }
            for part, name, args in calls
        ],
    )


def reply_text(plan: TurnPlan) -> str:
    return f"{OFFLINE_NOTE}\n\n{plan.reply}"


def answer_text(
    plan: TurnPlan, outputs: Sequence[tuple[int, str, str]], applied: Sequence[dict[str, Any]] = ()
) -> str:
    """The answer from the tool outputs, as (part index, tool name, text), grouped by part."""
    sections = []
    for i, part in enumerate(plan.parts):
        mine = [(name, text) for p, name, text in outputs if p == i]
        if mine:
            sections.append((part.intent, mine))
    proposed = any("PROPOSED" in text for _, _, text in outputs)
    unapplied = [u for p in plan.parts for u in p.unapplied]
    return compose(sections, unapplied=unapplied, notes=plan.notes, applied=applied, proposed=proposed)


def make_offline_node(prompt: Prompt) -> Callable[..., dict[str, Any]]:
    """The offline "agent" node (same place in the graph as the LLM node)."""
    from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

    def agent(
        state: dict[str, Any], config: RunnableConfig, runtime: Runtime[AgentContext]
    ) -> dict[str, Any]:
        """Plan a new question's tool calls, or answer from this turn's tool outputs."""
        messages: list[AnyMessage] = list(state.get("messages", []))
        human_at = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        if human_at < 0:
            return {"messages": [AIMessage(content=f"{OFFLINE_NOTE}\n\n{help_text()}")]}
        plan = plan_turn(str(messages[human_at].content), runtime.context)
        tool_msgs = [m for m in messages[human_at + 1 :] if isinstance(m, ToolMessage)]
        applied = list(state.get("applied") or [])
        seen = int(state.get("applied_seen") or 0)
        update: dict[str, Any] = {
            "prompt_ref": f"offline-router ({prompt.ref} unused)",
            "applied_seen": len(applied),
        }
        if plan.reply is not None:
            update["messages"] = [AIMessage(content=reply_text(plan))]
        elif not tool_msgs:
            calls = [(i, name, args) for i, part in enumerate(plan.parts) for name, args in part.calls]
            update["messages"] = [_calls_message(calls)]
        elif follow := _follow_up(plan, tool_msgs):
            update["messages"] = [_calls_message(follow)]
        else:
            outputs = [(_part_of(m), m.name or "tool", str(m.content)) for m in tool_msgs]
            update["messages"] = [AIMessage(content=answer_text(plan, outputs, applied[seen:]))]
        return update

    return agent


def needs_graph(plan: TurnPlan) -> bool:
    """A turn that proposes (or could) goes through the graph and its approval gate."""
    return any(p.intent in PROPOSE_INTENTS or p.follow_up for p in plan.parts)


@dataclass
class OfflineAnswer:
    """A read-only turn answered without the graph: the plan, the answer, and each call's output."""

    plan: TurnPlan
    text: str
    calls: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)  # name, args, output


def answer_offline(question: str, ctx: AgentContext) -> tuple[TurnPlan, str | None]:
    """(plan, answer) without the graph for a read-only turn; answer None when the turn needs the graph
    (a proposal). The read tools run exactly as in the graph: same functions, same per-tool budget,
    and the turn's budget shared across the calls."""
    result = run_offline(question, ctx)
    return (result.plan, result.text) if isinstance(result, OfflineAnswer) else (result, None)


def run_offline(question: str, ctx: AgentContext) -> OfflineAnswer | TurnPlan:
    """``answer_offline`` with the tool calls and outputs; the plan alone when it needs the graph."""
    from tools.agent_tools.budget import TURN_BUDGET, fit
    from tools.agent_tools.registry import run_read

    plan = plan_turn(question, ctx)
    if plan.reply is not None:
        return OfflineAnswer(plan, reply_text(plan))
    if needs_graph(plan):
        return plan
    calls = [(i, name, args) for i, part in enumerate(plan.parts) for name, args in part.calls]
    share = TURN_BUDGET // max(1, len(calls))
    outputs = []
    done: list[tuple[str, dict[str, Any], str]] = []
    for i, name, args in calls:
        try:
            text = run_read(name, ctx, args)
        except Exception as exc:  # the graph's ToolNode reports a failing tool the same way
            text = f"Error: {type(exc).__name__}: {str(exc)[:200]}"
        text = fit(text, share)
        outputs.append((i, name, text))
        done.append((name, args, text))
    return OfflineAnswer(plan, answer_text(plan, outputs), done)


def ask_offline(settings: Settings, question: str, *, synthetic_tasks: int = 0) -> OfflineAnswer | None:
    """One offline question for ``effort ask``, without LangGraph: the model loads in a background
    thread while the store is read. None when the turn proposes something (the graph's approval gate
    must hold it)."""
    from agent.chat.classify import IntentClassifier

    loading = IntentClassifier.shared().preload()
    if synthetic_tasks:
        from tools.agent_tools.synthetic import synthetic_workspace

        ctx = AgentContext.for_workspace(synthetic_workspace(synthetic_tasks), settings)
    else:
        ctx = AgentContext.from_settings(settings)
    _ = ctx.workspace
    loading.join()
    result = run_offline(question, ctx)
    return result if isinstance(result, OfflineAnswer) else None


__all__ = [
    "OFFLINE_NOTE",
    "SUPPORTED_QUESTIONS",
    "OfflineAnswer",
    "answer_offline",
    "ask_offline",
    "make_offline_node",
    "needs_graph",
    "run_offline",
]
