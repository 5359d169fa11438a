"""`effort ask` / `effort chat` end to end (synthetic workspace, offline router or the OpenAI stub)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app
from tests.openai_stub import StubServer, calls, text

runner = CliRunner()


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    config = tmp_path / "effort.toml"
    config.write_text('[scope]\nprojects = ["*"]\n', encoding="utf-8")
    return {"EFFORT_DATABASE_URL": f"sqlite:///{tmp_path}/effort.db", "EFFORT_CONFIG": str(config), **extra}


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
    assert 0 < out["tool_output_tokens"] <= 3000 and out["prompt"] == "system_chat@v1"
    assert "Variance by project_type" in out["answer"] and not out["awaiting_approval"]  # for a person


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


def test_ask_with_llm_down_fails_cleanly(tmp_path: Path) -> None:
    stub = StubServer().start()
    stub.stop()
    env = _env(tmp_path, OPENAI_BASE_URL=stub.url, OPENAI_API_KEY="sk-very-secret-key")
    result = runner.invoke(app, ["ask", "--synthetic-tasks", "100", "who is over capacity?"], env=env)
    assert result.exit_code == 1
    assert "error:" in result.output and "sk-very-secret-key" not in result.output


def test_chat_repl_offline(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["chat", "--synthetic-tasks", "300"],
        env=_env(tmp_path),
        input="When will Website Redesign finish?\nexit\n",
    )
    assert result.exit_code == 0, result.output
    assert (
        "thread: chat-" in result.output
        and "Forecast" in result.output
        and "ran completion_forecast" in result.output
    )
