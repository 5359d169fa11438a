"""`effort ask` / `effort chat` end to end (synthetic workspace, offline router or the OpenAI stub)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.cli.chat_loop import parse_decision
from tests.fixtures.store import sync_settings
from tests.openai_stub import StubServer, calls, text

runner = CliRunner()


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    config = tmp_path / "effort.toml"
    config.write_text('[scope]\nprojects = ["*"]\n', encoding="utf-8")
    return {
        "EFFORT_DATABASE_URL": f"sqlite:///{tmp_path}/effort.db",
        "EFFORT_CONFIG": str(config),
        "COLUMNS": "160",  # wide enough that table cells are not folded
        **extra,
    }


def test_ask_json_offline(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["ask", "--json", "--synthetic-tasks", "300", "Which task types overran last quarter?"],
        env=_env(tmp_path),
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["mode"] == "offline" and out["thread_id"].startswith("chat-")
    assert out["tool_calls"] == [
        {"name": "variance", "args": {"group_by": "project_type", "period": "Q1 2026"}}
    ]
    assert 0 < out["tool_output_tokens"] <= 3000 and out["prompt"] == "offline-router"
    assert "variance by project_type" in out["answer"].lower() and not out["awaiting_approval"]


def test_ask_json_reports_pending_proposals(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["ask", "--json", "--synthetic-tasks", "300", "propose an AI estimate for task 10000003"],
        env=_env(tmp_path),
    )
    out = json.loads(result.stdout)
    assert out["awaiting_approval"] is True
    assert out["proposals"][0]["field_name"] == "AI Estimated Hours"
    assert (tmp_path / "checkpoints.sqlite").exists()  # the thread survives for `effort approvals`


def test_ask_with_llm_stub_and_secret_stays_hidden(tmp_path: Path) -> None:
    stub = StubServer(script=[calls(("capacity", {})), text("Person 3 is over capacity.")]).start()
    try:
        env = _env(tmp_path, OPENAI_BASE_URL=stub.url, OPENAI_API_KEY="sk-very-secret-key")
        result = runner.invoke(app, ["ask", "--synthetic-tasks", "300", "who is over capacity?"], env=env)
    finally:
        stub.stop()
    assert result.exit_code == 0, result.output
    assert "Person 3 is over capacity." in result.stdout
    assert "sk-very-secret-key" not in result.output


def test_ask_with_llm_down_answers_from_the_router_and_says_why(tmp_path: Path) -> None:
    stub = StubServer().start()
    stub.stop()
    env = _env(tmp_path, OPENAI_BASE_URL=stub.url, OPENAI_API_KEY="sk-very-secret-key")
    result = runner.invoke(app, ["ask", "--synthetic-tasks", "100", "who is over capacity?"], env=env)
    assert result.exit_code == 0, result.output
    assert f"the LLM at {stub.url} cannot be reached" in result.stdout
    assert "--offline" in result.output and "sk-very-secret-key" not in result.output
    assert "peak load" in result.stdout and " | " not in result.stdout  # rendered as a table


def test_chat_repl_offline_renders_tables_not_tool_text(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["chat", "--synthetic-tasks", "300"],
        env=_env(tmp_path),
        input="Which task types overran last quarter?\nexit\n",
    )
    assert result.exit_code == 0, result.output
    assert "thread: chat-" in result.output and "tools: variance" in result.output
    assert "client build" in result.output and "median ratio" in result.output
    for raw in ("<<task-text>>", " | ", "https://app.asana.com"):
        assert raw not in result.output


def _synced_env(tmp_path: Path, sb: Any) -> dict[str, str]:
    from tools.gateway import AsanaGateway
    from tools.store import Store
    from tools.sync import sync_workspace

    db = f"sqlite:///{tmp_path / 'effort.db'}"
    env = _env(
        tmp_path,
        EFFORT_DATABASE_URL=db,
        ASANA_ACCESS_TOKEN=sb.token,
        EFFORT_ASANA_BASE_URL=sb.base_url,
        EFFORT_WORKSPACE=sb.workspace_gid,
        EFFORT_PHASE="suggest",
        EFFORT_APPROVER="lead@example.com",
    )
    store = Store.open(db)
    with AsanaGateway(sb.base_url, sb.token) as gw:
        sync_workspace(gw, store, sync_settings(sb), full=True)
    store.close()
    return env


def _open_task(tmp_path: Path) -> str:
    from tools.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'effort.db'}")
    try:
        return sorted(t.gid for t in store.workspace().tasks if not t.completed and not t.parent_gid)[0]
    finally:
        store.close()


def test_chat_approves_a_proposal_inline_through_the_writer(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=1, tasks=40)
    env = _synced_env(tmp_path, sb)
    task = _open_task(tmp_path)
    sb.reset_log()
    result = runner.invoke(
        app, ["chat", "--offline"], env=env, input=f"Flag task {task} for review\na\nexit\n"
    )
    assert result.exit_code == 0, result.output
    assert "Proposed changes" in result.output and "Approval results" in result.output
    assert "applied" in result.output and "thread: chat-" in result.output
    assert sb.write_count() > 0  # written only after the inline approval
    listed = runner.invoke(app, ["approvals", "list", "--json"], env=env)
    assert json.loads(listed.stdout) == []
    assert sb.token not in result.output


def test_chat_later_leaves_the_batch_pending_and_goes_on(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=1, tasks=40)
    env = _synced_env(tmp_path, sb)
    task = _open_task(tmp_path)
    sb.reset_log()
    result = runner.invoke(
        app,
        ["chat", "--offline"],
        env=env,
        input=f"Flag task {task} for review\nl\nWhich task types overran?\nexit\n",
    )
    assert result.exit_code == 0, result.output
    assert "Left pending" in result.output and "continuing in a new thread" in result.output
    assert sb.write_count() == 0
    [pending] = json.loads(runner.invoke(app, ["approvals", "list", "--json"], env=env).stdout)
    assert pending["graph"] == "chat" and len(pending["items"]) == 1


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("a", ("approve", None, None)),
        ("approve 1, 3", ("approve", ["1", "3"], None)),
        ("r", ("reject", None, None)),
        ("e 2 7.5", ("edit", None, {"2": "7.5"})),
        ("", ("later", None, None)),
        (None, ("later", None, None)),
        ("approve everything", None),
        ("e 2", None),
    ],
)
def test_parse_decision(text: str | None, parsed: Any) -> None:
    assert parse_decision(text) == parsed
