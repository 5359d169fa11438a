"""The approval gate: LangGraph nodes shared by the chat, retrospective and approval graphs.

``approval_node`` pauses the graph with ONE ``interrupt()`` per batch whose value is LangChain 1.x's
``HITLRequest`` (``action_requests`` + ``review_configs``, one action request per proposed item), so
Agent Inbox and LangChain's HITL UIs decide item by item; the answer is a ``HITLResponse`` (one
decision per item: approve / edit / reject with a message / respond). The CLI, ``effort serve`` and the
Asana approval subtask send the same decisions. ``apply_node`` hands proposals and decisions to the one
writer (agent/writer) and returns its audit summaries.

A resumed node re-runs from its first line, so ``approval_node`` has no side effects at all: it only
reads state, interrupts, and validates the answer. A malformed answer does not crash the thread (a
stored resume value would poison every later resume); the node interrupts again with the error in each
item's description, and the CLI validates with the same ``parse_resume`` before it ever resumes.

Run-time dependencies come from the graph's context (``context_schema``): ``writer`` and ``approver``
(``ApprovalContext`` here, ``RetroContext`` for retros, ``AgentContext`` for chat).

Threads that paused under the earlier Agent Inbox shape (a list of ``HumanInterrupt`` items) still
resume: ``proposal_ids`` reads both payloads and ``parse_resume`` accepts both answer vocabularies.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from langchain.agents.middleware.human_in_the_loop import (
    ActionRequest,
    HITLRequest,
    ReviewConfig,
)
from langchain.agents.middleware.human_in_the_loop import (
    DecisionType as HITLDecisionType,
)
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from langgraph.typing import ContextT
from pydantic import JsonValue, ValidationError

from agent.state import ChatState
from tools.proposals import (
    AI_FIELDS,
    EDITABLE_KINDS,
    Decision,
    DecisionType,
    Proposal,
    ProposalKind,
    check_ai_value,
)

_EVIDENCE_CHARS = 1500  # keep each description readable in an inbox
_WIRE_TO_DECISION: dict[str, DecisionType] = {
    "approve": DecisionType.ACCEPT,
    "edit": DecisionType.EDIT,
    "reject": DecisionType.IGNORE,
    "respond": DecisionType.RESPONSE,
    # the Agent Inbox vocabulary of threads that paused before the HITLRequest shape
    "accept": DecisionType.ACCEPT,
    "ignore": DecisionType.IGNORE,
    "response": DecisionType.RESPONSE,
}


class ApprovalResumeError(ValueError):
    """The value a thread was resumed with is not a valid set of decisions; the message says why."""


class ApplyWriter(Protocol):
    """What ``apply_node`` needs of a writer (``agent.writer.Writer``; tests pass recorders)."""

    def apply(
        self,
        proposals: Sequence[Proposal],
        decisions: Sequence[Decision],
        *,
        thread_id: str,
        run_id: str,
        approver: str,
    ) -> Sequence[_Summarised]: ...


class _Summarised(Protocol):
    def summary(self) -> Mapping[str, JsonValue]: ...


@dataclass
class ApprovalContext:
    """Run-time context of the approval graph: who decides, and the writer that applies."""

    writer: ApplyWriter | None = None
    approver: str = "inbox"


# --- pure helpers -----------------------------------------------------------------------------------
def pending_proposals(state: Mapping[str, object]) -> list[Proposal]:
    """Proposals in state that the writer has not yet reported on (decided proposals leave the queue)."""
    applied = state.get("applied") or []
    handled = (
        {a.get("proposal_id") for a in applied if isinstance(a, Mapping)}
        if isinstance(applied, list)
        else set()
    )
    proposals = state.get("proposals") or []
    return (
        [p for p in proposals if isinstance(p, Proposal) and p.id not in handled]
        if isinstance(proposals, list)
        else []
    )


def action_title(p: Proposal) -> str:
    """One line naming the change (for inboxes and the CLI)."""
    if p.kind is ProposalKind.SET_FIELD:
        return f"Set '{p.field_name}' = {p.value!r} on task {p.target_gid}"
    if p.kind is ProposalKind.COMMENT:
        return f"Comment on task {p.target_gid}"
    if p.kind is ProposalKind.SUBTASK:
        return f"Add subtask '{p.title}' to task {p.target_gid}"
    if p.kind is ProposalKind.TIME_ENTRY and p.entry is not None:
        return f"Log {p.entry.duration_minutes} min on {p.entry.entered_on} to task {p.target_gid}"
    return f"Post '{p.title}' to project {p.target_gid}"


def _describe(p: Proposal) -> str:
    evidence = json.dumps(p.evidence, default=str, sort_keys=True)
    if len(evidence) > _EVIDENCE_CHARS:
        evidence = evidence[:_EVIDENCE_CHARS] + " …"
    lines = [p.description or action_title(p), "", f"Proposal `{p.id}` ({p.kind.value}, from {p.source})."]
    if p.significant:
        lines.append("Significant change: in the optimize phase it also needs the Asana approval subtask.")
    lines += ["", "Evidence:", f"```json\n{evidence}\n```"]
    return "\n".join(lines)


def allowed_decisions(p: Proposal) -> list[HITLDecisionType]:
    return (
        ["approve", "edit", "reject", "respond"]
        if p.kind in EDITABLE_KINDS
        else ["approve", "reject", "respond"]
    )


def to_action_request(p: Proposal) -> ActionRequest:
    """One proposal as an action request; ``args.proposal_id`` ties the answer back to it."""
    args: dict[str, JsonValue] = {"proposal_id": p.id, "kind": p.kind.value, "target_gid": p.target_gid}
    if p.kind is ProposalKind.SET_FIELD:
        args |= {"field_name": p.field_name, "value": p.value}
    elif p.kind is ProposalKind.TIME_ENTRY and p.entry is not None:
        args |= {"entry": p.entry.model_dump(mode="json"), "text": p.text}
    else:
        args |= {"title": p.title, "text": p.text}
    return ActionRequest(name=p.kind.value, args=args, description=_describe(p))


def build_request(proposals: Sequence[Proposal]) -> HITLRequest:
    """The interrupt value: one action request (and its review config) per pending proposal, in order."""
    return HITLRequest(
        action_requests=[to_action_request(p) for p in proposals],
        review_configs=[
            ReviewConfig(action_name=p.kind.value, allowed_decisions=allowed_decisions(p)) for p in proposals
        ],
    )


def interrupt_items(value: object) -> list[Mapping[str, object]]:
    """The per-item records of an interrupt value: ``action_requests`` of a ``HITLRequest``, or the
    items of a legacy Agent Inbox list."""
    if isinstance(value, Mapping) and isinstance(value.get("action_requests"), list):
        return [r for r in value["action_requests"] if isinstance(r, Mapping)]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, Mapping)]
    return []


def proposal_ids(value: object) -> list[str] | None:
    """The proposal ids an interrupt of ours asks about, in order; None when it is not ours."""
    ids: list[str] = []
    items = interrupt_items(value)
    for item in items:
        request = item.get("action_request")
        args = (request.get("args") if isinstance(request, Mapping) else None) or item.get("args")
        if not isinstance(args, Mapping) or "proposal_id" not in args:
            return None
        ids.append(str(args["proposal_id"]))
    return ids or None


def describe_interrupt(value: object) -> list[str]:
    """One line per item of an interrupt value (either shape), for a chat or CLI notice."""
    lines = []
    for item in interrupt_items(value):
        request = item.get("action_request")
        name = request.get("action") if isinstance(request, Mapping) else None
        described = item.get("description")
        first = str(described).splitlines()[0] if described else None
        lines.append(str(name or first or item.get("name") or "?"))
    return lines


# --- answers ----------------------------------------------------------------------------------------
def _coerce_edit(p: Proposal, raw: object) -> float | str | None:
    """An edited value in the proposal's own type, checked by the writer's own value rule
    (``check_ai_value``), so an approver cannot approve a value the writer would refuse. Inboxes send
    strings; an empty string clears a number field."""
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


def _edited_value(p: Proposal, item: Mapping[str, object]) -> float | str | None:
    """HITL ``edited_action.args``, the legacy ``args.args``, a bare args dict, or a scalar."""
    if p.kind not in EDITABLE_KINDS:
        raise ApprovalResumeError(f"answer for {p.id}: a {p.kind.value} proposal cannot be edited")
    if "edited_value" in item:  # a decision that names its proposal: {"proposal_id", "edited_value"}
        return _coerce_edit(p, item["edited_value"])
    action = item.get("edited_action")
    inner: object = action.get("args") if isinstance(action, Mapping) else item.get("args")
    if isinstance(inner, Mapping) and "args" in inner and not ({"value", "text"} & set(inner)):
        inner = inner["args"]
    if isinstance(inner, Mapping):
        key = "value" if p.kind is ProposalKind.SET_FIELD else "text"
        if key not in inner:
            raise ApprovalResumeError(f"edit for {p.id}: the edited args must contain {key!r}")
        return _coerce_edit(p, inner[key])
    return _coerce_edit(p, inner)


def _decision_type(p: Proposal, raw: object) -> DecisionType:
    kind = _WIRE_TO_DECISION.get(str(raw))
    if kind is None:
        raise ApprovalResumeError(
            f"answer for {p.id}: unknown type {raw!r} (allowed: approve, edit, reject, respond)"
        )
    return kind


def _from_item(p: Proposal, item: object, approver: str, via: str) -> Decision:
    """One HITL decision (or a legacy Agent Inbox response) for proposal ``p``."""
    if not isinstance(item, Mapping) or "type" not in item:
        raise ApprovalResumeError(
            f"answer for {p.id} must be an object with a 'type', got {type(item).__name__}"
        )
    kind = _decision_type(p, item["type"])
    edited = _edited_value(p, item) if kind is DecisionType.EDIT else None
    message = item.get("message")
    if message is None and kind is DecisionType.RESPONSE and item.get("args") is not None:
        message = item.get("args")  # the legacy "response" carried its text in args
    note = item.get("note", message)
    return Decision(
        proposal_id=p.id,
        type=kind,
        edited_value=edited,
        approver=str(item.get("approver") or approver),
        note=None if note is None else str(note)[:2000],
        via=str(item.get("via") or via),
    )


def _from_keyed(raw: object, by_id: Mapping[str, Proposal], approver: str, via: str) -> Decision:
    """A decision that names its proposal (``{"proposal_id": ..., "type": ...}``)."""
    if not isinstance(raw, Mapping):
        raise ApprovalResumeError(f"each decision must be an object, got {type(raw).__name__}")
    pid = str(raw.get("proposal_id"))
    proposal = by_id.get(pid)
    if proposal is not None:
        return _from_item(proposal, raw, approver, via)
    data = {"approver": approver, "via": via, **raw}  # unknown id: kept, the writer refuses and audits it
    data["type"] = _WIRE_TO_DECISION.get(str(data.get("type")), data.get("type"))
    try:
        return Decision.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ApprovalResumeError(f"invalid decision: {problems}") from None


def parse_resume(
    value: object, proposals: Sequence[Proposal], *, approver: str = "inbox", via: str = "inbox"
) -> list[Decision]:
    """Validate a resume value into one ``Decision`` per pending proposal.

    Accepted shapes:
    - ``HITLResponse``: ``{"decisions": [{"type": approve|edit|reject|respond, ...}, ...]}``, one per
      action request, in order (``edited_action.args`` holds ``value`` or ``text``; ``message`` the note);
    - decisions that name their proposal: ``{"decisions": [{"proposal_id": ..., "type": ...}]}`` or a
      list of them;
    - a mapping ``{proposal_id: decision}``;
    - a legacy Agent Inbox list of responses (``accept|edit|ignore|response``), one per item.
    A proposal left without an answer is rejected (not written). A decision naming an unknown proposal
    id is kept: the writer refuses and audits it. Raises ``ApprovalResumeError`` on anything else.
    """
    by_id = {p.id: p for p in proposals}
    items: object = value.get("decisions") if isinstance(value, Mapping) and "decisions" in value else value
    if isinstance(value, Mapping) and "decisions" in value and not isinstance(items, list):
        raise ApprovalResumeError("'decisions' must be a list")
    decisions: list[Decision]
    if (
        isinstance(items, list)
        and items
        and all(isinstance(v, Mapping) and "proposal_id" in v for v in items)
    ):
        decisions = [_from_keyed(d, by_id, approver, via) for d in items]
    elif isinstance(items, list):
        if len(items) > len(proposals):
            raise ApprovalResumeError(f"got {len(items)} answers for {len(proposals)} pending proposals")
        decisions = [_from_item(p, item, approver, via) for p, item in zip(proposals, items, strict=False)]
    elif isinstance(value, Mapping) and value and all(k in by_id for k in value):
        decisions = [_from_item(by_id[str(k)], item, approver, via) for k, item in value.items()]
    else:
        raise ApprovalResumeError(
            "resume value must be a HITLResponse {'decisions': [...]}, a list of decisions, or "
            f"{{proposal_id: decision}}; got {type(value).__name__}"
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


# --- nodes ------------------------------------------------------------------------------------------
def _approver(runtime: Runtime[ContextT]) -> str:
    """Who decides: the context's ``approver`` (its settings' approver for the chat context)."""
    context = runtime.context
    found = getattr(context, "approver", None) or getattr(
        getattr(context, "settings", None), "approver", None
    )
    return str(found or "inbox")


def approval_node(state: ChatState, runtime: Runtime[ContextT]) -> dict[str, object]:
    """Pause for a human decision on every pending proposal (one interrupt per batch).

    No side effects: on resume this function runs again from the top, ``interrupt()`` returns the
    resume value, and the answer is validated into ``Decision``s (``state['decisions']``). An invalid
    answer re-interrupts with the error in the descriptions instead of failing the thread.
    """
    pending = pending_proposals(state)
    if not pending:
        return {"decisions": []}
    approver = _approver(runtime)
    request = build_request(pending)
    error: str | None = None
    while True:
        payload = request
        if error is not None:
            note = f"\n\n**The previous answer was rejected:** {error}"
            payload = HITLRequest(
                action_requests=[
                    ActionRequest(name=r["name"], args=r["args"], description=r.get("description", "") + note)
                    for r in request["action_requests"]
                ],
                review_configs=request["review_configs"],
            )
        answer = interrupt(payload)
        try:
            return {"decisions": parse_resume(answer, pending, approver=approver)}
        except ApprovalResumeError as exc:
            error = str(exc)


def apply_node(state: ChatState, runtime: Runtime[ContextT]) -> dict[str, object]:
    """Apply the decided proposals through the one writer; return its audit summaries.

    Re-running this node (after a crash) is safe: the writer checks the audit log, its claims and its
    idempotency markers, so nothing is written twice.
    """
    pending = pending_proposals(state)
    decisions = list(state.get("decisions") or [])
    if not pending and not decisions:
        return {"applied": []}
    writer = getattr(runtime.context, "writer", None)
    if writer is None:
        raise RuntimeError(
            "apply_node needs a writer in the run-time context (context=...(writer=Writer(...)))"
        )
    from langgraph.config import get_config

    thread_id = str(get_config().get("configurable", {}).get("thread_id") or "")
    run_id = str(state.get("run_id") or thread_id)
    results = writer.apply(
        pending, decisions, thread_id=thread_id, run_id=run_id, approver=_approver(runtime)
    )
    summaries = [dict(r.summary()) for r in results]
    reported = {s.get("proposal_id") for s in summaries}
    # Every pending proposal leaves the queue, even if the writer skipped it silently.
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
    checkpointer: BaseCheckpointSaver[str] | None = None,
) -> CompiledStateGraph[ChatState, ApprovalContext, ChatState, ChatState]:
    """START -> approval -> apply -> END: the graph of proposals from triggers and tests.

    Invoke with ``{"proposals": [...], "run_id": ...}``, ``configurable.thread_id``, the thread tagged
    ``metadata={"effort_graph": "approval"}``, and ``context=ApprovalContext(writer=..., approver=...)``.
    """
    graph = StateGraph(ChatState, context_schema=ApprovalContext)
    graph.add_node("approval", approval_node)
    graph.add_node("apply", apply_node)
    graph.add_conditional_edges(START, route_pending)
    graph.add_edge("approval", "apply")
    graph.add_edge("apply", END)
    return graph.compile(checkpointer=checkpointer)
