"""The approval gate: LangGraph nodes shared by the chat and retrospective graphs.

``approval_node`` pauses the graph with ONE ``interrupt()`` carrying every pending proposal in the
Agent Inbox ``HumanInterrupt`` shape, and turns the human's answer into ``Decision``s. ``apply_node``
hands proposals and decisions to the one writer (agent/writer.py) and returns its audit summaries.

A resumed node re-runs from its first line, so ``approval_node`` has no side effects at all: it only
reads state, interrupts, and validates the answer. A malformed answer does not crash the thread (a
stored resume value would poison every later resume); the node interrupts again with the error in each
item's description, and the CLI validates with the same ``parse_resume`` before it ever resumes.

Wiring for a graph that has its own agent loop::

    g.add_node("approval", approval_node)
    g.add_node("apply", apply_node)
    g.add_conditional_edges("tools", route_after_tools)      # -> "approval" | "agent"
    g.add_edge("approval", "apply")
    g.add_edge("apply", "agent")

and invoke with ``config={"configurable": {"thread_id": ..., "writer": Writer(...), "approver": ...}}``
(or a run-time ``context`` object that has a ``writer`` attribute).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import get_runtime
from langgraph.types import interrupt
from pydantic import ValidationError

from agent.state import ChatState
from tools.proposals import AI_FIELDS, Decision, DecisionType, Proposal, ProposalKind, check_ai_value

GRAPH_KIND = "approval"  # checkpoint metadata tag for threads of build_approval_graph
_EVIDENCE_CHARS = 1500  # keep each description readable in an inbox


class ApprovalResumeError(ValueError):
    """The value a thread was resumed with is not a valid set of decisions; the message says why."""


class HumanInterruptConfig(TypedDict):
    allow_ignore: bool
    allow_respond: bool
    allow_edit: bool
    allow_accept: bool


class ActionRequest(TypedDict):
    action: str
    args: dict[str, Any]


class HumanInterrupt(TypedDict):
    """Agent Inbox's interrupt item (same keys as langgraph.prebuilt.interrupt.HumanInterrupt)."""

    action_request: ActionRequest
    config: HumanInterruptConfig
    description: str | None


# --- pure helpers -----------------------------------------------------------------------------------
def pending_proposals(state: Mapping[str, Any]) -> list[Proposal]:
    """Proposals in state that the writer has not yet reported on (decided proposals leave the queue)."""
    handled = {a.get("proposal_id") for a in state.get("applied") or [] if isinstance(a, Mapping)}
    return [p for p in state.get("proposals") or [] if p.id not in handled]


def _action_name(p: Proposal) -> str:
    if p.kind is ProposalKind.SET_FIELD:
        return f"Set '{p.field_name}' on task {p.target_gid}"
    if p.kind is ProposalKind.COMMENT:
        return f"Comment on task {p.target_gid}"
    if p.kind is ProposalKind.SUBTASK:
        return f"Add subtask '{p.title}' to task {p.target_gid}"
    return f"Post '{p.title}' to project {p.target_gid}"


def _describe(p: Proposal) -> str:
    evidence = json.dumps(p.evidence, default=str, sort_keys=True)
    if len(evidence) > _EVIDENCE_CHARS:
        evidence = evidence[:_EVIDENCE_CHARS] + " …"
    lines = [p.description or _action_name(p), "", f"Proposal `{p.id}` ({p.kind.value}, from {p.source})."]
    if p.significant:
        lines.append("Significant change: in the optimize phase it also needs the Asana approval subtask.")
    lines += ["", "Evidence:", f"```json\n{evidence}\n```"]
    return "\n".join(lines)


def to_human_interrupt(p: Proposal) -> HumanInterrupt:
    """One proposal as an Agent Inbox item; ``args.proposal_id`` ties the answer back to it."""
    args: dict[str, Any] = {"proposal_id": p.id, "kind": p.kind.value, "target_gid": p.target_gid}
    if p.kind is ProposalKind.SET_FIELD:
        args |= {"field_name": p.field_name, "value": p.value}
    else:
        args |= {"title": p.title, "text": p.text}
    editable = p.kind in (ProposalKind.SET_FIELD, ProposalKind.COMMENT)
    return HumanInterrupt(
        action_request=ActionRequest(action=_action_name(p), args=args),
        config=HumanInterruptConfig(
            allow_accept=True, allow_edit=editable, allow_ignore=True, allow_respond=True
        ),
        description=_describe(p),
    )


def build_interrupt(proposals: Sequence[Proposal]) -> list[HumanInterrupt]:
    """The interrupt payload: one Agent Inbox item per pending proposal, in order."""
    return [to_human_interrupt(p) for p in proposals]


def _coerce_edit(p: Proposal, raw: Any) -> float | str | None:
    """An edited value in the proposal's own type, checked by the writer's own value rule
    (``check_ai_value``), so an approver cannot approve a value the writer would refuse. Agent Inbox
    sends strings; an empty string clears a number field."""
    if p.kind is ProposalKind.SET_FIELD:
        field = p.field_name or ""
        if raw == "" and AI_FIELDS.get(field) == "number":
            raw = None
        try:
            return check_ai_value(field, raw)
        except ValueError as exc:
            raise ApprovalResumeError(f"edit for {p.id}: {exc}") from None
    if raw is None or not str(raw).strip():
        raise ApprovalResumeError(f"edit for {p.id}: no edited value given")
    return str(raw)


def _edited_from_args(p: Proposal, args: Any) -> float | str | None:
    # Agent Inbox edit: {"action": ..., "args": {...}}; we also accept the bare args dict or a scalar.
    inner = args.get("args", args) if isinstance(args, Mapping) else args
    if isinstance(inner, Mapping):
        key = "value" if p.kind is ProposalKind.SET_FIELD else "text"
        if key not in inner:
            raise ApprovalResumeError(f"edit for {p.id}: args must contain {key!r}")
        return _coerce_edit(p, inner[key])
    return _coerce_edit(p, inner)


def _from_human_response(p: Proposal, item: Any, approver: str, via: str) -> Decision:
    if not isinstance(item, Mapping) or "type" not in item:
        raise ApprovalResumeError(
            f"answer for {p.id} must be an object with a 'type', got {type(item).__name__}"
        )
    try:
        kind = DecisionType(str(item["type"]))
    except ValueError:
        allowed = ", ".join(t.value for t in DecisionType)
        raise ApprovalResumeError(
            f"answer for {p.id}: unknown type {item['type']!r} (allowed: {allowed})"
        ) from None
    args = item.get("args")
    edited: float | str | None = None
    note: str | None = None
    if kind is DecisionType.EDIT:
        if p.kind not in (ProposalKind.SET_FIELD, ProposalKind.COMMENT):
            raise ApprovalResumeError(f"answer for {p.id}: a {p.kind.value} proposal cannot be edited")
        edited = _edited_from_args(p, args)
    elif kind is DecisionType.RESPONSE:
        note = str(args)[:2000] if args is not None else None
    return Decision(
        proposal_id=p.id,
        type=kind,
        edited_value=edited,
        approver=str(item.get("approver") or approver),
        note=note if note is not None else item.get("note"),
        via=str(item.get("via") or via),
    )


def _from_decision_dict(raw: Any, by_id: Mapping[str, Proposal], approver: str, via: str) -> Decision:
    if not isinstance(raw, Mapping):
        raise ApprovalResumeError(f"each decision must be an object, got {type(raw).__name__}")
    data = {"approver": approver, "via": via, **raw}
    proposal = by_id.get(str(data.get("proposal_id")))
    if proposal is not None and data.get("type") == DecisionType.EDIT.value:
        data["edited_value"] = _coerce_edit(proposal, data.get("edited_value"))
    try:
        return Decision.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ApprovalResumeError(f"invalid decision: {problems}") from None


def parse_resume(
    value: Any, proposals: Sequence[Proposal], *, approver: str = "inbox", via: str = "inbox"
) -> list[Decision]:
    """Validate a resume value into one ``Decision`` per pending proposal.

    Accepted shapes:
    - Agent Inbox: a list of ``HumanResponse`` (``{"type": accept|edit|ignore|response, "args": ...}``),
      one per interrupt item, in order;
    - ours: ``{"decisions": [Decision-like dicts]}`` or a list of them (each with ``proposal_id``);
    - a mapping ``{proposal_id: HumanResponse}``.
    A proposal left without an answer is ignored (not written). A decision naming an unknown proposal
    id is kept: the writer refuses and audits it. Raises ``ApprovalResumeError`` on anything else.
    """
    by_id = {p.id: p for p in proposals}
    decisions: list[Decision] = []
    if isinstance(value, Mapping) and "decisions" in value:
        raw_list = value["decisions"]
        if not isinstance(raw_list, list):
            raise ApprovalResumeError("'decisions' must be a list")
        decisions = [_from_decision_dict(d, by_id, approver, via) for d in raw_list]
    elif isinstance(value, list) and all(isinstance(v, Mapping) and "proposal_id" in v for v in value):
        decisions = [_from_decision_dict(d, by_id, approver, via) for d in value]
    elif isinstance(value, list):
        if len(value) > len(proposals):
            raise ApprovalResumeError(f"got {len(value)} answers for {len(proposals)} pending proposals")
        decisions = [
            _from_human_response(p, item, approver, via) for p, item in zip(proposals, value, strict=False)
        ]
    elif isinstance(value, Mapping) and value and all(k in by_id for k in value):
        decisions = [_from_human_response(by_id[k], item, approver, via) for k, item in value.items()]
    else:
        raise ApprovalResumeError(
            "resume value must be a list of Agent Inbox responses, {'decisions': [...]}, "
            f"or {{proposal_id: response}}; got {type(value).__name__}"
        )
    answered = {d.proposal_id for d in decisions}
    decisions += [
        Decision(
            proposal_id=p.id, type=DecisionType.IGNORE, approver=approver, note="no decision given", via=via
        )
        for p in proposals
        if p.id not in answered
    ]
    return decisions


def _configurable(config: RunnableConfig | None) -> dict[str, Any]:
    return dict((config or {}).get("configurable") or {})


# --- nodes ------------------------------------------------------------------------------------------
def approval_node(state: ChatState, config: RunnableConfig) -> dict[str, Any]:
    """Pause for a human decision on every pending proposal (one interrupt per batch).

    No side effects: on resume this function runs again from the top, ``interrupt()`` returns the
    resume value, and the answer is validated into ``Decision``s (``state['decisions']``). An invalid
    answer re-interrupts with the error in the descriptions instead of failing the thread.
    """
    pending = pending_proposals(state)
    if not pending:
        return {"decisions": []}
    conf = _configurable(config)
    approver = str(conf.get("approver") or "inbox")
    request = build_interrupt(pending)
    error: str | None = None
    while True:
        payload = request
        if error is not None:
            payload = [
                HumanInterrupt(
                    action_request=item["action_request"],
                    config=item["config"],
                    description=f"{item['description']}\n\n**The previous answer was rejected:** {error}",
                )
                for item in request
            ]
        answer = interrupt(payload)
        try:
            return {"decisions": parse_resume(answer, pending, approver=approver)}
        except ApprovalResumeError as exc:
            error = str(exc)


def _writer_from(config: RunnableConfig | None) -> Any:
    writer = _configurable(config).get("writer")
    if writer is None:
        try:
            context = get_runtime().context
        except (KeyError, RuntimeError):  # called outside a graph run
            context = None
        writer = getattr(context, "writer", None)
    if writer is None:
        raise RuntimeError(
            "apply_node needs a Writer: pass configurable={'writer': Writer(...)} or a context with .writer"
        )
    return writer


def apply_node(state: ChatState, config: RunnableConfig) -> dict[str, Any]:
    """Apply the decided proposals through the one writer; return its audit summaries.

    Re-running this node (after a crash) is safe: the writer checks the audit log and its idempotency
    markers, so nothing is written twice.
    """
    pending = pending_proposals(state)
    decisions = list(state.get("decisions") or [])
    if not pending and not decisions:
        return {"applied": []}
    conf = _configurable(config)
    writer = _writer_from(config)
    thread_id = str(conf.get("thread_id") or "")
    run_id = str(state.get("run_id") or conf.get("run_id") or thread_id)
    approver = str(conf.get("approver") or "inbox")
    results = writer.apply(pending, decisions, thread_id=thread_id, run_id=run_id, approver=approver)
    summaries = [r.summary() for r in results]
    # Every pending proposal leaves the queue, even if the writer skipped it silently.
    reported = {s["proposal_id"] for s in summaries}
    summaries += [
        {"proposal_id": p.id, "status": "skipped", "error": "not decided"}
        for p in pending
        if p.id not in reported
    ]
    return {"applied": summaries, "decisions": []}


# --- routing ----------------------------------------------------------------------------------------
def route_after_tools(state: ChatState) -> Literal["approval", "agent"]:
    """After the tool node: go to the approval gate if a tool proposed something, else back to the agent."""
    return "approval" if pending_proposals(state) else "agent"


def route_pending(state: ChatState) -> Literal["approval", "__end__"]:
    """For graphs that end when nothing needs approval (retro, summary)."""
    return "approval" if pending_proposals(state) else "__end__"


def build_approval_graph(
    checkpointer: BaseCheckpointSaver[Any] | None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """START -> approval -> apply -> END: the retro and summary runs' graph (and the tests').

    Invoke with ``{"proposals": [...], "run_id": ...}`` and ``configurable`` holding ``thread_id``,
    ``writer`` and ``approver``; tag the thread with ``metadata={"effort_graph": "approval"}``.
    """
    graph = StateGraph(ChatState)
    graph.add_node("approval", approval_node)
    graph.add_node("apply", apply_node)
    graph.add_conditional_edges(START, route_pending)
    graph.add_edge("approval", "apply")
    graph.add_edge("apply", END)
    return graph.compile(checkpointer=checkpointer)
