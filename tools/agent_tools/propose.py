"""Write tools that only PROPOSE: each returns a ``Proposal`` added to graph state, never calls Asana.

A proposal goes to the approval node (agent/approval.py), and only an approved one reaches the one
writer (agent/writer.py). Bad input (a human field, an unknown task, a wrong value type) gets a clear
refusal message back to the model instead of an exception.
"""

from __future__ import annotations

from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.types import Command
from pydantic import BaseModel, Field

from tools.agent_tools import PROPOSE_TOOL_NAMES
from tools.agent_tools.budget import untrusted
from tools.agent_tools.common import link
from tools.config_types import Phase
from tools.proposals import AI_FIELDS, Proposal, ProposalKind, check_ai_value
from tools.records import Task
from tools.scope import ScopeRule, portfolio_members

MAX_TEXT = 2000


class ProposeFieldArgs(BaseModel):
    task_gid: str = Field(description="The task to change.")
    field: str = Field(description=f"An agent-owned field, one of: {', '.join(AI_FIELDS)}.")
    value: float | str | None = Field(description="The new value (a number for number fields; null clears).")
    reason: str = Field(description="One line for the approver: why, with the numbers from tools.")


class ProposeCommentArgs(BaseModel):
    task_gid: str = Field(description="The task to comment on.")
    text: str = Field(description="The comment text (plain text, cite numbers from tools).")


class ProposeSubtaskArgs(BaseModel):
    task_gid: str = Field(description="The parent task.")
    title: str = Field(description="Subtask name, e.g. 'Approve: re-estimate Website Redesign'.")
    notes: str = Field("", description="What the project lead should check before completing it.")
    assignee_gid: str | None = Field(None, description="Who approves; default: the project owner.")


def _find_task(runtime: ToolRuntime[Any, Any], gid: str) -> Task | None:
    ws = runtime.context.workspace
    return next((t for t in ws.tasks if t.gid == gid), None)


def _scope_refusal(runtime: ToolRuntime[Any, Any], task: Task) -> str | None:
    """Refuse early what the writer would refuse later: archived projects and tasks outside the scope
    allowlist (the one scope rule, tools/scope.py). The writer checks again against live Asana data."""
    ws = runtime.context.workspace
    project = next((p for p in ws.projects if p.gid == task.project_gid), None)
    if project is not None and project.archived:
        return (
            f"Refused: task {task.gid} is in the archived project {project.name[:60]!r}, which is outside "
            "the scope the agent may change; nothing is proposed."
        )
    rule = ScopeRule.resolve(
        runtime.context.settings.scope,
        [(p.gid, p.name) for p in ws.projects],
        portfolio_projects=portfolio_members(ws.projects),
    )
    if not rule.configured:
        return f"Refused: {rule.refusal()}; nothing is proposed."
    if not rule.allows([task.project_gid] if task.project_gid else [], task.tags):
        return f"Refused: task {task.gid} is outside the configured scope; nothing is proposed."
    return None


def _phase_refusal(runtime: ToolRuntime[Any, Any]) -> str | None:
    phase = runtime.context.settings.phase
    if phase is Phase.INSIGHT:
        return "Refused: the rollout phase is 'insight' (read-only), so no change can be proposed."
    return None


def _target(runtime: ToolRuntime[Any, Any], task_gid: str, hint: str = "") -> Task | str:
    """The task a proposal would change, or why nothing may be proposed: the rollout phase, an unknown
    gid, or a task outside the scope."""
    if refusal := _phase_refusal(runtime):
        return refusal
    task = _find_task(runtime, task_gid)
    if task is None:
        return f"Refused: no task with gid {task_gid[:40]!r}{hint}."
    return _scope_refusal(runtime, task) or task


def _accept(runtime: ToolRuntime[Any, Any], proposal: Proposal, summary: str) -> Command[Any]:
    """Add the proposal to state and answer the tool call, in one update."""
    text = (
        f"PROPOSED (pending human approval, nothing written yet) id={proposal.id}: {summary}. "
        "It will be shown to an approver; do not claim it is done."
    )
    return Command(
        update={
            "proposals": [proposal],
            "messages": [
                ToolMessage(content=text, tool_call_id=runtime.tool_call_id, name=summary.split(" ")[0])
            ],
        }
    )


def propose_ai_field(
    runtime: ToolRuntime[Any, Any], task_gid: str, field: str, value: float | str | None, reason: str
) -> Command[Any] | str:
    if refusal := _phase_refusal(runtime):
        return refusal
    if field not in AI_FIELDS:
        return (
            f"Refused: {field[:60]!r} is not an agent-owned field. The agent never changes human fields; "
            f"it may only propose values for: {', '.join(AI_FIELDS)}."
        )
    task = _target(runtime, task_gid, " (use task_lookup to find the gid)")
    if isinstance(task, str):
        return task
    try:
        coerced = check_ai_value(field, value)
    except ValueError as exc:
        return f"Refused: {exc}; nothing is proposed."
    proposal = Proposal(
        kind=ProposalKind.SET_FIELD,
        target_gid=task.gid,
        project_gid=task.project_gid,
        field_name=field,
        value=coerced,
        description=f"Set {field} = {coerced} on task {task.gid}: {reason[:200]}",
        # "before" is what the writer re-reads and compares: a value changed since is refused as stale.
        evidence={"before": task.ai_fields.get(field), "reason": reason[:300], "link": link(task)},
        source="chat",
    )
    return _accept(
        runtime, proposal, f"propose_ai_field {field}={coerced} on {task.gid} {untrusted(task.name, 60)}"
    )


def propose_comment(runtime: ToolRuntime[Any, Any], task_gid: str, text: str) -> Command[Any] | str:
    task = _target(runtime, task_gid)
    if isinstance(task, str):
        return task
    if not text.strip():
        return "Refused: a comment needs text."
    proposal = Proposal(
        kind=ProposalKind.COMMENT,
        target_gid=task.gid,
        project_gid=task.project_gid,
        text=text.strip()[:MAX_TEXT],
        description=f"Comment on task {task.gid}",
        evidence={"link": link(task)},
        source="chat",
    )
    return _accept(runtime, proposal, f"propose_comment on {task.gid} {untrusted(task.name, 60)}")


def propose_approval_subtask(
    runtime: ToolRuntime[Any, Any],
    task_gid: str,
    title: str,
    notes: str = "",
    assignee_gid: str | None = None,
) -> Command[Any] | str:
    task = _target(runtime, task_gid)
    if isinstance(task, str):
        return task
    if not title.strip():
        return "Refused: a subtask needs a title."
    owner = assignee_gid
    if owner is None and task.project_gid:
        project = next((p for p in runtime.context.workspace.projects if p.gid == task.project_gid), None)
        owner = project.owner_gid if project else None
    proposal = Proposal(
        kind=ProposalKind.SUBTASK,
        target_gid=task.gid,
        project_gid=task.project_gid,
        title=title.strip()[:200],
        text=notes[:MAX_TEXT] or None,
        assignee_gid=owner,
        description=f"Approval subtask under task {task.gid} for {owner or 'unassigned'}",
        evidence={"link": link(task)},
        significant=True,
        source="chat",
    )
    return _accept(runtime, proposal, f"propose_approval_subtask under {task.gid} {untrusted(task.name, 60)}")


def propose_tools() -> list[BaseTool]:
    """The write tools (proposals only)."""
    return [
        StructuredTool.from_function(
            func=propose_ai_field,
            name="propose_ai_field",
            description=(
                "Propose a value for an agent-owned 'AI …' custom field on a task (e.g. 'AI Estimated Hours'). "
                "Nothing is written: a human approves first. Human fields are refused."
            ),
            args_schema=ProposeFieldArgs,
        ),
        StructuredTool.from_function(
            func=propose_comment,
            name="propose_comment",
            description="Propose a comment on a task. Nothing is posted until a human approves.",
            args_schema=ProposeCommentArgs,
        ),
        StructuredTool.from_function(
            func=propose_approval_subtask,
            name="propose_approval_subtask",
            description=(
                "Propose an approval subtask assigned to the project lead (for significant changes). "
                "Nothing is created until a human approves."
            ),
            args_schema=ProposeSubtaskArgs,
        ),
    ]


__all__ = ["PROPOSE_TOOL_NAMES", "propose_tools"]
