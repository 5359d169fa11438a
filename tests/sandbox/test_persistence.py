"""The SQLite-backed sandbox keeps its workspace, tokens and truth across a restart."""

from __future__ import annotations

from pathlib import Path

import asana
import pytest
from asana.rest import ApiException

from sandbox import Sandbox


def test_state_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    with Sandbox.start(seed=2, tasks=40, db_path=db) as sb:
        client = sb.asana_client()
        project = next(iter(sb.truth.project_types))
        task = asana.TasksApi(client).create_task({"data": {"name": "persist me", "projects": [project]}}, {})
        entry = asana.TimeTrackingEntriesApi(client).create_time_tracking_entry(
            {"data": {"duration_minutes": 75, "entered_on": "2026-11-25"}}, task["gid"], {}
        )
        deleted = next(iter(sb.state.entries_by_task[next(iter(sb.state.entries_by_task))]))
        asana.TimeTrackingEntriesApi(client).delete_time_tracking_entry(deleted)
        with pytest.raises(ApiException) as err:
            asana.EventsApi(client).get_events(project, {}, full_payload=True)
        import json

        old_sync = json.loads(err.value.body)["sync"]
        before = {k: len(v) for k, v in sb.state.objects.items()}
        token, ws, truth = sb.token, sb.workspace_gid, sb.truth
    with Sandbox.start(seed=99, tasks=5, db_path=db) as again:  # seed/tasks ignored: the file wins
        assert again.token == token and again.workspace_gid == ws and again.truth == truth
        assert {k: len(v) for k, v in again.state.objects.items()} == before
        client = again.asana_client()
        got = asana.TasksApi(client).get_task(task["gid"], {"opt_fields": "name,actual_time_minutes"})
        assert got == {
            "gid": task["gid"],
            "resource_type": "task",
            "name": "persist me",
            "actual_time_minutes": 75,
        }
        assert (
            asana.TimeTrackingEntriesApi(client).get_time_tracking_entry(entry["gid"], {})["duration_minutes"]
            == 75
        )
        assert deleted not in again.state.objects["time_tracking_entry"]
        fresh = asana.TasksApi(client).create_task({"data": {"name": "after", "projects": [project]}}, {})
        assert int(fresh["gid"]) > int(entry["gid"])  # gids keep growing, never reused
        with pytest.raises(ApiException) as err:  # events are not persisted: old tokens are stale
            asana.EventsApi(client).get_events(project, {"sync": old_sync}, full_payload=True)
        assert err.value.status == 412


def test_serve_an_existing_state() -> None:
    from sandbox import SandboxState
    from sandbox.generator import populate

    state = SandboxState()
    ws = populate(state, seed=8, tasks=20)
    task = next(iter(state.objects["task"]))
    state.update_task(task, {"name": "edited before serving"})
    with Sandbox.start(state=state) as sb:
        assert sb.truth == ws.truth and sb.workspace_gid == ws.workspace_gid
        got = asana.TasksApi(sb.asana_client()).get_task(task, {"opt_fields": "name"})
        assert got["name"] == "edited before serving"
