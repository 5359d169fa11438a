"""Turn internal objects into API records through a field tree (sandbox/shapes.py: compact vs full,
`opt_fields` with dotted paths).

References (assignee, projects, ...) render as the target object through the sub-tree; an empty
sub-tree renders just `{gid, resource_type}`, like Asana does. `gid` and `resource_type` are always
present on every resource. Computed attributes (a task's `actual_time_minutes`, a budget's `actual`)
are `Renderer._<kind>_<field>` methods.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from sandbox.shapes import (
    COMPACT,
    FULL_EXTRA,
    REFS,
    TASK_CONSTANTS,
    Tree,
    compact_tree,
    full_tree,
    parse_opt_fields,
    whole,
)
from sandbox.state import Obj, SandboxState

__all__ = [
    "COMPACT",
    "FULL_EXTRA",
    "REFS",
    "Renderer",
    "Tree",
    "compact_tree",
    "full_tree",
    "parse_opt_fields",
]

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
        if kind == "task" and field in TASK_CONSTANTS:
            return TASK_CONSTANTS[field]
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
        return whole(obj["old_number_value"]) if "old_number_value" in obj else _MISSING

    def _story_new_number_value(self, obj: Obj) -> Any:
        # The spec declares new_number_value non-nullable: a cleared value is simply absent.
        v = obj.get("new_number_value")
        return _MISSING if v is None else whole(v)

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

    # Timesheets & Budgets
    def _rate_resource(self, obj: Obj) -> Obj:
        gid = obj["resource"]
        for kind in ("user", "placeholder"):
            target = self.state.objects[kind].get(gid)
            if target is not None:
                return {"gid": gid, "resource_type": kind, "name": target.get("name", "")}
        return {"gid": gid, "resource_type": "user", "name": ""}

    def _units(self, obj: Obj) -> str:
        return "minutes" if obj["budget_type"] == "time" else str(self.state.meta.get("currency", "USD"))

    def _budget_actual(self, obj: Obj) -> Obj:
        actual = obj.get("actual") or {}
        return {
            "billable_status_filter": actual.get("billable_status_filter", "billable"),
            "value": self.state.budget_actual(obj),
            "units": self._units(obj),
        }

    def _budget_total(self, obj: Obj) -> Obj:
        total = obj.get("total") or {}
        enabled = bool(total.get("enabled", True))
        # Disabled: the spec says value and units are null, but types them as non-nullable numbers and
        # strings; the sandbox keeps its budgets enabled, so this only guards hand-made states.
        return {"enabled": enabled, "value": total.get("value", 0), "units": self._units(obj)}

    def _budget_estimate(self, obj: Obj) -> Obj:
        est = obj.get("estimate") or {}
        minutes = 0.0
        field = next(
            (f for f in self.state.objects["custom_field"].values() if f.get("name") == "Estimated Hours"),
            None,
        )
        if field is not None:
            tasks = self.state.objects["task"]
            for t in self.state.tasks_by_project.get(obj["parent"], {}):
                v = tasks[t].get("custom_field_values", {}).get(field["gid"])
                minutes += float(v) * 60 if isinstance(v, int | float) else 0.0
        rates = [r["rate"] for r in self.state.objects["rate"].values() if r["parent"] == obj["parent"]]
        value = (
            minutes
            if obj["budget_type"] == "time"
            else minutes / 60 * (sum(rates) / len(rates) if rates else 0)
        )
        return {
            "enabled": bool(est.get("enabled", True)),
            "source": est.get("source", "tasks"),
            "billable_status_filter": est.get("billable_status_filter", "billable"),
            "value": round(value, 2),
            "units": self._units(obj),
        }

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
