"""Write methods: thin, each gated by a ``WriteGrant`` that only the writer's guard
(``agent/writer/guard.py``) constructs, after its checks; a test proves no other product module does.

Every call that changes something in Asana is one of these methods (task fields, comments, subtasks,
tasks, custom fields, story deletes, webhooks, time tracking entries), so the SDK handle never needs to
leave the gateway. A grant names the one object it is for (``target_gid``); the method refuses a grant
issued for another one.

Retry policy for writes (see ``AsanaGateway.call``): a 429 is retried automatically on every method
(Asana never processed it); PUT/DELETE are idempotent and also back off on 5xx / dropped connections;
a POST that gets a 5xx or a dropped connection raises ``TransientWriteError`` at once, so the writer can
re-read (did the comment / subtask / entry appear?) and then retry with the same idempotency marker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from tools.gateway import models as m

if TYPE_CHECKING:
    from tools.gateway.client import _Apis

T = TypeVar("T")
FieldValues = Mapping[str, object]


class _Call(Protocol):
    """``AsanaGateway.call``: one SDK call under the retry, pacing and concurrency rules."""

    def __call__(self, label: str, fn: Callable[[], T], *, idempotent: bool | None = None) -> T: ...


@dataclass(frozen=True)
class WriteGrant:
    """Proof that a write was approved: the approval row, the run, the proposal, and (when set) the
    one object the write is for."""

    approval_id: str
    run_id: str
    proposal_id: str
    target_gid: str | None = None

    def __post_init__(self) -> None:
        for name in ("approval_id", "run_id", "proposal_id"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ValueError(f"WriteGrant.{name} must be a non-empty string")


def _check(grant: object, target_gid: str) -> None:
    if not isinstance(grant, WriteGrant):
        raise PermissionError("Asana writes need a WriteGrant from the approval writer")
    if grant.target_gid is not None and grant.target_gid != target_gid:
        raise PermissionError(f"this WriteGrant is for {grant.target_gid}, not {target_gid}")


class WriteMethods:
    """Mixed into ``AsanaGateway``; ``call`` and the SDK handle come from it."""

    call: _Call

    def _sdk(self) -> _Apis:
        """The SDK handle: ``AsanaGateway._api`` (``api`` on gateways built before the rename)."""
        handle = getattr(self, "_api", None)
        return handle if handle is not None else getattr(self, "api")  # noqa: B009

    def update_task_custom_fields(
        self, grant: WriteGrant, task_gid: str, values: Mapping[str, float | str | None]
    ) -> m.Task:
        """``PUT /tasks/{gid}`` with ``{"custom_fields": {field_gid: value}}`` (enum: option gid; None clears)."""
        _check(grant, task_gid)
        body = {"data": {"custom_fields": dict(values)}}
        opts = {
            "opt_fields": "name,modified_at,custom_fields.name,custom_fields.number_value,"
            "custom_fields.text_value,custom_fields.display_value,custom_fields.enum_value.name"
        }
        api = self._sdk()
        data = self.call("PUT /tasks/{gid}", lambda: api.tasks.update_task(body, task_gid, dict(opts)))
        return m.Task.model_validate(data)

    def create_comment(
        self, grant: WriteGrant, task_gid: str, *, text: str | None = None, html_text: str | None = None
    ) -> m.Story:
        """``POST /tasks/{gid}/stories`` with ``text`` or ``html_text`` (exactly one)."""
        _check(grant, task_gid)
        if (text is None) == (html_text is None):
            raise ValueError("give exactly one of text / html_text")
        body = {"data": {"text": text} if text is not None else {"html_text": html_text}}
        api = self._sdk()
        data = self.call(
            "POST /tasks/{gid}/stories", lambda: api.stories.create_story_for_task(body, task_gid, {})
        )
        return m.Story.model_validate(data)

    def delete_story(self, grant: WriteGrant, story_gid: str) -> None:
        """``DELETE /stories/{gid}``: only for rolling back a comment this agent posted."""
        _check(grant, story_gid)
        api = self._sdk()
        self.call("DELETE /stories/{gid}", lambda: api.stories.delete_story(story_gid))

    def create_subtask(self, grant: WriteGrant, parent_gid: str, fields: FieldValues) -> m.Task:
        """``POST /tasks/{gid}/subtasks`` (fields: name, notes/html_notes, assignee, due_on, custom_fields...)."""
        _check(grant, parent_gid)
        body = {"data": dict(fields)}
        api = self._sdk()
        data = self.call(
            "POST /tasks/{gid}/subtasks", lambda: api.tasks.create_subtask_for_task(body, parent_gid, {})
        )
        return m.Task.model_validate(data)

    def create_task(self, grant: WriteGrant, fields: FieldValues) -> m.Task:
        """``POST /tasks``; ``fields`` must name ``workspace``, ``projects`` or ``parent``. The grant's
        target is the (first) project the task goes to."""
        projects = fields.get("projects")
        first = projects[0] if isinstance(projects, list | tuple) and projects else fields.get("workspace")
        _check(grant, str(first))
        body = {"data": dict(fields)}
        api = self._sdk()
        data = self.call("POST /tasks", lambda: api.tasks.create_task(body, {}))
        return m.Task.model_validate(data)

    def delete_task(self, grant: WriteGrant, task_gid: str) -> None:
        """``DELETE /tasks/{gid}``: only for rolling back tasks/subtasks this agent created."""
        _check(grant, task_gid)
        api = self._sdk()
        self.call("DELETE /tasks/{gid}", lambda: api.tasks.delete_task(task_gid))

    def create_custom_field(
        self, grant: WriteGrant, workspace_gid: str, fields: FieldValues
    ) -> m.CustomField:
        """``POST /custom_fields`` (e.g. ``{"name": "AI Estimated Hours", "resource_subtype": "number"}``)."""
        _check(grant, workspace_gid)
        body = {"data": {"workspace": workspace_gid, **fields}}
        api = self._sdk()
        data = self.call("POST /custom_fields", lambda: api.custom_fields.create_custom_field(body, {}))
        return m.CustomField.model_validate(data)

    def add_custom_field_to_project(
        self, grant: WriteGrant, project_gid: str, field_gid: str, *, is_important: bool = False
    ) -> None:
        """``POST /projects/{gid}/addCustomFieldSetting``. Re-adding an attached field is an error the
        caller treats as done (it checks ``custom_field_settings`` again)."""
        _check(grant, project_gid)
        body = {"data": {"custom_field": field_gid, "is_important": is_important}}
        api = self._sdk()
        self.call(
            "POST /projects/{gid}/addCustomFieldSetting",
            lambda: api.projects.add_custom_field_setting_for_project(body, project_gid, {}),
        )

    def create_time_entry(self, grant: WriteGrant, task_gid: str, fields: FieldValues) -> m.TimeTrackingEntry:
        """``POST /tasks/{gid}/time_tracking_entries`` (duration_minutes, entered_on, attributable_to,
        description: the writer puts its idempotency marker in the description)."""
        _check(grant, task_gid)
        body = {"data": dict(fields)}
        api = self._sdk()
        data = self.call(
            "POST /tasks/{gid}/time_tracking_entries",
            lambda: api.time_entries.create_time_tracking_entry(body, task_gid, {}),
        )
        return m.TimeTrackingEntry.model_validate(data)

    def delete_time_entry(self, grant: WriteGrant, entry_gid: str) -> None:
        """``DELETE /time_tracking_entries/{gid}``: only for rolling back an entry this agent created."""
        _check(grant, entry_gid)
        api = self._sdk()
        self.call(
            "DELETE /time_tracking_entries/{gid}",
            lambda: api.time_entries.delete_time_tracking_entry(entry_gid),
        )

    def create_webhook(
        self, grant: WriteGrant, resource_gid: str, target: str, filters: list[dict[str, str]] | None = None
    ) -> m.Webhook:
        """``POST /webhooks``: Asana's handshake reaches ``target`` before this call returns."""
        _check(grant, resource_gid)
        data: dict[str, object] = {"resource": resource_gid, "target": target}
        if filters:
            data["filters"] = filters
        api = self._sdk()
        created = self.call("POST /webhooks", lambda: api.webhooks.create_webhook({"data": data}, {}))
        return m.Webhook.model_validate(created)

    def delete_webhook(self, grant: WriteGrant, webhook_gid: str) -> None:
        """``DELETE /webhooks/{gid}``."""
        _check(grant, webhook_gid)
        api = self._sdk()
        self.call("DELETE /webhooks/{gid}", lambda: api.webhooks.delete_webhook(webhook_gid))
