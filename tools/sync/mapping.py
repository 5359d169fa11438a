"""Field mapping: raw Asana payload dicts -> our records (tools.records). Pure functions, no HTTP.

Which custom fields mean what (estimate, actual, billable, client, rate, project type) is decided by name
and type, with ``Settings.fields`` overrides (each entry a field name, case-insensitive, or a gid).
Units are normalised to hours:

- a number field with ``format: "duration"`` holds MINUTES (the same unit as Asana's time tracking;
  API_NOTES §5.4 says to assume minutes) -> /60;
- ``custom_label`` "h"/"hr"/"hours" -> hours; "m"/"min"/"minutes" -> /60; "d"/"days" -> x8 (a working day);
- a name that says "(min)" / "minutes" / "(days)" is treated the same way; anything else is hours.

Actual hours, best first: an actual-hours custom field, then ``actual_time_minutes`` (> 0), then the sum
of the task's time entries (``Task.actual_source`` says which).

Bad values (text or NaN in a number field, negative, more than ``MAX_HOURS``, missing required fields)
are skipped with a reason in ``ctx.skips`` and never raise.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from tools.records import (
    ActualSource,
    BillableStatus,
    Comment,
    EntryApprovalStatus,
    FieldChange,
    Person,
    Project,
    Task,
    TimeEntry,
)

log = logging.getLogger(__name__)

MAX_HOURS = 10_000.0  # more than this on one task is a typo, not a measurement
MAX_ENTRY_MINUTES = 60 * 24 * 31  # one entry longer than a month of wall time is unusable
HOURS_PER_DAY = 8.0
ROLES = ("estimate", "actual", "billable", "client", "rate", "project_type")
AI_PREFIX = "AI "
_NUMBER_ROLES = {"estimate", "actual", "rate"}
_TRUE = {"yes", "true", "billable", "y", "1"}
_FALSE = {"no", "false", "non-billable", "nonbillable", "not billable", "n", "0"}


@dataclass
class Skip:
    kind: str
    gid: str | None
    reason: str


@dataclass
class SkipLog:
    """Logged skips: a bad value drops one field (or one record), with the reason, never the sync."""

    items: list[Skip] = field(default_factory=list)

    def add(self, kind: str, gid: str | None, reason: str) -> None:
        self.items.append(Skip(kind, gid, reason))
        log.info("skipped %s %s: %s", kind, gid, reason)

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class FieldMappingRules:
    """Names/gids per role (from ``Settings.fields``). Matching is case-insensitive on names."""

    estimate: list[str] = field(default_factory=lambda: ["Estimated Hours", "Estimate", "Estimated Time"])
    actual: list[str] = field(default_factory=lambda: ["Actual Hours", "Actual", "Actual Time"])
    billable: list[str] = field(default_factory=lambda: ["Billable"])
    client: list[str] = field(default_factory=lambda: ["Client"])
    rate: list[str] = field(default_factory=lambda: ["Hourly Rate", "Rate"])
    project_type: list[str] = field(default_factory=lambda: ["Project Type", "Type"])

    @classmethod
    def from_settings(cls, fields: Any) -> FieldMappingRules:
        """From ``agent.config.FieldMapping`` (or anything with the same attributes)."""
        return cls(**{r: list(getattr(fields, r)) for r in ROLES})

    def role_of(self, cf: Mapping[str, Any]) -> str | None:
        gid = str(cf.get("gid") or "")
        name = str(cf.get("name") or "").strip().lower()
        subtype = cf.get("resource_subtype") or cf.get("type")
        for role in ROLES:
            for want in getattr(self, role):
                if want == gid or (name and want.strip().lower() == name):
                    if role in _NUMBER_ROLES and subtype not in (None, "number"):
                        continue  # "Estimate" as an enum is not hours
                    return role
        return None


@dataclass
class MappingContext:
    """What mapping needs besides the payload. Build one per sync; cheap to build for tests."""

    rules: FieldMappingRules = field(default_factory=FieldMappingRules)
    projects: dict[str, Project] = field(default_factory=dict)  # scope projects, by gid
    scope_projects: set[str] | None = None  # None = any project
    portfolios_by_project: dict[str, tuple[str, ...]] = field(default_factory=dict)
    entry_minutes: dict[str, int] = field(default_factory=dict)  # task gid -> sum of entry minutes
    first_entry: dict[str, date] = field(default_factory=dict)  # task gid -> first entered_on
    field_units: dict[str, float] = field(default_factory=dict)  # field gid -> hours per unit (stories)
    field_names: dict[str, str] = field(default_factory=dict)  # field gid -> name (stories)
    category_names: dict[str, str] = field(default_factory=dict)  # time-tracking category gid -> name
    read_at: datetime = field(default_factory=lambda: datetime.now(UTC))  # stamps entry details read now
    skips: SkipLog = field(default_factory=SkipLog)


# -- value helpers -------------------------------------------------------------------------------------


def parse_datetime(value: Any) -> datetime | None:
    """ISO date-time (``Z`` allowed) or a bare date (midnight UTC); None when missing or malformed."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    if not value or not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def list_field(payload: Mapping[str, Any], key: str) -> list[Any]:
    """A list-valued field; anything else (a number, a dict, a string) counts as empty."""
    value = payload.get(key)
    return value if isinstance(value, list) else []


def name_of(ref: Any) -> str | None:
    return ref.get("name") if isinstance(ref, dict) else None


def gid_of(ref: Any) -> str | None:
    if isinstance(ref, dict):
        g = ref.get("gid")
        return str(g) if g is not None else None
    if isinstance(ref, str | int):
        return str(ref)
    return None


def unit_hours(cf: Mapping[str, Any]) -> float:
    """Hours per stored unit of a number custom field (see module docstring)."""
    if str(cf.get("format") or "").lower() == "duration":
        return 1 / 60
    label = str(cf.get("custom_label") or "").strip().lower().rstrip(".")
    if label in {"m", "min", "mins", "minute", "minutes"}:
        return 1 / 60
    if label in {"d", "day", "days"}:
        return HOURS_PER_DAY
    if label in {"h", "hr", "hrs", "hour", "hours"}:
        return 1.0
    name = str(cf.get("name") or "").lower()
    if re.search(r"\(\s*min|\bminutes?\b", name):
        return 1 / 60
    if re.search(r"\(\s*days?\s*\)", name):
        return HOURS_PER_DAY
    return 1.0


def finite_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def number_hours(cf: Mapping[str, Any], kind: str, gid: str | None, skips: SkipLog) -> float | None:
    """A custom number field's value in hours, or None (skipped with a reason when it is bad)."""
    raw = cf.get("number_value")
    if raw is None:
        return None
    value = finite_number(raw)
    name = cf.get("name")
    if value is None:
        skips.add(kind, gid, f"field {name!r}: not a finite number ({str(raw)[:40]!r})")
        return None
    hours = value * unit_hours(cf)
    if hours < 0:
        skips.add(kind, gid, f"field {name!r}: negative ({value})")
        return None
    if hours > MAX_HOURS:
        skips.add(kind, gid, f"field {name!r}: implausible ({value} -> {hours:.0f} h > {MAX_HOURS:.0f})")
        return None
    return round(hours, 6)


def _text_value(cf: Mapping[str, Any]) -> str | None:
    """The human-readable value of a text/enum field."""
    enum = cf.get("enum_value")
    if isinstance(enum, dict) and enum.get("name"):
        return str(enum["name"])
    text = cf.get("text_value")
    if isinstance(text, str) and text.strip():
        return text.strip()
    display = cf.get("display_value")
    if isinstance(display, str) and display.strip():
        return display.strip()
    return None


def _billable(cf: Mapping[str, Any]) -> bool | None:
    num = finite_number(cf.get("number_value"))
    if num is not None:
        return num > 0
    text = _text_value(cf)
    if text is None:
        return None
    low = text.lower()
    return True if low in _TRUE else False if low in _FALSE else None


def _ai_value(cf: Mapping[str, Any]) -> float | str | None:
    num = finite_number(cf.get("number_value"))
    if num is not None:
        return num
    return _text_value(cf)


# -- record mappers ------------------------------------------------------------------------------------


def map_user(payload: Mapping[str, Any], ctx: MappingContext | None = None) -> Person | None:
    gid = gid_of(payload)
    if not gid:
        if ctx:
            ctx.skips.add("user", None, "no gid")
        return None
    name = payload.get("name")
    email = payload.get("email")
    return Person(
        gid=gid,
        name=str(name) if name else f"user {gid}",
        email=str(email) if isinstance(email, str) and email else None,
    )


def map_project(payload: Mapping[str, Any], ctx: MappingContext) -> Project | None:
    gid = gid_of(payload)
    if not gid:
        ctx.skips.add("project", None, "no gid")
        return None
    values: dict[str, Any] = {}
    currency: str | None = None
    for cf in list_field(payload, "custom_fields"):
        if not isinstance(cf, dict):
            continue
        role = ctx.rules.role_of(cf)
        if role == "client":
            values["client"] = _text_value(cf)
        elif role == "project_type":
            values["project_type"] = _text_value(cf)
        elif role == "rate":
            raw = finite_number(cf.get("number_value"))
            if cf.get("number_value") is not None and (raw is None or raw < 0):
                ctx.skips.add(
                    "project", gid, f"field {cf.get('name')!r}: bad rate {str(cf.get('number_value'))[:40]!r}"
                )
            elif raw is not None:
                values["hourly_rate"] = raw
                currency = cf.get("currency_code") or currency
    return Project(
        gid=gid,
        name=str(payload.get("name") or f"project {gid}"),
        project_type=values.get("project_type"),
        client=values.get("client"),
        hourly_rate=values.get("hourly_rate"),
        currency=currency,
        owner_gid=gid_of(payload.get("owner")),
        team=name_of(payload.get("team")),
        created_at=parse_datetime(payload.get("created_at")),
        start_on=parse_date(payload.get("start_on")),
        due_on=parse_date(payload.get("due_on")),
        archived=bool(payload.get("archived") or False),
        portfolio_gids=ctx.portfolios_by_project.get(gid, ()),
        permalink_url=payload.get("permalink_url") if isinstance(payload.get("permalink_url"), str) else None,
    )


def _home_project(
    payload: Mapping[str, Any], ctx: MappingContext
) -> tuple[str | None, str | None, str | None]:
    """(project gid, project name, section name) of the first membership in scope."""
    memberships = [m for m in list_field(payload, "memberships") if isinstance(m, dict)]
    candidates: list[tuple[str | None, str | None, str | None]] = [
        (gid_of(m.get("project")), name_of(m.get("project")), name_of(m.get("section"))) for m in memberships
    ]
    candidates += [(gid_of(p), name_of(p), None) for p in list_field(payload, "projects")]
    for pgid, pname, section in candidates:
        if pgid and (ctx.scope_projects is None or pgid in ctx.scope_projects):
            return pgid, pname, section
    return candidates[0] if candidates else (None, None, None)


def map_task(payload: Mapping[str, Any], ctx: MappingContext) -> Task | None:
    """A raw task payload (as listed with ``TASK_FIELDS``) -> ``Task``; None (logged) when unusable."""
    gid = gid_of(payload)
    if not gid:
        ctx.skips.add("task", None, "no gid")
        return None
    created_at = parse_datetime(payload.get("created_at"))
    if created_at is None:
        ctx.skips.add(
            "task", gid, f"missing or malformed created_at ({str(payload.get('created_at'))[:40]!r})"
        )
        return None
    for key in ("custom_fields", "memberships", "projects", "tags"):
        if payload.get(key) is not None and not isinstance(payload.get(key), list):
            ctx.skips.add("task", gid, f"{key}: expected a list, got {type(payload.get(key)).__name__}")
    estimate: float | None = None
    actual: float | None = None
    billable: bool | None = None
    ai_fields: dict[str, float | str | None] = {}
    for cf in list_field(payload, "custom_fields"):
        if not isinstance(cf, dict):
            continue
        name = str(cf.get("name") or "")
        if name.startswith(AI_PREFIX):
            ai_fields[name] = _ai_value(cf)
            continue
        role = ctx.rules.role_of(cf)
        if role == "estimate" and estimate is None:
            estimate = number_hours(cf, "task", gid, ctx.skips)
        elif role == "actual" and actual is None:
            actual = number_hours(cf, "task", gid, ctx.skips)
        elif role == "billable" and billable is None:
            billable = _billable(cf)
    source = ActualSource.CUSTOM_FIELD if actual is not None else ActualSource.NONE
    if actual is None:
        native = payload.get("actual_time_minutes")
        native_num = finite_number(native)
        if native is not None and (native_num is None or native_num < 0):
            ctx.skips.add("task", gid, f"actual_time_minutes: bad value {str(native)[:40]!r}")
        elif native_num is not None and native_num > 0:
            if native_num / 60 > MAX_HOURS:
                ctx.skips.add("task", gid, f"actual_time_minutes: implausible ({native_num})")
            else:
                actual, source = round(native_num / 60, 6), ActualSource.NATIVE
    if actual is None and ctx.entry_minutes.get(gid):
        actual, source = round(ctx.entry_minutes[gid] / 60, 6), ActualSource.ENTRIES
    project_gid, project_name, section = _home_project(payload, ctx)
    project = ctx.projects.get(project_gid) if project_gid else None
    started = parse_datetime(payload.get("start_at")) or parse_datetime(payload.get("start_on"))
    if started is None and gid in ctx.first_entry:
        d = ctx.first_entry[gid]
        started = datetime(d.year, d.month, d.day, tzinfo=UTC)
    due = parse_date(payload.get("due_on")) or parse_date(payload.get("due_at"))
    tags = tuple(str(n) for n in (name_of(t) for t in list_field(payload, "tags")) if n)
    assignee = payload.get("assignee")
    notes = payload.get("notes")
    return Task.model_construct(
        gid=gid,
        name=str(payload.get("name") or ""),
        notes=notes if isinstance(notes, str) else "",
        project_gid=project_gid,
        project_name=(project.name if project else project_name),
        project_type=project.project_type if project else None,
        section=section,
        tags=tags,
        assignee_gid=gid_of(assignee),
        assignee_name=name_of(assignee),
        parent_gid=gid_of(payload.get("parent")),
        created_at=created_at,
        started_at=started,
        due_on=due,
        completed=bool(payload.get("completed") or False),
        completed_at=parse_datetime(payload.get("completed_at")),
        modified_at=parse_datetime(payload.get("modified_at")),
        estimate_hours=estimate,
        actual_hours=actual,
        actual_source=source,
        billable=billable,
        permalink_url=payload.get("permalink_url") if isinstance(payload.get("permalink_url"), str) else None,
        ai_fields=ai_fields,
    )


_BILLABLE = {s.value: s for s in BillableStatus}
_APPROVAL = {s.value.upper(): s for s in EntryApprovalStatus}
# A single-entry read (or a lenient list) returns these; their presence says the details were read.
_DETAIL_KEYS = ("billable_status", "description", "created_at", "approval_status")


def map_entry(
    payload: Mapping[str, Any], ctx: MappingContext, task_gid: str | None = None
) -> TimeEntry | None:
    """A time tracking entry payload -> ``TimeEntry`` (task from ``task_gid`` or the payload's ``task``).

    A compact record (what the lists return) leaves the details unknown (``details_read_at`` None); a
    full record sets them, and an unknown ``billable_status`` or ``approval_status`` value stays
    unknown (None) with a logged skip, never a guess."""
    gid = gid_of(payload)
    tgid = task_gid or gid_of(payload.get("task"))
    if not gid or not tgid:
        ctx.skips.add("entry", gid, "no gid or no task")
        return None
    raw = payload.get("duration_minutes")
    minutes = finite_number(raw)
    if minutes is None or minutes != int(minutes):
        ctx.skips.add("entry", gid, f"duration_minutes is not an integer ({str(raw)[:40]!r})")
        return None
    # Zero and very long entries are kept: flagging them is the anomaly detector's job.
    if minutes < 0 or minutes > MAX_ENTRY_MINUTES:
        ctx.skips.add("entry", gid, f"duration_minutes out of range ({int(minutes)})")
        return None
    entered = parse_date(payload.get("entered_on"))
    if entered is None:
        ctx.skips.add("entry", gid, f"bad entered_on ({str(payload.get('entered_on'))[:40]!r})")
        return None
    categories = tuple(
        name
        for c in list_field(payload, "categories")
        for name in [name_of(c) or ctx.category_names.get(gid_of(c) or "")]
        if name
    )
    values: dict[str, Any] = {
        "gid": gid,
        "task_gid": tgid,
        "user_gid": gid_of(payload.get("created_by")),
        "entered_on": entered,
        "duration_minutes": int(minutes),
        "project_gid": gid_of(payload.get("attributable_to")),
        "categories": categories,
        "billable_status": None,
        "description": None,
        "created_at": None,
        "approval_status": None,
        "details_read_at": None,
    }
    if any(key in payload for key in _DETAIL_KEYS):
        values["details_read_at"] = ctx.read_at
        status = payload.get("billable_status")
        if status is not None:
            values["billable_status"] = _BILLABLE.get(status) if isinstance(status, str) else None
            if values["billable_status"] is None:
                ctx.skips.add("entry", gid, f"unknown billable_status {str(status)[:30]!r}: left unknown")
        approval = payload.get("approval_status")
        if approval is not None:
            values["approval_status"] = _APPROVAL.get(str(approval).upper())
            if values["approval_status"] is None:
                ctx.skips.add("entry", gid, f"unknown approval_status {str(approval)[:30]!r}: left unknown")
        description = payload.get("description")
        values["description"] = description if isinstance(description, str) else ""
        values["created_at"] = parse_datetime(payload.get("created_at"))
    return TimeEntry.model_construct(**values)


_CHANGED_TEXT = re.compile(r'changed (?P<name>.+?) from "(?P<old>[^"]*)" to "(?P<new>[^"]*)"')


def _num_or_text(value: Any) -> float | str | None:
    num = finite_number(value)
    if num is not None:
        return num
    if isinstance(value, str) and value.strip():
        try:
            f = float(value)
            return f if math.isfinite(f) else None
        except ValueError:
            return value.strip()
    return None


def map_story(payload: Mapping[str, Any], task_gid: str, ctx: MappingContext) -> FieldChange | Comment | None:
    """A story -> ``Comment`` (comment_added) or ``FieldChange`` (a custom field changed); else None.

    Number changes on estimate/actual fields are converted to hours with the field's unit.
    """
    subtype = str(payload.get("resource_subtype") or "")
    created = parse_datetime(payload.get("created_at"))
    gid = gid_of(payload)
    if created is None or not gid:
        return None
    by = gid_of(payload.get("created_by"))
    if subtype == "comment_added":
        text = payload.get("text")
        return Comment(
            gid=gid,
            task_gid=task_gid,
            text=text if isinstance(text, str) else "",
            created_at=created,
            by_gid=by,
        )
    if not subtype.endswith("custom_field_changed"):
        return None
    cf = payload.get("custom_field")
    cf_gid = gid_of(cf)
    name = name_of(cf) or (ctx.field_names.get(cf_gid or "") if cf_gid else None)
    old: float | str | None
    new: float | str | None
    if "old_number_value" in payload or "new_number_value" in payload:
        old, new = (
            _num_or_text(payload.get("old_number_value")),
            _num_or_text(payload.get("new_number_value")),
        )
    elif "old_text_value" in payload or "new_text_value" in payload:
        old, new = _num_or_text(payload.get("old_text_value")), _num_or_text(payload.get("new_text_value"))
    else:
        match = _CHANGED_TEXT.search(str(payload.get("text") or ""))
        if not match:
            return None
        name = name or match["name"]
        old, new = _num_or_text(match["old"]), _num_or_text(match["new"])
    if not name:
        return None
    unit = ctx.field_units.get(cf_gid or "", 1.0)
    if isinstance(old, float):
        old = round(old * unit, 6)
    if isinstance(new, float):
        new = round(new * unit, 6)
    return FieldChange(
        task_gid=task_gid, field_name=name, old_value=old, new_value=new, changed_at=created, by_gid=by
    )


def field_context_from_definitions(defs: Iterable[Mapping[str, Any]], ctx: MappingContext) -> None:
    """Remember names and units of field definitions (used to read stories)."""
    for d in defs:
        gid = gid_of(d)
        if gid:
            ctx.field_names[gid] = str(d.get("name") or "")
            ctx.field_units[gid] = (
                unit_hours(d) if (d.get("resource_subtype") or d.get("type")) == "number" else 1.0
            )
