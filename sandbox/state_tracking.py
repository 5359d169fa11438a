"""Sandbox mutations of tracking data: time entries, custom fields, resourcing (allocations, out of
office) and Timesheets & Budgets (time-tracking categories, placeholders, rates, budgets, weekly
timesheet approvals).

Allocations, OOO entries and the Timesheets & Budgets objects emit no events: Asana's event streams do
not carry them, so clients re-read them (as sync does).
"""

from __future__ import annotations

from datetime import date, timedelta

from sandbox.errors import bad_request
from sandbox.state_core import BILLABLE_STATUSES, CF_TYPES, Obj, StateCore, iso, iso_day


class TrackingMutations(StateCore):
    """Entries, custom fields, resourcing, Timesheets & Budgets (mixed into ``SandboxState``)."""

    # ----------------------------------------------------------------------------------------------
    # time tracking entries
    def _check_entry_fields(self, data: Obj, *, creating: bool) -> Obj:
        out: Obj = {}
        if "duration_minutes" in data or creating:
            d = data.get("duration_minutes")
            if isinstance(d, bool) or not isinstance(d, int | float) or not float(d).is_integer() or d <= 0:
                raise bad_request("duration_minutes: Value must be a positive integer")
            if d > 60 * 24 * 7:
                raise bad_request("duration_minutes: Value is too large")
            out["duration_minutes"] = int(d)
        if data.get("entered_on") is not None:
            try:
                out["entered_on"] = date.fromisoformat(str(data["entered_on"])).isoformat()
            except ValueError:
                raise bad_request("entered_on: Invalid date") from None
        if data.get("attributable_to") is not None:
            self.get("project", str(data["attributable_to"]))
            out["attributable_to"] = str(data["attributable_to"])
        if data.get("billable_status") is not None:
            if data["billable_status"] not in BILLABLE_STATUSES:
                raise bad_request("billable_status: Invalid value")
            out["billable_status"] = data["billable_status"]
        if data.get("description") is not None:
            out["description"] = str(data["description"])
        if data.get("categories") is not None:
            cats = data["categories"]
            if not isinstance(cats, list) or len(cats) > 1:
                raise bad_request("categories: at most one time tracking category")
            for c in cats:
                if self.get("time_tracking_category", str(c)).get("is_archived"):
                    raise bad_request("categories: an archived category cannot be assigned")
            out["categories"] = [str(c) for c in cats]
        return out

    def add_time_entry(
        self,
        task_gid: str,
        duration_minutes: int,
        entered_on: str | date | None = None,
        *,
        by: str | None = None,
        attributable_to: str | None = None,
        billable_status: str | None = None,
        description: str | None = None,
        categories: list[str] | None = None,
    ) -> Obj:
        """POST /tasks/{gid}/time_tracking_entries (also the Python API for tests acting as a user)."""
        with self.lock:
            task = self.get("task", task_gid)
            data: Obj = {
                "duration_minutes": duration_minutes,
                "entered_on": entered_on.isoformat() if isinstance(entered_on, date) else entered_on,
                "attributable_to": attributable_to,
                "billable_status": billable_status,
                "description": description,
                "categories": categories,
            }
            fields = self._check_entry_fields(data, creating=True)
            now = self.clock()
            gid = self.new_gid()
            entry: Obj = {
                "gid": gid,
                "resource_type": "time_tracking_entry",
                "duration_minutes": fields["duration_minutes"],
                "entered_on": fields.get("entered_on", now.date().isoformat()),
                "attributable_to": fields.get("attributable_to")
                or (task["projects"][0] if task["projects"] else None),
                "created_by": by,
                "categories": fields.get("categories", []),
                "task": task_gid,
                "created_at": iso(now),
                "approval_status": "DRAFT",
                "billable_status": fields.get("billable_status", "notApplicable"),
                "description": fields.get("description", ""),
            }
            self._add("time_tracking_entry", entry)
            task["modified_at"] = iso(now)
            self._persist("task", task)
            keys = self._task_keys(task) | {gid}
            self._emit(
                self._ref("time_tracking_entry", gid),
                "added",
                keys,
                user=by,
                parent=self._ref("task", task_gid),
            )
            self._emit(
                self._ref("task", task_gid),
                "changed",
                keys,
                user=by,
                change={
                    "field": "actual_time_minutes",
                    "action": "changed",
                    "new_value": self.actual_time_minutes(task_gid),
                },
            )
            return entry

    def update_time_entry(self, gid: str, data: Obj, *, by: str | None = None) -> Obj:
        """PUT /time_tracking_entries/{gid}: partial update."""
        with self.lock:
            entry = self.get("time_tracking_entry", gid)
            if not isinstance(data, dict):
                raise bad_request("data: Value must be an object")
            fields = self._check_entry_fields(data, creating=False)
            entry.update(fields)
            self._persist("time_tracking_entry", entry)
            task = self.objects["task"][entry["task"]]
            self._touch(task["gid"])
            keys = self._task_keys(task) | {gid}
            for key in fields:
                self._emit(
                    self._ref("time_tracking_entry", gid),
                    "changed",
                    keys,
                    user=by,
                    parent=self._ref("task", task["gid"]),
                    change={"field": key, "action": "changed", "new_value": fields[key]},
                )
            return entry

    def delete_time_entry(self, gid: str, *, by: str | None = None) -> None:
        """DELETE /time_tracking_entries/{gid}."""
        with self.lock:
            entry = self.get("time_tracking_entry", gid)
            task = self.objects["task"][entry["task"]]
            keys = self._task_keys(task) | {gid}
            self.entries_by_task.get(entry["task"], {}).pop(gid, None)
            del self.objects["time_tracking_entry"][gid]
            self._persist("time_tracking_entry", None, gid)
            self._touch(task["gid"])
            self._emit(
                {"gid": gid, "resource_type": "time_tracking_entry"},
                "deleted",
                keys,
                user=by,
                parent=self._ref("task", task["gid"]),
            )

    # ----------------------------------------------------------------------------------------------
    # custom fields
    def create_custom_field(self, data: Obj, *, by: str | None = None) -> Obj:
        """POST /custom_fields: number (precision, format), enum (options), text, date."""
        with self.lock:
            if not isinstance(data, dict):
                raise bad_request("data: Value must be an object")
            subtype = data.get("resource_subtype") or data.get("type")
            if subtype not in CF_TYPES:
                raise bad_request(f"resource_subtype: Invalid or unsupported custom field type {subtype!r}")
            workspace = str(data.get("workspace") or "")
            if not workspace:
                raise bad_request("workspace: Missing input")
            self.get("workspace", workspace)
            name = data.get("name")
            if not isinstance(name, str) or not name.strip():
                raise bad_request("name: Missing input")
            for f in self.objects["custom_field"].values():
                if f["workspace"] == workspace and f["name"] == name:
                    raise bad_request(f"name: A custom field with the name {name!r} already exists")
            gid = self.new_gid()
            field: Obj = {
                "gid": gid,
                "resource_type": "custom_field",
                "name": name,
                "resource_subtype": subtype,
                "description": str(data.get("description") or ""),
                "workspace": workspace,
                "created_by": by,
                "is_global_to_workspace": False,
                "has_notifications_enabled": bool(data.get("has_notifications_enabled", True)),
                "is_formula_field": False,
                "is_value_read_only": False,
                "privacy_setting": "public_with_guests",
            }
            if subtype == "number":
                precision = data.get("precision", 0)
                if not isinstance(precision, int) or not 0 <= precision <= 6:
                    raise bad_request("precision: Value must be between 0 and 6")
                fmt = data.get("format", "none")
                if fmt not in ("currency", "identifier", "percentage", "custom", "duration", "none"):
                    raise bad_request("format: Invalid value")
                field.update(
                    precision=precision,
                    format=fmt,
                    currency_code=data.get("currency_code"),
                    custom_label=data.get("custom_label"),
                    custom_label_position=data.get("custom_label_position"),
                )
                if fmt == "currency" and not field["currency_code"]:
                    field["currency_code"] = "USD"
            if subtype == "enum":
                options = []
                for opt in data.get("enum_options") or []:
                    if not isinstance(opt, dict) or not opt.get("name"):
                        raise bad_request("enum_options: each option needs a name")
                    options.append(
                        {
                            "gid": self.new_gid(),
                            "resource_type": "enum_option",
                            "name": opt["name"],
                            "enabled": bool(opt.get("enabled", True)),
                            "color": opt.get("color", "none"),
                        }
                    )
                field["enum_options"] = options
            self._add("custom_field", field)
            return field

    def add_custom_field_setting(self, project_gid: str, data: Obj, *, by: str | None = None) -> Obj:
        """POST /projects/{gid}/addCustomFieldSetting."""
        with self.lock:
            project = self.get("project", project_gid)
            if not isinstance(data, dict) or not data.get("custom_field"):
                raise bad_request("custom_field: Missing input")
            field_gid = str(data["custom_field"])
            self.get("custom_field", field_gid)
            if field_gid in self._project_field_gids([project_gid]):
                raise bad_request("custom_field: Custom field is already on the project")
            gid = self.new_gid()
            setting: Obj = {
                "gid": gid,
                "resource_type": "custom_field_setting",
                "custom_field": field_gid,
                "parent": project_gid,
                "is_important": bool(data.get("is_important", False)),
            }
            self._add("custom_field_setting", setting)
            project["modified_at"] = iso(self.clock())
            self._persist("project", project)
            self._emit(
                self._ref("project", project_gid),
                "changed",
                {project_gid, project["workspace"]},
                user=by,
                change={
                    "field": "custom_field_settings",
                    "action": "added",
                    "added_value": {"gid": gid, "resource_type": "custom_field_setting"},
                },
            )
            return setting

    # ----------------------------------------------------------------------------------------------
    # resourcing: allocations and out-of-office entries (no events: Asana's streams do not carry them)
    def add_allocation(
        self,
        assignee: str,
        project_gid: str,
        start_date: str | date,
        end_date: str | date,
        effort: Obj | None,
        *,
        by: str | None = None,
    ) -> Obj:
        """Create an allocation (the Python API for tests acting as a user; the sandbox serves reads)."""
        with self.lock:
            self.get("user", assignee)
            self.get("project", project_gid)
            start, end = iso_day(start_date, "start_date"), iso_day(end_date, "end_date")
            if end < start:
                raise bad_request("end_date: must not be before start_date")
            if effort is not None and (
                effort.get("type") not in ("hours", "percent")
                or not isinstance(effort.get("value"), int | float)
                or isinstance(effort.get("value"), bool)
            ):
                raise bad_request("effort: must be {type: hours|percent, value: number}")
            alloc: Obj = {
                "gid": self.new_gid(),
                "resource_type": "allocation",
                "start_date": start,
                "end_date": end,
                "effort": dict(effort) if effort is not None else None,
                "assignee": assignee,
                "parent": project_gid,
                "created_by": by or assignee,
                "resource_subtype": "project_allocation",
            }
            self._add("allocation", alloc)
            return alloc

    def add_ooo_entry(
        self, user: str, start_date: str | date, end_date: str | date, *, by: str | None = None
    ) -> Obj:
        """Create an out-of-office entry for ``user`` (both ends inclusive)."""
        with self.lock:
            self.get("user", user)
            start, end = iso_day(start_date, "start_date"), iso_day(end_date, "end_date")
            if end < start:
                raise bad_request("end_date: must not be before start_date")
            entry: Obj = {
                "gid": self.new_gid(),
                "resource_type": "ooo_entry",
                "start_date": start,
                "end_date": end,
                "user": user,
                "created_by": by or user,
                "_workspace": self.workspace_gid,
            }
            self._add("ooo_entry", entry)
            return entry

    # ----------------------------------------------------------------------------------------------
    # Timesheets & Budgets: categories, placeholders, rates, budgets, weekly approvals (no events)
    def add_time_category(self, name: str, *, color: str = "none", archived: bool = False) -> Obj:
        """An admin-managed time-tracking category of the workspace."""
        with self.lock:
            if not isinstance(name, str) or not name.strip():
                raise bad_request("name: Missing input")
            category: Obj = {
                "gid": self.new_gid(),
                "resource_type": "time_tracking_category",
                "name": name,
                "color": color,
                "is_archived": archived,
                "_workspace": self.workspace_gid,
            }
            self._add("time_tracking_category", category)
            return category

    def add_placeholder(self, name: str) -> Obj:
        """A placeholder (a role to be staffed): rates can be set for it like for a user."""
        with self.lock:
            placeholder: Obj = {"gid": self.new_gid(), "resource_type": "placeholder", "name": name}
            self._add("placeholder", placeholder)
            return placeholder

    def set_rate(
        self,
        project_gid: str,
        resource_gid: str,
        rate: float,
        *,
        currency: str | None = None,
        by: str | None = None,
    ) -> Obj:
        """The money rate per hour of a user or placeholder on a project (one per pair: updated in place).
        ``currency`` defaults to the domain's (``meta["currency"]``)."""
        with self.lock:
            self.get("project", project_gid)
            if resource_gid not in self.objects["user"] and resource_gid not in self.objects["placeholder"]:
                raise bad_request("resource: must be a user or a placeholder")
            if isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0:
                raise bad_request("rate: Value must be a non-negative number")
            for existing in self.objects["rate"].values():
                if existing["parent"] == project_gid and existing["resource"] == resource_gid:
                    existing["rate"] = float(rate)
                    if currency:
                        existing["currency_code"] = currency
                    self._persist("rate", existing)
                    return existing
            obj: Obj = {
                "gid": self.new_gid(),
                "resource_type": "rate",
                "parent": project_gid,
                "resource": resource_gid,
                "rate": float(rate),
                "currency_code": currency or self.meta.get("currency", "USD"),
                "created_by": by or self.meta.get("me"),
            }
            self._add("rate", obj)
            return obj

    def set_budget(
        self,
        project_gid: str,
        budget_type: str,
        total: float,
        *,
        billable_status_filter: str = "billable",
        estimate_source: str = "tasks",
    ) -> Obj:
        """A project's budget (at most one per project: replaced). ``actual`` is computed when rendered
        (minutes of the project's entries matching the filter; for cost budgets, times each person's
        rate), like Asana computes it."""
        with self.lock:
            self.get("project", project_gid)
            if budget_type not in ("time", "cost"):
                raise bad_request("budget_type: Value must be one of cost, time")
            if billable_status_filter not in ("billable", "non_billable", "any"):
                raise bad_request("actual.billable_status_filter: Invalid value")
            old = next((b for b in self.objects["budget"].values() if b["parent"] == project_gid), None)
            obj: Obj = {
                "gid": old["gid"] if old else self.new_gid(),
                "resource_type": "budget",
                "budget_type": budget_type,
                "parent": project_gid,
                "total": {"enabled": True, "value": float(total)},
                "actual": {"billable_status_filter": billable_status_filter},
                "estimate": {
                    "enabled": estimate_source != "none",
                    "source": estimate_source,
                    "billable_status_filter": billable_status_filter,
                },
            }
            self._add("budget", obj)
            return obj

    def set_timesheet_status(self, user: str, week_start: str | date, status: str) -> Obj:
        """A person-week's timesheet approval status (Monday to Sunday; DRAFT, SUBMITTED, APPROVED or
        REJECTED). The person's entries of that week take the same approval status, as in Asana."""
        with self.lock:
            self.get("user", user)
            start = date.fromisoformat(iso_day(week_start, "start_date"))
            if start.weekday() != 0:
                raise bad_request("start_date: must be a Monday")
            if status not in ("DRAFT", "SUBMITTED", "APPROVED", "REJECTED"):
                raise bad_request("approval_status: Invalid value")
            end = start + timedelta(days=6)
            key = (user, start.isoformat())
            obj = next(
                (
                    o
                    for o in self.objects["timesheet_approval_status"].values()
                    if (o["user"], o["start_date"]) == key
                ),
                None,
            )
            if obj is None:
                obj = {
                    "gid": self.new_gid(),
                    "resource_type": "timesheet_approval_status",
                    "user": user,
                    "workspace": self.workspace_gid,
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                    "created_at": iso(self.clock()),
                }
            obj["approval_status"] = status
            self._add("timesheet_approval_status", obj)
            for entry in self.objects["time_tracking_entry"].values():
                if (
                    entry["created_by"] == user
                    and start.isoformat() <= entry["entered_on"] <= end.isoformat()
                ):
                    entry["approval_status"] = status
                    self._persist("time_tracking_entry", entry)
            return obj

    def budget_actual(self, budget: Obj) -> float:
        """What Asana shows as a budget's ``actual``: the project's entries matching the billable filter,
        in minutes (time budgets) or money (cost budgets: minutes / 60 x the person's rate)."""
        project = budget["parent"]
        wanted = {
            "billable": ("billable",),
            "non_billable": ("nonBillable", "notApplicable"),
            "any": None,
        }[budget["actual"].get("billable_status_filter", "billable")]
        rates = {r["resource"]: r["rate"] for r in self.objects["rate"].values() if r["parent"] == project}
        total = 0.0
        entries = self.objects["time_tracking_entry"]
        for task_gid in self.tasks_by_project.get(project, {}):
            for gid in self.entries_by_task.get(task_gid, {}):
                e = entries[gid]
                if e.get("attributable_to") != project:
                    continue
                if wanted is not None and e.get("billable_status") not in wanted:
                    continue
                minutes = int(e["duration_minutes"])
                total += (
                    minutes
                    if budget["budget_type"] == "time"
                    else minutes / 60 * rates.get(e["created_by"], 0.0)
                )
        return round(total, 2)
