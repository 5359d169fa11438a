"""The real asana SDK against the sandbox, every endpoint group; every response checked against the spec."""

from __future__ import annotations

import json
from typing import Any

import asana
import httpx
import pytest
from asana.rest import ApiException

from sandbox import Sandbox
from tests.fixtures.sandbox import SpecChecker, validating_client


@pytest.fixture(scope="module")
def sb() -> Any:
    with Sandbox.start(seed=3, tasks=150) as s:
        yield s


@pytest.fixture
def client(sb: Sandbox, asana_spec: SpecChecker) -> Any:
    return validating_client(sb, asana_spec)


def _task_with_entries(sb: Sandbox) -> str:
    return next(t for t, e in sb.state.entries_by_task.items() if len(e) >= 3 and t not in sb.truth.anomalies)


def test_users_and_workspaces(sb: Sandbox, client: Any, asana_spec: SpecChecker) -> None:
    users = asana.UsersApi(client)
    me = users.get_user("me", {"opt_fields": "name,email,workspaces.name"})
    assert me["gid"] == sb.me_gid and me["email"].endswith("@northwind.example")
    assert me["workspaces"] == [
        {"gid": sb.workspace_gid, "resource_type": "workspace", "name": "Northwind Studio"}
    ]
    assert users.get_user(me["email"], {})["gid"] == me["gid"]  # email works as a user reference
    workspaces = list(asana.WorkspacesApi(client).get_workspaces({}))
    assert [w["gid"] for w in workspaces] == [sb.workspace_gid]
    full = asana.WorkspacesApi(client).get_workspace(sb.workspace_gid, {})
    assert full["is_organization"] is True
    listed = list(users.get_users({"workspace": sb.workspace_gid}))
    assert len(listed) == len(sb.truth.person_names)
    assert set(listed[0]) == {"gid", "resource_type", "name"}  # compact by default
    by_ws = list(users.get_users_for_workspace(sb.workspace_gid, {}))
    assert sorted(u["name"] for u in by_ws) == [u["name"] for u in by_ws]
    assert asana_spec.checked > 0


def test_projects_portfolios_sections_tags(sb: Sandbox, client: Any) -> None:
    projects_api = asana.ProjectsApi(client)
    projects = list(projects_api.get_projects({"workspace": sb.workspace_gid}))
    assert {p["gid"] for p in projects} == {*sb.truth.project_types, sb.truth.retro_project}
    p = projects_api.get_project(projects[0]["gid"], {})
    assert p["owner"]["gid"] in sb.truth.leads and p["permalink_url"].startswith("https://")
    assert p["start_on"] and p["due_on"]
    settings = list(
        asana.CustomFieldSettingsApi(client).get_custom_field_settings_for_project(
            p["gid"],
            {
                "opt_fields": "custom_field.name,custom_field.resource_subtype,custom_field.precision,"
                "custom_field.enum_options.name,is_important"
            },
        )
    )
    names = {s["custom_field"]["name"] for s in settings}
    assert names == {"Estimated Hours", "Actual Hours", "Priority"}
    est = next(s for s in settings if s["custom_field"]["name"] == "Estimated Hours")
    assert est["custom_field"]["precision"] == 1
    portfolios = list(asana.PortfoliosApi(client).get_portfolios(sb.workspace_gid, {}))
    assert len(portfolios) == 2
    items = [
        i for pf in portfolios for i in asana.PortfoliosApi(client).get_items_for_portfolio(pf["gid"], {})
    ]
    assert {i["gid"] for i in items} == set(sb.truth.project_types)
    pf_full = asana.PortfoliosApi(client).get_portfolio(
        portfolios[0]["gid"], {"opt_fields": "custom_field_settings.custom_field.name,owner.name"}
    )
    assert {s["custom_field"]["name"] for s in pf_full["custom_field_settings"]} == {
        "Project Type",
        "Client",
        "Hourly Rate",
    }
    pfull = projects_api.get_project(
        p["gid"],
        {"opt_fields": "custom_fields.name,custom_fields.display_value,custom_fields.enum_value.name"},
    )
    ptype = next(c for c in pfull["custom_fields"] if c["name"] == "Project Type")
    assert ptype["enum_value"]["name"].lower() == sb.truth.project_types[p["gid"]]
    sections = list(asana.SectionsApi(client).get_sections_for_project(p["gid"], {}))
    assert len(sections) >= 4
    assert asana.SectionsApi(client).get_section(sections[0]["gid"], {})["project"]["gid"] == p["gid"]
    in_section = list(
        asana.TasksApi(client).get_tasks_for_section(
            sections[0]["gid"], {"opt_fields": "memberships.section"}
        )
    )
    assert all(any(m["section"]["gid"] == sections[0]["gid"] for m in t["memberships"]) for t in in_section)
    tags = list(asana.TagsApi(client).get_tags_for_workspace(sb.workspace_gid, {}))
    assert "bug" in {t["name"] for t in tags}
    bug = next(t for t in tags if t["name"] == "bug")
    tagged = list(asana.TasksApi(client).get_tasks_for_tag(bug["gid"], {"opt_fields": "tags.name"}))
    assert tagged and all("bug" in {x["name"] for x in t["tags"]} for t in tagged)
    assert list(asana.TagsApi(client).get_tags({"workspace": sb.workspace_gid}))
    assert asana.TagsApi(client).get_tag(bug["gid"], {})["name"] == "bug"


def test_task_reads_and_filters(sb: Sandbox, client: Any) -> None:
    tasks_api = asana.TasksApi(client)
    project = next(iter(sb.truth.project_types))
    listed = list(
        tasks_api.get_tasks_for_project(
            project,
            {
                "opt_fields": "name,completed,assignee.name,modified_at,actual_time_minutes,custom_fields.name,custom_fields.number_value,custom_fields.display_value"
            },
        )
    )
    assert len(listed) == len(sb.state.tasks_by_project[project])
    t = next(x for x in listed if x["actual_time_minutes"])
    assert t["actual_time_minutes"] == sum(
        e["duration_minutes"]
        for e in sb.state.objects["time_tracking_entry"].values()
        if e["task"] == t["gid"]
    )
    full = tasks_api.get_task(t["gid"], {})
    for key in (
        "name",
        "notes",
        "completed",
        "assignee",
        "created_at",
        "modified_at",
        "memberships",
        "projects",
        "custom_fields",
        "actual_time_minutes",
        "permalink_url",
        "workspace",
        "num_subtasks",
    ):
        assert key in full
    assert {c["name"] for c in full["custom_fields"]} >= {"Estimated Hours", "Actual Hours", "Priority"}
    # compact by default, exactly the requested fields with opt_fields
    compact = list(tasks_api.get_tasks({"project": project}))
    assert set(compact[0]) == {"gid", "resource_type", "name", "resource_subtype"}
    only = tasks_api.get_task(t["gid"], {"opt_fields": "assignee"})
    assert set(only) == {"gid", "resource_type", "assignee"} and set(only["assignee"]) == {
        "gid",
        "resource_type",
    }
    # modified_since / completed_since
    mods = sorted(sb.state.objects["task"][x["gid"]]["modified_at"] for x in listed)
    since = mods[len(mods) // 2]
    recent = list(tasks_api.get_tasks({"project": project, "modified_since": since}))
    assert len(recent) == sum(1 for m in mods if m >= since) and 0 < len(recent) < len(listed)
    open_only = list(
        tasks_api.get_tasks_for_project(project, {"completed_since": "now", "opt_fields": "completed"})
    )
    assert open_only and not any(x["completed"] for x in open_only)
    user = sb.state.objects["task"][t["gid"]]["assignee"]
    mine = list(
        tasks_api.get_tasks({"assignee": user, "workspace": sb.workspace_gid, "opt_fields": "assignee"})
    )
    assert mine and all(x["assignee"]["gid"] == user for x in mine)
    with pytest.raises(ApiException) as err:
        list(tasks_api.get_tasks({"assignee": user}))
    assert err.value.status == 400
    assert json.loads(err.value.body)["errors"][0]["message"]


def test_search(sb: Sandbox, client: Any) -> None:
    tasks_api = asana.TasksApi(client)
    project = next(iter(sb.truth.project_types))
    found = list(
        tasks_api.search_tasks_for_workspace(
            sb.workspace_gid,
            {
                "projects.any": project,
                "sort_by": "modified_at",
                "sort_ascending": True,
                "opt_fields": "modified_at,projects",
            },
        )
    )
    assert found and all(project in {p["gid"] for p in t["projects"]} for t in found)
    stamps = [t["modified_at"] for t in found]
    assert stamps == sorted(stamps)
    after = stamps[len(stamps) // 2]
    newer = list(
        tasks_api.search_tasks_for_workspace(
            sb.workspace_gid,
            {"projects.any": project, "modified_at.after": after, "opt_fields": "modified_at"},
        )
    )
    assert newer and all(t["modified_at"] > after for t in newer)
    assert len(found) <= 100


def test_time_tracking_entries(sb: Sandbox, client: Any) -> None:
    api = asana.TimeTrackingEntriesApi(client)
    task_gid = _task_with_entries(sb)
    entries = list(api.get_time_tracking_entries_for_task(task_gid, {}))
    assert len(entries) == len(sb.state.entries_by_task[task_gid])
    assert set(entries[0]) == {
        "gid",
        "resource_type",
        "duration_minutes",
        "entered_on",
        "attributable_to",
        "created_by",
        "categories",
    }
    one = api.get_time_tracking_entry(entries[0]["gid"], {})
    assert one["task"]["gid"] == task_gid and one["billable_status"] in (
        "billable",
        "nonBillable",
        "notApplicable",
    )
    user = entries[0]["created_by"]["gid"]
    by_user = list(
        api.get_time_tracking_entries(
            {"user": user, "entered_on_start_date": "2026-01-01", "entered_on_end_date": "2026-06-30"}
        )
    )
    expected = [
        e
        for e in sb.state.objects["time_tracking_entry"].values()
        if e["created_by"] == user and "2026-01-01" <= e["entered_on"] <= "2026-06-30"
    ]
    assert len(by_user) == len(expected)
    project = entries[0]["attributable_to"]["gid"]
    by_project = list(api.get_time_tracking_entries({"attributable_to": project}))
    assert len(by_project) == sum(
        1 for e in sb.state.objects["time_tracking_entry"].values() if e["attributable_to"] == project
    )
    ws = list(
        api.get_time_tracking_entries(
            {
                "workspace": sb.workspace_gid,
                "entered_on_start_date": "2026-11-01",
                "entered_on_end_date": "2026-11-30",
            }
        )
    )
    assert ws and all("2026-11-01" <= e["entered_on"] <= "2026-11-30" for e in ws)
    with pytest.raises(ApiException) as err:  # workspace needs a date
        list(api.get_time_tracking_entries({"workspace": sb.workspace_gid}))
    assert err.value.status == 400
    pf = next(iter(sb.state.objects["portfolio"]))
    assert list(api.get_time_tracking_entries({"portfolio": pf, "entered_on_start_date": "2026-11-01"}))


def test_entry_writes_and_actual_time(sandbox: Sandbox, asana_spec: SpecChecker) -> None:
    client = validating_client(sandbox, asana_spec)
    api = asana.TimeTrackingEntriesApi(client)
    tasks_api = asana.TasksApi(client)
    task_gid = _task_with_entries(sandbox)
    before = tasks_api.get_task(task_gid, {"opt_fields": "actual_time_minutes"})["actual_time_minutes"]
    new = api.create_time_tracking_entry(
        {
            "data": {
                "duration_minutes": 45,
                "entered_on": "2026-11-20",
                "billable_status": "billable",
                "description": "review",
            }
        },
        task_gid,
        {},
    )
    assert (
        new["duration_minutes"] == 45
        and new["task"]["gid"] == task_gid
        and new["billable_status"] == "billable"
    )
    assert (
        tasks_api.get_task(task_gid, {"opt_fields": "actual_time_minutes"})["actual_time_minutes"]
        == before + 45
    )
    upd = api.update_time_tracking_entry({"data": {"duration_minutes": 60}}, new["gid"], {})
    assert upd["duration_minutes"] == 60
    assert api.delete_time_tracking_entry(new["gid"]) == {}
    assert (
        tasks_api.get_task(task_gid, {"opt_fields": "actual_time_minutes"})["actual_time_minutes"] == before
    )
    with pytest.raises(ApiException) as err:
        api.get_time_tracking_entry(new["gid"], {})
    assert err.value.status == 404
    with pytest.raises(ApiException) as err:
        api.create_time_tracking_entry({"data": {"duration_minutes": 0}}, task_gid, {})
    assert err.value.status == 400


def test_task_writes_custom_fields_and_stories(sandbox: Sandbox, asana_spec: SpecChecker) -> None:
    client = validating_client(sandbox, asana_spec)
    tasks_api = asana.TasksApi(client)
    project = next(iter(sandbox.truth.project_types))
    est, prio = sandbox.field_gid("Estimated Hours"), sandbox.field_gid("Priority")
    created = tasks_api.create_task(
        {"data": {"name": "New task", "projects": [project], "notes": "n", "custom_fields": {est: 4}}}, {}
    )
    gid = created["gid"]
    assert created["projects"][0]["gid"] == project
    tasks_api.update_task({"data": {"custom_fields": {est: 12}}}, gid, {})
    stories_api = asana.StoriesApi(client)
    changes = [
        s
        for s in stories_api.get_stories_for_task(gid, {})
        if s["resource_subtype"] == "number_custom_field_changed"
    ]
    assert len(changes) == 1 and '"4" to "12"' in changes[0]["text"]
    full_story = stories_api.get_story(
        changes[0]["gid"], {"opt_fields": "old_number_value,new_number_value,custom_field.name"}
    )
    assert (full_story["old_number_value"], full_story["new_number_value"]) == (4, 12)
    assert full_story["custom_field"]["name"] == "Estimated Hours"
    updated = tasks_api.update_task(
        {"data": {"custom_fields": {est: 12.5}}},
        gid,
        {"opt_fields": "custom_fields.display_value,custom_fields.number_value,custom_fields.name"},
    )
    est_value = next(c for c in updated["custom_fields"] if c["gid"] == est)
    assert est_value["number_value"] == 12.5 and est_value["display_value"] == "12.5"
    high = sandbox.truth.enum_options["Priority"]["High"]
    tasks_api.update_task({"data": {"custom_fields": {prio: high}}}, gid, {})
    assert sandbox.state.objects["task"][gid]["custom_field_values"][prio] == high
    for bad in ({est: "twelve"}, {prio: "123"}, {prio: "High"}, {"999": 1}):
        with pytest.raises(ApiException) as err:
            tasks_api.update_task({"data": {"custom_fields": bad}}, gid, {})
        assert err.value.status == 400, bad
    assert sandbox.state.objects["task"][gid]["custom_field_values"][est] == 12.5  # untouched by the 400s
    comment = stories_api.create_story_for_task(
        {"data": {"html_text": "<body>Logged <strong>45 min</strong></body>"}}, gid, {}
    )
    assert comment["resource_subtype"] == "comment_added" and comment["text"] == "Logged 45 min"
    stories = list(
        stories_api.get_stories_for_task(gid, {"opt_fields": "resource_subtype,text,created_by.name"})
    )
    changes = [s for s in stories if s["resource_subtype"] == "number_custom_field_changed"]
    assert len(changes) == 2 and '"12" to "12.5"' in changes[1]["text"]
    assert any(s["resource_subtype"] == "comment_added" for s in stories)
    assert stories_api.delete_story(comment["gid"]) == {}
    with pytest.raises(ApiException) as err:  # system stories cannot be deleted
        stories_api.delete_story(changes[0]["gid"])
    assert err.value.status == 403
    sub = tasks_api.create_subtask_for_task(
        {"data": {"name": "Review time log", "assignee": sandbox.me_gid}}, gid, {}
    )
    subs = list(tasks_api.get_subtasks_for_task(gid, {}))
    assert [s["gid"] for s in subs] == [sub["gid"]]
    assert tasks_api.get_task(gid, {"opt_fields": "num_subtasks"})["num_subtasks"] == 1
    assert tasks_api.delete_task(gid) == {}
    with pytest.raises(ApiException) as err:
        tasks_api.get_task(gid, {})
    assert err.value.status == 404
    assert sub["gid"] not in sandbox.state.objects["task"]


def test_custom_field_create_and_attach(sandbox: Sandbox, asana_spec: SpecChecker) -> None:
    client = validating_client(sandbox, asana_spec)
    cf_api = asana.CustomFieldsApi(client)
    field = cf_api.create_custom_field(
        {
            "data": {
                "workspace": sandbox.workspace_gid,
                "name": "AI Estimated Hours",
                "resource_subtype": "number",
                "precision": 1,
                "format": "custom",
                "custom_label": "h",
                "custom_label_position": "suffix",
            }
        },
        {},
    )
    assert field["precision"] == 1 and field["resource_subtype"] == "number"
    flag = cf_api.create_custom_field(
        {
            "data": {
                "workspace": sandbox.workspace_gid,
                "name": "AI Review Flag",
                "resource_subtype": "enum",
                "enum_options": [{"name": "Review"}, {"name": "OK"}],
            }
        },
        {},
    )
    assert [o["name"] for o in flag["enum_options"]] == ["Review", "OK"]
    with pytest.raises(ApiException) as err:  # names are unique per workspace
        cf_api.create_custom_field(
            {
                "data": {
                    "workspace": sandbox.workspace_gid,
                    "name": "AI Review Flag",
                    "resource_subtype": "text",
                }
            },
            {},
        )
    assert err.value.status == 400
    assert cf_api.get_custom_field(field["gid"], {})["name"] == "AI Estimated Hours"
    names = {f["name"] for f in cf_api.get_custom_fields_for_workspace(sandbox.workspace_gid, {})}
    assert {"AI Estimated Hours", "Estimated Hours", "Hourly Rate"} <= names
    project = next(iter(sandbox.truth.project_types))
    task = next(iter(sandbox.state.tasks_by_project[project]))
    with pytest.raises(ApiException) as err:  # not on the project yet
        asana.TasksApi(client).update_task({"data": {"custom_fields": {field["gid"]: 3.0}}}, task, {})
    assert err.value.status == 400
    asana.ProjectsApi(client).add_custom_field_setting_for_project(
        {"data": {"custom_field": field["gid"], "is_important": True}}, project, {}
    )
    done = asana.TasksApi(client).update_task(
        {"data": {"custom_fields": {field["gid"]: 3.0}}}, task, {"opt_fields": "custom_fields.number_value"}
    )
    assert any(c["gid"] == field["gid"] and c["number_value"] == 3.0 for c in done["custom_fields"])


def test_attachments_and_csv_download(sb: Sandbox, client: Any) -> None:
    att_gid = sb.truth.timesheet_attachments[0]
    parent = sb.state.objects["attachment"][att_gid]["parent"]
    listed = list(asana.AttachmentsApi(client).get_attachments_for_object(parent, {}))
    assert att_gid in {a["gid"] for a in listed}
    full = asana.AttachmentsApi(client).get_attachment(att_gid, {})
    assert full["name"].endswith(".csv") and full["download_url"].startswith(
        sb.base_url.rsplit("/api/1.0", 1)[0]
    )
    body = httpx.get(full["download_url"]).text
    header, *rows = body.strip().splitlines()
    assert header.startswith("date,person,project,task,hours") and len(rows) >= 5
    assert full["size"] == len(body.encode())


def test_errors_status_codes_and_envelopes(sb: Sandbox, asana_spec: SpecChecker) -> None:
    base, auth = sb.base_url, {"Authorization": f"Bearer {sb.token}"}
    r = httpx.get(f"{base}/users/me")
    assert r.status_code == 401 and r.json()["errors"][0]["message"]
    r = httpx.get(f"{base}/tasks/1", headers=auth)
    assert r.status_code == 404 and "errors" in r.json()
    asana_spec.check("GET", f"{base}/tasks/1", 404, r.content)
    r = httpx.get(f"{base}/no/such/route", headers=auth)
    assert r.status_code == 404
    r = httpx.post(f"{base}/tasks", headers=auth, content=b"{not json")
    assert r.status_code == 400
    r = httpx.post(f"{base}/tasks", headers=auth, json={"name": "no envelope"})
    assert r.status_code == 400 and r.json()["errors"][0]["message"] == "data: Missing input"
    ro = validating_client(sb, asana_spec, readonly=True)
    project = next(iter(sb.truth.project_types))
    assert list(asana.TasksApi(ro).get_tasks_for_project(project, {}))  # reads work
    with pytest.raises(ApiException) as err:
        asana.TasksApi(ro).create_task({"data": {"name": "x", "projects": [project]}}, {})
    assert err.value.status == 403
    r = httpx.get(f"{base}/workspaces", headers=auth, params={"opt_pretty": ""})
    assert r.status_code == 200 and "\n" in r.text


def test_free_tier_gets_402(sandbox_factory: Any) -> None:
    sb = sandbox_factory(premium=False, tasks=20)
    client = sb.asana_client()
    with pytest.raises(ApiException) as err:
        list(asana.TasksApi(client).search_tasks_for_workspace(sb.workspace_gid, {"text": "x"}))
    assert err.value.status == 402
    assert list(asana.ProjectsApi(client).get_projects({"workspace": sb.workspace_gid}))


def test_create_project_and_section(sandbox: Sandbox, asana_spec: SpecChecker) -> None:
    client = validating_client(sandbox, asana_spec)
    project = asana.ProjectsApi(client).create_project(
        {"data": {"workspace": sandbox.workspace_gid, "name": "Retro Insights"}}, {}
    )
    assert project["name"] == "Retro Insights" and project["owner"]["gid"] == sandbox.me_gid
    section = asana.SectionsApi(client).create_section_for_project(
        project["gid"], {"body": {"data": {"name": "2026-11"}}}
    )
    assert section["project"]["gid"] == project["gid"]
    names = [s["name"] for s in asana.SectionsApi(client).get_sections_for_project(project["gid"], {})]
    assert names == ["Untitled section", "2026-11"]
    task = asana.TasksApi(client).create_task(
        {"data": {"name": "Retro", "memberships": [{"project": project["gid"], "section": section["gid"]}]}},
        {},
    )
    assert task["memberships"][0]["section"]["gid"] == section["gid"]


def test_spec_checker_rejects_a_bad_record(sb: Sandbox, asana_spec: SpecChecker) -> None:
    """The validation is not vacuous: a wrong type in a task record fails it."""
    good = json.dumps(
        {"data": {"gid": "1", "resource_type": "task", "name": "x", "completed": False}}
    ).encode()
    asana_spec.check("GET", f"{sb.base_url}/tasks/1", 200, good)
    bad = json.dumps({"data": {"gid": "1", "resource_type": "task", "completed": "yes"}}).encode()
    with pytest.raises(AssertionError, match="violates the spec"):
        asana_spec.check("GET", f"{sb.base_url}/tasks/1", 200, bad)


def test_opt_fields_group_form_and_nested_paths(sb: Sandbox, client: Any) -> None:
    task = _task_with_entries(sb)
    got = asana.TasksApi(client).get_task(
        task,
        {"opt_fields": "(assignee|created_by).email,memberships.section.name,custom_fields.enum_value.name"},
    )
    assert set(got) == {"gid", "resource_type", "assignee", "created_by", "memberships", "custom_fields"}
    assert set(got["assignee"]) == {"gid", "resource_type", "email"} and "@" in got["created_by"]["email"]
    assert set(got["memberships"][0]) == {"section"} and got["memberships"][0]["section"]["name"]


def test_concurrent_mutation_while_paging(sandbox: Sandbox) -> None:
    """Users keep editing (another thread) while a client pages: no errors, every original task seen."""
    import threading

    project = max(sandbox.state.tasks_by_project, key=lambda p: len(sandbox.state.tasks_by_project[p]))
    original = set(sandbox.state.tasks_by_project[project])
    stop = threading.Event()

    def edit() -> None:
        i = 0
        while not stop.is_set() and i < 300:
            t = sandbox.state.create_task({"name": f"c{i}", "projects": [project]})
            sandbox.state.add_time_entry(t["gid"], 15, "2026-11-20")
            i += 1

    thread = threading.Thread(target=edit)
    thread.start()
    try:
        client = sandbox.asana_client()
        for _ in range(3):
            seen = {
                t["gid"]
                for t in asana.TasksApi(client).get_tasks_for_project(
                    project, {"limit": 7, "opt_fields": "actual_time_minutes,custom_fields.number_value"}
                )
            }
            assert original <= seen
    finally:
        stop.set()
        thread.join()
    assert all(r.status == 200 for r in sandbox.requests)


def test_body_options_fields(sandbox: Sandbox) -> None:
    project = next(iter(sandbox.truth.project_types))
    r = httpx.post(
        f"{sandbox.base_url}/tasks",
        json={"data": {"name": "opt", "projects": [project]}, "options": {"fields": ["name"]}},
        headers={"Authorization": f"Bearer {sandbox.token}"},
    )
    assert r.status_code == 201 and r.headers["Location"].endswith(r.json()["data"]["gid"])
    assert r.json()["data"] == {"gid": r.json()["data"]["gid"], "resource_type": "task", "name": "opt"}


def test_tokens_stay_out_of_reprs_and_logs(sb: Sandbox) -> None:
    text = repr(sb) + repr(sb.api) + "".join(repr(r) for r in sb.requests[-50:])
    assert sb.token not in text and sb.readonly_token not in text


def test_date_and_text_custom_fields(sandbox: Sandbox, asana_spec: SpecChecker) -> None:
    client = validating_client(sandbox, asana_spec)
    cf_api, tasks_api = asana.CustomFieldsApi(client), asana.TasksApi(client)
    ws = sandbox.workspace_gid
    deadline = cf_api.create_custom_field(
        {"data": {"workspace": ws, "name": "AI Due", "resource_subtype": "date"}}, {}
    )
    note = cf_api.create_custom_field(
        {"data": {"workspace": ws, "name": "AI Projection", "resource_subtype": "text"}}, {}
    )
    project = next(iter(sandbox.truth.project_types))
    for f in (deadline, note):
        asana.ProjectsApi(client).add_custom_field_setting_for_project(
            {"data": {"custom_field": f["gid"]}}, project, {}
        )
    task = next(iter(sandbox.state.tasks_by_project[project]))
    fields = "custom_fields.date_value,custom_fields.text_value,custom_fields.display_value"
    got = tasks_api.update_task(
        {"data": {"custom_fields": {deadline["gid"]: "2026-12-24", note["gid"]: "P80 Jan 9"}}},
        task,
        {"opt_fields": fields},
    )
    values = {c["gid"]: c for c in got["custom_fields"]}
    assert values[deadline["gid"]]["date_value"]["date"] == "2026-12-24"
    assert values[deadline["gid"]]["display_value"] == "2026-12-24"
    assert values[note["gid"]]["text_value"] == "P80 Jan 9"
    for bad in ({deadline["gid"]: "tomorrow"}, {deadline["gid"]: 5}, {note["gid"]: 5}):
        with pytest.raises(ApiException) as err:
            tasks_api.update_task({"data": {"custom_fields": bad}}, task, {})
        assert err.value.status == 400
    cleared = tasks_api.update_task(
        {"data": {"custom_fields": {note["gid"]: None}}}, task, {"opt_fields": fields}
    )
    assert next(c for c in cleared["custom_fields"] if c["gid"] == note["gid"])["text_value"] is None
