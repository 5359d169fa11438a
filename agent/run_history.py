"""Runs: what each run proposed, what was decided and written, and how to find it again.

A run is one invocation of a graph that proposed changes (a retrospective, a summary, a chat turn, a
webhook reaction). Its record is the audit log (every row carries the run id and the thread id, which
is the approval id people see) plus, while it is not finished, its checkpoint thread (waiting for a
decision, or stopped by a crash before one). ``resolve`` accepts either id, or a unique prefix, wherever
a run id is asked for; ``abandon`` ends a waiting or stopped run for good.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from pydantic import BaseModel, ConfigDict

from agent.approvals_service import PendingApproval, head, list_pending, thread_ids
from agent.audit import FINAL_STATUSES, AuditAction, AuditEntry, AuditLog, AuditStatus
from agent.config import Settings
from agent.graph_kinds import UnknownGraph, spec_for
from tools.proposals import Decision, DecisionType


class RunNotFound(LookupError):
    """No run (or several) matches the given id; the message says which ids exist."""


class RunSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    approval_id: str | None  # the thread id (what `effort approvals` shows)
    graph: str | None
    state: str  # waiting | stopped | decided | rolled back | partly rolled back
    started: datetime | None
    last: datetime | None
    items: int
    outcomes: dict[str, int]  # final write status -> count (rolled_back counted separately)


class RunItem(BaseModel):
    """One proposal of a run: what it was, the decision, the write and its rollback."""

    model_config = ConfigDict(frozen=True)

    proposal_id: str
    kind: str | None
    target_gid: str | None
    field_name: str | None
    description: str
    decision: str | None
    approver: str | None
    note: str | None
    write: str | None
    error: str | None
    before: Any = None
    after: Any = None
    rollback: str | None = None


def _graph_of(checkpointer: BaseCheckpointSaver[Any] | None, thread_id: str | None) -> str | None:
    if checkpointer is None or not thread_id:
        return None
    tup = head(checkpointer, thread_id)
    return str((tup.metadata or {}).get("effort_graph") or "") or None if tup is not None else None


def stopped_threads(
    checkpointer: BaseCheckpointSaver[Any], settings: Settings, pending: Sequence[PendingApproval] = ()
) -> list[tuple[str, Any]]:
    """Threads with work left that is not a pending approval (a crash or an error stopped them)."""
    waiting = {p.thread_id for p in pending}
    graphs: dict[str, Any] = {}
    out = []
    for thread in thread_ids(checkpointer):
        if thread in waiting:
            continue
        tup = head(checkpointer, thread)
        kind = str((tup.metadata or {}).get("effort_graph") or "") if tup is not None else ""
        try:
            spec = spec_for(kind)
        except UnknownGraph:
            continue
        graph = graphs.get(kind) or graphs.setdefault(kind, spec.build(checkpointer, settings))
        if graph.get_state({"configurable": {"thread_id": thread}}).next:
            out.append((thread, tup))
    return out


def list_runs(
    audit: AuditLog, checkpointer: BaseCheckpointSaver[Any] | None, settings: Settings, *, limit: int = 50
) -> list[RunSummary]:
    """Runs newest first: waiting and stopped ones from the checkpoints, the rest from the audit log."""
    runs: dict[str, RunSummary] = {}
    pending = list_pending(checkpointer) if checkpointer is not None else []
    for p in pending:
        run_id = p.run_id or p.thread_id
        runs[run_id] = RunSummary(
            run_id=run_id,
            approval_id=p.thread_id,
            graph=p.graph,
            state="waiting",
            started=p.created_at,
            last=p.created_at,
            items=len(p.proposals),
            outcomes={},
        )
    if checkpointer is not None:
        for thread, tup in stopped_threads(checkpointer, settings, pending):
            channel = tup.checkpoint.get("channel_values", {})
            run_id = str(channel.get("run_id") or thread)
            ts = tup.checkpoint.get("ts")
            when = datetime.fromisoformat(ts) if isinstance(ts, str) else None
            runs.setdefault(
                run_id,
                RunSummary(
                    run_id=run_id,
                    approval_id=thread,
                    graph=_graph_of(checkpointer, thread),
                    state="stopped",
                    started=when,
                    last=when,
                    items=0,
                    outcomes={},
                ),
            )
    by_run: dict[str, list[AuditEntry]] = {}
    for row in audit.entries(actions=[AuditAction.DECISION, AuditAction.WRITE, AuditAction.ROLLBACK]):
        if row.run_id:
            by_run.setdefault(row.run_id, []).append(row)
    for run_id, rows in by_run.items():
        if run_id in runs:
            continue
        items = _items(rows)
        outcomes = Counter(i.write for i in items if i.write)
        rolled = sum(1 for i in items if i.rollback == AuditStatus.ROLLED_BACK.value)
        state = "decided"
        if rolled:
            state = (
                "rolled back"
                if rolled == outcomes.get(AuditStatus.APPLIED.value, 0)
                else "partly rolled back"
            )
        first_thread = rows[0].thread_id
        runs[run_id] = RunSummary(
            run_id=run_id,
            approval_id=first_thread,
            graph=_graph_of(checkpointer, first_thread) or _source(rows),
            state=state,
            started=rows[0].ts,
            last=rows[-1].ts,
            items=len(items),
            outcomes=dict(outcomes),
        )
    ordered = sorted(
        runs.values(), key=lambda r: r.last.astimezone(UTC).isoformat() if r.last else "", reverse=True
    )
    return ordered[:limit]


def _source(rows: Sequence[AuditEntry]) -> str | None:
    for row in rows:
        if row.proposal and row.proposal.get("source"):
            return str(row.proposal["source"])
    return None


def _items(rows: Sequence[AuditEntry]) -> list[RunItem]:
    """One record per proposal of the run, from its newest rows."""
    order: list[str] = []
    latest: dict[tuple[str, AuditAction], AuditEntry] = {}
    first: dict[str, AuditEntry] = {}
    for row in rows:
        if row.proposal_id is None:
            continue
        if row.proposal_id not in first:
            order.append(row.proposal_id)
            first[row.proposal_id] = row
        latest[(row.proposal_id, row.action)] = row
    items = []
    for pid in order:
        decision = latest.get((pid, AuditAction.DECISION))
        write = latest.get((pid, AuditAction.WRITE))
        rollback = latest.get((pid, AuditAction.ROLLBACK))
        base = decision or write or first[pid]
        proposal = base.proposal or first[pid].proposal or {}
        note = (decision.decision or {}).get("note") if decision is not None and decision.decision else None
        items.append(
            RunItem(
                proposal_id=pid,
                kind=base.kind,
                target_gid=base.target_gid,
                field_name=base.field_name,
                description=str(proposal.get("description") or ""),
                decision=decision.status.value if decision is not None else None,
                approver=decision.approver if decision is not None else None,
                note=None if note is None else str(note),
                write=write.status.value if write is not None and write.status in FINAL_STATUSES else None,
                error=(write.error if write is not None else None) or (decision.error if decision else None),
                before=write.before if write is not None else None,
                after=write.after if write is not None else None,
                rollback=rollback.status.value if rollback is not None else None,
            )
        )
    return items


def run_items(audit: AuditLog, run_id: str) -> list[RunItem]:
    return _items(audit.entries(run_id=run_id))


def resolve(
    audit: AuditLog, checkpointer: BaseCheckpointSaver[Any] | None, settings: Settings, ident: str
) -> str:
    """A run id from a run id, an approval (thread) id, or a unique prefix of either."""
    wanted = ident.strip()
    if not wanted:
        raise RunNotFound("the run id is empty (see `effort runs list`)")
    runs = list_runs(audit, checkpointer, settings, limit=10_000)
    for exact in ([r for r in runs if r.run_id == wanted], [r for r in runs if r.approval_id == wanted]):
        if exact:
            return _one(exact, wanted)
    prefix = [r for r in runs if r.run_id.startswith(wanted) or (r.approval_id or "").startswith(wanted)]
    return _one(prefix, wanted)


def _one(found: Sequence[RunSummary], wanted: str) -> str:
    if len(found) == 1:
        return found[0].run_id
    if not found:
        raise RunNotFound(f"no run or approval {wanted!r} (see `effort runs list`)")
    shown = ", ".join(r.run_id for r in found[:6])
    raise RunNotFound(f"{wanted!r} matches {len(found)} runs ({shown}); give the run id")


def abandon(
    checkpointer: BaseCheckpointSaver[Any],
    audit: AuditLog,
    thread_id: str,
    *,
    approver: str,
    note: str | None,
) -> int:
    """End a waiting or stopped run for good: its pending and approved-but-unwritten proposals are
    recorded as rejected ("abandoned"), so nothing of it is ever written, and its thread is removed so
    the next run of that scope and period starts afresh. Returns how many proposals were withdrawn."""
    reason = f"abandoned: {note}" if note else "abandoned"
    pending = next((p for p in list_pending(checkpointer) if p.thread_id == thread_id), None)
    withdrawn = 0
    run_id = pending.run_id if pending is not None else None
    for proposal in pending.proposals if pending is not None else []:
        decision = Decision(
            proposal_id=proposal.id, type=DecisionType.IGNORE, approver=approver, note=reason, via="cli"
        )
        audit.record(
            action=AuditAction.DECISION,
            status=AuditStatus.REJECTED,
            proposal=proposal,
            decision=decision,
            thread_id=thread_id,
            run_id=run_id or thread_id,
        )
        withdrawn += 1
    for entry in audit.unfinished(thread_id=thread_id):
        decision = Decision(
            proposal_id=entry.proposal_id or "?",
            type=DecisionType.IGNORE,
            approver=approver,
            note=reason,
            via="cli",
        )
        audit.record(
            action=AuditAction.DECISION,
            status=AuditStatus.REJECTED,
            proposal_id=entry.proposal_id,
            decision=decision,
            thread_id=thread_id,
            run_id=entry.run_id,
            target_gid=entry.target_gid,
            field_name=entry.field_name,
        )
        withdrawn += 1
    if head(checkpointer, thread_id) is None and not withdrawn:
        raise RunNotFound(f"nothing to abandon for {thread_id!r}: it is neither waiting nor stopped")
    checkpointer.delete_thread(thread_id)
    return withdrawn
