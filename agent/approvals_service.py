"""Pending approvals across processes: list, show, decide (resume), finish, poll Asana.

A pending approval is a LangGraph thread whose newest checkpoint holds an ``__interrupt__`` write from
``agent.approval.approval_node``; it lives in the persisted checkpointer (agent/checkpoint.py), so it
survives restarts and can be resumed from any process with ``Command(resume=...)``. The graph that
owns a thread is named by the ``effort_graph`` checkpoint metadata; ``agent.graph_kinds`` rebuilds it
and its context, with no branch per kind here.

Deciding a batch is claimed in the store (``agent.claims``): when two people (or a person and the
Asana poll of an ``effort serve`` replica) decide the same batch at once, one decision is applied and
the other is told that the batch was decided by another process.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from pydantic import BaseModel, ConfigDict

from agent.approval import ApprovalResumeError, interrupt_items, parse_resume, pending_proposals, proposal_ids
from agent.asana_approvals import needs_asana_approval
from agent.claims import Claim, Claims, ClaimState
from agent.config import Phase, Settings
from agent.graph_kinds import GraphKind, metadata, spec_for
from tools.proposals import Decision, DecisionType, Proposal

_TO_WIRE = {
    DecisionType.ACCEPT: "approve",
    DecisionType.EDIT: "edit",
    DecisionType.IGNORE: "reject",
    DecisionType.RESPONSE: "respond",
}


class ApprovalNotFound(LookupError):
    """No pending approval matches the given id."""


class AlreadyDecided(RuntimeError):
    """Another process decided (or is deciding) this batch."""


class PendingApproval(BaseModel):
    """One waiting batch: the thread, its graph, and the proposals of its interrupt."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    thread_id: str
    graph: str
    run_id: str | None
    created_at: datetime | None
    checkpoint_id: str | None = None
    items: list[dict[str, Any]]  # the interrupt's action requests (or legacy Agent Inbox items)
    proposals: list[Proposal]  # the same proposals, in the same order

    @property
    def id(self) -> str:
        return self.thread_id


def _interrupt_value(pending_writes: Iterable[Any]) -> Any:
    value: Any = None
    for write in pending_writes or []:
        if len(write) >= 3 and write[1] == "__interrupt__":
            interrupts = write[2]
            seq = interrupts if isinstance(interrupts, list | tuple) else [interrupts]
            for item in seq:
                value = getattr(item, "value", item)
    return value


def _pending_from_tuple(tup: Any) -> PendingApproval | None:
    value = _interrupt_value(tup.pending_writes)
    ids = proposal_ids(value)
    if ids is None:
        return None  # no interrupt, or one that is not ours
    channel = tup.checkpoint.get("channel_values", {})
    # The node, when resumed, decides on the pending proposals of the state in this order: match by
    # position (a redacted secret changes a proposal's id, never its place).
    proposals = pending_proposals(channel)
    if len(proposals) != len(ids):
        return None
    meta = tup.metadata or {}
    ts = tup.checkpoint.get("ts")
    return PendingApproval(
        thread_id=str(tup.config["configurable"]["thread_id"]),
        graph=str(meta.get("effort_graph") or GraphKind.APPROVAL.value),
        run_id=channel.get("run_id"),
        created_at=datetime.fromisoformat(ts) if isinstance(ts, str) else None,
        checkpoint_id=tup.config["configurable"].get("checkpoint_id"),
        items=[dict(item) for item in interrupt_items(value)],
        proposals=proposals,
    )


def thread_ids(checkpointer: BaseCheckpointSaver[Any]) -> list[str]:
    """Every thread id in the checkpointer. SqliteSaver and PostgresSaver both keep a ``checkpoints``
    table; reading ids there avoids deserialising every checkpoint of every thread."""
    conn = getattr(checkpointer, "conn", None)
    lock = getattr(checkpointer, "lock", None)
    if conn is not None and lock is not None:
        try:
            with lock:
                rows = conn.execute(
                    "SELECT DISTINCT thread_id FROM checkpoints WHERE checkpoint_ns = ''"
                ).fetchall()
            return sorted(str(r["thread_id"] if isinstance(r, dict) else r[0]) for r in rows)
        except Exception:  # another saver layout: fall back to the generic (slower) listing
            pass
    # list() holds the saver's lock while it iterates: materialise before calling anything else.
    return sorted({str(t.config["configurable"]["thread_id"]) for t in list(checkpointer.list(None))})


def head(checkpointer: BaseCheckpointSaver[Any], thread_id: str) -> Any:
    return checkpointer.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})


def list_pending(checkpointer: BaseCheckpointSaver[Any]) -> list[PendingApproval]:
    """Every thread whose newest checkpoint waits on the approval gate, oldest first."""
    found: list[PendingApproval] = []
    for thread in thread_ids(checkpointer):
        tup = head(checkpointer, thread)
        pending = _pending_from_tuple(tup) if tup is not None else None
        if pending is not None:
            found.append(pending)
    found.sort(key=lambda p: (p.created_at or datetime.min, p.thread_id))
    return found


def get_pending(checkpointer: BaseCheckpointSaver[Any], approval_id: str) -> PendingApproval:
    """The pending approval with this thread id (or a unique prefix of it). An empty id selects
    nothing (it is an error, never "the only one")."""
    wanted = approval_id.strip()
    if not wanted:
        raise ApprovalNotFound("the approval id is empty (see `effort approvals list`)")
    pending = list_pending(checkpointer)
    exact = [p for p in pending if p.thread_id == wanted]
    matches = exact or [p for p in pending if p.thread_id.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ApprovalNotFound(f"no pending approval {wanted!r} (see `effort approvals list`)")
    raise ApprovalNotFound(f"{wanted!r} matches {len(matches)} approvals; give more of the id")


def select_items(pending: PendingApproval, items: Sequence[str] | None) -> list[str]:
    """Proposal ids from ids, unique id prefixes or 1-based positions; ``None`` = every item. An
    empty selection selects nothing: it is an error, never "all"."""
    ids = [p.id for p in pending.proposals]
    if items is None:
        return ids
    if not items:
        raise ApprovalResumeError("no items given: name at least one (id, id prefix or 1-based number)")
    out: list[str] = []
    for raw in items:
        key = raw.strip()
        if not key:
            raise ApprovalResumeError("an item is empty: name it by id, id prefix or 1-based number")
        if key.isdigit() and 1 <= int(key) <= len(ids):
            out.append(ids[int(key) - 1])
            continue
        hits = [i for i in ids if i == key] or [i for i in ids if i.startswith(key)]
        if len(hits) != 1:
            shown = ", ".join(ids[:5]) + (" …" if len(ids) > 5 else "")
            raise ApprovalResumeError(
                f"item {key!r} is not one of this approval's proposals (1-{len(ids)}: {shown})"
            )
        out.append(hits[0])
    return out


def decisions_for(
    pending: PendingApproval,
    action: Literal["approve", "reject", "edit"],
    *,
    approver: str,
    items: Sequence[str] | None = None,
    edits: dict[str, str] | None = None,
    approve_rest: bool = False,
    note: str | None = None,
    via: str = "cli",
) -> list[Decision]:
    """The CLI's decisions for a batch, validated exactly as the approval node will validate them.

    approve: the chosen items (default all) are approved, the rest rejected. reject: all rejected.
    edit: the edited items are approved with the new value; the rest rejected unless ``approve_rest``.
    """
    chosen = set(select_items(pending, items)) if action == "approve" else set()
    edited: dict[str, str] = {}
    if action == "edit":
        if not edits:
            raise ApprovalResumeError("edit needs --item and --value")
        for key, value in edits.items():
            edited[select_items(pending, [key])[0]] = value
    wire: list[dict[str, Any]] = []
    for p in pending.proposals:
        if p.id in edited:
            wire.append(
                {"type": "edit", "edited_action": {"name": p.kind.value, "args": _edit_args(p, edited[p.id])}}
            )
        elif p.id in chosen or (action == "edit" and approve_rest):
            wire.append({"type": "approve"})
        else:
            wire.append({"type": "reject", "message": "rejected" if action == "reject" else "not selected"})
        if note:
            wire[-1]["message"] = note
        wire[-1]["via"] = via
    return parse_resume({"decisions": wire}, pending.proposals, approver=approver, via=via)


def _edit_args(p: Proposal, value: str) -> dict[str, str]:
    return {"value": value} if p.field_name else {"text": value}


def to_response(
    decisions: Sequence[Decision], proposals: Sequence[Proposal]
) -> dict[str, list[dict[str, Any]]]:
    """Decisions as a ``HITLResponse`` (one per action request, in order), the answer every surface sends."""
    by_id = {d.proposal_id: d for d in decisions}
    out: list[dict[str, Any]] = []
    for p in proposals:
        d = by_id.get(p.id)
        if d is None:
            out.append({"type": "reject", "message": "no decision given"})
            continue
        item: dict[str, Any] = {"type": _TO_WIRE[d.type], "via": d.via}
        if d.type is DecisionType.EDIT:
            args = {"value": d.edited_value} if p.field_name else {"text": d.edited_value}
            item["edited_action"] = {"name": p.kind.value, "args": args}
        if d.note is not None:
            item["message"] = d.note
        out.append(item)
    return {"decisions": out}


def _config(kind: GraphKind, thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}, "metadata": metadata(kind)}


def resume(
    checkpointer: BaseCheckpointSaver[Any],
    pending: PendingApproval,
    decisions: Sequence[Decision],
    *,
    writer: Any,
    settings: Settings,
    approver: str,
    claim_wait: float = 120.0,
) -> dict[str, Any]:
    """Resume the thread with the decisions as a ``HITLResponse``; returns the graph's output. The
    batch is claimed first: a second decider gets ``AlreadyDecided``."""
    spec = spec_for(pending.graph)
    claims = Claims(writer.audit.engine)
    got = claims.claim(f"batch:{pending.thread_id}:{pending.checkpoint_id}", wait=claim_wait)
    if not isinstance(got, Claim):
        what = got.outcome or "still deciding" if got.state is ClaimState.DONE else "still deciding"
        raise AlreadyDecided(f"approval {pending.thread_id} was decided by another process ({what})")
    try:
        graph = spec.build(checkpointer, settings)
        context = spec.context(settings, writer, approver, writer.store)
        value = to_response(decisions, pending.proposals)
        out = graph.invoke(Command(resume=value), _config(spec.kind, pending.thread_id), context=context)
    except BaseException:
        claims.release(got)
        raise
    claims.complete(got, f"decided by {approver}")
    return dict(out) if isinstance(out, dict) else {}


def finish_interrupted(
    checkpointer: BaseCheckpointSaver[Any], *, writer: Any, settings: Settings, approver: str
) -> list[str]:
    """Threads stopped between approval and apply (a crash): run their apply step again (the writer's
    claims keep concurrent finishers from writing anything twice)."""
    finished: list[str] = []
    for thread in thread_ids(checkpointer):
        tup = head(checkpointer, thread)
        kind = str((tup.metadata or {}).get("effort_graph") or "") if tup is not None else ""
        try:
            spec = spec_for(kind)
        except LookupError:
            continue
        if not spec.ends_after_apply:
            continue
        graph = spec.build(checkpointer, settings)
        config = _config(spec.kind, thread)
        if tuple(graph.get_state(config).next) == ("apply",):
            graph.invoke(None, config, context=spec.context(settings, writer, approver, writer.store))
            finished.append(thread)
    return finished


def poll_asana(checkpointer: BaseCheckpointSaver[Any], *, writer: Any, settings: Settings) -> dict[str, str]:
    """Optimize phase: create missing Asana approval subtasks for significant proposals, and resume
    every batch made only of significant items once each has a verdict there (completed = approve, a
    "reject" comment = reject). A batch with other items waits for a person's decision on them
    (`effort approvals`); its significant items pass the writer's guard once their subtask is
    completed. Returns ``{thread_id: what happened}``."""
    from agent.asana_approvals import request_approvals, verdicts

    report: dict[str, str] = {}
    if settings.phase is not Phase.OPTIMIZE:
        return report
    for pending in list_pending(checkpointer):
        significant = [p for p in pending.proposals if needs_asana_approval(p, settings)]
        if not significant:
            continue
        run_id = pending.run_id or pending.thread_id
        request_approvals(writer, significant, thread_id=pending.thread_id, run_id=run_id)
        found = verdicts(writer.gateway, significant)
        waiting = [p.id for p in significant if found.get(p.id, "pending") == "pending"]
        others = len(pending.proposals) - len(significant)
        if waiting:
            report[pending.thread_id] = f"waiting on {len(waiting)} Asana approval(s)"
            continue
        if others:
            report[pending.thread_id] = (
                f"Asana approvals given; {others} other item(s) need a decision (effort approvals)"
            )
            continue
        decisions = [
            Decision(
                proposal_id=p.id,
                type=DecisionType.ACCEPT if found[p.id] == "approved" else DecisionType.IGNORE,
                approver="asana-approval-subtask",
                via="asana_subtask",
            )
            for p in pending.proposals
        ]
        try:
            resume(
                checkpointer,
                pending,
                decisions,
                writer=writer,
                settings=settings,
                approver="asana-approval-subtask",
            )
        except AlreadyDecided:
            report[pending.thread_id] = "decided by another process"
            continue
        report[pending.thread_id] = "resumed from Asana verdicts"
    return report
