"""Typed domain records: what sync writes to the store and what every analysis reads.

These are *our* shapes, already normalised (hours, dates, resolved names), not Asana payloads: the
gateway's models (tools/gateway/models.py) describe the wire, sync maps them to these. Analytics are
plain functions over lists of these records; nothing below the store knows about Asana's JSON.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Person(_Record):
    gid: str
    name: str
    email: str | None = None
    # Weekly capacity when the config names one for this person; None = the config default.
    capacity_hours_per_week: float | None = None


class Project(_Record):
    gid: str
    name: str
    project_type: str | None = None  # "client build", "internal tool", "marketing", "support", ...
    client: str | None = None
    hourly_rate: float | None = None  # money per billable hour
    currency: str | None = None
    owner_gid: str | None = None  # the project lead: approval subtasks are assigned to them
    team: str | None = None
    created_at: datetime | None = None
    start_on: date | None = None
    due_on: date | None = None
    archived: bool = False
    portfolio_gids: tuple[str, ...] = ()
    permalink_url: str | None = None


class ActualSource(StrEnum):
    """Where a task's actual hours came from, best first (capability 2, field mapping)."""

    CUSTOM_FIELD = "custom_field"
    NATIVE = "actual_time_minutes"
    ENTRIES = "entry_sum"
    NONE = "none"


class Task(_Record):
    gid: str
    name: str
    notes: str = ""
    project_gid: str | None = None  # home project (first membership in scope)
    project_name: str | None = None
    project_type: str | None = None
    section: str | None = None
    tags: tuple[str, ...] = ()
    assignee_gid: str | None = None
    assignee_name: str | None = None
    parent_gid: str | None = None
    created_at: datetime
    started_at: datetime | None = None  # start_on / start_at, else the first time entry
    due_on: date | None = None
    completed: bool = False
    completed_at: datetime | None = None
    modified_at: datetime | None = None
    estimate_hours: float | None = None
    actual_hours: float | None = None
    actual_source: ActualSource = ActualSource.NONE
    billable: bool | None = None
    permalink_url: str | None = None
    # Current values of the agent-owned `AI …` fields, by field name (for re-read and rollback).
    ai_fields: dict[str, float | str | None] = Field(default_factory=dict)


class BillableStatus(StrEnum):
    BILLABLE = "billable"
    NON_BILLABLE = "nonBillable"
    NOT_APPLICABLE = "notApplicable"


class EntryApprovalStatus(StrEnum):
    """Asana's timesheet approval state of an entry (read-only there)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class TimeEntry(_Record):
    """A time tracking entry. The list endpoints return the compact fields (duration, date, who,
    project, categories); ``billable_status``, ``description``, ``created_at`` and ``approval_status``
    come only from a single-entry read, so ``details_read_at`` says whether they were read: None
    there means unknown, never "not billable" or "no note"."""

    gid: str
    task_gid: str
    user_gid: str | None  # Asana's `created_by`: the person who logged it
    entered_on: date
    duration_minutes: int
    project_gid: str | None = None  # `attributable_to`
    categories: tuple[str, ...] = ()  # time-tracking category names (at most one in Asana today)
    billable_status: BillableStatus | None = None
    description: str | None = None
    created_at: datetime | None = None
    approval_status: EntryApprovalStatus | None = None
    details_read_at: datetime | None = None  # when the single-entry details were read; None = never


class FieldChange(_Record):
    """A custom-field change rebuilt from a task's system stories (scope creep: estimates raised)."""

    task_gid: str
    field_name: str
    old_value: float | str | None = None
    new_value: float | str | None = None
    changed_at: datetime
    by_gid: str | None = None


class Comment(_Record):
    gid: str
    task_gid: str
    text: str
    created_at: datetime
    by_gid: str | None = None


class EffortUnit(StrEnum):
    """Units of an Asana allocation's ``effort``."""

    HOURS = "hours"
    PERCENT = "percent"


class Allocation(_Record):
    """Planned effort of a person on a project over a date range (Asana ``/allocations``).

    ``effort_value`` is hours per week when ``effort_unit`` is hours, percent of the person's weekly
    capacity when it is percent (see tools/analytics/capacity.py for how it is placed and combined).
    ``effort_unit`` None = the allocation carries no effort (Asana's ``effort: null``): counted as zero.
    """

    gid: str
    person_gid: str | None  # the assignee (a user; a placeholder gid stays unresolved)
    project_gid: str | None  # the allocation's parent
    start_on: date
    end_on: date
    effort_unit: EffortUnit | None = None
    effort_value: float | None = None
    created_by_gid: str | None = None


class OutOfOffice(_Record):
    """A person's out-of-office range (Asana ``/ooo_entries``), both ends inclusive."""

    gid: str
    person_gid: str
    start_on: date
    end_on: date
    created_by_gid: str | None = None


class BudgetType(StrEnum):
    TIME = "time"  # values in minutes
    COST = "cost"  # values in money (``Budget.units`` names the currency)


class BudgetSource(StrEnum):
    """Where a project's budget came from: Asana's Budgets API, a mapped custom field, or the config."""

    ASANA = "asana"
    FIELD = "custom_field"
    CONFIG = "config"


class Budget(_Record):
    """A project's budget (Asana ``/budgets?parent=``: at most one per project). ``total`` is the
    budget itself; ``actual`` is what Asana counts as spent (a reconciliation check for our own sum);
    ``estimate`` is Asana's estimate of the total work, when enabled."""

    gid: str
    project_gid: str
    budget_type: BudgetType
    total: float | None = None
    actual: float | None = None
    estimate: float | None = None
    units: str | None = None  # "minutes" for time budgets, a currency code for cost budgets
    billable_status_filter: str | None = None  # which entries count: billable | non_billable | any
    source: BudgetSource = BudgetSource.ASANA


class Rate(_Record):
    """A money rate per hour for a person (or a placeholder) on a project (Asana ``/rates``)."""

    gid: str
    project_gid: str | None
    resource_gid: str | None  # a user gid, or a placeholder's
    placeholder: bool = False
    rate: float
    currency: str | None = None


class TimeCategory(_Record):
    """An admin-managed time-tracking category (Asana ``/time_tracking_categories``)."""

    gid: str
    name: str
    archived: bool = False


class TimesheetApproval(_Record):
    """One person-week's timesheet approval state (Asana ``/timesheet_approval_statuses``)."""

    gid: str
    person_gid: str | None
    start_on: date
    end_on: date
    status: EntryApprovalStatus


class Workspace(BaseModel):
    """Everything analytics may look at, as one immutable bundle read from the store."""

    model_config = ConfigDict(frozen=True)

    people: tuple[Person, ...] = ()
    projects: tuple[Project, ...] = ()
    tasks: tuple[Task, ...] = ()
    entries: tuple[TimeEntry, ...] = ()
    field_changes: tuple[FieldChange, ...] = ()
    allocations: tuple[Allocation, ...] = ()  # empty where the API does not offer them (402/403)
    out_of_office: tuple[OutOfOffice, ...] = ()
    budgets: tuple[Budget, ...] = ()  # empty where the API does not offer them (402/403)
    rates: tuple[Rate, ...] = ()
    categories: tuple[TimeCategory, ...] = ()
    timesheet_approvals: tuple[TimesheetApproval, ...] = ()
    as_of: datetime | None = None  # "now" for this snapshot: forecasts start here, tests pin it
