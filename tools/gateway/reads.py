"""Read methods of the gateway, mixed into ``AsanaGateway``: one method per endpoint the product reads.

``iter_*`` yield raw dicts page by page (sync maps raw payloads so one bad value skips a field, not a
page); the few typed reads return ``tools.gateway.models`` for callers that want the wire shape
checked (the writer, ``effort serve``). Every call goes through ``AsanaGateway.call`` / ``paginate``
(retries, the shared rate budget, counting).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from tools.gateway import models as m
from tools.gateway.errors import BadRequestError, NotFoundError, ServerError
from tools.gateway.fields import (
    ALLOCATION_FIELDS,
    CATEGORY_FIELDS,
    CUSTOM_FIELD_FIELDS,
    CUSTOM_FIELD_SETTING_FIELDS,
    OOO_FIELDS,
    STORY_FIELDS,
    TIME_ENTRY_FIELDS,
    TIMESHEET_FIELDS,
)

if TYPE_CHECKING:
    from tools.gateway.apis import Apis
    from tools.gateway.client import RetryPolicy

T = TypeVar("T")
Page = Callable[[dict[str, Any]], dict[str, Any]]


def csv(fields: Iterable[str] | str | None) -> str | None:
    if fields is None:
        return None
    return fields if isinstance(fields, str) else ",".join(fields)


class ReadMethods:
    """Mixed into ``AsanaGateway``; ``call``, ``paginate``, ``_api`` and ``retry`` come from it."""

    _api: Apis
    retry: RetryPolicy
    call: Callable[..., Any]  # AsanaGateway.call(label, fn, *, idempotent=None)
    paginate: Callable[..., Iterator[dict[str, Any]]]  # AsanaGateway.paginate(label, fn, opts)

    # -- workspace structure ----------------------------------------------------------------------
    def iter_users(
        self, workspace_gid: str, opt_fields: Iterable[str] | str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /users",
            lambda o: self._api.users.get_users(o, full_payload=True),
            {"workspace": workspace_gid, "opt_fields": csv(opt_fields or "name,email")},
        )

    def iter_projects(
        self, workspace_gid: str, opt_fields: Iterable[str] | str | None = None, archived: bool | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /projects",
            lambda o: self._api.projects.get_projects(o, full_payload=True),
            {"workspace": workspace_gid, "archived": archived, "opt_fields": csv(opt_fields)},
        )

    def iter_portfolio_items(self, portfolio_gid: str) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /portfolios/{gid}/items",
            lambda o: self._api.portfolios.get_items_for_portfolio(portfolio_gid, o, full_payload=True),
            {"opt_fields": "name,resource_type"},
        )

    def iter_portfolios(self, workspace_gid: str) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /portfolios",
            lambda o: self._api.portfolios.get_portfolios(workspace_gid, o, full_payload=True),
            {"opt_fields": "name"},
        )

    def iter_tags(self, workspace_gid: str) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /workspaces/{gid}/tags",
            lambda o: self._api.tags.get_tags_for_workspace(workspace_gid, o, full_payload=True),
            {"opt_fields": "name"},
        )

    def iter_custom_field_settings(self, project_gid: str) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /projects/{gid}/custom_field_settings",
            lambda o: self._api.custom_field_settings.get_custom_field_settings_for_project(
                project_gid, o, full_payload=True
            ),
            {"opt_fields": CUSTOM_FIELD_SETTING_FIELDS},
        )

    def iter_custom_fields(self, workspace_gid: str) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /workspaces/{gid}/custom_fields",
            lambda o: self._api.custom_fields.get_custom_fields_for_workspace(
                workspace_gid, o, full_payload=True
            ),
            {"opt_fields": CUSTOM_FIELD_FIELDS},
        )

    # -- tasks ---------------------------------------------------------------------------------------
    def iter_tasks_for_tag(
        self, tag_gid: str, opt_fields: Iterable[str] | str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /tags/{gid}/tasks",
            lambda o: self._api.tasks.get_tasks_for_tag(tag_gid, o, full_payload=True),
            {"opt_fields": csv(opt_fields)},
        )

    def iter_tasks_for_project(
        self,
        project_gid: str,
        opt_fields: Iterable[str] | str | None = None,
        completed_since: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /projects/{gid}/tasks",
            lambda o: self._api.tasks.get_tasks_for_project(project_gid, o, full_payload=True),
            {"opt_fields": csv(opt_fields), "completed_since": completed_since},
        )

    def iter_subtasks(
        self, task_gid: str, opt_fields: Iterable[str] | str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /tasks/{gid}/subtasks",
            lambda o: self._api.tasks.get_subtasks_for_task(task_gid, o, full_payload=True),
            {"opt_fields": csv(opt_fields)},
        )

    def search_tasks(self, workspace_gid: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """One page (<= 100) of ``/workspaces/{gid}/tasks/search``; the caller pages by ``modified_at``."""
        opts = {k: v for k, v in params.items() if v is not None}
        opts.setdefault("limit", 100)
        payload = self.call(
            "GET /workspaces/{gid}/tasks/search",
            lambda: self._api.tasks.search_tasks_for_workspace(workspace_gid, dict(opts), full_payload=True),
        )
        return list(payload.get("data") or [])

    def get_task_raw(self, task_gid: str, opt_fields: Iterable[str] | str | None = None) -> dict[str, Any]:
        opts = {"opt_fields": csv(opt_fields)} if opt_fields else {}
        return dict(self.call("GET /tasks/{gid}", lambda: self._api.tasks.get_task(task_gid, dict(opts))))

    def iter_stories(
        self, task_gid: str, opt_fields: Iterable[str] | str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /tasks/{gid}/stories",
            lambda o: self._api.stories.get_stories_for_task(task_gid, o, full_payload=True),
            {"opt_fields": csv(opt_fields or STORY_FIELDS)},
        )

    # -- time tracking -------------------------------------------------------------------------------
    def iter_time_entries_for_task(
        self, task_gid: str, opt_fields: Iterable[str] | str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /tasks/{gid}/time_tracking_entries",
            lambda o: self._api.time_entries.get_time_tracking_entries_for_task(
                task_gid, o, full_payload=True
            ),
            {"opt_fields": csv(opt_fields or TIME_ENTRY_FIELDS)},
        )

    def iter_time_entries(
        self, opt_fields: Iterable[str] | str | None = None, **filters: str | None
    ) -> Iterator[dict[str, Any]]:
        """``GET /time_tracking_entries`` with filters (task, attributable_to, portfolio, user, workspace,
        entered_on_start_date, entered_on_end_date)."""
        return self.paginate(
            "GET /time_tracking_entries",
            lambda o: self._api.time_entries.get_time_tracking_entries(o, full_payload=True),
            {**filters, "opt_fields": csv(opt_fields or TIME_ENTRY_FIELDS)},
        )

    def time_entries_page(
        self, opt_fields: Iterable[str] | str, **filters: str | None
    ) -> list[dict[str, Any]]:
        """The first page (<= 100) of ``GET /time_tracking_entries`` (capability probes)."""
        opts = {k: v for k, v in filters.items() if v is not None} | {
            "limit": 100,
            "opt_fields": csv(opt_fields),
        }
        payload = self.call(
            "GET /time_tracking_entries",
            lambda: self._api.time_entries.get_time_tracking_entries(dict(opts), full_payload=True),
        )
        return [e for e in payload.get("data") or [] if isinstance(e, dict)]

    def get_time_entry_raw(self, entry_gid: str) -> dict[str, Any]:
        """``GET /time_tracking_entries/{gid}``: the full record (billable status, description, creation
        time, approval status: what the lists do not return)."""
        return dict(
            self.call(
                "GET /time_tracking_entries/{gid}",
                lambda: self._api.time_entries.get_time_tracking_entry(entry_gid, {}),
            )
        )

    def time_entry(self, entry_gid: str) -> m.TimeTrackingEntry:
        return m.TimeTrackingEntry.model_validate(self.get_time_entry_raw(entry_gid))

    def iter_time_categories(
        self, workspace_gid: str, *, archived: bool | None = None
    ) -> Iterator[dict[str, Any]]:
        """``GET /time_tracking_categories?workspace=`` (scope ``time_tracking_categories:read``; 403
        without). ``archived=None`` lists the active ones, as the API does by default."""
        return self.paginate(
            "GET /time_tracking_categories",
            lambda o: self._api.time_categories.get_time_tracking_categories(
                workspace_gid, o, full_payload=True
            ),
            {"is_archived": archived, "opt_fields": CATEGORY_FIELDS},
        )

    def iter_timesheet_approvals(
        self, workspace_gid: str, *, from_date: str | None = None, to_date: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """``GET /timesheet_approval_statuses?workspace=`` (weekly per person; scope
        ``timesheet_approval_statuses:read``, 403 without)."""
        return self.paginate(
            "GET /timesheet_approval_statuses",
            lambda o: self._api.timesheets.get_timesheet_approval_statuses(
                workspace_gid, o, full_payload=True
            ),
            {"from_date": from_date, "to_date": to_date, "opt_fields": TIMESHEET_FIELDS},
        )

    def budgets(self, project_gid: str) -> list[dict[str, Any]]:
        """``GET /budgets?parent=`` (at most one budget per project; no paging, no ``opt_fields`` per the
        spec). A plan without budgets answers 402."""
        payload = self.call(
            "GET /budgets", lambda: self._api.budgets.get_budgets(project_gid, full_payload=True)
        )
        return list(payload.get("data") or [])

    def iter_rates(
        self, *, parent: str | None = None, resource: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """``GET /rates`` (optionally of one project and/or person): money per hour for users and
        placeholders. The list returns the rate and currency; a plan without rates answers 402."""
        return self.paginate(
            "GET /rates",
            lambda o: self._api.rates.get_rates(o, full_payload=True),
            {"parent": parent, "resource": resource},
        )

    # -- resourcing ---------------------------------------------------------------------------------
    def iter_allocations(
        self,
        *,
        parent: str | None = None,
        assignee: str | None = None,
        workspace: str | None = None,
        opt_fields: Iterable[str] | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``GET /allocations`` filtered by project (``parent``), ``assignee`` and/or ``workspace``.
        An Enterprise feature: raises ``PaymentRequiredError`` (402) on the first page where absent."""
        return self.paginate(
            "GET /allocations",
            lambda o: self._api.allocations.get_allocations(o, full_payload=True),
            {
                "parent": parent,
                "assignee": assignee,
                "workspace": workspace,
                "opt_fields": csv(opt_fields or ALLOCATION_FIELDS),
            },
        )

    def allocations(
        self, *, parent: str | None = None, assignee: str | None = None, workspace: str | None = None
    ) -> list[m.Allocation]:
        items = self.iter_allocations(parent=parent, assignee=assignee, workspace=workspace)
        return [m.Allocation.model_validate(a) for a in items]

    def iter_ooo_entries(
        self,
        user_gid: str,
        workspace_gid: str,
        *,
        start_date: str | None = None,
        end_date: str | None = None,
        opt_fields: Iterable[str] | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``GET /ooo_entries`` for one user (the API has no workspace-wide listing); ``start_date`` /
        ``end_date`` keep entries overlapping that window. A token without ``ooo_entries:read`` gets
        ``AuthError`` (403)."""
        return self.paginate(
            "GET /ooo_entries",
            lambda o: self._api.ooo_entries.get_ooo_entries(user_gid, workspace_gid, o, full_payload=True),
            {"start_date": start_date, "end_date": end_date, "opt_fields": csv(opt_fields or OOO_FIELDS)},
        )

    def ooo_entries(
        self,
        user_gid: str,
        workspace_gid: str,
        *,
        start_date: str | None = None,
        end_date: str | None = None,
    ) -> list[m.OooEntry]:
        items = self.iter_ooo_entries(user_gid, workspace_gid, start_date=start_date, end_date=end_date)
        return [m.OooEntry.model_validate(e) for e in items]

    # -- events (by hand: the SDK's EventIterator loops forever, API_NOTES §7) ----------------------------
    def events(self, resource_gid: str, sync: str | None) -> tuple[list[dict[str, Any]], str, bool]:
        """One page of ``/events``: ``(events, next_sync_token, has_more)``.

        With ``sync=None`` (first call) or an expired token, raises ``SyncTokenExpired`` whose
        ``new_token`` starts a fresh stream (the caller must re-crawl for anything before it).
        """
        opts: dict[str, Any] = {"sync": sync} if sync else {}
        payload = self.call(
            "GET /events", lambda: self._api.events.get_events(resource_gid, dict(opts), full_payload=True)
        )
        return _event_page(payload, sync)

    def workspace_events(
        self, workspace_gid: str, sync: str | None
    ) -> tuple[list[dict[str, Any]], str, bool]:
        """Like :meth:`events` for ``/workspaces/{gid}/events`` (up to 1,000 events per call)."""
        opts: dict[str, Any] = {"sync": sync} if sync else {}
        payload = self.call(
            "GET /workspaces/{gid}/events",
            lambda: self._api.workspaces.get_workspace_events(workspace_gid, dict(opts), full_payload=True),
        )
        return _event_page(payload, sync)

    # -- typed reads (the writer, serve) ------------------------------------------------------------------
    def me(self) -> m.User:
        return m.User.model_validate(
            self.call(
                "GET /users/{gid}",
                lambda: self._api.users.get_user("me", {"opt_fields": "name,email,workspaces.name"}),
            )
        )

    def workspaces(self) -> list[m.Workspace]:
        items = self.paginate(
            "GET /workspaces",
            lambda o: self._api.workspaces.get_workspaces(o, full_payload=True),
            {"opt_fields": "name,is_organization"},
        )
        return [m.Workspace.model_validate(w) for w in items]

    def projects(self, workspace_gid: str, opt_fields: Iterable[str] | str | None = None) -> list[m.Project]:
        from tools.gateway.fields import PROJECT_FIELDS

        return [
            m.Project.model_validate(p)
            for p in self.iter_projects(workspace_gid, opt_fields or PROJECT_FIELDS)
        ]

    def custom_field_settings(self, project_gid: str) -> list[m.CustomFieldSetting]:
        return [m.CustomFieldSetting.model_validate(s) for s in self.iter_custom_field_settings(project_gid)]

    def custom_field(self, field_gid: str) -> m.CustomField:
        opts = {"opt_fields": CUSTOM_FIELD_FIELDS}
        return m.CustomField.model_validate(
            self.call(
                "GET /custom_fields/{gid}",
                lambda: self._api.custom_fields.get_custom_field(field_gid, dict(opts)),
            )
        )

    def webhooks(self, workspace_gid: str) -> list[m.Webhook]:
        """The workspace's webhooks (`effort webhooks list|register|delete` read them)."""
        items = self.paginate(
            "GET /webhooks",
            lambda o: self._api.webhooks.get_webhooks(workspace_gid, o, full_payload=True),
            {
                "opt_fields": "active,resource,resource.name,target,filters,created_at,last_success_at,"
                "last_failure_at"
            },
        )
        return [m.Webhook.model_validate(w) for w in items]

    def attachments(self, parent_gid: str) -> list[m.Attachment]:
        """A task's (or project's) attachments: CSV timesheets are parsed by tools/sync/timesheets.py."""
        items = self.paginate(
            "GET /attachments",
            lambda o: self._api.attachments.get_attachments_for_object(parent_gid, o, full_payload=True),
            {"opt_fields": "name,resource_subtype,host,size,download_url,permanent_url,view_url,created_at"},
        )
        return [m.Attachment.model_validate(a) for a in items]

    def download_attachment(self, url: str, *, max_bytes: int = 5_000_000) -> bytes:
        """Fetch an attachment's ``download_url`` (a pre-signed URL: no token is sent), at most
        ``max_bytes``; retried like any idempotent GET and counted as ``GET attachment download``."""
        import httpx
        import urllib3

        def fetch() -> bytes:
            try:
                with httpx.stream("GET", url, timeout=self.retry.request_timeout) as resp:
                    if resp.status_code >= 500:
                        raise ServerError(
                            f"attachment download: HTTP {resp.status_code}", status=resp.status_code
                        )
                    if resp.status_code == 404:
                        raise NotFoundError("attachment download: HTTP 404", status=404)
                    if resp.status_code >= 400:
                        raise BadRequestError(
                            f"attachment download: HTTP {resp.status_code}", status=resp.status_code
                        )
                    data = bytearray()
                    for chunk in resp.iter_bytes():
                        data += chunk
                        if len(data) > max_bytes:
                            raise BadRequestError(f"attachment is larger than {max_bytes} bytes")
                    return bytes(data)
            except httpx.TransportError as exc:
                raise urllib3.exceptions.ProtocolError(type(exc).__name__) from None

        return bytes(self.call("GET attachment download", fetch))


def _event_page(payload: dict[str, Any], sync: str | None) -> tuple[list[dict[str, Any]], str, bool]:
    return (
        list(payload.get("data") or []),
        str(payload.get("sync") or sync or ""),
        bool(payload.get("has_more")),
    )
