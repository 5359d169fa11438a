"""Write methods: thin, each gated by a ``WriteGrant`` that only ``agent/writer.py`` constructs.

Retry policy for writes (see ``AsanaGateway.call``): a 429 is retried automatically on every method
(Asana never processed it); PUT/DELETE are idempotent and also back off on 5xx / dropped connections;
a POST that gets a 5xx or a dropped connection raises ``TransientWriteError`` at once, so the writer can
re-read (did the comment / subtask appear?) and then retry with the same idempotency marker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tools.gateway import models as m

if TYPE_CHECKING:
    from tools.gateway.client import _Apis


@dataclass(frozen=True)
class WriteGrant:
    """Proof that a write was approved. Created only by agent/writer.py, after its checks."""

    approval_id: str
    run_id: str
    proposal_id: str

    def __post_init__(self) -> None:
        for name in ("approval_id", "run_id", "proposal_id"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise ValueError(f"WriteGrant.{name} must be a non-empty string")


def _check(grant: object) -> None:
    if not isinstance(grant, WriteGrant):
        raise PermissionError("Asana writes need a WriteGrant from the approval writer")


class WriteMethods:
    """Mixed into ``AsanaGateway``; ``self.call`` and ``self._api`` come from it."""

    _api: _Apis
    call: Callable[..., Any]  # AsanaGateway.call(label, fn, *, idempotent=None): retries and counting

    def update_task_custom_fields(
        self, grant: WriteGrant, task_gid: str, values: dict[str, float | str | None]
    ) -> m.Task:
        """``PUT /tasks/{gid}`` with ``{"custom_fields": {field_gid: value}}`` (enum: option gid; None clears)."""
        _check(grant)
        body = {"data": {"custom_fields": dict(values)}}
        opts = {
            "opt_fields": "name,modified_at,custom_fields.name,custom_fields.number_value,"
            "custom_fields.text_value,custom_fields.display_value,custom_fields.enum_value.name"
        }
        data = self.call("PUT /tasks/{gid}", lambda: self._api.tasks.update_task(body, task_gid, dict(opts)))
        return m.Task.model_validate(data)

    def create_comment(
        self, grant: WriteGrant, task_gid: str, *, text: str | None = None, html_text: str | None = None
    ) -> m.Story:
        """``POST /tasks/{gid}/stories`` with ``text`` or ``html_text`` (exactly one)."""
        _check(grant)
        if (text is None) == (html_text is None):
            raise ValueError("give exactly one of text / html_text")
        body = {"data": {"text": text} if text is not None else {"html_text": html_text}}
        data = self.call(
            "POST /tasks/{gid}/stories", lambda: self._api.stories.create_story_for_task(body, task_gid, {})
        )
        return m.Story.model_validate(data)

    def create_subtask(self, grant: WriteGrant, parent_gid: str, fields: dict[str, Any]) -> m.Task:
        """``POST /tasks/{gid}/subtasks`` (fields: name, notes/html_notes, assignee, due_on, custom_fields...)."""
        _check(grant)
        body = {"data": dict(fields)}
        data = self.call(
            "POST /tasks/{gid}/subtasks",
            lambda: self._api.tasks.create_subtask_for_task(body, parent_gid, {}),
        )
        return m.Task.model_validate(data)

    def create_task(self, grant: WriteGrant, fields: dict[str, Any]) -> m.Task:
        """``POST /tasks``; ``fields`` must name ``workspace``, ``projects`` or ``parent``."""
        _check(grant)
        body = {"data": dict(fields)}
        data = self.call("POST /tasks", lambda: self._api.tasks.create_task(body, {}))
        return m.Task.model_validate(data)

    def delete_task(self, grant: WriteGrant, task_gid: str) -> None:
        """``DELETE /tasks/{gid}``: only for rolling back tasks/subtasks this agent created."""
        _check(grant)
        self.call("DELETE /tasks/{gid}", lambda: self._api.tasks.delete_task(task_gid))

    def create_custom_field(
        self, grant: WriteGrant, workspace_gid: str, fields: dict[str, Any]
    ) -> m.CustomField:
        """``POST /custom_fields`` (e.g. ``{"name": "AI Estimate Hours", "resource_subtype": "number", "precision": 1}``)."""
        _check(grant)
        body = {"data": {"workspace": workspace_gid, **fields}}
        data = self.call("POST /custom_fields", lambda: self._api.custom_fields.create_custom_field(body, {}))
        return m.CustomField.model_validate(data)

    def add_custom_field_to_project(
        self, grant: WriteGrant, project_gid: str, field_gid: str, *, is_important: bool = False
    ) -> dict[str, Any]:
        """``POST /projects/{gid}/addCustomFieldSetting``. Idempotent in effect: re-adding an attached
        field is an error the caller can treat as done (check ``custom_field_settings`` first)."""
        _check(grant)
        body = {"data": {"custom_field": field_gid, "is_important": is_important}}
        result = self.call(
            "POST /projects/{gid}/addCustomFieldSetting",
            lambda: self._api.projects.add_custom_field_setting_for_project(body, project_gid, {}),
        )
        return result if isinstance(result, dict) else {}
