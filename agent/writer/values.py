"""Values the writer's parts share: the per-item context, the result of an item, how an item stops
early, markers, and the comparisons of field values (a retried write compares before it writes)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, JsonValue

from agent.audit import AuditAction, AuditEntry, AuditStatus
from tools.gateway import models as m
from tools.proposals import AI_NUMBER_PRECISION, Proposal, check_ai_value

SYSTEM_APPROVER = "effort:approval-gate"
MAX_TEXT = 10_000  # characters of a comment, subtask, summary task or entry description
FieldValue = float | str | None


def marker_for(proposal_id: str) -> str:
    """The idempotency marker embedded in every comment / subtask / task / time entry the writer posts."""
    return f"[effort:{proposal_id}]"


def approval_marker_for(proposal_id: str) -> str:
    """The marker of the Asana approval subtask that asks a lead to approve a proposal."""
    return f"[effort-approval:{proposal_id}]"


class ApplyResult(BaseModel):  # type: ignore[explicit-any]  # pydantic __init__, see pyproject
    """What the writer did with one proposal (or one rollback item)."""

    model_config = ConfigDict(frozen=True)

    proposal_id: str
    status: AuditStatus
    action: AuditAction = AuditAction.WRITE
    target_gid: str | None = None
    field_name: str | None = None
    before: JsonValue = None
    after: JsonValue = None
    error: str | None = None
    note: str | None = None  # e.g. "applied by another process"
    wrote: bool = False  # True when this call made a write request that succeeded

    def summary(self) -> dict[str, JsonValue]:
        """A compact dict for graph state and CLI output."""
        out: dict[str, JsonValue] = {
            "proposal_id": self.proposal_id,
            "status": self.status.value,
            "action": self.action.value,
            "target_gid": self.target_gid,
            "field_name": self.field_name,
            "before": self.before,
            "after": self.after,
            "error": self.error,
        }
        if self.note:
            out["note"] = self.note
        return out

    @classmethod
    def from_row(cls, row: AuditEntry, *, wrote: bool = False, note: str | None = None) -> ApplyResult:
        before: JsonValue = row.before
        after: JsonValue = row.after
        return cls(
            proposal_id=row.proposal_id or "?",
            status=row.status,
            action=row.action,
            target_gid=row.target_gid,
            field_name=row.field_name,
            before=before,
            after=after,
            error=row.error,
            note=note,
            wrote=wrote,
        )


class Stop(Exception):
    """Ends one item early with a final status (refused / stale / skipped / failed)."""

    def __init__(self, status: AuditStatus, message: str, before: JsonValue = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.before = before


@dataclass
class ItemCtx:
    """One item on its way to Asana: the (effective) proposal, where its approval is recorded, and the
    live task once re-read."""

    proposal: Proposal
    proposal_id: str
    thread_id: str
    run_id: str
    approver: str
    approval: AuditEntry
    task: m.Task | None = None
    notes: list[str] = field(default_factory=list)


def field_value(cf: m.CustomField) -> FieldValue:
    """A custom field's value as the agent compares it: number, text, or the enum option's name."""
    subtype = cf.resource_subtype or cf.type
    if subtype == "number":
        value = cf.number_value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        return None if value is None else str(value)
    if subtype == "text":
        return None if cf.text_value is None else str(cf.text_value)
    if subtype == "enum":
        enum_value = cf.enum_value
        name = enum_value.get("name") if isinstance(enum_value, Mapping) else None
        return None if name is None else str(name)
    return None if cf.display_value is None else str(cf.display_value)


def same(a: JsonValue, b: JsonValue) -> bool:
    """Equal as field values: numbers within the fields' precision, text ignoring outer whitespace."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=10 ** -(AI_NUMBER_PRECISION + 1))
    try:
        return math.isclose(float(str(a)), float(str(b)), rel_tol=1e-9, abs_tol=1e-3)
    except ValueError:
        return str(a).strip() == str(b).strip()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Drop control characters (NUL, ESC, ...) that hostile task text could carry into Asana."""
    return _CONTROL.sub("", text)


def valid_value(field_name: str, value: object) -> FieldValue:
    """The value rule (``check_ai_value``, shared with the propose tools and approvers' edits), as a
    refusal: a value that reaches the writer out of range is refused, never clamped."""
    try:
        return check_ai_value(field_name, value)
    except ValueError as exc:
        raise Stop(AuditStatus.REFUSED, str(exc)) from None


def short_json(value: object, limit: int = 1500) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + " …"
