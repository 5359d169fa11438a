"""Record shapes of the sandbox, as Asana's spec has them: compact fields per resource type, what a full
record adds, which attributes are references to other objects, and field trees for ``opt_fields``.

A *field tree* is a nested dict: `{"name": {}, "assignee": {"name": {}}}`. `parse_opt_fields` builds one
from `opt_fields=name,assignee.name,(followers|assignee).email`; `compact_tree` and `full_tree` give the
defaults (lists are compact, single GETs full). sandbox/render.py renders objects through these trees.
"""

from __future__ import annotations

from typing import Any

Tree = dict[str, "Tree"]

# Compact fields per resource type (Asana's "compact representation").
COMPACT: dict[str, tuple[str, ...]] = {
    "workspace": ("name",),
    "user": ("name",),
    "project": ("name",),
    "portfolio": ("name",),
    "section": ("name",),
    "tag": ("name",),
    "team": ("name",),
    "task": ("name", "resource_subtype"),
    "custom_field": (
        "name",
        "resource_subtype",
        "type",
        "representation_type",
        "enum_options",
        "is_formula_field",
    ),
    "custom_field_setting": (),
    "time_tracking_entry": ("duration_minutes", "entered_on", "attributable_to", "created_by", "categories"),
    "story": ("created_at", "created_by", "resource_subtype", "text"),
    "attachment": ("name", "resource_subtype"),
    "webhook": ("active", "resource", "target"),
    "enum_option": ("name", "enabled", "color"),
    "membership": ("project", "section"),
    # Resourcing: the spec leaves the default list fields open; we return the dates, and clients ask
    # for the rest with opt_fields (as the gateway does).
    "allocation": ("start_date", "end_date"),
    "ooo_entry": ("start_date", "end_date"),
    # Timesheets & Budgets: compact records as the spec defines them (rates carry their value).
    "time_tracking_category": ("name", "color"),
    "placeholder": ("name",),
    "rate": ("parent", "resource", "rate", "currency_code", "created_by"),
    "budget": ("budget_type",),
    "timesheet_approval_status": (
        "created_at",
        "user",
        "workspace",
        "start_date",
        "end_date",
        "approval_status",
    ),
}

# Full records: compact fields plus these.
FULL_EXTRA: dict[str, tuple[str, ...]] = {
    "workspace": ("email_domains", "is_organization"),
    "user": ("email", "photo", "workspaces"),
    "project": (
        "archived",
        "color",
        "created_at",
        "current_status_update",
        "custom_field_settings",
        "default_view",
        "due_date",
        "due_on",
        "html_notes",
        "members",
        "modified_at",
        "notes",
        "public",
        "privacy_setting",
        "start_on",
        "custom_fields",
        "completed",
        "completed_at",
        "completed_by",
        "followers",
        "owner",
        "permalink_url",
        "workspace",
        "icon",
    ),
    "portfolio": (
        "archived",
        "color",
        "start_on",
        "due_on",
        "created_at",
        "created_by",
        "custom_field_settings",
        "current_status_update",
        "custom_fields",
        "members",
        "owner",
        "workspace",
        "permalink_url",
        "public",
        "privacy_setting",
    ),
    "section": ("created_at", "project", "projects"),
    "tag": ("color", "notes", "created_at", "followers", "workspace", "permalink_url"),
    "team": (),
    "task": (
        "created_by",
        "assignee_status",
        "completed",
        "completed_at",
        "completed_by",
        "created_at",
        "dependencies",
        "dependents",
        "due_at",
        "due_on",
        "html_notes",
        "hearted",
        "hearts",
        "is_rendered_as_separator",
        "liked",
        "likes",
        "memberships",
        "modified_at",
        "notes",
        "num_hearts",
        "num_likes",
        "num_subtasks",
        "start_at",
        "start_on",
        "actual_time_minutes",
        "assignee",
        "custom_fields",
        "followers",
        "parent",
        "projects",
        "tags",
        "workspace",
        "permalink_url",
    ),
    "custom_field": (
        "enabled",
        "description",
        "precision",
        "format",
        "currency_code",
        "custom_label",
        "custom_label_position",
        "is_global_to_workspace",
        "has_notifications_enabled",
        "is_value_read_only",
        "created_by",
        "privacy_setting",
        "id_prefix",
        "asana_created_field",
    ),
    "custom_field_setting": ("project", "is_important", "parent", "custom_field"),
    "time_tracking_entry": ("task", "created_at", "approval_status", "billable_status", "description"),
    "story": (
        "html_text",
        "is_pinned",
        "type",
        "is_editable",
        "is_edited",
        "hearted",
        "num_hearts",
        "liked",
        "num_likes",
        "target",
        "source",
        "custom_field",
        "old_number_value",
        "new_number_value",
        "old_text_value",
        "new_text_value",
        "old_enum_value",
        "new_enum_value",
        "old_date_value",
        "new_date_value",
    ),
    "attachment": (
        "created_at",
        "download_url",
        "permanent_url",
        "host",
        "parent",
        "size",
        "view_url",
        "connected_to_app",
    ),
    "webhook": (
        "created_at",
        "filters",
        "last_failure_at",
        "last_failure_content",
        "last_success_at",
        "delivery_retry_count",
    ),
    "enum_option": (),
    "membership": (),
    "allocation": ("effort", "assignee", "parent", "created_by", "resource_subtype"),
    "ooo_entry": ("user", "created_by"),
    "time_tracking_category": ("is_archived",),
    "placeholder": (),
    "rate": (),
    "budget": ("estimate", "actual", "total", "parent"),
    "timesheet_approval_status": (),
}

# attribute -> target resource type, for references held as gids in internal objects.
REFS: dict[str, dict[str, str]] = {
    "user": {"workspaces": "workspace"},
    "project": {
        "owner": "user",
        "completed_by": "user",
        "workspace": "workspace",
        "members": "user",
        "followers": "user",
        "team": "team",
    },
    "portfolio": {"owner": "user", "created_by": "user", "workspace": "workspace", "members": "user"},
    "section": {"project": "project", "projects": "project"},
    "tag": {"workspace": "workspace", "followers": "user"},
    "task": {
        "assignee": "user",
        "completed_by": "user",
        "created_by": "user",
        "parent": "task",
        "projects": "project",
        "tags": "tag",
        "workspace": "workspace",
        "followers": "user",
    },
    "custom_field": {"created_by": "user", "workspace": "workspace"},
    "custom_field_setting": {"custom_field": "custom_field", "parent": "project", "project": "project"},
    "time_tracking_entry": {
        "attributable_to": "project",
        "created_by": "user",
        "task": "task",
        "categories": "time_tracking_category",
    },
    "story": {"created_by": "user", "target": "task", "custom_field": "custom_field"},
    "attachment": {"parent": "task"},
    "membership": {"project": "project", "section": "section"},
    "allocation": {"assignee": "user", "parent": "project", "created_by": "user"},
    "ooo_entry": {"user": "user", "created_by": "user"},
    "rate": {"parent": "project", "created_by": "user"},  # `resource` is a user or a placeholder
    "budget": {"parent": "project"},
    "timesheet_approval_status": {"user": "user", "workspace": "workspace"},
}

# Task fields that Asana returns with a fixed value in this sandbox.
TASK_CONSTANTS: dict[str, Any] = {
    "assignee_status": "upcoming",
    "dependencies": [],
    "dependents": [],
    "hearted": False,
    "hearts": [],
    "is_rendered_as_separator": False,
    "liked": False,
    "likes": [],
    "num_hearts": 0,
    "num_likes": 0,
}


def parse_opt_fields(raw: str | None) -> Tree | None:
    """`a,b.c,(x|y).z` -> field tree; None when no opt_fields were sent."""
    if raw is None or not raw.strip():
        return None
    tree: Tree = {}
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        for path in _expand_groups(part):
            node = tree
            for seg in path.split("."):
                if seg:
                    node = node.setdefault(seg, {})
    return tree


def _expand_groups(path: str) -> list[str]:
    """Expand the `(a|b).c` group form into `a.c`, `b.c`."""
    start = path.find("(")
    if start < 0:
        return [path]
    end = path.find(")", start)
    if end < 0:
        return [path.replace("(", "")]
    out: list[str] = []
    for alt in path[start + 1 : end].split("|"):
        out.extend(_expand_groups(path[:start] + alt + path[end + 1 :]))
    return out


def compact_tree(kind: str) -> Tree:
    return {f: _nested_default(kind, f) for f in COMPACT.get(kind, ())}


def full_tree(kind: str) -> Tree:
    return {f: _nested_default(kind, f) for f in COMPACT.get(kind, ()) + FULL_EXTRA.get(kind, ())}


def _nested_default(kind: str, field: str) -> Tree:
    """Sub-tree for a reference inside a default record: the target's compact fields."""
    target = REFS.get(kind, {}).get(field)
    if target:
        return compact_tree(target)
    if kind == "task" and field == "memberships":
        return {"project": {"name": {}}, "section": {"name": {}}}
    if kind == "task" and field == "custom_fields":
        return {f: {} for f in CF_VALUE_FIELDS}
    if kind in ("project", "portfolio") and field == "custom_field_settings":
        return {
            "project": {"name": {}},
            "is_important": {},
            "parent": {"name": {}},
            "custom_field": {f: {} for f in COMPACT["custom_field"] + FULL_EXTRA["custom_field"]},
        }
    if kind in ("project", "portfolio") and field == "custom_fields":
        return {f: {} for f in CF_VALUE_FIELDS}
    if kind == "custom_field" and field == "enum_options":
        return compact_tree("enum_option")
    if kind == "story" and field in ("old_enum_value", "new_enum_value"):
        return compact_tree("enum_option")
    if kind == "webhook" and field == "resource":
        return {"name": {}}
    if kind == "rate" and field == "resource":
        return {"name": {}}
    return {}


def whole(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v


CF_VALUE_FIELDS = (
    "name",
    "resource_subtype",
    "type",
    "enum_options",
    "enabled",
    "representation_type",
    "is_formula_field",
    "number_value",
    "text_value",
    "enum_value",
    "date_value",
    "display_value",
    "precision",
    "format",
    "currency_code",
    "custom_label",
    "custom_label_position",
)
