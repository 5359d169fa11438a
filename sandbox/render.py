"""Turn internal objects into API records: compact vs full, and `opt_fields` with dotted paths.

A *field tree* is a nested dict: `{"name": {}, "assignee": {"name": {}}}`. `parse_opt_fields` builds one
from `opt_fields=name,assignee.name,(followers|assignee).email`; `COMPACT` and `full_tree` give the
defaults (lists are compact, single GETs full). References (assignee, projects, ...) render as the target
object through the sub-tree; an empty sub-tree renders just `{gid, resource_type}`, like Asana does.
`gid` and `resource_type` are always present on every resource.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from sandbox.state import Obj, SandboxState

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
    "time_tracking_entry": {"attributable_to": "project", "created_by": "user", "task": "task"},
    "story": {"created_by": "user", "target": "task", "custom_field": "custom_field"},
    "attachment": {"parent": "task"},
    "membership": {"project": "project", "section": "section"},
    "allocation": {"assignee": "user", "parent": "project", "created_by": "user"},
    "ooo_entry": {"user": "user", "created_by": "user"},
}

# Task fields that Asana returns with a fixed value in this sandbox.
_TASK_CONSTANTS: dict[str, Any] = {
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
        return {f: {} for f in _CF_VALUE_FIELDS}
    if kind in ("project", "portfolio") and field == "custom_field_settings":
        return {
            "project": {"name": {}},
            "is_important": {},
            "parent": {"name": {}},
            "custom_field": {f: {} for f in COMPACT["custom_field"] + FULL_EXTRA["custom_field"]},
        }
    if kind in ("project", "portfolio") and field == "custom_fields":
        return {f: {} for f in _CF_VALUE_FIELDS}
    if kind == "custom_field" and field == "enum_options":
        return compact_tree("enum_option")
    if kind == "story" and field in ("old_enum_value", "new_enum_value"):
        return compact_tree("enum_option")
    if kind == "webhook" and field == "resource":
        return {"name": {}}
    return {}


def _whole(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v


_CF_VALUE_FIELDS = (
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
_MISSING = object()


class Renderer:
    """Renders internal objects of one SandboxState; `base_url` is the server's `…/api/1.0`."""

    def __init__(self, state: SandboxState, base_url: str, app_url: str = "https://app.asana.com") -> None:
        self.state = state
        self.base_url = base_url
        self.app_url = app_url

    def render(self, kind: str, obj: Obj, tree: Tree) -> Obj:
        """One record through a field tree (gid and resource_type always included)."""
        out: Obj = {}
        if "gid" in obj:
            out["gid"] = obj["gid"]
            out["resource_type"] = obj.get("resource_type", kind)
        for field, sub in tree.items():
            if field in ("gid", "resource_type"):
                continue
            value = self._attr(kind, obj, field)
            if value is _MISSING:
                continue
            out[field] = self._value(kind, field, value, sub)
        return out

    def _value(self, kind: str, field: str, value: Any, sub: Tree) -> Any:
        target = REFS.get(kind, {}).get(field)
        if target is not None:
            if isinstance(value, list):
                return [self._ref(target, v, sub) for v in value]
            return None if value is None else self._ref(target, value, sub)
        if isinstance(value, list):
            return [self._nested(kind, field, v, sub) for v in value]
        if isinstance(value, dict):
            return self._nested(kind, field, value, sub)
        return value

    def _nested(self, kind: str, field: str, value: Any, sub: Tree) -> Any:
        if not isinstance(value, dict):
            return value
        sub_kind = value.get("resource_type") or ("membership" if field == "memberships" else None)
        if sub_kind is None:
            return value  # plain structure (date_value, filters, photo...): returned whole
        if not sub:
            if sub_kind == "enum_option":
                return dict(value)  # enum values are returned whole, like Asana does
            if "gid" in value:
                return {"gid": value["gid"], "resource_type": sub_kind}
            sub = {k: {} for k in COMPACT.get(sub_kind, ())}
        return self.render(sub_kind, value, sub)

    def _ref(self, kind: str, gid: Any, sub: Tree) -> Obj:
        obj = self.state.objects.get(kind, {}).get(str(gid)) if kind in self.state.objects else None
        if obj is None:
            if kind == "team":
                obj = {"gid": str(gid), "resource_type": "team", "name": "Delivery"}
            else:
                return {"gid": str(gid), "resource_type": kind}
        if not sub:
            return {"gid": str(gid), "resource_type": kind}
        return self.render(kind, obj, sub)

    # ----------------------------------------------------------------------------------------------
    def _attr(self, kind: str, obj: Obj, field: str) -> Any:
        getter = _COMPUTED.get((kind, field))
        if getter is not None:
            return getter(self, obj)
        if kind == "task" and field in _TASK_CONSTANTS:
            return _TASK_CONSTANTS[field]
        if field == "permalink_url" and kind in ("project", "portfolio", "tag"):
            return f"{self.app_url}/0/{obj['gid']}/list"
        return obj.get(field, _MISSING)

    # task
    def _task_actual_time_minutes(self, obj: Obj) -> Any:
        return self.state.actual_time_minutes(obj["gid"])

    def _task_num_subtasks(self, obj: Obj) -> int:
        return len(self.state.subtasks.get(obj["gid"], {}))

    def _task_permalink_url(self, obj: Obj) -> str:
        home = obj["projects"][0] if obj["projects"] else "0"
        return f"{self.app_url}/0/{home}/{obj['gid']}"

    def _task_html_notes(self, obj: Obj) -> str:
        if "html_notes" in obj:
            return str(obj["html_notes"])
        text = str(obj.get("notes") or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f"<body>{text}</body>"

    def _task_memberships(self, obj: Obj) -> list[Obj]:
        return [{"project": m["project"], "section": m.get("section")} for m in obj["memberships"]]

    def _task_custom_fields(self, obj: Obj) -> list[Obj]:
        values: dict[str, Any] = obj.get("custom_field_values", {})
        on_projects: list[str] = []
        settings = self.state.objects["custom_field_setting"]
        for p in obj["projects"]:
            for s in self.state.settings_by_project.get(p, {}):
                f = settings[s]["custom_field"]
                if f not in on_projects:
                    on_projects.append(f)
        out = [self.cf_value(f, values.get(f), True) for f in on_projects]
        out += [
            self.cf_value(f, v, False) for f, v in values.items() if f not in on_projects and v is not None
        ]
        return [o for o in out if o]

    def cf_value(self, field_gid: str, raw: Any, enabled: bool) -> Obj:
        """A task's custom_fields[] entry: the field definition plus its typed value and display_value."""
        field = self.state.objects["custom_field"].get(field_gid)
        if field is None:
            return {}
        sub = field["resource_subtype"]
        value: Obj = {k: v for k, v in field.items() if k != "workspace"}
        value["type"] = sub
        value["enabled"] = enabled
        value["representation_type"] = sub
        display: str | None = None
        if sub == "number":
            value["number_value"] = raw
            if raw is not None:
                display = f"{raw:.{field.get('precision', 0)}f}"
        elif sub == "text":
            value["text_value"] = raw
            display = raw
        elif sub == "enum":
            opt = next((o for o in field.get("enum_options", []) if o["gid"] == raw), None)
            value["enum_value"] = opt
            display = opt["name"] if opt else None
        elif sub == "date":
            value["date_value"] = raw
            display = raw["date"] if raw else None
        value["display_value"] = display
        return value

    # project / portfolio
    def _project_custom_field_settings(self, obj: Obj) -> list[Obj]:
        settings = self.state.objects["custom_field_setting"]
        return [settings[s] for s in self.state.settings_by_project.get(obj["gid"], {})]

    _portfolio_custom_field_settings = _project_custom_field_settings

    def _project_custom_fields(self, obj: Obj) -> list[Obj]:
        return [self.cf_value(f, v, True) for f, v in obj.get("custom_field_values", {}).items()]

    _portfolio_custom_fields = _project_custom_fields

    def _project_due_date(self, obj: Obj) -> Any:
        return obj.get("due_on")

    def _project_current_status_update(self, obj: Obj) -> Any:
        return None

    _portfolio_current_status_update = _project_current_status_update

    # section
    def _section_projects(self, obj: Obj) -> list[str]:
        return [obj["project"]]

    # custom field definitions
    def _custom_field_type(self, obj: Obj) -> str:
        return str(obj["resource_subtype"])

    def _custom_field_representation_type(self, obj: Obj) -> str:
        return str(obj["resource_subtype"])

    def _custom_field_enabled(self, obj: Obj) -> Any:
        return obj.get("enabled", True)

    def _custom_field_setting_project(self, obj: Obj) -> str:
        return str(obj["parent"])

    # stories
    def _story_old_enum_value(self, obj: Obj) -> Any:
        return self._enum_option(obj, "old_enum_value")

    def _story_new_enum_value(self, obj: Obj) -> Any:
        return self._enum_option(obj, "new_enum_value")

    def _enum_option(self, obj: Obj, key: str) -> Any:
        if key not in obj:
            return _MISSING
        field = self.state.objects["custom_field"].get(obj.get("custom_field", ""), {})
        opt = next((o for o in field.get("enum_options", []) if o["gid"] == obj[key]), None)
        return opt if opt is not None else _MISSING

    def _story_is_editable(self, obj: Obj) -> bool:
        return obj.get("type") == "comment"

    def _story_is_edited(self, obj: Obj) -> bool:
        return False

    def _story_hearted(self, obj: Obj) -> bool:
        return False

    _story_liked = _story_hearted

    def _story_num_hearts(self, obj: Obj) -> int:
        return 0

    _story_num_likes = _story_num_hearts

    # The spec types old/new_number_value as integers (the real API sends any number): whole values are
    # sent as JSON integers so that they match; fractional ones can only be sent as they are.
    def _story_old_number_value(self, obj: Obj) -> Any:
        return _whole(obj["old_number_value"]) if "old_number_value" in obj else _MISSING

    def _story_new_number_value(self, obj: Obj) -> Any:
        # The spec declares new_number_value non-nullable: a cleared value is simply absent.
        v = obj.get("new_number_value")
        return _MISSING if v is None else _whole(v)

    def _story_new_text_value(self, obj: Obj) -> Any:
        v = obj.get("new_text_value")
        return _MISSING if v is None else v

    def _story_old_text_value(self, obj: Obj) -> Any:
        v = obj.get("old_text_value")
        return _MISSING if v is None else v

    def _story_old_date_value(self, obj: Obj) -> Any:
        v = obj.get("old_date_value")
        return _MISSING if v is None else v

    def _story_new_date_value(self, obj: Obj) -> Any:
        v = obj.get("new_date_value")
        return _MISSING if v is None else v

    # attachments: the sandbox serves the file itself
    def _attachment_download_url(self, obj: Obj) -> str:
        root = self.base_url.rsplit("/api/1.0", 1)[0]
        return f"{root}/sandbox/files/{obj['gid']}/{obj['name']}"

    _attachment_permanent_url = _attachment_download_url

    def _attachment_view_url(self, obj: Obj) -> str:
        return self._attachment_download_url(obj)

    def _attachment_connected_to_app(self, obj: Obj) -> bool:
        return False

    # webhooks
    def _webhook_last_failure_at(self, obj: Obj) -> Any:
        return obj.get("last_failure_at") or _MISSING

    def _webhook_resource(self, obj: Obj) -> Obj:
        gid = obj["resource"]
        for kind in ("project", "task", "workspace", "portfolio", "tag", "user"):
            target = self.state.objects[kind].get(gid)
            if target is not None:
                return {"gid": gid, "resource_type": kind, "name": target.get("name", "")}
        return {"gid": gid, "resource_type": "task", "name": ""}


# (kind, field) -> the Renderer method computing it (`_<kind>_<field>`), resolved once at import.
_COMPUTED: MappingProxyType[tuple[str, str], Any] = MappingProxyType(
    {
        (kind, name[len(kind) + 2 :]): getattr(Renderer, name)
        for kind in COMPACT
        for name in dir(Renderer)
        if name.startswith(f"_{kind}_")
    }
)
