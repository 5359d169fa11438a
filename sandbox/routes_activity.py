"""Endpoint handlers for what happens on tasks: time tracking entries, stories and attachments, events
and webhooks. Handlers follow sandbox/routes.py: ``(api, ctx, **path_params) -> (status, body)``.

Time-entry lists return compact records only (the spec's list ``opt_fields`` enum has no ``task``,
``billable_status``, ``description``, ``created_at`` or ``approval_status``): asked for them anyway,
the sandbox silently leaves them out, as the spec allows; ``lenient_opt_fields=True`` returns them.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox.errors import ApiError, bad_request
from sandbox.route_params import body_of, date_param, param, premium, sorted_gids, ws_of
from sandbox.server import Api, Ctx, Result

# ---------------------------------------------------------------------------------------------------
# time tracking entries


def get_entries_for_task(api: Api, ctx: Ctx, task_gid: str) -> Result:
    api.state.get("task", task_gid)
    return api.page("time_tracking_entry", sorted_gids(api.state.entries_by_task.get(task_gid, {})), ctx)


def create_entry(api: Api, ctx: Ctx, task_gid: str) -> Result:
    body = body_of(ctx)
    entry = api.state.add_time_entry(
        task_gid,
        body.get("duration_minutes"),  # type: ignore[arg-type]  # validated inside
        body.get("entered_on"),
        by=ctx.user,
        attributable_to=body.get("attributable_to"),
        billable_status=body.get("billable_status"),
        description=body.get("description"),
    )
    return api.one("time_tracking_entry", entry, ctx, status=201)


def get_entry(api: Api, ctx: Ctx, time_tracking_entry_gid: str) -> Result:
    return api.one("time_tracking_entry", api.state.get("time_tracking_entry", time_tracking_entry_gid), ctx)


def update_entry(api: Api, ctx: Ctx, time_tracking_entry_gid: str) -> Result:
    entry = api.state.update_time_entry(time_tracking_entry_gid, body_of(ctx), by=ctx.user)
    return api.one("time_tracking_entry", entry, ctx)


def delete_entry(api: Api, ctx: Ctx, time_tracking_entry_gid: str) -> Result:
    api.state.delete_time_entry(time_tracking_entry_gid, by=ctx.user)
    return 200, {"data": {}}


def get_entries(api: Api, ctx: Ctx) -> Result:
    """GET /time_tracking_entries: task / attributable_to / portfolio / user / workspace + entered_on dates."""
    task = param(ctx, "task")
    project = param(ctx, "attributable_to")
    portfolio = param(ctx, "portfolio")
    user = param(ctx, "user")
    ws = param(ctx, "workspace")
    start = date_param(ctx, "entered_on_start_date")
    end = date_param(ctx, "entered_on_end_date")
    st = api.state
    if not any((task, project, portfolio, user, ws)):
        raise bad_request("Must specify at least one of task, attributable_to, portfolio, user or workspace")
    if ws and not (start or end) and not any((task, project, portfolio, user)):
        raise bad_request("entered_on_start_date: Required with workspace (give a start or an end date)")
    if ws:
        premium(api, "Workspace-wide time tracking entries")
        ws_of(api, ws)
    if task:
        st.get("task", task)
    if project:
        st.get("project", project)
    pf_projects: set[str] | None = None
    if portfolio:
        pf_projects = set(st.get("portfolio", portfolio)["items"])
    user_gid = st.resolve_user(user, ctx.user) if user else None
    entries = st.objects["time_tracking_entry"]

    def build() -> list[str]:
        with st.lock:
            source = st.entries_by_task.get(task, {}) if task else entries
            out = []
            for g in source:
                e = entries[g]
                if project and e["attributable_to"] != project:
                    continue
                if pf_projects is not None and e["attributable_to"] not in pf_projects:
                    continue
                if user_gid and e["created_by"] != user_gid:
                    continue
                if start and e["entered_on"] < start:
                    continue
                if end and e["entered_on"] > end:
                    continue
                out.append(g)
            return sorted_gids(out)

    key = ("tte", task, project, portfolio, user_gid, ws, start, end)
    return api.page("time_tracking_entry", api.cached(key, build), ctx)


# ---------------------------------------------------------------------------------------------------
# stories and attachments


def get_stories(api: Api, ctx: Ctx, task_gid: str) -> Result:
    api.state.get("task", task_gid)
    return api.page("story", sorted_gids(api.state.stories_by_task.get(task_gid, {})), ctx)


def create_story(api: Api, ctx: Ctx, task_gid: str) -> Result:
    body = body_of(ctx)
    story = api.state.add_comment(
        task_gid,
        text=body.get("text"),
        html_text=body.get("html_text"),
        by=ctx.user,
        is_pinned=bool(body.get("is_pinned", False)),
    )
    return api.one("story", story, ctx, status=201)


def get_story(api: Api, ctx: Ctx, story_gid: str) -> Result:
    return api.one("story", api.state.get("story", story_gid), ctx)


def delete_story(api: Api, ctx: Ctx, story_gid: str) -> Result:
    api.state.delete_story(story_gid, by=ctx.user)
    return 200, {"data": {}}


def get_attachments(api: Api, ctx: Ctx) -> Result:
    parent = param(ctx, "parent", required=True)
    assert parent is not None
    if parent not in api.state.objects["task"] and parent not in api.state.objects["project"]:
        raise ApiError(404, f"parent: Unknown object: {parent}")
    return api.page("attachment", sorted_gids(api.state.attachments_by_parent.get(parent, {})), ctx)


def get_attachment(api: Api, ctx: Ctx, attachment_gid: str) -> Result:
    return api.one("attachment", api.state.get("attachment", attachment_gid), ctx)


# ---------------------------------------------------------------------------------------------------
# events and webhooks


def _events(api: Api, ctx: Ctx, key: str, max_events: int) -> Result:
    token = param(ctx, "sync")
    events, sync, has_more = api.state.events_since(key, token, max_events)
    return 200, {"data": events, "sync": sync, "has_more": has_more}


def get_events(api: Api, ctx: Ctx) -> Result:
    resource = param(ctx, "resource", required=True)
    assert resource is not None
    st = api.state
    if not any(resource in st.objects[k] for k in ("task", "project", "workspace", "portfolio", "tag")):
        raise ApiError(404, f"resource: Unknown object: {resource}")
    return _events(api, ctx, resource, 100)


def get_workspace_events(api: Api, ctx: Ctx, workspace_gid: str) -> Result:
    ws_of(api, workspace_gid)
    return _events(api, ctx, workspace_gid, 1000)


def create_webhook(api: Api, ctx: Ctx) -> Result:
    webhook, secret = api.webhooks.create(body_of(ctx), by=ctx.user)
    status, body = api.one("webhook", webhook, ctx, status=201)  # type: ignore[misc]
    body["X-Hook-Secret"] = secret
    return status, body


def get_webhooks(api: Api, ctx: Ctx) -> Result:
    ws = param(ctx, "workspace", required=True)
    assert ws is not None
    ws_of(api, ws)
    resource = param(ctx, "resource")
    hooks = api.state.objects["webhook"]
    gids = [
        g
        for g in sorted_gids(hooks)
        if hooks[g]["_workspace"] == ws and (not resource or hooks[g]["resource"] == resource)
    ]
    return api.page("webhook", gids, ctx)


def get_webhook(api: Api, ctx: Ctx, webhook_gid: str) -> Result:
    return api.one("webhook", api.state.get("webhook", webhook_gid), ctx)


def update_webhook(api: Api, ctx: Ctx, webhook_gid: str) -> Result:
    body = body_of(ctx)
    with api.state.lock:
        hook = api.state.get("webhook", webhook_gid)
        if "filters" in body:
            if not isinstance(body["filters"], list):
                raise bad_request("filters: Value must be an array")
            hook["filters"] = body["filters"]
        api.state.save("webhook", hook)
    return api.one("webhook", hook, ctx)


def delete_webhook(api: Api, ctx: Ctx, webhook_gid: str) -> Result:
    api.state.delete_webhook(webhook_gid)
    return 200, {"data": {}}


ROUTES: list[tuple[str, str, Callable[..., Result], bool]] = [
    ("GET", "/workspaces/{workspace_gid}/events", get_workspace_events, False),
    ("GET", "/tasks/{task_gid}/stories", get_stories, False),
    ("POST", "/tasks/{task_gid}/stories", create_story, False),
    ("GET", "/stories/{story_gid}", get_story, False),
    ("DELETE", "/stories/{story_gid}", delete_story, False),
    ("GET", "/tasks/{task_gid}/time_tracking_entries", get_entries_for_task, False),
    ("POST", "/tasks/{task_gid}/time_tracking_entries", create_entry, False),
    ("GET", "/time_tracking_entries", get_entries, False),
    ("GET", "/time_tracking_entries/{time_tracking_entry_gid}", get_entry, False),
    ("PUT", "/time_tracking_entries/{time_tracking_entry_gid}", update_entry, False),
    ("DELETE", "/time_tracking_entries/{time_tracking_entry_gid}", delete_entry, False),
    ("GET", "/attachments", get_attachments, False),
    ("GET", "/attachments/{attachment_gid}", get_attachment, False),
    ("GET", "/events", get_events, False),
    ("POST", "/webhooks", create_webhook, True),
    ("GET", "/webhooks", get_webhooks, False),
    ("GET", "/webhooks/{webhook_gid}", get_webhook, False),
    ("PUT", "/webhooks/{webhook_gid}", update_webhook, False),
    ("DELETE", "/webhooks/{webhook_gid}", delete_webhook, False),
]
