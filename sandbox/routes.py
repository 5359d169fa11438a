"""Endpoint handlers for the workspace's structure and work: workspaces, users, projects, portfolios,
sections, tags, tasks, search and custom fields. `ROUTES` lists (method, path under /api/1.0, handler,
runs-in-a-thread); sandbox/routes_activity.py, routes_resourcing.py and routes_budgets.py add theirs.

Handlers take `(api, ctx, **path_params)` and return `(status, body)`. Parameter names, required
combinations and defaults follow the official spec (asana_oas.yaml) for the operations the product uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sandbox.errors import bad_request
from sandbox.render import full_tree
from sandbox.route_params import (
    body_of,
    bool_param,
    date_param,
    dt_param,
    param,
    premium,
    sorted_gids,
    ws_of,
)
from sandbox.server import Api, Ctx, Result
from sandbox.state import Obj, parse_dt

# ---------------------------------------------------------------------------------------------------
# workspaces and users


def get_workspaces(api: Api, ctx: Ctx) -> Result:
    return api.page("workspace", sorted_gids(api.state.objects["workspace"]), ctx)


def get_workspace(api: Api, ctx: Ctx, workspace_gid: str) -> Result:
    return api.one("workspace", ws_of(api, workspace_gid), ctx)


def get_users(api: Api, ctx: Ctx) -> Result:
    ws = param(ctx, "workspace")
    team = param(ctx, "team")
    if not ws and not team:
        raise bad_request("Must specify exactly one of workspace or team")
    if ws:
        ws_of(api, ws)
    users = api.state.objects["user"]
    return api.page("user", [g for g in sorted_gids(users) if not ws or ws in users[g]["workspaces"]], ctx)


def get_users_for_workspace(api: Api, ctx: Ctx, workspace_gid: str) -> Result:
    ws_of(api, workspace_gid)
    users = api.state.objects["user"]
    gids = sorted(
        (g for g in users if workspace_gid in users[g]["workspaces"]), key=lambda g: users[g]["name"]
    )
    # Spec: offset but no limit and no next_page; at most 2,000 users, alphabetical.
    return api.page("user", gids[:2000], ctx, paginate=False)


def get_user(api: Api, ctx: Ctx, user_gid: str) -> Result:
    gid = api.state.resolve_user(user_gid, ctx.user)
    return api.one("user", api.state.get("user", gid), ctx)


# ---------------------------------------------------------------------------------------------------
# projects, portfolios, sections, tags


def _projects(api: Api, ws: str, archived: bool | None) -> list[str]:
    projects = api.state.objects["project"]
    return [
        g
        for g in sorted_gids(projects)
        if projects[g]["workspace"] == ws and (archived is None or projects[g]["archived"] == archived)
    ]


def get_projects(api: Api, ctx: Ctx) -> Result:
    ws = param(ctx, "workspace")
    if ws is None and param(ctx, "team") is None:
        raise bad_request("workspace: Missing input")
    ws = ws or api.state.workspace_gid
    ws_of(api, ws)
    return api.page("project", _projects(api, ws, bool_param(ctx, "archived")), ctx)


def get_projects_for_workspace(api: Api, ctx: Ctx, workspace_gid: str) -> Result:
    ws_of(api, workspace_gid)
    return api.page("project", _projects(api, workspace_gid, bool_param(ctx, "archived")), ctx)


def get_project(api: Api, ctx: Ctx, project_gid: str) -> Result:
    return api.one("project", api.state.get("project", project_gid), ctx)


def create_project(api: Api, ctx: Ctx) -> Result:
    return api.one("project", api.state.create_project(body_of(ctx), by=ctx.user), ctx, status=201)


def create_section(api: Api, ctx: Ctx, project_gid: str) -> Result:
    return api.one(
        "section", api.state.create_section(project_gid, body_of(ctx), by=ctx.user), ctx, status=201
    )


def get_custom_field_settings_for_project(api: Api, ctx: Ctx, project_gid: str) -> Result:
    api.state.get("project", project_gid)
    if ctx.opt_fields is None:  # Asana answers this list with the setting's fields filled in
        ctx.opt_fields = full_tree("custom_field_setting")
    return api.page(
        "custom_field_setting", sorted_gids(api.state.settings_by_project.get(project_gid, {})), ctx
    )


def get_custom_field_settings_for_portfolio(api: Api, ctx: Ctx, portfolio_gid: str) -> Result:
    api.state.get("portfolio", portfolio_gid)
    if ctx.opt_fields is None:
        ctx.opt_fields = full_tree("custom_field_setting")
    return api.page(
        "custom_field_setting", sorted_gids(api.state.settings_by_project.get(portfolio_gid, {})), ctx
    )


def add_custom_field_setting(api: Api, ctx: Ctx, project_gid: str) -> Result:
    setting = api.state.add_custom_field_setting(project_gid, body_of(ctx), by=ctx.user)
    return api.one("custom_field_setting", setting, ctx)


def get_portfolios(api: Api, ctx: Ctx) -> Result:
    ws = param(ctx, "workspace", required=True)
    assert ws is not None
    ws_of(api, ws)
    owner = param(ctx, "owner")
    owner_gid = api.state.resolve_user(owner, ctx.user) if owner else None
    pfs = api.state.objects["portfolio"]
    gids = [
        g
        for g in sorted_gids(pfs)
        if pfs[g]["workspace"] == ws and (owner_gid is None or pfs[g]["owner"] == owner_gid)
    ]
    return api.page("portfolio", gids, ctx)


def get_portfolio(api: Api, ctx: Ctx, portfolio_gid: str) -> Result:
    return api.one("portfolio", api.state.get("portfolio", portfolio_gid), ctx)


def get_items_for_portfolio(api: Api, ctx: Ctx, portfolio_gid: str) -> Result:
    pf = api.state.get("portfolio", portfolio_gid)
    return api.page("project", sorted_gids(g for g in pf["items"] if g in api.state.objects["project"]), ctx)


def get_sections_for_project(api: Api, ctx: Ctx, project_gid: str) -> Result:
    api.state.get("project", project_gid)
    return api.page("section", sorted_gids(api.state.sections_by_project.get(project_gid, {})), ctx)


def get_section(api: Api, ctx: Ctx, section_gid: str) -> Result:
    return api.one("section", api.state.get("section", section_gid), ctx)


def get_tags(api: Api, ctx: Ctx) -> Result:
    ws = param(ctx, "workspace", required=True)
    assert ws is not None
    return get_tags_for_workspace(api, ctx, ws)


def get_tags_for_workspace(api: Api, ctx: Ctx, workspace_gid: str) -> Result:
    ws_of(api, workspace_gid)
    tags = api.state.objects["tag"]
    return api.page("tag", [g for g in sorted_gids(tags) if tags[g]["workspace"] == workspace_gid], ctx)


def get_tag(api: Api, ctx: Ctx, tag_gid: str) -> Result:
    return api.one("tag", api.state.get("tag", tag_gid), ctx)


def get_tags_for_task(api: Api, ctx: Ctx, task_gid: str) -> Result:
    task = api.state.get("task", task_gid)
    return api.page("tag", sorted_gids(task["tags"]), ctx)


# ---------------------------------------------------------------------------------------------------
# tasks


def _task_filter(ctx: Ctx) -> Callable[[Obj], bool]:
    raw_cs = param(ctx, "completed_since")
    completed_since: datetime | str | None = None
    if raw_cs == "now":
        completed_since = "now"
    elif raw_cs is not None:
        completed_since = dt_param(ctx, "completed_since")
    modified_since = dt_param(ctx, "modified_since")

    def keep(task: Obj) -> bool:
        if completed_since is not None and task["completed"]:
            if completed_since == "now":
                return False
            assert isinstance(completed_since, datetime)
            if task["completed_at"] is None or parse_dt(task["completed_at"]) < completed_since:
                return False
        return not (modified_since is not None and parse_dt(task["modified_at"]) < modified_since)

    return keep


def _task_page(api: Api, ctx: Ctx, key: tuple[Any, ...], source: Callable[[], Iterable[str]]) -> Result:
    keep = _task_filter(ctx)
    tasks = api.state.objects["task"]
    cache_key = (*key, ctx.query.get("completed_since"), ctx.query.get("modified_since"))

    def build() -> list[str]:
        with api.state.lock:
            return [g for g in sorted_gids(source()) if g in tasks and keep(tasks[g])]

    return api.page("task", api.cached(cache_key, build), ctx)


def get_tasks(api: Api, ctx: Ctx) -> Result:
    project, section, tag = param(ctx, "project"), param(ctx, "section"), param(ctx, "tag")
    assignee, ws = param(ctx, "assignee"), param(ctx, "workspace")
    given = [x for x in (project, section, tag) if x] + ([assignee] if assignee or ws else [])
    if len(given) != 1 or (bool(assignee) != bool(ws)):
        raise bad_request(
            "Must specify exactly one of project, tag, section, user task list, or assignee + workspace"
        )
    st = api.state
    if project:
        st.get("project", project)
        return _task_page(api, ctx, ("p", project), lambda: st.tasks_by_project.get(project, {}))
    if section:
        st.get("section", section)
        return _task_page(api, ctx, ("s", section), lambda: st.tasks_by_section.get(section, {}))
    if tag:
        st.get("tag", tag)
        return _task_page(api, ctx, ("t", tag), lambda: st.tasks_by_tag.get(tag, {}))
    assert assignee is not None and ws is not None
    ws_of(api, ws)
    user = st.resolve_user(assignee, ctx.user)
    return _task_page(api, ctx, ("a", user, ws), lambda: st.tasks_by_assignee.get(user, {}))


def get_tasks_for_project(api: Api, ctx: Ctx, project_gid: str) -> Result:
    api.state.get("project", project_gid)
    # The spec has no modified_since here; like the real API, unknown parameters are ignored.
    if "modified_since" in ctx.query:
        ctx.query = type(ctx.query)([(k, v) for k, v in ctx.query.multi_items() if k != "modified_since"])
    return _task_page(api, ctx, ("p", project_gid), lambda: api.state.tasks_by_project.get(project_gid, {}))


def get_tasks_for_section(api: Api, ctx: Ctx, section_gid: str) -> Result:
    api.state.get("section", section_gid)
    return _task_page(api, ctx, ("s", section_gid), lambda: api.state.tasks_by_section.get(section_gid, {}))


def get_tasks_for_tag(api: Api, ctx: Ctx, tag_gid: str) -> Result:
    api.state.get("tag", tag_gid)
    return _task_page(api, ctx, ("t", tag_gid), lambda: api.state.tasks_by_tag.get(tag_gid, {}))


def get_task(api: Api, ctx: Ctx, task_gid: str) -> Result:
    return api.one("task", api.state.get("task", task_gid), ctx)


def create_task(api: Api, ctx: Ctx) -> Result:
    task = api.state.create_task(body_of(ctx), by=ctx.user)
    return api.one("task", task, ctx, status=201)


def update_task(api: Api, ctx: Ctx, task_gid: str) -> Result:
    task = api.state.update_task(task_gid, body_of(ctx), by=ctx.user)
    return api.one("task", task, ctx)


def delete_task(api: Api, ctx: Ctx, task_gid: str) -> Result:
    api.state.delete_task(task_gid, by=ctx.user)
    return 200, {"data": {}}


def get_subtasks(api: Api, ctx: Ctx, task_gid: str) -> Result:
    api.state.get("task", task_gid)
    return api.page("task", sorted_gids(api.state.subtasks.get(task_gid, {})), ctx)


def create_subtask(api: Api, ctx: Ctx, task_gid: str) -> Result:
    api.state.get("task", task_gid)
    task = api.state.create_task(body_of(ctx), by=ctx.user, parent=task_gid)
    return api.one("task", task, ctx, status=201)


def add_project_for_task(api: Api, ctx: Ctx, task_gid: str) -> Result:
    body = body_of(ctx)
    if not body.get("project"):
        raise bad_request("project: Missing input")
    api.state.add_to_project(task_gid, str(body["project"]), body.get("section"), ctx.user)
    return 200, {"data": {}}


_SORTS = {
    "modified_at": "modified_at",
    "created_at": "created_at",
    "completed_at": "completed_at",
    "due_date": "due_on",
    "likes": "created_at",
    "relevance": "modified_at",
}


def search_tasks(api: Api, ctx: Ctx, workspace_gid: str) -> Result:
    """GET /workspaces/{gid}/tasks/search: the filters the product uses; one page, no next_page."""
    premium(api, "Search")
    ws_of(api, workspace_gid)
    q = ctx.query
    tasks = api.state.objects["task"]
    conds: list[Callable[[Obj], bool]] = []

    def any_of(name: str, getter: Callable[[Obj], Iterable[str]], negate: bool = False) -> None:
        raw = param(ctx, name)
        if raw:
            wanted = {x.strip() for x in raw.split(",") if x.strip()}
            if negate:
                conds.append(lambda t: not (set(getter(t)) & wanted))
            else:
                conds.append(lambda t: bool(set(getter(t)) & wanted))

    any_of("projects.any", lambda t: t["projects"])
    any_of("projects.not", lambda t: t["projects"], negate=True)
    any_of("sections.any", lambda t: [m["section"] for m in t["memberships"] if m.get("section")])
    any_of("tags.any", lambda t: t["tags"])
    any_of("assignee.any", lambda t: [t["assignee"]] if t["assignee"] else [])
    any_of("assignee.not", lambda t: [t["assignee"]] if t["assignee"] else [], negate=True)
    any_of(
        "portfolios.any",
        lambda t: [
            pf for pf, o in api.state.objects["portfolio"].items() if set(o["items"]) & set(t["projects"])
        ],
    )
    if all(p in q for p in ("projects.all",)):
        wanted_all = set(str(q["projects.all"]).split(","))
        conds.append(lambda t: wanted_all <= set(t["projects"]))
    for fld in ("modified_at", "created_at", "completed_at", "due_at", "start_at"):
        for op in ("after", "before"):
            bound = dt_param(ctx, f"{fld}.{op}")
            if bound is None:
                continue
            src = fld

            def cmp(t: Obj, b: datetime = bound, s: str = src, o: str = op) -> bool:
                v = t.get(s)
                if not v:
                    return False
                dt = parse_dt(v)
                return dt > b if o == "after" else dt < b

            conds.append(cmp)
    for fld in ("due_on", "start_on", "created_on", "completed_on", "modified_on"):
        for op in ("after", "before"):
            d = date_param(ctx, f"{fld}.{op}")
            if d is None:
                continue
            src = {
                "created_on": "created_at",
                "completed_on": "completed_at",
                "modified_on": "modified_at",
            }.get(fld, fld)

            def dcmp(t: Obj, b: str = d, s: str = src, o: str = op) -> bool:
                v = t.get(s)
                if not v:
                    return False
                return v[:10] > b if o == "after" else v[:10] < b

            conds.append(dcmp)
    completed = bool_param(ctx, "completed")
    if completed is not None:
        conds.append(lambda t: t["completed"] == completed)
    is_subtask = bool_param(ctx, "is_subtask")
    if is_subtask is not None:
        conds.append(lambda t: (t["parent"] is not None) == is_subtask)
    text = param(ctx, "text")
    if text:
        needle = text.lower()
        conds.append(lambda t: needle in t["name"].lower() or needle in t["notes"].lower())
    for key in q:
        if key.startswith("custom_fields.") and key.endswith(".is_set"):
            fgid = key.split(".")[1]
            want = bool_param(ctx, key)

            def is_set(t: Obj, f: str = fgid, w: bool | None = want) -> bool:
                return (t["custom_field_values"].get(f) is not None) == w

            conds.append(is_set)
    sort_key = _SORTS.get(param(ctx, "sort_by") or "modified_at")
    if sort_key is None:
        raise bad_request("sort_by: Invalid value")
    ascending = bool(bool_param(ctx, "sort_ascending"))
    with api.state.lock:
        found = [t for t in tasks.values() if t["workspace"] == workspace_gid and all(c(t) for c in conds)]
    found.sort(key=lambda t: (t.get(sort_key) or "", int(t["gid"])), reverse=not ascending)
    limit = ctx.limit or 100
    ctx.limit = None  # search has no next_page (see API_NOTES §4)
    return api.page("task", [t["gid"] for t in found[:limit]], ctx, paginate=False)


# ---------------------------------------------------------------------------------------------------
# custom fields


def create_custom_field(api: Api, ctx: Ctx) -> Result:
    premium(api, "Custom fields")
    field = api.state.create_custom_field(body_of(ctx), by=ctx.user)
    return api.one("custom_field", field, ctx, status=201)


def get_custom_field(api: Api, ctx: Ctx, custom_field_gid: str) -> Result:
    return api.one("custom_field", api.state.get("custom_field", custom_field_gid), ctx)


def get_custom_fields_for_workspace(api: Api, ctx: Ctx, workspace_gid: str) -> Result:
    premium(api, "Custom fields")
    ws_of(api, workspace_gid)
    fields = api.state.objects["custom_field"]
    return api.page(
        "custom_field", [g for g in sorted_gids(fields) if fields[g]["workspace"] == workspace_gid], ctx
    )


def create_enum_option(api: Api, ctx: Ctx, custom_field_gid: str) -> Result:
    body = body_of(ctx)
    st = api.state
    with st.lock:
        field = st.get("custom_field", custom_field_gid)
        if field["resource_subtype"] != "enum":
            raise bad_request("custom_field: Not an enum custom field")
        if not body.get("name"):
            raise bad_request("name: Missing input")
        opt = {
            "gid": st.new_gid(),
            "resource_type": "enum_option",
            "name": str(body["name"]),
            "enabled": bool(body.get("enabled", True)),
            "color": str(body.get("color", "none")),
        }
        field.setdefault("enum_options", []).append(opt)
        st.save("custom_field", field)
    return 201, {"data": opt}


# (method, path, handler, blocking: run in a worker thread because it does network I/O)
ROUTES: list[tuple[str, str, Callable[..., Result], bool]] = [
    ("GET", "/workspaces", get_workspaces, False),
    ("GET", "/workspaces/{workspace_gid}", get_workspace, False),
    ("GET", "/workspaces/{workspace_gid}/users", get_users_for_workspace, False),
    ("GET", "/workspaces/{workspace_gid}/projects", get_projects_for_workspace, False),
    ("GET", "/workspaces/{workspace_gid}/tags", get_tags_for_workspace, False),
    ("GET", "/workspaces/{workspace_gid}/custom_fields", get_custom_fields_for_workspace, False),
    ("GET", "/workspaces/{workspace_gid}/tasks/search", search_tasks, False),
    ("GET", "/users", get_users, False),
    ("GET", "/users/{user_gid}", get_user, False),
    ("GET", "/projects", get_projects, False),
    ("POST", "/projects", create_project, False),
    ("GET", "/projects/{project_gid}", get_project, False),
    ("POST", "/projects/{project_gid}/sections", create_section, False),
    ("GET", "/projects/{project_gid}/tasks", get_tasks_for_project, False),
    ("GET", "/projects/{project_gid}/sections", get_sections_for_project, False),
    ("GET", "/projects/{project_gid}/custom_field_settings", get_custom_field_settings_for_project, False),
    ("POST", "/projects/{project_gid}/addCustomFieldSetting", add_custom_field_setting, False),
    ("GET", "/portfolios", get_portfolios, False),
    ("GET", "/portfolios/{portfolio_gid}", get_portfolio, False),
    ("GET", "/portfolios/{portfolio_gid}/items", get_items_for_portfolio, False),
    (
        "GET",
        "/portfolios/{portfolio_gid}/custom_field_settings",
        get_custom_field_settings_for_portfolio,
        False,
    ),
    ("GET", "/sections/{section_gid}", get_section, False),
    ("GET", "/sections/{section_gid}/tasks", get_tasks_for_section, False),
    ("GET", "/tags", get_tags, False),
    ("GET", "/tags/{tag_gid}", get_tag, False),
    ("GET", "/tags/{tag_gid}/tasks", get_tasks_for_tag, False),
    ("GET", "/tasks", get_tasks, False),
    ("POST", "/tasks", create_task, False),
    ("GET", "/tasks/{task_gid}", get_task, False),
    ("PUT", "/tasks/{task_gid}", update_task, False),
    ("DELETE", "/tasks/{task_gid}", delete_task, False),
    ("GET", "/tasks/{task_gid}/subtasks", get_subtasks, False),
    ("POST", "/tasks/{task_gid}/subtasks", create_subtask, False),
    ("POST", "/tasks/{task_gid}/addProject", add_project_for_task, False),
    ("GET", "/tasks/{task_gid}/tags", get_tags_for_task, False),
    ("POST", "/custom_fields", create_custom_field, False),
    ("GET", "/custom_fields/{custom_field_gid}", get_custom_field, False),
    ("POST", "/custom_fields/{custom_field_gid}/enum_options", create_enum_option, False),
]
