"""The Asana approval subtask a significant proposal asks a lead to complete (optimize phase)."""

from __future__ import annotations

from agent.writer.values import approval_marker_for, short_json
from tools.proposals import Proposal, ProposalKind


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
