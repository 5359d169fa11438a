"""PLACEHOLDER (helper "llm"): the routing seam the LLM node uses, backed by the offline keyword router.

Helper "chat" owns the real ``agent/chat/routing.py`` (intent router, slots, new intents); at merge the
lead keeps that version. Only the interface below is the contract the LLM node (agent/graph.py) relies on:

    Routed.tools   relevant read/propose tool names, most relevant first, at most 4
    Routed.intent  "refuse" and "clarify" are answered by the offline node without the model
    route_question(question, ctx) -> Routed
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from agent.context import AgentContext

MAX_TOOLS = 4
# What a proposal intent also needs: the read that supplies the value, a lookup to find the task.
_EXTRA_TOOLS: dict[str, tuple[str, ...]] = {
    "propose_estimate": ("estimate_task", "propose_ai_field", "task_lookup"),
    "propose_comment": ("propose_comment", "task_lookup"),
    "propose_review_flag": ("propose_ai_field", "task_lookup"),
    "estimate": ("estimate_task", "task_lookup"),
    "similar": ("similar_tasks", "task_lookup"),
}


class Routed(BaseModel):
    """What the router understood of one question."""

    model_config = ConfigDict(frozen=True)

    intent: str
    confidence: float
    tools: list[str] = Field(default_factory=list)
    slots: dict[str, Any] = Field(default_factory=dict)
    unapplied: list[str] = Field(default_factory=list)
    parts: list[str] = Field(default_factory=list)


def route_question(question: str, ctx: AgentContext) -> Routed:
    """The offline router's plan, reshaped: its tools (plus what its intent also needs), its arguments."""
    from agent.offline import _PARTS, _help_text, route

    plan = route(question, ctx)
    names = [name for name, _ in plan.calls]
    tools = list(dict.fromkeys([*names, *_EXTRA_TOOLS.get(plan.intent, ())]))[:MAX_TOOLS]
    intent = plan.intent or "unknown"
    if intent == "clarify" and plan.reply is not None and plan.reply.endswith(_help_text()):
        intent = "unknown"  # the router did not understand; the model may
    slots: dict[str, Any] = dict(plan.calls[0][1]) if plan.calls else {}
    parts = [question]
    if len(names) > 1:  # a two-part question: the router made one call per part
        parts = [p.strip() for p in _PARTS.split(question) if len(p.strip()) >= 8][: len(names)] or parts
    return Routed(
        intent=intent,
        confidence=1.0 if tools or intent in {"refuse", "clarify"} else 0.0,
        tools=tools,
        slots=slots,
        parts=parts,
    )


__all__ = ["MAX_TOOLS", "Routed", "route_question"]
