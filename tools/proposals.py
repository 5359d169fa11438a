"""Proposals: the only thing the agent's write tools produce, and what the approval gate decides on.

A proposal is data, not an action. It names an agent-owned target (an `AI …` field, a comment, a
subtask), carries the evidence a project lead needs, and has a deterministic id so that proposing the
same change twice (a re-run, a retry) yields the same id and the writer can stay idempotent.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

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
AI_NUMBER_PRECISION = 2  # decimals of the agent's number fields (created with this precision)
MAX_AI_TEXT = 2_000  # characters of a text field value (AI Projection)

# Plausible ranges per agent-owned number field: an estimate is never negative, a confidence is a
# percentage, a variance cannot undercut -100%.
AI_NUMBER_BOUNDS: dict[str, tuple[float, float]] = {
    "AI Estimated Hours": (0.0, 10_000.0),
    "AI Estimate P10": (0.0, 10_000.0),
    "AI Estimate P90": (0.0, 10_000.0),
    "AI Forecast Confidence": (0.0, 100.0),
    "AI Schedule Variance %": (-100.0, 100_000.0),
}


def is_agent_owned(field_name: str) -> bool:
    return field_name in AI_FIELDS


def check_ai_value(field_name: str, value: object) -> float | str | None:
    """The one value rule for agent-owned fields: ``value`` in the field's type and range, or a
    ``ValueError`` saying why not. The propose tools, an approver's edit and the writer all call it
    (through ``Proposal`` validation), so nothing can be approved that the writer would refuse.

    Numbers: finite, within the field's plausible range, rounded to the field's precision; numeric
    text ("19.5") is read as a number, booleans are not numbers. Enum: one of the options. Text: at most
    ``MAX_AI_TEXT`` characters. ``None`` clears the field."""
    kind = AI_FIELDS.get(field_name)
    if kind is None:
        raise ValueError(f"field {field_name!r} is not agent-owned; allowed: {sorted(AI_FIELDS)}")
    if value is None:
        return None
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"{field_name} is a number field; {str(value)[:40]!r} is not a number")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{field_name} is a number field; {str(value)[:40]!r} is not a number") from None
        low, high = AI_NUMBER_BOUNDS[field_name]
        if not math.isfinite(number) or not low <= number <= high:
            raise ValueError(f"{field_name}: {number!r} is outside the plausible range [{low:g}, {high:g}]")
        return round(number, AI_NUMBER_PRECISION)
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"{field_name} takes text; got {type(value).__name__}")
    text = str(value)
    if kind == "enum":
        if text not in AI_REVIEW_FLAG_OPTIONS:
            raise ValueError(f"{field_name} takes one of {list(AI_REVIEW_FLAG_OPTIONS)}; got {text[:40]!r}")
        return text
    if len(text) > MAX_AI_TEXT:
        raise ValueError(f"{field_name}: text longer than {MAX_AI_TEXT} characters")
    return text


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
    # SET_FIELD: the new value (None clears the field); validated even when left out, so a SET_FIELD
    # proposal always names an agent-owned field.
    value: float | str | None = Field(default=None, validate_default=True)
    text: str | None = None  # COMMENT / SUBTASK notes / SUMMARY_TASK notes
    title: str | None = None  # SUBTASK / SUMMARY_TASK name
    assignee_gid: str | None = None  # SUBTASK: the project lead who approves in Asana
    description: str = ""  # one line for the approver: what and why
    evidence: dict[str, Any] = Field(default_factory=dict)  # numbers behind it (compact)
    significant: bool = False  # optimize phase: also needs an Asana approval subtask
    source: str = "chat"  # chat | retro | summary | trigger

    @field_validator("value", mode="before")
    @classmethod
    def _value_in_type_and_range(cls, value: object, info: ValidationInfo) -> object:
        """SET_FIELD: the field must be agent-owned and the value valid for it (``check_ai_value``).
        Before type coercion, so that ``True`` is refused rather than read as 1.0."""
        if info.data.get("kind") is ProposalKind.SET_FIELD:
            return check_ai_value(info.data.get("field_name") or "", value)
        return value

    @model_validator(mode="after")
    def _check_shape(self) -> Proposal:
        if self.kind is ProposalKind.SET_FIELD:
            return self  # field and value: checked by ``_value_in_type_and_range``
        if self.kind is ProposalKind.COMMENT:
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
