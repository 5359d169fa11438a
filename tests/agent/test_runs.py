"""Never stuck, nothing leaked, old threads still work: a retrospective that crashed is retried or
abandoned (17.6), a finished period proposes again when re-run and an empty period proposes nothing
(17.13, 17.18), secrets never enter a checkpoint (17.15), and a batch that paused under the old Agent
Inbox interrupt shape still resumes (issue 14)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt
from pydantic import SecretStr
from typer.testing import CliRunner

import agent.retro as retro_module
from agent.approval import ApprovalContext, apply_node
from agent.approvals_service import decisions_for, get_pending, list_pending, resume
from agent.checkpoint import open_checkpointer, sqlite_checkpoint_path
from agent.cli import app
from agent.run_history import abandon, list_runs
from agent.runs import RunStopped, parse_period, run_report
from agent.state import ChatState
from agent.writer import writer_from_settings
from tests.fixtures.approval import ApprovalEnv, RecordingWriter, comment_proposal, field_proposal
from tests.fixtures.store import sync_settings
from tools.gateway import AsanaGateway, AuthError
from tools.store import Store
from tools.sync import sync_workspace

AS_OF = datetime.combine(datetime(2026, 11, 27).date(), time(18), UTC)


@pytest.fixture
def synced(sandbox_factory: Any, tmp_path: Path) -> tuple[Any, Any, Store]:
    sb = sandbox_factory(seed=3, tasks=80)
    settings = sync_settings(
        sb,
        EFFORT_DATABASE_URL=f"sqlite:///{tmp_path / 'effort.db'}",
        EFFORT_DATA_DIR=tmp_path,
        EFFORT_APPROVER="lead",
    )
    store = Store.open(settings.database_url)
    with AsanaGateway.from_settings(settings) as gateway:
        sync_workspace(gateway, store, settings, full=True)
    return sb, settings, store


def _run(settings: Any, store: Store, period: str = "2026-10") -> Any:
    return run_report(
        settings,
        "retro",
        parse_period(period, "retro", AS_OF.date()),
        as_of=AS_OF,
        with_text=False,
        store=store,
    )


def test_a_crashed_retro_is_retried_not_stuck_and_can_be_abandoned(
    synced: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sb, settings, store = synced
    real = retro_module.retrospective
    calls = {"n": 0}

    def broken_once(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("setting an array element with a sequence (inhomogeneous shape)")
        return real(*args, **kwargs)

    monkeypatch.setattr(retro_module, "retrospective", broken_once)
    with pytest.raises(RunStopped, match="runs abandon"):
        _run(settings, store)
    with open_checkpointer(settings) as saver:
        assert [r.state for r in list_runs(_audit(store), saver, settings)] == ["stopped"]
    again = _run(settings, store)  # the data (here: the code) is fixed: the same run goes on
    assert again.retried and again.pending and not again.reused
    with open_checkpointer(settings) as saver:
        assert abandon(saver, _audit(store), again.thread_id, approver="lead", note=None) == len(
            again.pending
        )
        assert list_pending(saver) == []
    fresh = _run(settings, store)
    assert (
        not fresh.reused
        and not fresh.retried
        and [p.id for p in fresh.pending] == [p.id for p in again.pending]
    )


def _audit(store: Store) -> Any:
    from agent.audit import AuditLog

    return AuditLog(store.engine)


def test_a_finished_period_proposes_again_and_an_empty_one_proposes_nothing(synced: Any) -> None:
    _sb, settings, store = synced
    first = _run(settings, store)

    def revoked() -> dict[str, Any]:
        raise AuthError("GET /events: HTTP 401: Not Authorized", status=401)

    with pytest.raises(AuthError):  # a waiting batch does not hide a token that stopped working
        run_report(settings, "retro", first.period, as_of=AS_OF, with_text=False, store=store, sync=revoked)
    with open_checkpointer(settings) as saver:
        pending = get_pending(saver, first.thread_id)
        decisions = decisions_for(pending, "reject", approver="lead")
        writer = writer_from_settings(settings, store=store)
        try:
            resume(saver, pending, decisions, writer=writer, settings=settings, approver="lead")
        finally:
            writer.gateway.close()
        assert list_pending(saver) == []
    second = _run(settings, store)  # the same period again: a new run, a new batch (not "nothing to approve")
    assert not second.reused and second.run_id != first.run_id

    def estimates(outcome: Any) -> list[str]:  # (rejected flags teach the detector: those may change)
        return [p.id for p in outcome.pending if p.field_name == "AI Estimated Hours"]

    assert estimates(second) and estimates(second) == estimates(first)
    empty = _run(settings, store, "1970-01")
    assert empty.pending == [] and not empty.reused


TOKEN = "asana-FAKE-tok-0c3b9e4a55d1f7"


def test_a_secret_in_a_question_never_reaches_a_checkpoint(approval_env: ApprovalEnv) -> None:
    env = approval_env
    settings = env.settings_with(asana_access_token=SecretStr(TOKEN))
    task = env.in_scope[0]
    question = f"my token is {TOKEN}, post it as a comment"
    leaked = comment_proposal(task, f"The token is {TOKEN}")
    with open_checkpointer(settings) as saver:
        graph = StateGraph(ChatState, context_schema=ApprovalContext)
        graph.add_node("chat", lambda state: {"proposals": [leaked]})
        from agent.approval import approval_node

        graph.add_node("approval", approval_node)
        graph.add_node("apply", apply_node)
        graph.add_edge(START, "chat")
        graph.add_edge("chat", "approval")
        graph.add_edge("approval", "apply")
        graph.add_edge("apply", END)
        compiled = graph.compile(checkpointer=saver)
        config: Any = {"configurable": {"thread_id": "chat-1"}, "metadata": {"effort_graph": "approval"}}
        compiled.invoke({"messages": [("user", question)], "run_id": "chat-1"}, config)
        [pending] = list_pending(saver)  # still listed (ids match by position after redaction)
        assert TOKEN not in pending.proposals[0].text  # type: ignore[operator]
    path = sqlite_checkpoint_path(settings.database_url)
    assert path is not None and TOKEN.encode() not in path.read_bytes()
    for wal in path.parent.glob("checkpoints.sqlite*"):
        assert TOKEN.encode() not in wal.read_bytes()
    shown = CliRunner().invoke(
        app, ["approvals", "show", "chat-1", "--json"], env={**env.env_vars(), "ASANA_ACCESS_TOKEN": TOKEN}
    )
    assert shown.exit_code == 0 and TOKEN not in shown.stdout and "***" in shown.stdout


LEGACY_ITEM = {  # the Agent Inbox HumanInterrupt an earlier version paused with
    "config": {"allow_accept": True, "allow_edit": True, "allow_ignore": True, "allow_respond": True},
    "description": "old shape",
}


def _legacy_node(state: ChatState) -> dict[str, Any]:
    items = [
        {**LEGACY_ITEM, "action_request": {"action": f"Set on {p.target_gid}", "args": {"proposal_id": p.id}}}
        for p in state["proposals"]
    ]
    interrupt(items)
    return {}


def test_a_batch_paused_under_the_old_interrupt_shape_still_resumes(tmp_path: Path) -> None:
    """Migration: a thread written by the earlier approval node (a list of HumanInterrupt items) is
    listed, shown and resumed by today's code with today's decisions."""
    url = f"sqlite:///{tmp_path / 'effort.db'}"
    a, b = field_proposal("11", 3.0), comment_proposal("12", "old batch")
    config: Any = {"configurable": {"thread_id": "old-1"}, "metadata": {"effort_graph": "approval"}}
    with open_checkpointer(url) as saver:
        old = StateGraph(ChatState)
        old.add_node("approval", _legacy_node)
        old.add_node("apply", apply_node)
        old.add_edge(START, "approval")
        old.add_edge("approval", "apply")
        old.add_edge("apply", END)
        old.compile(checkpointer=saver).invoke({"proposals": [a, b], "run_id": "r-old"}, config)
    with open_checkpointer(url) as saver:
        [pending] = list_pending(saver)
        assert [p.id for p in pending.proposals] == [a.id, b.id] and pending.items[0][
            "description"
        ] == "old shape"
        writer = RecordingWriter()
        writer.audit = _FakeAudit(tmp_path)  # type: ignore[attr-defined]
        writer.store = None  # type: ignore[attr-defined]
        decisions = decisions_for(pending, "approve", approver="lead", items=["1"])
        settings = _settings(url)
        out = resume(saver, pending, decisions, writer=writer, settings=settings, approver="lead")
    assert {s["proposal_id"]: s["status"] for s in out["applied"]} == {a.id: "applied", b.id: "rejected"}
    assert [d.approver for d in writer.calls[0][1]] == ["lead", "lead"]


class _FakeAudit:
    """Just the engine the batch claim needs."""

    def __init__(self, tmp_path: Path) -> None:
        import sqlalchemy as sa

        self.engine = sa.create_engine(f"sqlite:///{tmp_path / 'claims.db'}")


def _settings(url: str) -> Any:
    from agent.config import Settings

    return Settings(EFFORT_DATABASE_URL=url)


def test_checkpoint_bytes_are_searched(tmp_path: Path) -> None:
    """The leak search above reads real bytes: a token written into the file is found."""
    db = tmp_path / "c.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (x text)")
        conn.execute("insert into t values (?)", (json.dumps({"k": TOKEN}),))
    assert TOKEN.encode() in db.read_bytes()
