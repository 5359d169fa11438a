"""Mapping of resourcing and Timesheets & Budgets payloads -> records: allocations, out-of-office
entries, budgets, rates, time-tracking categories, timesheet approvals. Pure functions, no HTTP.

Like tools/sync/mapping.py, a bad value is a logged skip with a reason (``ctx.skips``), never a crash:
a budget whose units do not fit its type (a time budget in a currency, a cost budget in minutes), a
negative or non-finite rate, an unknown approval status.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from tools.records import (
    Allocation,
    Budget,
    BudgetType,
    EffortUnit,
    EntryApprovalStatus,
    OutOfOffice,
    Rate,
    TimeCategory,
    TimesheetApproval,
)
from tools.sync.mapping import MappingContext, finite_number, gid_of, name_of, parse_date

MAX_ALLOCATION_HOURS = 168.0  # hours per week: a week has no more
MAX_ALLOCATION_PERCENT = 500.0  # over 100% is a real (over-)allocation; beyond this it is a typo


def date_range(
    payload: Mapping[str, Any], kind: str, gid: str, ctx: MappingContext
) -> tuple[date, date] | None:
    start, end = parse_date(payload.get("start_date")), parse_date(payload.get("end_date"))
    if start is None or end is None:
        raw = f"{str(payload.get('start_date'))[:20]!r}..{str(payload.get('end_date'))[:20]!r}"
        ctx.skips.add(kind, gid, f"bad start_date/end_date ({raw})")
        return None
    if end < start:
        ctx.skips.add(kind, gid, f"end_date {end} before start_date {start}")
        return None
    return start, end


def map_allocation(payload: Mapping[str, Any], ctx: MappingContext) -> Allocation | None:
    """An allocation payload -> ``Allocation`` (effort checked: hours per week 0-168, percent 0-500)."""
    gid = gid_of(payload)
    if not gid:
        ctx.skips.add("allocation", None, "no gid")
        return None
    dates = date_range(payload, "allocation", gid, ctx)
    if dates is None:
        return None
    effort = payload.get("effort")
    unit: EffortUnit | None = None
    value: float | None = None
    if effort is not None:
        if not isinstance(effort, Mapping) or effort.get("type") not in ("hours", "percent"):
            ctx.skips.add("allocation", gid, f"effort: unknown shape ({str(effort)[:60]!r})")
            return None
        unit = EffortUnit(str(effort["type"]))
        value = finite_number(effort.get("value"))
        limit = MAX_ALLOCATION_HOURS if unit is EffortUnit.HOURS else MAX_ALLOCATION_PERCENT
        if value is None or value < 0 or value > limit:
            ctx.skips.add("allocation", gid, f"effort.value out of range ({str(effort.get('value'))[:40]!r})")
            return None
    return Allocation(
        gid=gid,
        person_gid=gid_of(payload.get("assignee")),
        project_gid=gid_of(payload.get("parent")),
        start_on=dates[0],
        end_on=dates[1],
        effort_unit=unit,
        effort_value=value,
        created_by_gid=gid_of(payload.get("created_by")),
    )


def map_ooo_entry(
    payload: Mapping[str, Any], ctx: MappingContext, user_gid: str | None = None
) -> OutOfOffice | None:
    """An OOO entry payload -> ``OutOfOffice`` (the person from the payload's ``user``, else ``user_gid``:
    the list was asked for that user)."""
    gid = gid_of(payload)
    person = gid_of(payload.get("user")) or user_gid
    if not gid or not person:
        ctx.skips.add("ooo_entry", gid, "no gid or no user")
        return None
    dates = date_range(payload, "ooo_entry", gid, ctx)
    if dates is None:
        return None
    return OutOfOffice(
        gid=gid,
        person_gid=person,
        start_on=dates[0],
        end_on=dates[1],
        created_by_gid=gid_of(payload.get("created_by")),
    )


_CURRENCY = re.compile(r"^[A-Z]{3}$")
_FILTERS = {"billable", "non_billable", "any"}


def map_budget(payload: Mapping[str, Any], ctx: MappingContext, project_gid: str) -> Budget | None:
    """A ``/budgets`` item -> ``Budget``. Values are as Asana gives them: minutes for time budgets, money
    in ``units`` (a currency code) for cost budgets. Units that contradict the type are a logged skip."""
    gid = gid_of(payload)
    kind = payload.get("budget_type")
    if not gid or kind not in ("time", "cost"):
        ctx.skips.add("budget", gid, f"no gid or unknown budget_type ({str(kind)[:20]!r})")
        return None
    parts: dict[str, Mapping[str, Any]] = {}
    for key in ("total", "actual", "estimate"):
        part = payload.get(key)
        parts[key] = part if isinstance(part, Mapping) else {}
    units = next(
        (str(p["units"]) for p in parts.values() if isinstance(p.get("units"), str) and p["units"]), None
    )
    if kind == "time" and units not in (None, "minutes"):
        ctx.skips.add("budget", gid, f"a time budget in {units!r} (time budgets are in minutes): not used")
        return None
    if kind == "cost" and units is not None and not _CURRENCY.match(units):
        ctx.skips.add("budget", gid, f"a cost budget in {units!r} (not a currency code): not used")
        return None

    def value(part: Mapping[str, Any], key: str) -> float | None:
        if key == "total" and part.get("enabled") is False:
            return None
        v = finite_number(part.get("value"))
        return v if v is None or v >= 0 else None

    flt = parts["actual"].get("billable_status_filter")
    return Budget(
        gid=gid,
        project_gid=gid_of(payload.get("parent")) or project_gid,
        budget_type=BudgetType(kind),
        total=value(parts["total"], "total"),
        actual=value(parts["actual"], "actual"),
        estimate=value(parts["estimate"], "estimate") if parts["estimate"].get("enabled", True) else None,
        units=units or ("minutes" if kind == "time" else None),
        billable_status_filter=flt if flt in _FILTERS else None,
    )


def map_rate(payload: Mapping[str, Any], ctx: MappingContext) -> Rate | None:
    """A ``/rates`` item -> ``Rate`` (money per hour of a user or placeholder on a project)."""
    gid = gid_of(payload)
    rate = finite_number(payload.get("rate"))
    if not gid or rate is None or rate < 0:
        ctx.skips.add("rate", gid, f"no gid or not a non-negative rate ({str(payload.get('rate'))[:20]!r})")
        return None
    resource = payload.get("resource")
    currency = payload.get("currency_code")
    return Rate(
        gid=gid,
        project_gid=gid_of(payload.get("parent")),
        resource_gid=gid_of(resource),
        placeholder=isinstance(resource, Mapping) and resource.get("resource_type") == "placeholder",
        rate=rate,
        currency=str(currency) if isinstance(currency, str) and currency else None,
    )


def map_category(payload: Mapping[str, Any], ctx: MappingContext) -> TimeCategory | None:
    gid, name = gid_of(payload), name_of(payload)
    if not gid or not name:
        ctx.skips.add("time_category", gid, "no gid or no name")
        return None
    return TimeCategory(gid=gid, name=name, archived=payload.get("is_archived") is True)


_APPROVAL = {s.value: s for s in EntryApprovalStatus}


def map_timesheet(payload: Mapping[str, Any], ctx: MappingContext) -> TimesheetApproval | None:
    """A ``/timesheet_approval_statuses`` item -> ``TimesheetApproval`` (one person-week)."""
    gid = gid_of(payload)
    if not gid:
        ctx.skips.add("timesheet", None, "no gid")
        return None
    dates = date_range(payload, "timesheet", gid, ctx)
    status = _APPROVAL.get(str(payload.get("approval_status") or "").lower())
    if dates is None or status is None:
        if status is None:
            ctx.skips.add(
                "timesheet", gid, f"unknown approval_status {str(payload.get('approval_status'))[:20]!r}"
            )
        return None
    return TimesheetApproval(
        gid=gid, person_gid=gid_of(payload.get("user")), start_on=dates[0], end_on=dates[1], status=status
    )
