"""Pagination: limit boundaries, next_page shape, bad limits and offsets, stability under inserts."""

from __future__ import annotations

from typing import Any

import asana
import httpx
import pytest
from asana.rest import ApiException

from sandbox import Sandbox
from tests.fixtures.sandbox import SpecChecker, validating_client


def _project_with(sb: Sandbox, n: int) -> str:
    project = sb.state.create_project({"workspace": sb.workspace_gid, "name": f"Paging {n}"})
    for i in range(n):
        sb.state.create_task({"name": f"t{i}", "projects": [project["gid"]]})
    return str(project["gid"])


@pytest.mark.parametrize(("n", "pages"), [(100, 1), (101, 2), (0, 1)])
def test_limit_100_boundaries(sandbox: Sandbox, asana_spec: SpecChecker, n: int, pages: int) -> None:
    project = _project_with(sandbox, n)
    client = validating_client(sandbox, asana_spec)
    sandbox.reset_log()
    items = list(asana.TasksApi(client).get_tasks_for_project(project, {}))
    assert len(items) == n
    assert len({t["gid"] for t in items}) == n
    assert len(sandbox.requests) == pages  # the SDK stops exactly when next_page is null


def test_next_page_shape_and_limit_1(sandbox: Sandbox) -> None:
    project = _project_with(sandbox, 3)
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    url = f"{sandbox.base_url}/projects/{project}/tasks"
    first = httpx.get(url, params={"limit": 1, "opt_fields": "name"}, headers=auth).json()
    assert len(first["data"]) == 1 and set(first["next_page"]) == {"offset", "path", "uri"}
    nxt = first["next_page"]
    assert nxt["path"].startswith(f"/projects/{project}/tasks?") and "offset=" in nxt["path"]
    assert nxt["uri"] == sandbox.base_url + nxt["path"]
    seen = [first["data"][0]["name"]]
    while nxt:
        page = httpx.get(nxt["uri"], headers=auth).json()
        seen += [t["name"] for t in page["data"]]
        nxt = page["next_page"]
    assert seen == ["t0", "t1", "t2"]
    client = sandbox.asana_client()
    assert [t["name"] for t in asana.TasksApi(client).get_tasks_for_project(project, {"limit": 1})] == seen
    no_limit = httpx.get(url, headers=auth).json()
    assert "next_page" not in no_limit and len(no_limit["data"]) == 3


@pytest.mark.parametrize("limit", ["0", "101", "-1", "x"])
def test_bad_limit_is_400(sandbox_module: Sandbox, limit: str) -> None:
    r = httpx.get(
        f"{sandbox_module.base_url}/workspaces",
        params={"limit": limit},
        headers={"Authorization": f"Bearer {sandbox_module.token}"},
    )
    assert r.status_code == 400
    assert "limit" in r.json()["errors"][0]["message"]


def test_bad_offset_is_400(sandbox_module: Sandbox) -> None:
    client = sandbox_module.asana_client()
    with pytest.raises(ApiException) as err:
        list(
            asana.UsersApi(client).get_users(
                {"workspace": sandbox_module.workspace_gid, "offset": "garbage!"}
            )
        )
    assert err.value.status == 400


def test_paging_is_stable_when_tasks_are_added(sandbox: Sandbox) -> None:
    project = _project_with(sandbox, 5)
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    page1 = httpx.get(
        f"{sandbox.base_url}/projects/{project}/tasks", params={"limit": 2}, headers=auth
    ).json()
    sandbox.state.create_task({"name": "late", "projects": [project]})
    rest: list[Any] = []
    nxt = page1["next_page"]
    while nxt:
        page = httpx.get(nxt["uri"], headers=auth).json()
        rest += page["data"]
        nxt = page["next_page"]
    names = [t["name"] for t in page1["data"] + rest]
    assert names == ["t0", "t1", "t2", "t3", "t4", "late"]  # nothing skipped or repeated


def test_workspace_entries_page_through_everything(sandbox: Sandbox) -> None:
    client = sandbox.asana_client()
    sandbox.reset_log()
    entries = list(
        asana.TimeTrackingEntriesApi(client).get_time_tracking_entries(
            {"workspace": sandbox.workspace_gid, "entered_on_start_date": "2000-01-01"}
        )
    )
    total = len(sandbox.state.objects["time_tracking_entry"])
    assert len(entries) == total and len({e["gid"] for e in entries}) == total
    assert len(sandbox.requests) == max(1, -(-total // 100))  # the minimum page count
