"""End to end: the sandbox delivers signed webhooks to a running `effort serve` on loopback, and the
reaction proposes an `AI Review Flag` through the approval gate without writing anything to Asana."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import sandbox
from agent.approval import build_approval_graph
from agent.checkpoint import open_checkpointer
from agent.config import ScheduleConfig, ScopeConfig, Settings
from agent.serve.app import create_app
from agent.serve.reactions import REVIEW_FLAG_FIELD
from agent.serve.register import register_webhooks
from agent.serve.wiring import build_deps

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
        scope=ScopeConfig(projects=["*"]),
        **extra,
    )


def _serve_registered(settings: Settings, sb: Any, run_server: Callable[[Any], Any]) -> tuple[Any, ...]:
    """Fill the store with a full sync (as after `effort sync`), start `effort serve` on loopback and
    register a webhook on the project of a top-level task.

    Returns ``(deps, runtime, server, task, project_gid, registration)``."""
    from tools.gateway import AsanaGateway
    from tools.store import Store
    from tools.sync.engine import sync_workspace

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
    from agent.writer import writer_from_settings

    writer = writer_from_settings(settings)
    try:
        (registration,) = register_webhooks(
            writer, runtime.store, [project_gid], f"{server.base_url}/webhooks/asana", approver="ops"
        )
    finally:
        writer.gateway.close()
    return deps, runtime, server, task, project_gid, registration


def test_sandbox_webhook_to_serve_proposes_review_flag(
    tmp_path: Path, run_server: Callable[[Any], Any]
) -> None:
    with sandbox.Sandbox.start(seed=5, tasks=30, entries_per_task=4) as sb:
        settings = _settings(tmp_path, sb)
        _deps, runtime, server, task, project_gid, registration = _serve_registered(settings, sb, run_server)
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
        server.stop()  # before the sandbox goes away (the lifespan closes the deps)
        assert not runtime.reactor.running

    # The proposal waits at the approval interrupt in the persisted checkpointer.
    with open_checkpointer(settings) as saver:
        state = build_approval_graph(saver).get_state({"configurable": {"thread_id": record.thread_id}})
        assert state.next == ("approval",)
        fields = {p.field_name for p in state.values["proposals"] if p.target_gid == task["gid"]}
        assert REVIEW_FLAG_FIELD in fields


def test_completing_an_asana_approval_subtask_resumes_the_thread(
    tmp_path: Path, run_server: Callable[[Any], Any]
) -> None:
    """optimize phase: a significant proposal waits on an Asana approval subtask; the lead completes it
    in Asana, the webhook reaches `effort serve`, and the thread resumes and applies the change."""
    from agent.approvals_service import poll_asana
    from agent.config import Phase
    from agent.serve.wiring import GateProposer
    from agent.writer import writer_from_settings
    from tools.proposals import Proposal, ProposalKind

    with sandbox.Sandbox.start(seed=6, tasks=20, entries_per_task=2) as sb:
        settings = _settings(tmp_path, sb, EFFORT_PHASE=Phase.OPTIMIZE)
        deps, runtime, server, task, project_gid, registration = _serve_registered(settings, sb, run_server)
        assert registration.error is None

        proposal = Proposal(
            kind=ProposalKind.SET_FIELD,
            target_gid=task["gid"],
            project_gid=project_gid,
            field_name="AI Projection",
            value="finish moves 9 days later",
            description="Projection moved by 9 days",
            significant=True,
            source="trigger",
        )
        gate = deps.propose
        assert isinstance(gate, GateProposer)
        thread_id = gate([proposal], kind="projection", scope=project_gid, period="2026-11")
        writer = writer_from_settings(settings)
        assert poll_asana(gate.checkpointer, writer=writer, settings=settings) == {
            thread_id: "waiting on 1 Asana approval(s)"
        }
        subtask = next(
            t
            for t in sb.state.objects["task"].values()
            if f"[effort-approval:{proposal.id}]" in (t.get("notes") or "")
        )
        sb.state.update_task(subtask["gid"], {"completed": True}, by=sb.me_gid)  # the lead approves in Asana

        assert runtime.reactor.wait_for(
            lambda recs: any(
                r.task_gid == subtask["gid"] and r.outcome in {"resumed", "error"} for r in recs
            ),
            timeout=60,
        ), f"no reaction; records={list(runtime.reactor.records)}"
        record = next(r for r in runtime.reactor.records if r.task_gid == subtask["gid"])
        assert record.outcome == "resumed", record.error
        state = gate.graph.get_state({"configurable": {"thread_id": thread_id}})
        assert state.next == ()  # the thread finished: approved and applied
        field_gid = sb.field_gid("AI Projection")
        assert sb.state.objects["task"][task["gid"]]["custom_field_values"].get(field_gid) == proposal.value
        writer.gateway.close()
        writer.store.close()
        server.stop()
