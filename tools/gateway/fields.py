"""``opt_fields`` the product asks for, per resource: one place, so sync and the capability probes agree.

Each list is what mapping reads (tools/sync/mapping*.py) and nothing more: Asana's cost limit charges
for every field and link a response has to build.
"""

from __future__ import annotations

CUSTOM_FIELD_FIELDS = (
    "name,resource_subtype,type,format,precision,custom_label,custom_label_position,currency_code,"
    "enum_options.name,enum_options.enabled,enum_options.color,is_formula_field,is_value_read_only,description"
)
CUSTOM_FIELD_SETTING_FIELDS = ",".join(
    ["is_important", "project", "parent"] + [f"custom_field.{f}" for f in CUSTOM_FIELD_FIELDS.split(",")]
)
_CF_VALUE = (
    "name,resource_subtype,type,format,precision,custom_label,custom_label_position,number_value,text_value,"
    "display_value,enum_value.name,enabled"
)
TASK_FIELDS = ",".join(
    [
        "name",
        "notes",
        "resource_subtype",
        "completed",
        "completed_at",
        "created_at",
        "modified_at",
        "start_on",
        "start_at",
        "due_on",
        "due_at",
        "assignee.name",
        "parent",
        "projects.name",
        "memberships.project.name",
        "memberships.section.name",
        "tags.name",
        "permalink_url",
        "actual_time_minutes",
        "num_subtasks",
    ]
    + [f"custom_fields.{f}" for f in _CF_VALUE.split(",")]
)
PROJECT_FIELDS = (
    "name,archived,completed,created_at,modified_at,start_on,due_on,owner.name,team.name,permalink_url,"
    "custom_fields.name,custom_fields.resource_subtype,custom_fields.type,custom_fields.format,"
    "custom_fields.number_value,custom_fields.text_value,custom_fields.display_value,custom_fields.enum_value.name,"
    "custom_fields.currency_code,custom_fields.precision"
)
# The compact entry: what every time-entry list returns (the spec's list ``opt_fields`` enum).
TIME_ENTRY_FIELDS = "duration_minutes,entered_on,attributable_to,created_by,categories,categories.name"
# What only a single-entry read returns per the spec; lists are asked for them only where a probe saw
# them come back (a server may accept the parameter and drop the fields).
ENTRY_DETAIL_FIELDS = ("billable_status", "description", "created_at", "approval_status")
TIME_ENTRY_FULL_FIELDS = TIME_ENTRY_FIELDS + ",task," + ",".join(ENTRY_DETAIL_FIELDS)
ALLOCATION_FIELDS = (
    "start_date,end_date,effort,effort.type,effort.value,assignee,assignee.name,parent,parent.name,"
    "created_by,resource_subtype"
)
OOO_FIELDS = "start_date,end_date,user,user.name,created_by"
STORY_FIELDS = (
    "created_at,created_by,created_by.name,resource_subtype,text,type,custom_field.name,custom_field.resource_subtype,"
    "old_number_value,new_number_value,old_text_value,new_text_value"
)
CATEGORY_FIELDS = "name,color,is_archived"
TIMESHEET_FIELDS = "start_date,end_date,approval_status,user,user.name,created_at"
