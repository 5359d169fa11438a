"""Pydantic models of Asana payloads (the wire, not our domain records).

Tolerant on purpose: ``extra="ignore"``, every field but ``gid`` optional, custom-field values typed
``Any`` (a text value in a number field must not reject the whole task; mapping decides what to skip).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AsanaModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    gid: str
    resource_type: str | None = None


class Ref(AsanaModel):
    """A compact reference ``{gid, name}`` to any resource."""

    name: str | None = None


class Workspace(AsanaModel):
    name: str | None = None
    is_organization: bool | None = None


class User(AsanaModel):
    name: str | None = None
    email: str | None = None
    workspaces: list[Ref] = Field(default_factory=list)


class EnumOption(AsanaModel):
    name: str | None = None
    enabled: bool | None = None
    color: str | None = None


class CustomField(AsanaModel):
    """A definition, or (on a task) a definition plus its value."""

    name: str | None = None
    resource_subtype: str | None = None
    type: str | None = None
    format: str | None = None
    precision: int | None = None
    custom_label: str | None = None
    custom_label_position: str | None = None
    currency_code: str | None = None
    enum_options: list[EnumOption] = Field(default_factory=list)
    is_formula_field: bool | None = None
    is_value_read_only: bool | None = None
    description: str | None = None
    enabled: bool | None = None
    number_value: Any = None
    text_value: Any = None
    display_value: Any = None
    enum_value: Any = None
    multi_enum_values: Any = None
    date_value: Any = None
    people_value: Any = None


class CustomFieldSetting(AsanaModel):
    custom_field: CustomField | None = None
    is_important: bool | None = None
    project: Ref | None = None
    parent: Ref | None = None


class Project(AsanaModel):
    name: str | None = None
    archived: bool | None = None
    completed: bool | None = None
    created_at: str | None = None
    modified_at: str | None = None
    start_on: str | None = None
    due_on: str | None = None
    owner: Ref | None = None
    team: Ref | None = None
    workspace: Ref | None = None
    permalink_url: str | None = None
    custom_fields: list[CustomField] = Field(default_factory=list)
    custom_field_settings: list[CustomFieldSetting] = Field(default_factory=list)


class Portfolio(AsanaModel):
    name: str | None = None
    owner: Ref | None = None


class Section(AsanaModel):
    name: str | None = None
    project: Ref | None = None


class Tag(AsanaModel):
    name: str | None = None


class Membership(BaseModel):
    model_config = ConfigDict(extra="ignore")
    project: Ref | None = None
    section: Ref | None = None


class Task(AsanaModel):
    name: str | None = None
    notes: str | None = None
    resource_subtype: str | None = None
    completed: bool | None = None
    completed_at: str | None = None
    created_at: str | None = None
    modified_at: str | None = None
    start_on: str | None = None
    start_at: str | None = None
    due_on: str | None = None
    due_at: str | None = None
    assignee: Ref | None = None
    parent: Ref | None = None
    projects: list[Ref] = Field(default_factory=list)
    memberships: list[Membership] = Field(default_factory=list)
    tags: list[Ref] = Field(default_factory=list)
    permalink_url: str | None = None
    actual_time_minutes: Any = None
    num_subtasks: int | None = None
    custom_fields: list[CustomField] = Field(default_factory=list)
    workspace: Ref | None = None


class TimeTrackingEntry(AsanaModel):
    duration_minutes: Any = None
    entered_on: str | None = None
    attributable_to: Ref | None = None
    created_by: Ref | None = None
    task: Ref | None = None
    created_at: str | None = None
    approval_status: str | None = None
    billable_status: str | None = None
    description: str | None = None
    categories: list[Ref] = Field(default_factory=list)


class Effort(BaseModel):
    """An allocation's ``effort``: ``type`` hours | percent, ``value`` a number (kept loose: mapping checks)."""

    model_config = ConfigDict(extra="ignore")

    type: str | None = None
    value: Any = None


class Allocation(AsanaModel):
    """``GET /allocations``: a person's (or placeholder's) planned effort on a project over dates."""

    start_date: str | None = None
    end_date: str | None = None
    effort: Effort | None = None
    assignee: Ref | None = None
    parent: Ref | None = None
    created_by: Ref | None = None
    resource_subtype: str | None = None


class OooEntry(AsanaModel):
    """``GET /ooo_entries``: a user's out-of-office range (both dates inclusive)."""

    start_date: str | None = None
    end_date: str | None = None
    user: Ref | None = None
    created_by: Ref | None = None


class Story(AsanaModel):
    created_at: str | None = None
    created_by: Ref | None = None
    resource_subtype: str | None = None
    type: str | None = None
    text: str | None = None
    html_text: str | None = None
    custom_field: CustomField | None = None
    old_number_value: Any = None
    new_number_value: Any = None
    old_text_value: Any = None
    new_text_value: Any = None
    target: Ref | None = None


class Attachment(AsanaModel):
    name: str | None = None
    resource_subtype: str | None = None
    host: str | None = None
    size: int | None = None
    download_url: str | None = None
    permanent_url: str | None = None
    view_url: str | None = None
    created_at: str | None = None
    parent: Ref | None = None


class EventChange(BaseModel):
    model_config = ConfigDict(extra="ignore")
    field: str | None = None
    action: str | None = None
    new_value: Any = None
    added_value: Any = None
    removed_value: Any = None


class EventResource(Ref):
    resource_subtype: str | None = None


class Event(BaseModel):
    """An event has no gid of its own."""

    model_config = ConfigDict(extra="ignore")
    action: str | None = None
    created_at: str | None = None
    type: str | None = None
    user: Ref | None = None
    resource: EventResource | None = None
    parent: EventResource | None = None
    change: EventChange | None = None


class WebhookFilter(BaseModel):
    model_config = ConfigDict(extra="ignore")
    resource_type: str | None = None
    resource_subtype: str | None = None
    action: str | None = None
    fields: list[str] | None = None


class Webhook(AsanaModel):
    active: bool | None = None
    resource: Ref | None = None
    target: str | None = None
    filters: list[WebhookFilter] = Field(default_factory=list)
    created_at: str | None = None
    last_success_at: str | None = None
    last_failure_at: str | None = None
    last_failure_content: str | None = None
