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


def test_sync_json_and_coverage(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox_factory: Any
) -> None:
    import json

    sb = sandbox_factory(seed=33, tasks=20)
    _env(monkeypatch, tmp_path, sb.base_url, sb.token)
    result = CliRunner().invoke(app, ["sync", "--full", "--json", "--no-index"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["status"] == "ok" and data["counts"]["tasks"]["created"] == 20
    fields = {c["field"]: c for c in data["coverage"]}
    assert fields["billable status"]["share"] == 1.0 and "entries since" in fields["billable status"]["text"]
    assert data["features"]["budgets"] == "ok" and data["details_read"] > 0
    text = CliRunner().invoke(app, ["sync", "--no-index"])
    assert "known after this sync:" in text.output and "billable status: 100% of" in text.output


@pytest.mark.parametrize("where", ["read-only", "unwritable folder", "postgres down"])
def test_storage_failures_are_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox_factory: Any, where: str
) -> None:
    sb = sandbox_factory(seed=34, tasks=10)
    _env(monkeypatch, tmp_path, sb.base_url, sb.token)
    if where == "read-only":
        db = tmp_path / "ro.db"
        from tools.store import Store

        Store.open(f"sqlite:///{db}").close()  # exists, then opened read-only
        url = f"sqlite:///file:{db}?mode=ro&uri=true"
    elif where == "unwritable folder":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        url = f"sqlite:///{blocker}/effort.db"
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        url = f"postgresql://effort:secret-pw@127.0.0.1:{port}/effort?connect_timeout=2"
    monkeypatch.setenv("EFFORT_DATABASE_URL", url)
    result = CliRunner().invoke(app, ["sync", "--no-index"])
    assert result.exit_code == 6, result.output
    assert "Traceback" not in result.output and "the store at" in result.output
    assert len([ln for ln in result.stderr.splitlines() if ln.startswith("error:")]) == 1
    assert "secret-pw" not in result.output


def test_doctor_reports_access_and_coverage(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox_factory: Any
) -> None:
    import json

    sb = sandbox_factory(seed=35, tasks=20, budgets=False)
    _env(monkeypatch, tmp_path, sb.base_url, sb.token, ws=sb.workspace_gid)
    assert CliRunner().invoke(app, ["sync", "--full", "--no-index"]).exit_code == 0
    result = CliRunner().invoke(app, ["doctor", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    checks = {c["name"]: c for c in data["checks"]}
    assert checks["events"]["ok"] and checks["time entry details"]["ok"] and checks["stories"]["ok"]
    assert not checks["budgets"]["ok"] and checks["budgets"]["status"] == 402
    assert not checks["timesheet approvals"]["ok"] and checks["timesheet approvals"]["status"] == 403
    last = {x["kind"]: x for x in data["store"]["last"]}
    assert last["full sync"]["status"] == "ok" and last["incremental sync"]["status"] == "never"
    assert "budgets" in last["budgets, rates, allocations, time off"]["note"]
    text = CliRunner().invoke(app, ["doctor"])
    assert "what the token can read" in text.output and "missing" in text.output
    assert sb.token not in text.output
    monkeypatch.setenv("ASANA_ACCESS_TOKEN", "wrong-token-0123456789")
    bad = CliRunner().invoke(app, ["doctor"])
    assert bad.exit_code == 1 and "refused the token" in bad.output and "wrong-token" not in bad.output
