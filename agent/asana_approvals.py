"""Approval subtasks in Asana: the project lead approves a significant change where they work.

For a significant proposal (``Proposal.significant``), the writer creates one agent-owned subtask on the
target task (or a task in the target project, for summary tasks), assigned to the project lead, with the
proposal and its evidence in the notes and an ``[effort-approval:<proposal id>]`` marker. Polling reads
it back: completing it approves; a comment starting with "reject" rejects; anything else is pending.
``poll_pending`` turns verdicts into decisions and resumes the waiting thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from tools.gateway.errors import GatewayError
from tools.proposals import Proposal, ProposalKind, is_significant

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.writer import ApplyResult, Writer

Verdict = Literal["approved", "rejected", "pending"]


def hours_per_day(settings: Settings) -> float:
    """Working hours in a day, from the capacity config (a week's hours over its working days)."""
    capacity = settings.capacity
    days = 7 - len(capacity.weekend_days)
    return capacity.hours_per_week / days if days > 0 else 0.0


def needs_asana_approval(proposal: Proposal, settings: Settings) -> bool:
    """In ``optimize``, a significant change (``tools.proposals.is_significant``: flagged, or moving a
    projection by more than ``significant_days`` working days) also needs the lead's Asana subtask.
    The writer's guard, ``effort approvals poll`` and ``approvals show`` all ask this one function."""
    from agent.config import Phase

    if settings.phase is not Phase.OPTIMIZE:
        return False
    return is_significant(
        proposal, significant_days=settings.significant_days, hours_per_day=hours_per_day(settings)
    )


def _marker(proposal_id: str) -> str:
    from agent.writer.values import approval_marker_for

    return approval_marker_for(proposal_id)


def find_approval_task(gateway: Any, proposal: Proposal, proposal_id: str) -> dict[str, Any] | None:
    """The approval subtask/task for a proposal (``{gid, completed, notes}``), or None."""
    marker = _marker(proposal_id)
    try:
        if proposal.kind is ProposalKind.SUMMARY_TASK:
            items = gateway.iter_tasks_for_project(proposal.target_gid, "name,notes,completed")
        else:
            items = gateway.iter_subtasks(proposal.target_gid, "name,notes,completed")
        for item in items:
            if marker in str(item.get("notes") or ""):
                return dict(item)
    except GatewayError:
        return None
    return None


def verdict(gateway: Any, task: dict[str, Any]) -> Verdict:
    """Completed = approved; a comment starting with "reject" = rejected; otherwise pending."""
    if task.get("completed"):
        return "approved"
    try:
        for story in gateway.iter_stories(str(task["gid"]), "text,resource_subtype"):
            subtype = story.get("resource_subtype")
            if subtype not in (None, "comment_added"):
                continue
            if str(story.get("text") or "").strip().lower().startswith("reject"):
                return "rejected"
    except GatewayError:
        return "pending"
    return "pending"


def lead_for(proposal: Proposal, store: Any) -> str | None:
    """Who approves: the proposal's named assignee, else the owner of its project in the store."""
    if proposal.assignee_gid:
        return proposal.assignee_gid
    project_gid = proposal.project_gid
    if project_gid is None and proposal.kind is ProposalKind.SUMMARY_TASK:
        project_gid = proposal.target_gid
    if project_gid is None and store is not None:
        task = store.task(proposal.target_gid)
        project_gid = task.project_gid if task is not None else None
    if project_gid is None or store is None:
        return None
    project = next((p for p in store.projects() if p.gid == project_gid), None)
    return project.owner_gid if project is not None else None


def request_approvals(
    writer: Writer, proposals: Sequence[Proposal], *, thread_id: str, run_id: str
) -> list[ApplyResult]:
    """Create the missing approval subtasks for the significant proposals of one pending batch."""
    return [
        writer.request_asana_approval(
            p, thread_id=thread_id, run_id=run_id, assignee_gid=lead_for(p, writer.store)
        )
        for p in proposals
        if needs_asana_approval(p, writer.settings)
    ]


def verdicts(gateway: Any, proposals: Sequence[Proposal]) -> dict[str, Verdict]:
    """The Asana verdict for every given proposal that has an approval subtask."""
    out: dict[str, Verdict] = {}
    for p in proposals:
        task = find_approval_task(gateway, p, p.id)
        if task is not None:
            out[p.id] = verdict(gateway, task)
    return out
