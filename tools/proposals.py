"""Proposals: the only thing the agent's write tools produce, and what the approval gate decides on.

A proposal is data, not an action. It names an agent-owned target (an `AI …` field, a comment, a
subtask), carries the evidence a project lead needs, and has a deterministic id so that proposing the
same change twice (a re-run, a retry) yields the same id and the writer can stay idempotent.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Literal

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
    TIME_ENTRY = "time_entry"  # POST /tasks/{gid}/time_tracking_entries (a timesheet draft, approved)


# Kinds an approver may edit before approving (a value, a comment's text); the others are all-or-nothing.
EDITABLE_KINDS = frozenset({ProposalKind.SET_FIELD, ProposalKind.COMMENT})
# Record fields a proposal may name as its inputs (``Proposal.inputs``): the writer re-reads them.
INPUT_KEYS = frozenset({"estimate_hours", "actual_hours"})
MAX_ENTRY_MINUTES = 24 * 60


class TimeEntryDraft(BaseModel):  # type: ignore[explicit-any]  # pydantic __init__, see pyproject
    """A time tracking entry the agent may create for a person, after that person approves it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person_gid: str = Field(min_length=1)  # whose time this is: the approval must come from them
    entered_on: date
    duration_minutes: int = Field(gt=0, le=MAX_ENTRY_MINUTES)
    attributable_to: str | None = None  # the project whose budget the time counts toward


class Proposal(BaseModel):  # type: ignore[explicit-any]  # pydantic __init__, see pyproject
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
    evidence: dict[str, object] = Field(default_factory=dict)  # numbers behind it (compact)
    significant: bool = False  # optimize phase: also needs an Asana approval subtask
    source: str = "chat"  # chat | retro | summary | trigger | timesheet
    # The human values it was computed from ({"estimate_hours": 16.5}): when one of them has moved by
    # the time of the write, the proposal is stale (re-proposed, never applied on old inputs).
    inputs: dict[str, float | None] = Field(default_factory=dict)
    entry: TimeEntryDraft | None = None  # TIME_ENTRY only; ``text`` is the entry's description

    @field_validator("inputs")
    @classmethod
    def _known_inputs(cls, value: dict[str, float | None]) -> dict[str, float | None]:
        unknown = sorted(set(value) - INPUT_KEYS)
        if unknown:
            raise ValueError(f"unknown inputs {unknown}; known: {sorted(INPUT_KEYS)}")
        return value

    @field_validator("value", mode="before")
    @classmethod
    def _value_in_type_and_range(cls, value: object, info: ValidationInfo) -> object:  # type: ignore[explicit-any]
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
        elif self.kind is ProposalKind.TIME_ENTRY:
            if self.entry is None:
                raise ValueError("a time entry proposal needs its entry (person, date, minutes)")
        elif not self.title:
            raise ValueError(f"a {self.kind.value} proposal needs a title")
        return self

    @property
    def id(self) -> str:
        """Deterministic: the same change to the same target always has the same id."""
        parts: list[object] = [
            self.kind.value,
            self.target_gid,
            self.field_name,
            self.value,
            self.text,
            self.title,
        ]
        if self.entry is not None:  # only then, so that the ids of every other kind stay as they were
            parts.append(self.entry.model_dump(mode="json"))
        key = json.dumps(parts, sort_keys=True, default=str)
        return "p_" + hashlib.sha256(key.encode()).hexdigest()[:16]


# Fields whose value moves a plan: an estimate change of N hours moves the task's finish by N / (hours
# per working day) days.
SCHEDULE_FIELDS = frozenset({"AI Estimated Hours", "AI Estimate P90"})


def schedule_shift_days(proposal: Proposal, hours_per_day: float) -> float | None:
    """How many working days a proposal would move its task's projection, or None when it moves none.

    The baseline is what the plan assumes today: the human estimate it was computed from (``inputs``),
    else the field's earlier AI value (``evidence['before']``), else nothing (a first estimate moves the
    plan by all of it)."""
    if proposal.kind is not ProposalKind.SET_FIELD or proposal.field_name not in SCHEDULE_FIELDS:
        return None
    if not isinstance(proposal.value, int | float) or hours_per_day <= 0:
        return None
    base: object = proposal.inputs.get("estimate_hours")
    if base is None:
        base = proposal.evidence.get("before")
    baseline = float(base) if isinstance(base, int | float) and not isinstance(base, bool) else 0.0
    return abs(float(proposal.value) - baseline) / hours_per_day


def is_significant(proposal: Proposal, *, significant_days: float, hours_per_day: float) -> bool:
    """THE significance rule (optimize phase): flagged by its producer (a re-allocation, an approval
    subtask), or a projection that moves more than ``significant_days`` working days."""
    if proposal.significant:
        return True
    shift = schedule_shift_days(proposal, hours_per_day)
    return shift is not None and shift > significant_days


class DecisionType(StrEnum):
    """Agent Inbox response types: accept, edit, ignore (reject), response (free text)."""

    ACCEPT = "accept"
    EDIT = "edit"
    IGNORE = "ignore"
    RESPONSE = "response"


class Decision(BaseModel):  # type: ignore[explicit-any]  # pydantic __init__, see pyproject
    model_config = ConfigDict(frozen=True)

    proposal_id: str
    type: DecisionType
    edited_value: float | str | None = None  # EDIT: replaces Proposal.value (or text for comments)
    approver: str
    note: str | None = None
    decided_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    via: str = "cli"  # cli | asana_subtask | inbox | test
