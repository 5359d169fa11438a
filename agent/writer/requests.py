"""The Asana approval subtask a significant proposal asks a lead to complete (optimize phase)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.audit import AuditAction, AuditStatus
from agent.claims import Claim
from agent.writer.values import SYSTEM_APPROVER, ApplyResult, ItemCtx, Stop, approval_marker_for, short_json
from tools.proposals import Proposal, ProposalKind

if TYPE_CHECKING:
    from agent.writer.base import WriterBase


def approval_request(proposal: Proposal, assignee_gid: str | None) -> Proposal:
    """The request as a proposal of its own: a subtask on the target task (a task in the target
    project for summary tasks), assigned to the lead, carrying the proposal and its evidence."""
    notes = (
        f"Effort Copilot asks for your approval.\n\n{proposal.description}\n\n"
        f"Proposal: {proposal.model_dump_json(exclude={'evidence'})}\n\nEvidence: "
        f"{short_json(proposal.evidence)}\n\nComplete this task to approve. "
        f"Comment 'reject' to reject.\n\n{approval_marker_for(proposal.id)}"
    )
    return Proposal(
        kind=ProposalKind.SUMMARY_TASK
        if proposal.kind is ProposalKind.SUMMARY_TASK
        else ProposalKind.SUBTASK,
        target_gid=proposal.target_gid,
        project_gid=proposal.project_gid,
        title=f"Approve: {(proposal.description or proposal.kind.value)[:200]}",
        text=notes,
        assignee_gid=assignee_gid,
        description="Asana approval request",
        source=proposal.source,
    )


def request_approval(
    writer: WriterBase, proposal: Proposal, *, thread_id: str, run_id: str, assignee_gid: str | None
) -> ApplyResult:
    """Create (once, claimed across processes) the approval subtask; audited and approved by the gate
    itself (it asks for approval, it changes nothing of the human's)."""
    pid = proposal.id
    request = approval_request(proposal, assignee_gid)
    got = writer.claims.claim(f"approval_request:{thread_id}:{pid}", wait=writer.claim_wait)
    existing = writer.audit.latest(pid, thread_id=thread_id, action=AuditAction.APPROVAL_REQUEST)
    if not isinstance(got, Claim):
        if existing is not None:
            return ApplyResult.from_row(existing, note="requested by another process")
        return ApplyResult(
            proposal_id=pid,
            status=AuditStatus.FAILED,
            action=AuditAction.APPROVAL_REQUEST,
            note="another process is creating this approval request",
        )
    if existing is not None and existing.status is AuditStatus.APPLIED:
        writer.claims.complete(got, f"applied #{existing.id}")
        return ApplyResult.from_row(existing)
    approval = writer.audit.record(
        action=AuditAction.APPROVAL_REQUEST,
        status=AuditStatus.APPROVED,
        proposal=request,
        proposal_id=pid,
        thread_id=thread_id,
        run_id=run_id,
        approver=SYSTEM_APPROVER,
    )
    ctx = ItemCtx(request, pid, thread_id, run_id, SYSTEM_APPROVER, approval)
    status, after, error, wrote = AuditStatus.APPLIED, None, None, False
    try:
        if not writer.settings.phase.writes:
            raise Stop(AuditStatus.REFUSED, "phase is insight: no writes")
        writer.load_target(ctx)
        made, wrote = writer.creates.find_or_create(
            ctx, approval_marker_for(pid), AuditAction.APPROVAL_REQUEST
        )
        after = made
    except Stop as stop:
        status, error = stop.status, stop.message
    except BaseException:
        writer.claims.release(got)
        raise
    with writer.audit.engine.begin() as conn:
        row = writer.audit.record(
            action=AuditAction.APPROVAL_REQUEST,
            status=status,
            proposal=request,
            proposal_id=pid,
            thread_id=thread_id,
            run_id=run_id,
            approver=SYSTEM_APPROVER,
            after=after,
            error=error,
            conn=conn,
        )
        if status is AuditStatus.APPLIED:
            writer.claims.complete(got, f"applied #{row.id}", conn=conn)
    if status is not AuditStatus.APPLIED:
        writer.claims.release(got)
    return ApplyResult.from_row(row, wrote=wrote)
