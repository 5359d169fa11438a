"""Rows <-> records: how each record kind is written to and rebuilt from its table.

Rows are trusted (we wrote them), so reads build records without validation (``fast``): loading 100k
time entries must stay well under a second. Every conversion of one kind lives here, next to the other
direction, so the two cannot drift.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from tools.records import (
    ActualSource,
    Allocation,
    BillableStatus,
    Budget,
    BudgetSource,
    BudgetType,
    Comment,
    EffortUnit,
    EntryApprovalStatus,
    FieldChange,
    OutOfOffice,
    Person,
    Project,
    Rate,
    Task,
    TimeCategory,
    TimeEntry,
    TimesheetApproval,
)

_M = TypeVar("_M", bound=BaseModel)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def data_of(record: BaseModel) -> str:
    """The ``data`` column of a record (also its fingerprint, so both must come from here)."""
    return dumps(record.model_dump(mode="json"))


def dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def d(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def aware(moment: datetime) -> datetime:
    """Naive datetimes from the store are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def fast(cls: type[_M], values: dict[str, Any]) -> _M:
    """Build a pydantic model from trusted, complete, already-typed values.

    Same result as ``model_construct`` (no validation) at a fraction of the cost, which matters for
    100k time entries: ``values`` must hold every field.
    """
    obj = cls.__new__(cls)
    object.__setattr__(obj, "__dict__", values)
    object.__setattr__(obj, "__pydantic_fields_set__", set(values))
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj


def complete(cls: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """Fill defaults for fields a stored row lacks (rows written by an older version)."""
    for name, info in cls.model_fields.items():
        if name not in values:
            values[name] = info.get_default(call_default_factory=True)
    return values


# -- JSON-column kinds -----------------------------------------------------------------------------------
_TASK_DT = ("created_at", "started_at", "completed_at", "modified_at")


def task_from_json(raw: str) -> Task:
    v = json.loads(raw)
    for key in _TASK_DT:
        v[key] = dt(v.get(key))
    v["due_on"] = d(v.get("due_on"))
    v["tags"] = tuple(v.get("tags") or ())
    v["actual_source"] = ActualSource(v.get("actual_source") or "none")
    v.setdefault("ai_fields", {})
    return fast(Task, complete(Task, v))


def project_from_json(raw: str) -> Project:
    v = json.loads(raw)
    v["created_at"] = dt(v.get("created_at"))
    v["start_on"] = d(v.get("start_on"))
    v["due_on"] = d(v.get("due_on"))
    v["portfolio_gids"] = tuple(v.get("portfolio_gids") or ())
    return fast(Project, complete(Project, v))


def person_from_json(raw: str) -> Person:
    return fast(Person, complete(Person, json.loads(raw)))


def change_from_json(raw: str) -> FieldChange:
    v = json.loads(raw)
    v["changed_at"] = dt(v["changed_at"])
    return fast(FieldChange, complete(FieldChange, v))


def comment_from_json(raw: str) -> Comment:
    v = json.loads(raw)
    v["created_at"] = dt(v["created_at"])
    return fast(Comment, complete(Comment, v))


def allocation_from_json(raw: str) -> Allocation:
    v = json.loads(raw)
    v["start_on"], v["end_on"] = date.fromisoformat(v["start_on"]), date.fromisoformat(v["end_on"])
    v["effort_unit"] = EffortUnit(v["effort_unit"]) if v.get("effort_unit") else None
    return fast(Allocation, complete(Allocation, v))


def ooo_from_json(raw: str) -> OutOfOffice:
    v = json.loads(raw)
    v["start_on"], v["end_on"] = date.fromisoformat(v["start_on"]), date.fromisoformat(v["end_on"])
    return fast(OutOfOffice, complete(OutOfOffice, v))


def budget_from_json(raw: str) -> Budget:
    v = json.loads(raw)
    v["budget_type"] = BudgetType(v["budget_type"])
    v["source"] = BudgetSource(v.get("source") or "asana")
    return fast(Budget, complete(Budget, v))


def rate_from_json(raw: str) -> Rate:
    return fast(Rate, complete(Rate, json.loads(raw)))


def category_from_json(raw: str) -> TimeCategory:
    return fast(TimeCategory, complete(TimeCategory, json.loads(raw)))


def timesheet_from_json(raw: str) -> TimesheetApproval:
    v = json.loads(raw)
    v["start_on"], v["end_on"] = date.fromisoformat(v["start_on"]), date.fromisoformat(v["end_on"])
    v["status"] = EntryApprovalStatus(v["status"])
    return fast(TimesheetApproval, complete(TimesheetApproval, v))


FROM_JSON: dict[str, Callable[[str], Any]] = {
    "people": person_from_json,
    "projects": project_from_json,
    "tasks": task_from_json,
    "field_changes": change_from_json,
    "comments": comment_from_json,
    "allocations": allocation_from_json,
    "ooo_entries": ooo_from_json,
    "budgets": budget_from_json,
    "rates": rate_from_json,
    "time_categories": category_from_json,
    "timesheet_approvals": timesheet_from_json,
}


def change_key(c: FieldChange) -> str:
    return f"{c.task_gid}|{c.field_name}|{c.changed_at.isoformat()}"


# -- time entries (flat columns) ----------------------------------------------------------------------
_BILLABLE = {s.value: s for s in BillableStatus}
_APPROVAL = {s.value: s for s in EntryApprovalStatus}
ENTRY_COLUMNS = (
    "gid", "task_gid", "user_gid", "entered_on", "duration_minutes", "project_gid", "categories",
    "billable_status", "description", "created_at", "approval_status", "details_read_at",
    "compact_fp", "details_fp",
)  # fmt: skip


def compact_fp(e: TimeEntry) -> str:
    """Fingerprint of what the lists return for an entry: details read against another one are stale."""
    values = [
        e.gid, e.task_gid, e.user_gid, e.entered_on.isoformat(), int(e.duration_minutes), e.project_gid,
        list(e.categories),
    ]  # fmt: skip
    return hashlib.blake2b(dumps(values).encode(), digest_size=16).hexdigest()


def has_details(e: TimeEntry) -> bool:
    """Whether a record carries single-entry details: read by sync (``details_read_at``), or given by
    whoever built it (a test, an import) with any detail value set."""
    return e.details_read_at is not None or any(
        v is not None for v in (e.billable_status, e.description, e.created_at, e.approval_status)
    )


def entry_row(e: TimeEntry) -> dict[str, Any]:
    """The full row; details columns are None (and ``details_fp`` too) for a compact record."""
    fp = compact_fp(e)
    read = has_details(e)
    return {
        "gid": e.gid,
        "task_gid": e.task_gid,
        "user_gid": e.user_gid,
        "entered_on": e.entered_on.isoformat(),
        "duration_minutes": int(e.duration_minutes),
        "project_gid": e.project_gid,
        "categories": dumps(list(e.categories)) if e.categories else None,
        "billable_status": e.billable_status.value if read and e.billable_status else None,
        "description": e.description if read else None,
        "created_at": e.created_at.isoformat() if read and e.created_at else None,
        "approval_status": e.approval_status.value if read and e.approval_status else None,
        "details_read_at": e.details_read_at.isoformat() if e.details_read_at else None,
        "compact_fp": fp,
        "details_fp": fp if read else None,
    }


def entry_from_row(row: Any) -> TimeEntry:
    """``row`` in ``ENTRY_COLUMNS`` order. Details read against an older compact record are stale:
    they come back as unknown (None), never as a possibly wrong value."""
    current = row[13] is not None and row[13] == row[12]
    return fast(
        TimeEntry,
        {
            "gid": row[0],
            "task_gid": row[1],
            "user_gid": row[2],
            "entered_on": date.fromisoformat(row[3]),
            "duration_minutes": row[4],
            "project_gid": row[5],
            "categories": tuple(json.loads(row[6])) if row[6] else (),
            "billable_status": _BILLABLE.get(row[7]) if current and row[7] else None,
            "description": row[8] if current else None,
            "created_at": dt(row[9]) if current and row[9] else None,
            "approval_status": _APPROVAL.get(row[10]) if current and row[10] else None,
            "details_read_at": dt(row[11]) if current and row[11] else None,
        },
    )
