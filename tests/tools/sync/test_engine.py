"""Full and incremental sync against the sandbox: creates, updates, deletes, idempotency, faults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.store import fast_gateway, sync_settings
from tools.gateway import RetryPolicy
from tools.store import Store
from tools.sync import SyncSummary, sync_workspace
from tools.sync.mapping import MappingContext, map_entry, map_project, map_task

FAST = RetryPolicy(max_attempts=10, backoff_initial=0.001, backoff_max=0.005, max_retry_after=0.01)


def expected(sb: Any) -> dict[str, Any]:
    """The sandbox's state mapped WITHOUT HTTP (full records), in the shape we compare."""
    from sandbox.generator import export_payloads

    payloads = export_payloads(sb.state)
    ctx = MappingContext()
    projects = [p for p in (map_project(x, ctx) for x in payloads["project"]) if p]
    ctx.projects = {p.gid: p for p in projects}
    tasks_raw = [t for t in payloads["task"] if t.get("projects")]
    task_gids = {t["gid"] for t in tasks_raw}
    entries = [
        e
        for e in (map_entry(x, ctx) for x in payloads["time_tracking_entry"])
        if e and e.task_gid in task_gids
    ]
    for e in entries:
        ctx.entry_minutes[e.task_gid] = ctx.entry_minutes.get(e.task_gid, 0) + e.duration_minutes
        if e.task_gid not in ctx.first_entry or e.entered_on < ctx.first_entry[e.task_gid]:
            ctx.first_entry[e.task_gid] = e.entered_on
    tasks = [t for t in (map_task(x, ctx) for x in tasks_raw) if t]
    return _shape(tasks, entries, projects)


def _shape(tasks: Any, entries: Any, projects: Any) -> dict[str, Any]:
    return {
        "tasks": {
            t.gid: (
                t.name,
                t.project_gid,
                t.section,
                t.assignee_gid,
                t.completed,
                t.estimate_hours,
                t.actual_hours,
                t.actual_source,
                t.tags,
                t.modified_at,
                t.created_at,
                t.parent_gid,
                t.started_at,
                t.project_type,
            )
            for t in tasks
        },
        "entries": {
            e.gid: (e.task_gid, e.user_gid, e.entered_on, e.duration_minutes, e.project_gid) for e in entries
        },
        "projects": {p.gid: (p.name, p.project_type, p.client, p.hourly_rate, p.archived) for p in projects},
    }


def stored(store: Store) -> dict[str, Any]:
    ws = store.workspace()
    return _shape(ws.tasks, ws.entries, ws.projects)


def _sync(sb: Any, store: Store, full: bool, **kw: Any) -> SyncSummary:
    with fast_gateway(sb, retry=FAST) as gw:
        return sync_workspace(gw, store, sync_settings(sb), full=full, **kw)


def _mutate(sb: Any, seed: int) -> dict[str, Any]:
    """A user edits the workspace: renames, estimate changes, a new task with entries, deletions."""
    st = sb.state
    tasks = [t for t in st.objects["task"].values() if t.get("projects")]
    est_gid = sb.truth.field_gids.get("Estimated Hours")
    a, b, c = tasks[seed % len(tasks)], tasks[(seed + 7) % len(tasks)], tasks[(seed + 13) % len(tasks)]
    st.update_task(a["gid"], {"name": a["name"] + " (renamed)"})
    if est_gid:
        st.update_task(b["gid"], {"custom_fields": {est_gid: 12.5}})
    new = st.create_task({"name": "brand new", "projects": [a["projects"][0]]})
    st.add_time_entry(new["gid"], 45, "2026-11-20")
    entries = [e for e in st.objects["time_tracking_entry"].values() if e["task"] != c["gid"]]
    st.delete_time_entry(entries[0]["gid"])
    st.delete_task(c["gid"])
    return {"renamed": a["gid"], "estimate": b["gid"], "new": new["gid"], "deleted": c["gid"]}


def test_full_then_incremental_creates_updates_deletes(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=21, tasks=60)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    first = _sync(sb, store, full=True)
    assert first.status == "ok" and first.counts["tasks"].created > 0
    assert stored(store) == expected(sb)
    assert store.custom_fields() and store.custom_field_by_name("Estimated Hours") is not None
    again = _sync(sb, store, full=False)  # nothing changed: one events request, nothing written
    assert again.changed() == 0 and again.requests <= 2, again.requests_by_endpoint
    changed = _mutate(sb, 1)
    inc = _sync(sb, store, full=False)
    assert inc.mode.startswith("incremental"), inc.mode
    assert stored(store) == expected(sb)
    assert store.task(changed["deleted"]) is None and store.task(changed["new"]) is not None
    assert store.task(changed["renamed"]).name.endswith("(renamed)")  # type: ignore[union-attr]
    assert inc.counts["tasks"].deleted == 1 and inc.counts["tasks"].created == 1
    changes = store.field_changes_for_task(changed["estimate"])
    assert changes and changes[-1].new_value == 12.5
    assert _sync(sb, store, full=False).changed() == 0  # idempotent
    recrawl = _sync(sb, store, full=True)
    # A full re-crawl agrees with incremental; only a budget's `actual` (Asana's own running total, which
    # has no events: refreshed by full syncs and nightly) moved with the entries added and deleted.
    assert {k for k, c in recrawl.counts.items() if c.created or c.updated or c.deleted} <= {"budgets"}
    assert store.sync_runs()[0].status == "ok"


def test_incremental_of_100_changed_tasks_is_cheap(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=22, tasks=300)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    _sync(sb, store, full=True)
    est_gid = sb.truth.field_gids["Estimated Hours"]
    tasks = [t for t in sb.state.objects["task"].values() if t.get("projects")][:100]
    for i, t in enumerate(tasks):
        sb.state.update_task(t["gid"], {"custom_fields": {est_gid: 3 + i % 5}, "name": t["name"] + "!"})
    inc = _sync(sb, store, full=False)
    assert inc.counts["tasks"].updated == 100
    assert inc.requests <= 5, inc.requests_by_endpoint
    assert stored(store) == expected(sb)


@pytest.mark.parametrize("seed", range(20))
def test_sync_under_faults_converges(tmp_path: Path, sandbox_factory: Any, seed: int) -> None:
    sb = sandbox_factory(seed=100 + seed, tasks=25, faults=f"5xx=0.05,429=0.03,drop=0.03,seed={seed}")
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    full = _sync(sb, store, full=True)
    assert stored(store) == expected(sb)
    _mutate(sb, seed)
    inc = _sync(sb, store, full=False)
    assert stored(store) == expected(sb)
    injected = sum(1 for r in sb.requests if r.fault in ("5xx", "429", "drop"))
    assert full.retries + inc.retries == injected  # every injected failure was retried once, none surfaced


def test_scope_allowlist(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=23, tasks=40)
    projects = list(sb.state.objects["project"].values())
    pick = projects[0]
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    with fast_gateway(sb, retry=FAST) as gw:
        settings = sync_settings(sb, scope={"projects": [pick["name"]]})
        sync_workspace(gw, store, settings, full=True)
    ws = store.workspace()
    assert {p.gid for p in ws.projects} == {pick["gid"]}
    assert ws.tasks and all(t.project_gid == pick["gid"] for t in ws.tasks)


def test_stories_are_read_by_default_for_tasks_changed_in_the_window(
    tmp_path: Path, sandbox_factory: Any
) -> None:
    sb = sandbox_factory(seed=24, tasks=60)
    off = Store.open(f"sqlite:///{tmp_path / 'off.db'}")
    assert "GET /tasks/{gid}/stories" not in _sync(sb, off, full=True, stories=False).requests_by_endpoint
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    first = _sync(sb, store, full=True)
    since = first.window_start
    assert since is not None
    in_window = {
        g
        for g, t in sb.state.objects["task"].items()
        if t.get("projects") and t["modified_at"][:10] >= since.isoformat()
    }
    assert (
        0
        < first.requests_by_endpoint["GET /tasks/{gid}/stories"]
        == len(in_window)
        < len(sb.state.objects["task"])
    )
    for g in set(sb.truth.scope_creep) & in_window:  # estimates raised: exact history from the stories
        old, new = sb.truth.scope_creep[g]
        assert [(c.old_value, c.new_value) for c in store.field_changes_for_task(g)] == [(old, new)]
    assert "GET /tasks/{gid}/stories" not in _sync(sb, store, full=True).requests_by_endpoint  # read once


@pytest.mark.postgres
def test_sync_into_postgres_matches(pg_server_url: str, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=25, tasks=30)
    store = Store.open(pg_server_url)
    try:
        _sync(sb, store, full=True)
        assert stored(store) == expected(sb)
        _mutate(sb, 3)
        _sync(sb, store, full=False)
        assert stored(store) == expected(sb)
        assert _sync(sb, store, full=False).changed() == 0
    finally:
        store.close()


@pytest.mark.parametrize("mode", ["lenient", "free"])
def test_server_capabilities_are_probed(tmp_path: Path, sandbox_factory: Any, mode: str) -> None:
    """A lenient server lists entries workspace-wide (fewer requests); a free one (402 on search and
    workspace-wide entries) still converges through per-task reads."""
    kwargs = {"lenient_opt_fields": True} if mode == "lenient" else {"premium": False}
    sb = sandbox_factory(seed=26, tasks=40, **kwargs)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    full = _sync(sb, store, full=True)
    assert stored(store) == expected(sb)
    per_task = full.requests_by_endpoint.get("GET /tasks/{gid}/time_tracking_entries", 0)
    if mode == "lenient":
        assert per_task == 0 and full.requests_by_endpoint["GET /time_tracking_entries"] >= 1
        entries = store.workspace().entries
        assert any(e.billable_status is not None for e in entries)  # extra fields accepted there
    else:
        assert per_task > 0
    _mutate(sb, 2)
    _sync(sb, store, full=False)
    assert stored(store) == expected(sb)


def test_portfolio_and_tag_scope(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=27, tasks=60)
    portfolio = next(iter(sb.state.objects["portfolio"].values()))
    tag = next(iter(sb.state.objects["tag"].values()))
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    settings = sync_settings(sb, scope={"portfolios": [portfolio["name"]], "tags": [tag["name"]]})
    with fast_gateway(sb, retry=FAST) as gw:
        sync_workspace(gw, store, settings, full=True)
    ws = store.workspace()
    in_portfolio = {p.gid for p in ws.projects}
    assert in_portfolio and all(portfolio["gid"] in p.portfolio_gids for p in ws.projects)
    tagged = {g for g, t in sb.state.objects["task"].items() if tag["gid"] in t.get("tags", [])}
    stored_gids = {t.gid for t in ws.tasks}
    assert tagged <= stored_gids  # tag-scoped tasks come in even outside the portfolio's projects
    assert all(t.project_gid in in_portfolio or t.gid in tagged for t in ws.tasks)
    # An out-of-scope task changed by a user does not leak in through the incremental sync.
    outside = next(
        g
        for g, t in sb.state.objects["task"].items()
        if t.get("projects") and not set(t["projects"]) & in_portfolio and g not in tagged
    )
    sb.state.update_task(outside, {"name": "changed outside the scope"})
    with fast_gateway(sb, retry=FAST) as gw:
        sync_workspace(gw, store, settings, full=False)
    assert store.task(outside) is None and {t.gid for t in store.workspace().tasks} == stored_gids


def test_per_project_events_fallback(
    tmp_path: Path, sandbox_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a workspace event stream, per-project streams still catch creates, updates and deletes."""
    from tools.gateway import AsanaGateway, NotFoundError

    def no_workspace_events(self: AsanaGateway, ws: str, sync: str | None) -> Any:
        raise NotFoundError("no workspace events here", status=404)

    monkeypatch.setattr(AsanaGateway, "workspace_events", no_workspace_events)
    sb = sandbox_factory(seed=28, tasks=40)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    _sync(sb, store, full=True)
    state = store.sync_state(f"workspace:{sb.workspace_gid}")
    assert state is not None and state.data["events"] == "project" and state.data["project_tokens"]
    _mutate(sb, 4)
    inc = _sync(sb, store, full=False)
    assert inc.mode == "incremental (project events)"
    assert stored(store) == expected(sb)


def test_workspace_found_from_the_token_and_remembered(tmp_path: Path, sandbox_factory: Any) -> None:
    from agent.config import Settings

    sb = sandbox_factory(seed=29, tasks=20)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    settings = Settings(ASANA_ACCESS_TOKEN=sb.token, EFFORT_ASANA_BASE_URL=sb.base_url)  # no workspace
    with fast_gateway(sb, retry=FAST) as gw:
        full = sync_workspace(gw, store, settings, full=True)
        inc = sync_workspace(gw, store, settings, full=False)
    assert full.workspace_gid == sb.workspace_gid and full.requests_by_endpoint["GET /users/{gid}"] == 1
    assert inc.workspace_gid == sb.workspace_gid and "GET /users/{gid}" not in inc.requests_by_endpoint
    assert inc.requests == 1 and stored(store) == expected(sb)
