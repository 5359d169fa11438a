"""Proposals: the only thing the agent's write tools produce, and what the approval gate decides on.

A proposal is data, not an action. It names an agent-owned target (an `AI …` field, a comment, a
subtask), carries the evidence a project lead needs, and has a deterministic id so that proposing the
same change twice (a re-run, a retry) yields the same id and the writer can stay idempotent.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The agent owns these fields and only these. They are created on first use inside an approved batch.
AI_FIELDS: dict[str, Literal["number", "text", "enum"]] = {
    "AI Estimated Hours": "number",
    "AI Estimate P10": "number",
    "AI Estimate P90": "number",
    "AI Forecast Confidence": "number",
    "AI Schedule Variance %": "number",
    "AI Review Flag": "enum",
    "AI Projection": "text",
}
AI_REVIEW_FLAG_OPTIONS = ("Review", "OK")


def is_agent_owned(field_name: str) -> bool:
    return field_name in AI_FIELDS


class ProposalKind(StrEnum):
    SET_FIELD = "set_field"  # PUT /tasks/{gid} custom_fields[AI field] = value
    COMMENT = "comment"  # POST /tasks/{gid}/stories
    SUBTASK = "subtask"  # POST /tasks/{gid}/subtasks (approval subtasks, follow-ups)
    SUMMARY_TASK = "summary_task"  # POST /tasks in the configured "Retro Insights" project


class Proposal(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: ProposalKind
    target_gid: str  # the task (or, for SUMMARY_TASK, the project) the write goes to
    project_gid: str | None = None  # for the scope check
    field_name: str | None = None  # SET_FIELD only; must be agent-owned
    value: float | str | None = None  # SET_FIELD: new value; None clears the field
    text: str | None = None  # COMMENT / SUBTASK notes / SUMMARY_TASK notes
    title: str | None = None  # SUBTASK / SUMMARY_TASK name
    assignee_gid: str | None = None  # SUBTASK: the project lead who approves in Asana
    description: str = ""  # one line for the approver: what and why
    evidence: dict[str, Any] = Field(default_factory=dict)  # numbers behind it (compact)
    significant: bool = False  # optimize phase: also needs an Asana approval subtask
    source: str = "chat"  # chat | retro | summary | trigger

    @model_validator(mode="after")
    def _check_shape(self) -> Proposal:
        if self.kind is ProposalKind.SET_FIELD:
            if not self.field_name or not is_agent_owned(self.field_name):
                raise ValueError(
                    f"field {self.field_name!r} is not agent-owned; allowed: {sorted(AI_FIELDS)}"
                )
        elif self.kind is ProposalKind.COMMENT:
            if not self.text:
                raise ValueError("a comment proposal needs text")
        elif not self.title:
            raise ValueError(f"a {self.kind.value} proposal needs a title")
        return self

    @property
    def id(self) -> str:
        """Deterministic: the same change to the same target always has the same id."""
        key = json.dumps(
            [self.kind.value, self.target_gid, self.field_name, self.value, self.text, self.title],
            sort_keys=True,
            default=str,
        )
        return "p_" + hashlib.sha256(key.encode()).hexdigest()[:16]


class DecisionType(StrEnum):
    """Agent Inbox response types: accept, edit, ignore (reject), response (free text)."""

    ACCEPT = "accept"
    EDIT = "edit"
    IGNORE = "ignore"
    RESPONSE = "response"


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    proposal_id: str
    type: DecisionType
    edited_value: float | str | None = None  # EDIT: replaces Proposal.value (or text for comments)
    approver: str
    note: str | None = None
    decided_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    via: str = "cli"  # cli | asana_subtask | inbox | test
