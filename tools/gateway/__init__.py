"""The gateway: the one typed client over the official ``asana`` SDK v5 (real Asana or the sandbox).

Public API (stable; other parts depend on it)::

    from tools.gateway import AsanaGateway, RetryPolicy, WriteGrant, GatewayError, ...
    gw = AsanaGateway.from_settings(settings)          # base URL = Settings.asana_base_url
    gw = AsanaGateway(base_url, token, max_concurrency=8, retry=RetryPolicy(), requests_per_minute=None)
    # requests_per_minute: a known limit paces from the start; None: learnt from Asana's 429s
    with gw: ...                                        # closes the thread pool / connections

    # typed reads (tools.gateway.models): the wire shape checked
    gw.me() -> User;  gw.workspaces();  gw.projects(ws);  gw.custom_field_settings(p);  gw.custom_field(gid)
    gw.time_entry(gid);  gw.attachments(gid);  gw.download_attachment(url)
    gw.allocations(parent=|assignee=|workspace=) -> list[Allocation]   # 402 where not offered
    gw.ooo_entries(user_gid, ws, start_date=, end_date=) -> list[OooEntry]   # 403 without the scope
    # raw dict reads (sync uses these): iter_users, iter_projects, iter_tasks_for_project, iter_subtasks,
    #   iter_time_entries_for_task, iter_time_entries, get_time_entry_raw, iter_stories,
    #   iter_custom_field_settings, iter_allocations, iter_ooo_entries, budgets(project), iter_rates,
    #   iter_time_categories(ws), iter_timesheet_approvals(ws), get_task_raw, search_tasks, ...
    gw.events(resource_gid, sync) -> (events, next_sync, has_more)   # raises SyncTokenExpired(new_token)
    gw.workspace_events(ws, sync);  gw.search_tasks(ws, params) -> one page
    gw.map(fn, items) / gw.imap(fn, items)  # run fn over items on the pool (<= max_concurrency at once)
    gw.budget          # RateBudget: the one token bucket every thread takes from (sized from 429s)
    gw.stats           # GatewayStats: requests by "METHOD /path", retries, rate_limited, peak_in_flight
    gw.stats.snapshot() -> dict

    # writes (tools.gateway.writes): each needs a WriteGrant(approval_id, run_id, proposal_id),
    # constructed only by agent/writer.py
    gw.update_task_custom_fields(grant, task_gid, {field_gid: value}) -> models.Task   # PUT
    gw.create_comment(grant, task_gid, text=... | html_text=...) -> models.Story        # POST
    gw.create_subtask(grant, parent_gid, {"name": ..., ...}) -> models.Task              # POST
    gw.create_task(grant, {"name": ..., "projects": [...]}) -> models.Task               # POST
    gw.delete_task(grant, task_gid)                                                       # DELETE
    gw.create_custom_field(grant, workspace_gid, {"name":..., "resource_subtype":"number"}) # POST
    gw.add_custom_field_to_project(grant, project_gid, field_gid)                         # POST

Errors (tools.gateway.errors), all ``GatewayError``; messages never contain the token:
``AuthError`` (401/403), ``NotFoundError``, ``BadRequestError`` / ``PaymentRequiredError`` (402),
``SyncTokenExpired`` (412, ``.new_token``), ``RateLimitedError`` (429 after retries), ``ServerError``,
``ConnectionFailed``, ``TransientWriteError`` (POST hit 5xx/dropped: may have applied; check, then retry).
Retries: a 429 pauses every thread for its Retry-After and is retried on every method without using
up the attempt budget; 5xx/dropped back off (jittered, bounded) only for GET/PUT/DELETE; the SDK's own
urllib3 retries are off. The SDK handle is private (``gw._api``): calls go through ``gw.call``.
"""

from tools.gateway.client import AsanaGateway, GatewayStats, RetryPolicy
from tools.gateway.errors import (
    AuthError,
    BadRequestError,
    ConnectionFailed,
    GatewayError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitedError,
    ServerError,
    SyncTokenExpired,
    TransientError,
    TransientWriteError,
)
from tools.gateway.ratelimit import RateBudget
from tools.gateway.writes import WriteGrant

__all__ = [
    "AsanaGateway",
    "AuthError",
    "BadRequestError",
    "ConnectionFailed",
    "GatewayError",
    "GatewayStats",
    "NotFoundError",
    "PaymentRequiredError",
    "RateBudget",
    "RateLimitedError",
    "RetryPolicy",
    "ServerError",
    "SyncTokenExpired",
    "TransientError",
    "TransientWriteError",
    "WriteGrant",
]
