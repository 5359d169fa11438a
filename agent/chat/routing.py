"""The seam between understanding and answering: ``route_question(question, ctx) -> Routed``.

Offline mode answers from the plan behind it (agent/chat/plan.py); LLM mode offers the model only the
tool schemas in ``Routed.tools``. ``audit`` is THE check that no filter is dropped silently: every
filter slot found in the question is either consumed by a planned tool call's arguments or listed in
``unapplied`` (which the answer states). It derives ``unapplied`` from the calls themselves, so a
planner that forgets a slot cannot hide it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from agent.chat.slots import Slots
    from agent.context import AgentContext

CLARIFY = "clarify"
UNKNOWN = "unknown"

# Which argument of which tool applies each filter slot (slot kind -> argument name). A slot whose
# kind has no entry for any planned tool is unapplied. "period" covers the first period; a second
# one is "compare_period".
TOOL_SLOTS: dict[str, dict[str, str]] = {
    "budget_status": {"project": "project"},
    "time_logged": {
        "person": "person",
        "project": "project",
        "client": "client",
        "tag": "tag",
        "section": "section",
        "project_type": "project_type",
        "task": "task_gid",
        "period": "period",
        "billable": "billable",
        "top_n": "top_n",
    },
    "task_counts": {
        "person": "person",
        "project": "project",
        "client": "client",
        "tag": "tag",
        "section": "section",
        "project_type": "project_type",
        "task": "task_gid",
        "period": "period",
        "status": "status",
        "top_n": "top_n",
    },
    "open_work": {
        "person": "person",
        "project": "project",
        "client": "client",
        "tag": "tag",
        "section": "section",
        "project_type": "project_type",
        "task": "task_gid",
        "top_n": "top_n",
    },
    "overhead": {
        "person": "person",
        "project": "project",
        "client": "client",
        "tag": "tag",
        "section": "section",
        "project_type": "project_type",
        "period": "period",
    },
    "at_risk_projects": {
        "project": "project",
        "client": "client",
        "project_type": "project_type",
        "top_n": "top_n",
    },
    "variance": {
        "person": "assignee",
        "project": "project",
        "client": "client",
        "tag": "tag",
        "section": "section",
        "project_type": "project_type",
        "period": "period",
        "top_n": "top_n",
    },
    "anomalies": {"person": "assignee", "project": "project", "period": "period", "entry_kind": "kind"},
    "capacity": {"person": "person"},
    "completion_forecast": {"project": "project"},
    "billing_draft": {"client": "client", "project": "project", "period": "period", "billable": "-"},
    "retrospective": {"period": "period", "project": "project"},
    "estimate_task": {"task": "task_gid"},
    "similar_tasks": {"task": "task_gid", "top_n": "k"},
    "task_lookup": {"task": "query"},
    "propose_ai_field": {"task": "task_gid"},
    "propose_comment": {"task": "task_gid"},
}
FILTER_SLOTS = (
    "person",
    "project",
    "client",
    "tag",
    "section",
    "project_type",
    "task",
    "period",
    "billable",
    "status",
    "entry_kind",
    "top_n",
)


class Routed(BaseModel):
    """What the router understood of one question (the seam with the LLM mode)."""

    model_config = ConfigDict(frozen=True)

    intent: str  # one of agent.chat.intents.INTENTS, or "clarify" / "unknown"
    confidence: float = Field(ge=0.0, le=1.0)
    tools: list[str] = Field(default_factory=list, max_length=4)  # most relevant first
    slots: dict[str, Any] = Field(default_factory=dict)  # person, project, client, tag, period, ...
    unapplied: list[str] = Field(default_factory=list)  # slots no tool can apply (the answer says so)
    parts: list[str] = Field(default_factory=list)  # sub-questions (one entry when single)


def route_question(question: str, ctx: AgentContext) -> Routed:
    """Understand ``question`` against the synced workspace (see agent/chat/plan.py)."""
    from agent.chat.plan import plan_turn

    return plan_turn(question, ctx).routed


def _values(kind: str, slots: Slots) -> list[str]:
    """The values a call's argument must carry for ``kind`` to count as applied."""
    if kind == "task":
        return [t.gid for t in slots.task]
    if kind == "period":
        return [p.label for p in slots.periods[:1]]
    if kind in ("billable", "status", "entry_kind"):
        value = getattr(slots, kind)
        return [str(value)] if value else []
    if kind == "top_n":
        return [str(slots.top_n)] if slots.top_n else []
    return [e.value for e in getattr(slots, kind)]


def audit(
    slots: Slots, calls: Iterable[tuple[str, dict[str, Any]]], inherent: Sequence[str] = ()
) -> list[str]:
    """Every filter slot value that no call applies, as "kind=value" (see module doc).

    ``inherent`` names slot kinds the intent itself satisfies (a billing draft is billable by nature).
    """
    calls = list(calls)
    missing: list[str] = []
    for kind in FILTER_SLOTS:
        if kind in inherent:
            continue
        for value in _values(kind, slots):
            applied = False
            for tool, args in calls:
                arg = TOOL_SLOTS.get(tool, {}).get(kind)
                if arg is None:
                    continue
                if arg == "-" or str(args.get(arg, "")).lower() == value.lower():
                    applied = True
                    break
                if kind == "task" and value in str(args.get(arg, "")):
                    applied = True
                    break
            if not applied:
                missing.append(f"{kind}={value}")
    if len(slots.periods) > 1:
        second = slots.periods[1].label
        used = {str(args.get(key, "")).lower() for _, args in calls for key in ("compare_period", "period")}
        if second.lower() not in used:
            missing.append(f"period={second}")
    return missing
