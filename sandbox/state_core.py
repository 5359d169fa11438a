"""The sandbox workspace's core: objects as plain dicts keyed by gid, indexes, events, persistence.

Objects are stored in an *internal* shape close to Asana's full record but with references held as gids
(e.g. a task's `assignee` is a user gid, `projects` a list of project gids, custom field values in
`custom_field_values {field_gid: raw value}`). `sandbox.render` turns them into API records.

Every mutation goes through a method of `SandboxState` (sandbox/state.py), under one re-entrant lock, so
the HTTP server, the Python API (tests acting "as a user") and the webhook deliverer see a consistent
state. Each mutation appends Asana events (for `/events` and webhooks) and, when a SQLite path is given,
is written through to it so the workspace survives a restart. Events are kept in memory only: a sync
token from before a restart gets a 412, exactly like an expired token on the real API.

Mutations live by concern: tasks, projects and stories in sandbox/state_work.py; time tracking, custom
fields, resourcing and Timesheets & Budgets in sandbox/state_tracking.py.
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
    "time_tracking_category",
    "placeholder",
    "rate",
    "budget",
    "timesheet_approval_status",
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


class StateCore:
    """Thread-safe in-memory Asana workspace, optionally persisted to SQLite (write-through): storage,
    indexes, lookups and events. ``SandboxState`` adds the mutations."""

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

    def _touch(self, task_gid: str) -> None:
        task = self.objects["task"].get(task_gid)
        if task is not None:
            task["modified_at"] = iso(self.clock())
            self._persist("task", task)

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


def iso_day(value: str | date, name: str) -> str:
    """A date parameter as ``YYYY-MM-DD``, or a 400."""
    if isinstance(value, date):
        return value.isoformat()
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise bad_request(f"{name}: Invalid date {value!r}") from None
