"""End to end: the sandbox delivers signed webhooks to a running `effort serve` on loopback, and the
reaction proposes an `AI Review Flag` through the approval gate without writing anything to Asana."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from agent.approval import build_approval_graph
from agent.checkpoint import open_checkpointer
from agent.config import ScheduleConfig, Settings
from agent.serve.app import create_app
from agent.serve.reactions import REVIEW_FLAG_FIELD
from agent.serve.register import register_webhooks
from agent.serve.wiring import build_deps

sandbox = pytest.importorskip("sandbox", reason="the sandbox package is not available")

pytestmark = pytest.mark.slow


def _settings(tmp_path: Path, sb: Any, **extra: Any) -> Settings:
    return Settings(
        ASANA_ACCESS_TOKEN=SecretStr(sb.token),
        EFFORT_ASANA_BASE_URL=sb.base_url,
        EFFORT_WORKSPACE=sb.workspace_gid,
        EFFORT_DATA_DIR=tmp_path / "data",
        EFFORT_DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'effort.db'}",
        webhook_secret_store=tmp_path / "data" / "webhooks.db",
        schedules=ScheduleConfig(sync=None, summary=None, retro=None),
        **extra,
    )


def test_sandbox_webhook_to_serve_proposes_review_flag(
    tmp_path: Path, run_server: Callable[[Any], Any]
) -> None:
    from tools.gateway import AsanaGateway
    from tools.store import Store
    from tools.sync.engine import sync_workspace

    with sandbox.Sandbox.start(seed=5, tasks=30, entries_per_task=4) as sb:
        settings = _settings(tmp_path, sb)
        # The store starts from a full sync, as after `effort sync`.
        with AsanaGateway.from_settings(settings) as gw:
            store = Store.open(settings.database_url)
            sync_workspace(gw, store, settings, full=True)
            store.close()
        deps = build_deps(settings)
        app = create_app(settings, deps, start_scheduler=False)
        runtime = app.state.runtime
        server = run_server(app)

        task = next(t for t in sb.state.objects["task"].values() if t.get("projects") and not t.get("parent"))
        project_gid = task["projects"][0]
        with AsanaGateway.from_settings(settings) as gw:
            (registration,) = register_webhooks(
                gw, runtime.store, [project_gid], f"{server.base_url}/webhooks/asana"
            )
        assert registration.error is None and registration.webhook_gid
        assert runtime.store.secret(project_gid)  # the handshake reached the running server
        sb.reset_log()

        # A person logs 20 hours, dated three weeks ahead: an implausible, future-dated entry.
        user = next(iter(sb.state.objects["user"]))
        future = (datetime.now(UTC) + timedelta(days=21)).date()
        sb.state.add_time_entry(task["gid"], 20 * 60, future, by=user)

        assert runtime.reactor.wait_for(
            lambda recs: any(r.task_gid == task["gid"] and r.outcome in {"proposed", "error"} for r in recs),
            timeout=60,
        ), f"no reaction; records={list(runtime.reactor.records)}"
        record = next(r for r in runtime.reactor.records if r.task_gid == task["gid"])
        assert record.outcome == "proposed", record.error
        assert sb.webhooks.wait_idle(10)
        assert all(d.status == 200 for d in sb.webhooks.deliveries)  # every delivery verified and accepted

        # Nothing was written to Asana: the reaction only read (incremental sync) and proposed.
        assert sb.write_count() == 0
        health = runtime.health()[1]
        assert health["db"]["reachable"] and health["reactions"]["worker_running"]

    # The proposal waits at the approval interrupt in the persisted checkpointer.
    runtime.reactor.stop()
    deps.close()
    with open_checkpointer(settings) as saver:
        state = build_approval_graph(saver).get_state({"configurable": {"thread_id": record.thread_id}})
        assert state.next == ("approval",)
        fields = {p.field_name for p in state.values["proposals"] if p.target_gid == task["gid"]}
        assert REVIEW_FLAG_FIELD in fields
