"""The sandbox workspace: Asana objects as plain dicts keyed by gid, with indexes, events and persistence.

Objects are stored in an *internal* shape close to Asana's full record but with references held as gids
(e.g. a task's `assignee` is a user gid, `projects` a list of project gids, custom field values in
`custom_field_values {field_gid: raw value}`). `sandbox.render` turns them into API records.

Every mutation goes through a method here, under one re-entrant lock, so the HTTP server, the Python API
(tests acting "as a user") and the webhook deliverer see a consistent state. Each mutation appends Asana
events (for `/events` and webhooks) and, when a SQLite path is given, is written through to it so the
workspace survives a restart. Events are kept in memory only: a sync token from before a restart gets a
412, exactly like an expired token on the real API.
"""

from __future__ import annotations

import json
import math
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sandbox.errors import ApiError, bad_request, not_found

Obj = dict[str, Any]
EventListener = Callable[[Obj, frozenset[str]], None]

KINDS = (
    "workspace",
    "user",
    "project",
    "portfolio",
    "section",
    "tag",
    "task",
    "custom_field",
    "custom_field_setting",
    "time_tracking_entry",
    "story",
    "attachment",
    "webhook",
    "allocation",
    "ooo_entry",
)
FIRST_GID = 1_208_000_000_000_001
CF_TYPES = ("text", "enum", "number", "date")
BILLABLE_STATUSES = ("billable", "nonBillable", "notApplicable")


def iso(dt: datetime) -> str:
    """Asana's timestamp format: UTC with milliseconds and a Z."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_dt(value: str) -> datetime:
    """Parse an ISO date-time (or a bare date, as midnight UTC); raise ValueError when malformed."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SandboxState:
    """Thread-safe in-memory Asana workspace, optionally persisted to SQLite (write-through)."""

    def __init__(self, db_path: str | Path | None = None, clock: Callable[[], datetime] = _utcnow) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.objects: dict[str, dict[str, Obj]] = {k: {} for k in KINDS}
        self._next_gid = FIRST_GID
        # Indexes: insertion order == gid order because gids only grow (pagination relies on it).
        self.tasks_by_project: dict[str, dict[str, None]] = {}
        self.tasks_by_section: dict[str, dict[str, None]] = {}
        self.tasks_by_tag: dict[str, dict[str, None]] = {}
        self.tasks_by_assignee: dict[str, dict[str, None]] = {}
        self.subtasks: dict[str, dict[str, None]] = {}
        self.entries_by_task: dict[str, dict[str, None]] = {}
        self.stories_by_task: dict[str, dict[str, None]] = {}
        self.attachments_by_parent: dict[str, dict[str, None]] = {}
        self.sections_by_project: dict[str, dict[str, None]] = {}
        self.settings_by_project: dict[str, dict[str, None]] = {}
        self.files: dict[str, bytes] = {}  # attachment gid -> content (served by the sandbox)
        self.meta: dict[str, Any] = {}
        # Events: a global sequence; each event is indexed under every resource it bubbles up to.
        self.epoch = secrets.token_hex(4)
        self._event_seq = 0
        self.events_by_key: dict[str, list[tuple[int, Obj]]] = {}
        self._listeners: list[EventListener] = []
        self.version = 0  # bumped on every mutation: list caches key on it
        self._db: sqlite3.Connection | None = None
        if db_path is not None:
            self._open_db(Path(db_path))

    # ----------------------------------------------------------------------------------------------
    # persistence
    def _open_db(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: every use is serialised by self.lock.
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS objects (kind TEXT NOT NULL, gid TEXT NOT NULL, data TEXT NOT NULL,"
            " PRIMARY KEY (kind, gid))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS files (gid TEXT PRIMARY KEY, content BLOB NOT NULL)")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._load_db()

    def _load_db(self) -> None:
        assert self._db is not None
        rows = self._db.execute("SELECT kind, data FROM objects ORDER BY CAST(gid AS INTEGER)").fetchall()
        for kind, data in rows:
            if kind in self.objects:
                self._index(kind, json.loads(data))
        for gid, content in self._db.execute("SELECT gid, content FROM files"):
            self.files[gid] = bytes(content)
        for key, value in self._db.execute("SELECT key, value FROM meta"):
            self.meta[key] = json.loads(value)
        self._next_gid = int(self.meta.get("next_gid", FIRST_GID))

    @property
    def is_empty(self) -> bool:
        return not self.objects["workspace"]

    def _persist(self, kind: str, obj: Obj | None, gid: str | None = None) -> None:
        self.version += 1
        if self._db is None:
            return
        if obj is None:
            self._db.execute("DELETE FROM objects WHERE kind=? AND gid=?", (kind, gid))
        else:
            self._db.execute(
                "INSERT OR REPLACE INTO objects (kind, gid, data) VALUES (?,?,?)",
                (kind, obj["gid"], json.dumps(obj, separators=(",", ":"))),
            )
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('next_gid', ?)", (json.dumps(self._next_gid),)
        )

    def set_meta(self, key: str, value: Any) -> None:
        """Store a JSON-able value that survives restarts (e.g. the generator's ground truth)."""
        with self.lock:
            self.meta[key] = value
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
                )

    def bulk_load(self, objects: Iterable[tuple[str, Obj]], files: dict[str, bytes] | None = None) -> None:
        """Insert many objects at once (the generator's output): no events, one transaction."""
        with self.lock:
            batch = list(objects)
            self.version += 1
            for kind, obj in batch:
                self._index(kind, obj)
                self._next_gid = max(self._next_gid, int(obj["gid"]) + 1)
            self.files.update(files or {})
            if self._db is not None:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO objects (kind, gid, data) VALUES (?,?,?)",
                    [(k, o["gid"], json.dumps(o, separators=(",", ":"))) for k, o in batch],
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO files (gid, content) VALUES (?,?)", list((files or {}).items())
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('next_gid', ?)",
                    (json.dumps(self._next_gid),),
                )
                self._db.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # ----------------------------------------------------------------------------------------------
    # indexes
    def new_gid(self) -> str:
        with self.lock:
            gid = str(self._next_gid)
            self._next_gid += 1
            return gid

    def reserve_gids(self, n: int) -> int:
        """Reserve n consecutive gids; returns the first (the generator numbers its objects from it)."""
        with self.lock:
            first = self._next_gid
            self._next_gid += n
            return first

    def _add(self, kind: str, obj: Obj) -> None:
        """Index a new object and write it through."""
        self._index(kind, obj)
        self._persist(kind, obj)

    def _index(self, kind: str, obj: Obj) -> None:
        gid = obj["gid"]
        self.objects[kind][gid] = obj
        if kind == "task":
            self._index_task(obj)
        elif kind == "time_tracking_entry":
            self.entries_by_task.setdefault(obj["task"], {})[gid] = None
        elif kind == "story":
            self.stories_by_task.setdefault(obj["target"], {})[gid] = None
        elif kind == "attachment":
            self.attachments_by_parent.setdefault(obj["parent"], {})[gid] = None
        elif kind == "section":
            self.sections_by_project.setdefault(obj["project"], {})[gid] = None
        elif kind == "custom_field_setting":
            self.settings_by_project.setdefault(obj["parent"], {})[gid] = None

    def _index_task(self, task: Obj) -> None:
        gid = task["gid"]
        for p in task["projects"]:
            self.tasks_by_project.setdefault(p, {})[gid] = None
        for m in task["memberships"]:
            if m.get("section"):
                self.tasks_by_section.setdefault(m["section"], {})[gid] = None
        for t in task["tags"]:
            self.tasks_by_tag.setdefault(t, {})[gid] = None
        if task.get("assignee"):
            self.tasks_by_assignee.setdefault(task["assignee"], {})[gid] = None
        if task.get("parent"):
            self.subtasks.setdefault(task["parent"], {})[gid] = None

    def _unindex_task(self, task: Obj) -> None:
        gid = task["gid"]
        for p in task["projects"]:
            self.tasks_by_project.get(p, {}).pop(gid, None)
        for m in task["memberships"]:
            if m.get("section"):
                self.tasks_by_section.get(m["section"], {}).pop(gid, None)
        for t in task["tags"]:
            self.tasks_by_tag.get(t, {}).pop(gid, None)
        if task.get("assignee"):
            self.tasks_by_assignee.get(task["assignee"], {}).pop(gid, None)
        if task.get("parent"):
            self.subtasks.get(task["parent"], {}).pop(gid, None)

    # ----------------------------------------------------------------------------------------------
    # lookups
    def get(self, kind: str, gid: str) -> Obj:
        """The internal object, or a 404 ApiError."""
        obj = self.objects[kind].get(gid)
        if obj is None:
            raise not_found(kind, gid)
        return obj

    def find(self, kind: str, gid: str) -> Obj | None:
        return self.objects[kind].get(gid)

    @property
    def workspace_gid(self) -> str:
        return next(iter(self.objects["workspace"]))

    def resolve_user(self, ref: str, me: str | None) -> str:
        """A user reference as the API accepts it: a gid, `me`, or an email."""
        if ref == "me" and me:
            return me
        if ref in self.objects["user"]:
            return ref
        for u in self.objects["user"].values():
            if u.get("email") == ref:
                return str(u["gid"])
        raise not_found("user", ref)

    def actual_time_minutes(self, task_gid: str) -> int | None:
        """Sum of the task's time tracking entries (None when it has none, as Asana does)."""
        gids = self.entries_by_task.get(task_gid)
        if not gids:
            return None
        entries = self.objects["time_tracking_entry"]
        return sum(int(entries[g]["duration_minutes"]) for g in gids)

    # ----------------------------------------------------------------------------------------------
    # events
    def subscribe(self, listener: EventListener) -> None:
        """Call `listener(event, keys)` for every new event (keys: gids the event bubbles up to)."""
        with self.lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: EventListener) -> None:
        with self.lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def _task_keys(self, task: Obj) -> set[str]:
        keys = {task["gid"], task["workspace"], *task["projects"]}
        parent = task.get("parent")
        depth = 0
        while parent and depth < 10:  # events bubble to ancestors (and their projects)
            keys.add(parent)
            p = self.objects["task"].get(parent)
            if p is None:
                break
            keys.update(p["projects"])
            parent = p.get("parent")
            depth += 1
        return keys

    def _emit(
        self,
        resource: Obj,
        action: str,
        keys: set[str],
        *,
        user: str | None,
        parent: Obj | None = None,
        change: Obj | None = None,
    ) -> None:
        self._event_seq += 1
        user = user or self.meta.get("me")
        event: Obj = {
            "user": {"gid": user, "resource_type": "user"} if user else None,
            "created_at": iso(self.clock()),
            "action": action,
            "resource": resource,
            "type": resource["resource_type"],
        }
        if parent is not None:  # the spec types `parent` as a non-nullable object: absent when none
            event["parent"] = parent
        if change is not None:
            event["change"] = change
        frozen = frozenset(keys)
        for key in frozen:
            self.events_by_key.setdefault(key, []).append((self._event_seq, event))
        for listener in list(self._listeners):
            listener(event, frozen)

    def sync_token(self, seq: int | None = None) -> str:
        """An opaque token meaning "events after sequence number seq" (default: now)."""
        return f"{self.epoch}{(self._event_seq if seq is None else seq):x}"

    def events_since(self, key: str, token: str | None, max_events: int) -> tuple[list[Obj], str, bool]:
        """Events for `key` after `token`: (events, next token, has_more). 412 for a missing/stale token."""
        with self.lock:
            stale = ApiError(
                412,
                "Sync token invalid or too old. If you are attempting to keep resources in sync, "
                "you must fetch the full dataset for this query now and use the new sync token "
                "for the next sync.",
                extra={"sync": self.sync_token()},
            )
            if not token or not token.startswith(self.epoch):
                raise stale
            try:
                after = int(token[len(self.epoch) :], 16)
            except ValueError:
                raise stale from None
            if after > self._event_seq:
                raise stale
            stream = self.events_by_key.get(key, [])
            lo, hi = 0, len(stream)
            while lo < hi:  # first event with seq > after
                mid = (lo + hi) // 2
                if stream[mid][0] <= after:
                    lo = mid + 1
                else:
                    hi = mid
            page = stream[lo : lo + max_events]
            has_more = lo + max_events < len(stream)
            last = page[-1][0] if page else max(after, stream[-1][0] if stream else after)
            if not has_more:
                last = max(last, self._event_seq)
            return [e for _, e in page], self.sync_token(last), has_more

    # ----------------------------------------------------------------------------------------------
    # compact references used in events
    def _ref(self, kind: str, gid: str) -> Obj:
        obj = self.objects[kind].get(gid, {})
        ref: Obj = {"gid": gid, "resource_type": kind}
        if "name" in obj:
            ref["name"] = obj["name"]
        if kind == "task":
            ref["resource_subtype"] = obj.get("resource_subtype", "default_task")
        return ref

    # ----------------------------------------------------------------------------------------------
    # custom field values
    def coerce_custom_field_value(self, field: Obj, value: Any) -> Any:
        """Validate a written value against the field's type; return the stored raw value or raise 400."""
        if value is None:
            return None
        subtype = field["resource_subtype"]
        name = field.get("name", field["gid"])
        if subtype == "number":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise bad_request(f"custom_fields: Number value expected for custom field {name}")
            if not math.isfinite(float(value)) or abs(float(value)) > 1e15:
                raise bad_request(f"custom_fields: Number value out of range for custom field {name}")
            return float(value)
        if subtype == "text":
            if not isinstance(value, str):
                raise bad_request(f"custom_fields: Text value expected for custom field {name}")
            if len(value) > 1024:
                raise bad_request(f"custom_fields: Text value too long for custom field {name}")
            return value
        if subtype == "enum":
            options = {o["gid"]: o for o in field.get("enum_options", [])}
            if not isinstance(value, str) or value not in options:
                raise bad_request(
                    f"custom_fields: Enum option with gid {value!r} is not an option of custom field {name}"
                )
            if not options[value].get("enabled", True):
                raise bad_request(f"custom_fields: Enum option {value} is disabled")
            return value
        if subtype == "date":
            raw = value.get("date") if isinstance(value, dict) else value
            if not isinstance(raw, str):
                raise bad_request(f"custom_fields: Date value expected for custom field {name}")
            try:
                if "T" in raw:
                    return {"date": parse_dt(raw).date().isoformat(), "date_time": iso(parse_dt(raw))}
                return {"date": date.fromisoformat(raw).isoformat()}  # the spec: date_time is not nullable
            except ValueError:
                raise bad_request(f"custom_fields: Invalid date {raw!r} for custom field {name}") from None
        raise bad_request(f"custom_fields: Custom field type {subtype} is not writable in the sandbox")

    def _project_field_gids(self, project_gids: Iterable[str]) -> set[str]:
        out: set[str] = set()
        settings = self.objects["custom_field_setting"]
        for p in project_gids:
            for s in self.settings_by_project.get(p, {}):
                out.add(settings[s]["custom_field"])
        return out

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

    def _touch(self, task_gid: str) -> None:
        task = self.objects["task"].get(task_gid)
        if task is not None:
            task["modified_at"] = iso(self.clock())
            self._persist("task", task)

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
                import re

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
                "categories": [],
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
            start, end = _iso_day(start_date, "start_date"), _iso_day(end_date, "end_date")
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
            start, end = _iso_day(start_date, "start_date"), _iso_day(end_date, "end_date")
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
    # webhooks (records only; delivery lives in sandbox.webhooks)
    def put_webhook(self, webhook: Obj) -> None:
        with self.lock:
            self._add("webhook", webhook)

    def delete_webhook(self, gid: str) -> None:
        with self.lock:
            self.get("webhook", gid)
            del self.objects["webhook"][gid]
            self._persist("webhook", None, gid)

    def save(self, kind: str, obj: Obj) -> None:
        """Write an already-indexed object through to SQLite after an in-place change."""
        with self.lock:
            self._persist(kind, obj)


def _iso_day(value: str | date, name: str) -> str:
    """A date parameter as ``YYYY-MM-DD``, or a 400."""
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise bad_request(f"{name}: Invalid date {value!r}") from None


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
