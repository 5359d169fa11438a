"""Pending approvals across processes: list, show, decide (resume), finish, roll back.

A pending approval is a LangGraph thread whose newest checkpoint holds an ``__interrupt__`` write from
``agent.approval.approval_node``; it lives in the persisted checkpointer (agent/checkpoint.py), so it
survives restarts and can be resumed from any process with ``Command(resume=...)``. The graph that
owns a thread is named by the ``effort_graph`` checkpoint metadata (``metadata={"effort_graph": ...}``
at invoke time); ``GRAPH_KINDS`` says how to rebuild each kind for the resume.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from pydantic import BaseModel, ConfigDict

from agent.approval import GRAPH_KIND as APPROVAL_KIND
from agent.approval import ApprovalResumeError, build_approval_graph, parse_resume
from agent.config import Phase, Settings
from tools.proposals import Decision, DecisionType, Proposal

# Graph kinds the CLI can rebuild to resume a thread (checkpoint metadata "effort_graph").
GRAPH_KINDS: tuple[str, ...] = (APPROVAL_KIND, "chat", "retro")
_ENDS_AFTER_APPLY = frozenset({APPROVAL_KIND, "retro"})  # graphs whose apply step is their last


class ApprovalNotFound(LookupError):
    """No pending approval matches the given id."""


class PendingApproval(BaseModel):
    """One waiting batch: the thread, its graph, and the proposals of its interrupt."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    thread_id: str
    graph: str
    run_id: str | None
    created_at: datetime | None
    items: list[dict[str, Any]]  # the interrupt payload (Agent Inbox HumanInterrupt items)
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
    if not isinstance(value, list) or not value:
        return None
    ids = []
    for item in value:
        args = item.get("action_request", {}).get("args", {}) if isinstance(item, dict) else {}
        if "proposal_id" not in args:
            return None  # an interrupt that is not ours
        ids.append(str(args["proposal_id"]))
    channel = tup.checkpoint.get("channel_values", {})
    by_id = {p.id: p for p in channel.get("proposals") or [] if isinstance(p, Proposal)}
    if not all(i in by_id for i in ids):
        return None
    meta = tup.metadata or {}
    ts = tup.checkpoint.get("ts")
    return PendingApproval(
        thread_id=str(tup.config["configurable"]["thread_id"]),
        graph=str(meta.get("effort_graph") or APPROVAL_KIND),
        run_id=channel.get("run_id"),
        created_at=datetime.fromisoformat(ts) if isinstance(ts, str) else None,
        items=list(value),
        proposals=[by_id[i] for i in ids],
    )


def _thread_ids(checkpointer: BaseCheckpointSaver[Any]) -> list[str]:
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


def _head(checkpointer: BaseCheckpointSaver[Any], thread_id: str) -> Any:
    return checkpointer.get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})


def list_pending(checkpointer: BaseCheckpointSaver[Any]) -> list[PendingApproval]:
    """Every thread whose newest checkpoint waits on the approval gate, oldest first."""
    found: list[PendingApproval] = []
    for thread in _thread_ids(checkpointer):
        tup = _head(checkpointer, thread)
        pending = _pending_from_tuple(tup) if tup is not None else None
        if pending is not None:
            found.append(pending)
    found.sort(key=lambda p: (p.created_at or datetime.min, p.thread_id))
    return found


def get_pending(checkpointer: BaseCheckpointSaver[Any], approval_id: str) -> PendingApproval:
    """The pending approval with this thread id (or a unique prefix of it)."""
    pending = list_pending(checkpointer)
    exact = [p for p in pending if p.thread_id == approval_id]
    matches = exact or [p for p in pending if p.thread_id.startswith(approval_id)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ApprovalNotFound(f"no pending approval {approval_id!r} (see `effort approvals list`)")
    raise ApprovalNotFound(f"{approval_id!r} matches {len(matches)} approvals; give more of the id")


def _select(pending: PendingApproval, items: Sequence[str] | None) -> list[str]:
    """Proposal ids from ids, unique id prefixes or 1-based positions."""
    if not items:
        return [p.id for p in pending.proposals]
    ids = [p.id for p in pending.proposals]
    out: list[str] = []
    for raw in items:
        key = raw.strip()
        if key.isdigit() and 1 <= int(key) <= len(ids):
            out.append(ids[int(key) - 1])
            continue
        hits = [i for i in ids if i == key] or [i for i in ids if i.startswith(key)]
        if len(hits) != 1:
            raise ApprovalResumeError(
                f"item {key!r} is not one of this approval's proposals: {', '.join(ids)}"
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

    approve: the chosen items (default all) are accepted, the rest ignored. reject: all ignored.
    edit: the edited items are accepted with the new value; the rest ignored unless ``approve_rest``.
    """
    chosen = set(_select(pending, items)) if action == "approve" else set()
    edited: dict[str, str] = {}
    if action == "edit":
        if not edits:
            raise ApprovalResumeError("edit needs --item and --value")
        for key, value in edits.items():
            edited[_select(pending, [key])[0]] = value
    raw: list[dict[str, Any]] = []
    for p in pending.proposals:
        if p.id in edited:
            raw.append({"proposal_id": p.id, "type": "edit", "edited_value": edited[p.id], "note": note})
        elif p.id in chosen or (action == "edit" and approve_rest):
            raw.append({"proposal_id": p.id, "type": "accept", "note": note})
        else:
            reason = note or ("rejected" if action == "reject" else "not selected")
            raw.append({"proposal_id": p.id, "type": "ignore", "note": reason})
    return parse_resume({"decisions": raw}, pending.proposals, approver=approver, via=via)


def _graph_for(kind: str, checkpointer: BaseCheckpointSaver[Any], settings: Settings) -> Any:
    if kind == APPROVAL_KIND:
        return build_approval_graph(checkpointer)
    if kind == "retro":
        from agent.retro import build_retro_graph

        return build_retro_graph(checkpointer)
    if kind == "chat":
        from agent.graph import build_chat_graph

        llm = None
        if settings.llm_configured:
            from agent.llm import make_llm

            llm = make_llm(settings, streaming=False)
        return build_chat_graph(llm, checkpointer)
    raise ApprovalResumeError(f"thread belongs to graph {kind!r}, which this command cannot resume")


def _invoke_kwargs(kind: str, settings: Settings, writer: Any) -> dict[str, Any]:
    if kind == "chat":
        from agent.context import AgentContext

        ctx = AgentContext(
            settings=settings, workspace_loader=writer.store.workspace, store=writer.store, writer=writer
        )
        return {"context": ctx}
    return {}


def _config(kind: str, thread_id: str, *, writer: Any, settings: Settings, approver: str) -> dict[str, Any]:
    configurable: dict[str, Any] = {"thread_id": thread_id, "writer": writer, "approver": approver}
    if kind == "retro":  # the retro graph's own nodes do not run again, but its config check does
        from agent.retro import RetroContext

        configurable["retro"] = RetroContext(settings=settings, store=writer.store)
    return {"configurable": configurable, "metadata": {"effort_graph": kind}}


def resume(
    checkpointer: BaseCheckpointSaver[Any],
    pending: PendingApproval,
    decisions: Sequence[Decision],
    *,
    writer: Any,
    settings: Settings,
    approver: str,
) -> dict[str, Any]:
    """Resume the thread with ``Command(resume={"decisions": [...]})``; returns the graph's output."""
    graph = _graph_for(pending.graph, checkpointer, settings)
    config = _config(pending.graph, pending.thread_id, writer=writer, settings=settings, approver=approver)
    value = {"decisions": [d.model_dump(mode="json") for d in decisions]}
    out = graph.invoke(Command(resume=value), config, **_invoke_kwargs(pending.graph, settings, writer))
    return dict(out) if isinstance(out, dict) else {}


def finish_interrupted(
    checkpointer: BaseCheckpointSaver[Any], *, writer: Any, settings: Settings, approver: str
) -> list[str]:
    """Threads stopped between approval and apply (a crash): run their apply step again."""
    finished: list[str] = []
    for thread in _thread_ids(checkpointer):
        tup = _head(checkpointer, thread)
        kind = str((tup.metadata or {}).get("effort_graph") or "") if tup is not None else ""
        if kind not in _ENDS_AFTER_APPLY:
            continue
        graph = _graph_for(kind, checkpointer, settings)
        config = _config(kind, thread, writer=writer, settings=settings, approver=approver)
        if tuple(graph.get_state(config).next) == ("apply",):
            graph.invoke(None, config)
            finished.append(thread)
    return finished


def poll_asana(checkpointer: BaseCheckpointSaver[Any], *, writer: Any, settings: Settings) -> dict[str, str]:
    """Optimize phase: create missing Asana approval subtasks for significant proposals and resume
    every batch whose items all have a verdict there (completed = approve, "reject" comment = reject).
    Returns ``{thread_id: what happened}``."""
    from agent.asana_approvals import request_approvals, verdicts

    report: dict[str, str] = {}
    if settings.phase is not Phase.OPTIMIZE:
        return report
    for pending in list_pending(checkpointer):
        significant = [p for p in pending.proposals if p.significant]
        if not significant:
            continue
        request_approvals(
            writer, significant, thread_id=pending.thread_id, run_id=pending.run_id or pending.thread_id
        )
        found = verdicts(writer.gateway, significant)
        waiting = [p.id for p in pending.proposals if found.get(p.id, "pending") == "pending"]
        if waiting:
            report[pending.thread_id] = f"waiting on {len(waiting)} Asana approval(s)"
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
        resume(
            checkpointer,
            pending,
            decisions,
            writer=writer,
            settings=settings,
            approver="asana-approval-subtask",
        )
        report[pending.thread_id] = "resumed from Asana verdicts"
    return report
