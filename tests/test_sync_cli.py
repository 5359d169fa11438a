"""`effort sync`: summary table on success; clear errors (no traceback, no token) otherwise."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tools.gateway import AsanaGateway, RetryPolicy


def _env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, token: str | None, ws: str | None = None
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EFFORT_ASANA_BASE_URL", url)
    monkeypatch.setenv("EFFORT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("EFFORT_MAX_CONCURRENCY", "4")
    if token is None:
        monkeypatch.delenv("ASANA_ACCESS_TOKEN", raising=False)
    else:
        monkeypatch.setenv("ASANA_ACCESS_TOKEN", token)
    if ws:
        monkeypatch.setenv("EFFORT_WORKSPACE", ws)


def test_sync_command_prints_a_summary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox_factory: Any
) -> None:
    sb = sandbox_factory(seed=31, tasks=20)
    _env(monkeypatch, tmp_path, sb.base_url, sb.token)
    result = CliRunner().invoke(app, ["sync", "--full"])
    assert result.exit_code == 0, result.output
    assert "tasks" in result.output and "requests" in result.output
    assert sb.token not in result.output
    again = CliRunner().invoke(app, ["sync"])
    assert again.exit_code == 0 and "incremental" in again.output


def test_missing_token_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _env(monkeypatch, tmp_path, "http://127.0.0.1:9/api/1.0", None)
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 2 and "ASANA_ACCESS_TOKEN" in result.output
    assert "Traceback" not in result.output


def test_bad_token_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox_factory: Any
) -> None:
    sb = sandbox_factory(seed=32, tasks=5)
    _env(monkeypatch, tmp_path, sb.base_url, "not-the-right-token-123")
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 3 and "refused the token" in result.output
    assert "not-the-right-token-123" not in result.output and "Traceback" not in result.output


def test_unreachable_server_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _env(monkeypatch, tmp_path, f"http://127.0.0.1:{port}/api/1.0", "tok-abcdef-123456", ws="1")
    original = AsanaGateway.from_settings.__func__  # type: ignore[attr-defined]

    def quick(cls: type[AsanaGateway], settings: Any, **kw: Any) -> AsanaGateway:
        return original(cls, settings, retry=RetryPolicy(max_attempts=2, backoff_initial=0.001), **kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(AsanaGateway, "from_settings", classmethod(quick))
    result = CliRunner().invoke(app, ["sync"])
    assert result.exit_code == 4 and "cannot reach" in result.output
    assert "tok-abcdef-123456" not in result.output and "Traceback" not in result.output
