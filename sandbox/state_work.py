"""Sandbox mutations of the work itself: projects, sections, tasks, stories and comments.

Each method validates like Asana (a 400 leaves the object untouched), writes through, and emits the
events and system stories the real API would.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sandbox.errors import ApiError, bad_request
from sandbox.state_core import Obj, StateCore, iso


class WorkMutations(StateCore):
    """Projects, sections, tasks and stories (mixed into ``SandboxState``)."""

    # ----------------------------------------------------------------------------------------------
    # projects and sections
    def create_project(self, data: Obj, *, by: str | None = None) -> Obj:
        """POST /projects: a new project (owner = caller), with one default section "Untitled section"."""
        with self.lock:
            if not isinstance(data, dict):
                raise bad_request("data: Value must be an object")
            workspace = str(data.get("workspace") or (self.workspace_gid if data.get("team") else ""))
            if not workspace:
                raise bad_request("workspace: Missing input")
            self.get("workspace", workspace)
            name = data.get("name")
            if not isinstance(name, str) or not name.strip():
                raise bad_request("name: Missing input")
            now = iso(self.clock())
            owner = data.get("owner", by)
            if owner is not None:
                owner = self.resolve_user(str(owner), by)
            gid = self.new_gid()
            project: Obj = {
                "gid": gid,
                "resource_type": "project",
                "name": name,
                "archived": False,
                "color": "light-blue",
                "icon": "list",
                "created_at": now,
                "modified_at": now,
                "default_view": "list",
                "due_on": data.get("due_on"),
                "start_on": data.get("start_on"),
                "notes": str(data.get("notes") or ""),
                "members": [owner] if owner else [],
                "followers": [owner] if owner else [],
                "public": True,
                "privacy_setting": "public_to_workspace",
                "completed": False,
                "completed_at": None,
                "completed_by": None,
                "owner": owner,
                "workspace": workspace,
                "custom_field_values": {},
            }
            self._add("project", project)
            self.create_section(gid, {"name": "Untitled section"}, by=by)
            self._emit(
                self._ref("project", gid),
                "added",
                {gid, workspace},
                user=by,
                parent=self._ref("workspace", workspace),
            )
            return project

    def create_section(self, project_gid: str, data: Obj, *, by: str | None = None) -> Obj:
        """POST /projects/{gid}/sections."""
        with self.lock:
            project = self.get("project", project_gid)
            name = data.get("name") if isinstance(data, dict) else None
            if not isinstance(name, str) or not name.strip():
                raise bad_request("name: Missing input")
            gid = self.new_gid()
            section: Obj = {
                "gid": gid,
                "resource_type": "section",
                "name": name,
                "project": project_gid,
                "created_at": iso(self.clock()),
            }
            self._add("section", section)
            self._emit(
                self._ref("section", gid),
                "added",
                {project_gid, project["workspace"]},
                user=by,
                parent=self._ref("project", project_gid),
            )
            return section

    # ----------------------------------------------------------------------------------------------
    # tasks
    def create_task(self, data: Obj, *, by: str | None = None, parent: str | None = None) -> Obj:
        """POST /tasks (or /tasks/{parent}/subtasks): validate, store, emit `added` events and a story."""
        with self.lock:
            if not isinstance(data, dict):
                raise bad_request("data: Value must be an object")
            now = self.clock()
            parent = parent or data.get("parent")
            projects = data.get("projects") or []
            if isinstance(projects, str):
                projects = [projects]
            memberships_in = data.get("memberships") or []
            workspace = data.get("workspace")
            if parent:
                ptask = self.get("task", str(parent))
                workspace = workspace or ptask["workspace"]
            for p in projects:
                workspace = workspace or self.get("project", str(p))["workspace"]
                self.get("project", str(p))
            for m in memberships_in:
                proj = self.get("project", str(m.get("project")))
                workspace = workspace or proj["workspace"]
            if not workspace and not projects and not parent:
                raise bad_request("workspace: Missing input")
            workspace = str(workspace)
            self.get("workspace", workspace)
            memberships: list[Obj] = []
            proj_list: list[str] = []
            for m in memberships_in:
                sec = m.get("section")
                if sec:
                    s = self.get("section", str(sec))
                    if s["project"] != str(m["project"]):
                        raise bad_request("memberships: section is not in project")
                memberships.append({"project": str(m["project"]), "section": str(sec) if sec else None})
                proj_list.append(str(m["project"]))
            for p in projects:
                if str(p) not in proj_list:
                    proj_list.append(str(p))
                    first = next(iter(self.sections_by_project.get(str(p), {})), None)
                    memberships.append({"project": str(p), "section": first})
            tags = [str(t) for t in data.get("tags") or []]
            for t in tags:
                self.get("tag", t)
            assignee = data.get("assignee")
            if assignee is not None:
                assignee = self.resolve_user(str(assignee), by)
            name = data.get("name", "")
            if not isinstance(name, str):
                raise bad_request("name: Value must be a string")
            subtype = data.get("resource_subtype", "default_task")
            if subtype not in ("default_task", "milestone", "approval"):
                raise bad_request("resource_subtype: Invalid value")
            gid = self.new_gid()
            task: Obj = {
                "gid": gid,
                "resource_type": "task",
                "name": name,
                "resource_subtype": subtype,
                "notes": str(data.get("notes") or ""),
                "completed": bool(data.get("completed", False)),
                "completed_at": iso(now) if data.get("completed") else None,
                "completed_by": by if data.get("completed") else None,
                "assignee": assignee,
                "created_at": iso(now),
                "created_by": by,
                "modified_at": iso(now),
                "due_on": data.get("due_on"),
                "due_at": data.get("due_at"),
                "start_on": data.get("start_on"),
                "start_at": None,
                "projects": proj_list,
                "memberships": memberships,
                "parent": str(parent) if parent else None,
                "tags": tags,
                "workspace": workspace,
                "followers": [by] if by else [],
                "custom_field_values": {},
            }
            if data.get("html_notes"):
                task["html_notes"] = str(data["html_notes"])
            for key in ("due_on", "start_on"):
                if task[key] is not None:
                    try:
                        date.fromisoformat(str(task[key]))
                    except ValueError:
                        raise bad_request(f"{key}: Invalid date") from None
            cfs = data.get("custom_fields") or {}
            if not isinstance(cfs, dict):
                raise bad_request("custom_fields: Value must be an object")
            allowed = self._project_field_gids(proj_list)
            for fgid, value in cfs.items():
                field = self.get("custom_field", str(fgid))
                if str(fgid) not in allowed:
                    raise bad_request(f"custom_fields: Custom field with ID {fgid} is not on given object")
                task["custom_field_values"][str(fgid)] = self.coerce_custom_field_value(field, value)
            self._add("task", task)
            keys = self._task_keys(task)
            ref = self._ref("task", gid)
            if parent:
                self._emit(ref, "added", keys, user=by, parent=self._ref("task", str(parent)))
                self._touch(str(parent))
            for p in proj_list:
                self._emit(ref, "added", keys, user=by, parent=self._ref("project", p))
            if not parent and not proj_list:
                self._emit(ref, "added", keys, user=by, parent=None)
            return task

    def update_task(self, gid: str, data: Obj, *, by: str | None = None) -> Obj:
        """PUT /tasks/{gid}: partial update with custom-field type checks, system stories and events."""
        with self.lock:
            task = self.get("task", gid)
            if not isinstance(data, dict):
                raise bad_request("data: Value must be an object")
            for key in ("projects", "memberships", "tags", "parent", "workspace"):
                if key in data:
                    raise bad_request(
                        f"{key}: Cannot write this property via PUT; use the dedicated endpoint"
                    )
            # Validate everything before changing anything, so a 400 leaves the task untouched.
            new_cf: dict[str, Any] = {}
            cfs = data.get("custom_fields")
            if cfs is not None:
                if not isinstance(cfs, dict):
                    raise bad_request("custom_fields: Value must be an object")
                allowed = self._project_field_gids(task["projects"])
                for fgid, value in cfs.items():
                    field = self.find("custom_field", str(fgid))
                    if field is None:
                        raise bad_request(f"custom_fields: Unknown custom field {fgid}")
                    if str(fgid) not in allowed:
                        raise bad_request(
                            f"custom_fields: Custom field with ID {fgid} is not on given object"
                        )
                    new_cf[str(fgid)] = self.coerce_custom_field_value(field, value)
            assignee = task["assignee"]
            if "assignee" in data:
                assignee = None if data["assignee"] is None else self.resolve_user(str(data["assignee"]), by)
            for key in ("due_on", "start_on"):
                if data.get(key) is not None:
                    try:
                        date.fromisoformat(str(data[key]))
                    except ValueError:
                        raise bad_request(f"{key}: Invalid date") from None
            if "name" in data and not isinstance(data["name"], str):
                raise bad_request("name: Value must be a string")
            if "completed" in data and not isinstance(data["completed"], bool):
                raise bad_request("completed: Value must be a boolean")

            now = self.clock()
            changed: list[tuple[str, Any]] = []
            for key in ("name", "notes", "html_notes", "due_on", "due_at", "start_on", "start_at"):
                if key in data and data[key] != task.get(key):
                    task[key] = data[key]
                    changed.append((key, data[key]))
            if "completed" in data and data["completed"] != task["completed"]:
                task["completed"] = data["completed"]
                task["completed_at"] = iso(now) if data["completed"] else None
                task["completed_by"] = by if data["completed"] else None
                changed.append(("completed", data["completed"]))
                self._story(
                    gid,
                    "marked_complete" if data["completed"] else "marked_incomplete",
                    by,
                    now,
                    text="marked this task complete" if data["completed"] else "marked incomplete",
                )
            if assignee != task["assignee"]:
                if task["assignee"]:
                    self.tasks_by_assignee.get(task["assignee"], {}).pop(gid, None)
                task["assignee"] = assignee
                if assignee:
                    self.tasks_by_assignee.setdefault(assignee, {})[gid] = None
                changed.append(("assignee", {"gid": assignee, "resource_type": "user"} if assignee else None))
                self._story(
                    gid,
                    "assigned" if assignee else "unassigned",
                    by,
                    now,
                    text="assigned this task" if assignee else "unassigned this task",
                )
            for fgid, value in new_cf.items():
                old = task["custom_field_values"].get(fgid)
                if old == value:
                    continue
                field = self.objects["custom_field"][fgid]
                task["custom_field_values"][fgid] = value
                changed.append(("custom_fields", None))
                self._cf_story(gid, field, old, value, by, now)
            task["modified_at"] = iso(now)
            self._persist("task", task)
            keys = self._task_keys(task)
            seen: set[str] = set()
            for field_name, value in changed:
                if field_name in seen:
                    continue
                seen.add(field_name)
                change: Obj = {"field": field_name, "action": "changed"}
                if field_name != "custom_fields":
                    change["new_value"] = value
                self._emit(self._ref("task", gid), "changed", keys, user=by, change=change)
            return task

    def delete_task(self, gid: str, *, by: str | None = None) -> None:
        """DELETE /tasks/{gid}: removes the task, its subtasks, entries, stories and attachments."""
        with self.lock:
            task = self.get("task", gid)
            for sub in list(self.subtasks.get(gid, {})):
                self.delete_task(sub, by=by)
            keys = self._task_keys(task)
            self._unindex_task(task)
            for kind, index in (
                ("time_tracking_entry", self.entries_by_task),
                ("story", self.stories_by_task),
                ("attachment", self.attachments_by_parent),
            ):
                for child in list(index.pop(gid, {})):
                    self.objects[kind].pop(child, None)
                    self._persist(kind, None, child)
            del self.objects["task"][gid]
            self._persist("task", None, gid)
            self._emit(self._ref_deleted("task", task), "deleted", keys, user=by)
            if task.get("parent"):
                self._touch(task["parent"])

    @staticmethod
    def _ref_deleted(kind: str, obj: Obj) -> Obj:
        return {"gid": obj["gid"], "resource_type": kind, "name": obj.get("name", "")}

    def add_to_project(self, task_gid: str, project_gid: str, section_gid: str | None, by: str | None) -> Obj:
        """POST /tasks/{gid}/addProject (moves within the project when already a member)."""
        with self.lock:
            task = self.get("task", task_gid)
            self.get("project", project_gid)
            if section_gid:
                sec = self.get("section", section_gid)
                if sec["project"] != project_gid:
                    raise bad_request("section: Section is not in project")
            self._unindex_task(task)
            task["memberships"] = [m for m in task["memberships"] if m["project"] != project_gid]
            task["memberships"].append({"project": project_gid, "section": section_gid})
            if project_gid not in task["projects"]:
                task["projects"].append(project_gid)
            self._index_task(task)
            self._persist("task", task)
            self._emit(
                self._ref("task", task_gid),
                "added",
                self._task_keys(task),
                user=by,
                parent=self._ref("section" if section_gid else "project", section_gid or project_gid),
            )
            return task

    # ----------------------------------------------------------------------------------------------
    # stories
    def _story(
        self, task_gid: str, subtype: str, by: str | None, when: datetime, *, text: str, **extra: Any
    ) -> Obj:
        gid = self.new_gid()
        story: Obj = {
            "gid": gid,
            "resource_type": "story",
            "created_at": iso(when),
            "created_by": by,
            "resource_subtype": subtype,
            "type": "system",
            "text": text,
            "target": task_gid,
            "source": "api",
            **extra,
        }
        self._add("story", story)
        task = self.objects["task"][task_gid]
        self._emit(
            self._ref("story", gid) | {"resource_subtype": subtype},
            "added",
            self._task_keys(task),
            user=by,
            parent=self._ref("task", task_gid),
        )
        return story

    def _cf_story(
        self, task_gid: str, field: Obj, old: Any, new: Any, by: str | None, when: datetime
    ) -> None:
        subtype = field["resource_subtype"]
        name = field["name"]
        extra: Obj = {"custom_field": field["gid"]}
        if subtype == "number":
            extra["old_number_value"] = old
            extra["new_number_value"] = new
            text = f'changed {name} from "{_fmt(old)}" to "{_fmt(new)}"'
        elif subtype == "text":
            extra["old_text_value"] = old
            extra["new_text_value"] = new
            text = f'changed {name} from "{old or ""}" to "{new or ""}"'
        elif subtype == "enum":
            extra["old_enum_value"] = old
            extra["new_enum_value"] = new
            text = f"changed {name}"
        else:
            extra["old_date_value"] = old
            extra["new_date_value"] = new
            text = f"changed {name}"
        self._story(task_gid, f"{subtype}_custom_field_changed", by, when, text=text, **extra)

    def add_comment(
        self,
        task_gid: str,
        *,
        text: str | None = None,
        html_text: str | None = None,
        by: str | None = None,
        is_pinned: bool = False,
    ) -> Obj:
        """POST /tasks/{gid}/stories: a comment (exactly one of text / html_text)."""
        with self.lock:
            task = self.get("task", task_gid)
            if (text is None) == (html_text is None):
                raise bad_request("text: Exactly one of text or html_text must be specified")
            if html_text is not None:
                if not isinstance(html_text, str) or not html_text.strip().startswith("<body>"):
                    raise bad_request("html_text: XML is invalid: the root element must be <body>")
                plain = re.sub(r"<[^>]+>", "", html_text)
            else:
                if not isinstance(text, str):
                    raise bad_request("text: Value must be a string")
                plain = text
            now = self.clock()
            gid = self.new_gid()
            story: Obj = {
                "gid": gid,
                "resource_type": "story",
                "created_at": iso(now),
                "created_by": by,
                "resource_subtype": "comment_added",
                "type": "comment",
                "text": plain,
                "html_text": html_text if html_text is not None else f"<body>{_escape(plain)}</body>",
                "is_pinned": bool(is_pinned),
                "target": task_gid,
                "source": "api",
            }
            self._add("story", story)
            task["modified_at"] = iso(now)
            self._persist("task", task)
            self._emit(
                self._ref("story", gid) | {"resource_subtype": "comment_added"},
                "added",
                self._task_keys(task),
                user=by,
                parent=self._ref("task", task_gid),
            )
            return story

    def delete_story(self, gid: str, *, by: str | None = None) -> None:
        """DELETE /stories/{gid}: only comments can be deleted (system stories are 403)."""
        with self.lock:
            story = self.get("story", gid)
            if story.get("type") != "comment":
                raise ApiError(403, "story: Only comments can be deleted")
            task = self.objects["task"].get(story["target"])
            self.stories_by_task.get(story["target"], {}).pop(gid, None)
            del self.objects["story"][gid]
            self._persist("story", None, gid)
            if task is not None:
                self._touch(task["gid"])
                self._emit(
                    {"gid": gid, "resource_type": "story", "resource_subtype": "comment_added"},
                    "deleted",
                    self._task_keys(task),
                    user=by,
                    parent=self._ref("task", task["gid"]),
                )


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
