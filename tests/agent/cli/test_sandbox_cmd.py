"""`effort sandbox serve`: prints the ready line, serves with the given token, stops cleanly on SIGTERM."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx

from tests import REPO

READY = re.compile(r"^sandbox: (http://127\.0\.0\.1:(\d+)/api/1\.0) token=(\S+)$")


def test_serve_prints_ready_line_and_serves(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-c",
        "from agent.cli import app; app()",
        "sandbox",
        "serve",
        "--port",
        "0",
        "--tasks",
        "30",
        "--seed",
        "2",
        "--token",
        "sandbox-test-token",
        "--as-of",
        "2026-06-30",
        "--db",
        str(tmp_path / "s.db"),
        "--rate-limit",
        "600",
        "--faults",
        "5xx=0,seed=1",
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().rstrip("\n")  # the readiness signal
        match = READY.match(line)
        assert match, (line, proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        base, _port, token = match.groups()
        assert token == "sandbox-test-token"
        r = httpx.get(f"{base}/users/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json()["data"]["gid"]
        assert httpx.get(f"{base}/users/me", headers={"Authorization": "Bearer wrong"}).status_code == 401
        # --as-of moves the generated history: no entry after 2026-06-30 except seeded future-dated ones
        entries = httpx.get(
            f"{base}/time_tracking_entries",
            params={
                "workspace": r.json()["data"]["workspaces"][0]["gid"],
                "entered_on_start_date": "2026-08-01",
            },
            headers={"Authorization": f"Bearer {token}"},
        ).json()["data"]
        assert len(entries) <= 3
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode == 0
    assert (tmp_path / "s.db").exists()


def test_bad_fault_spec_is_a_clear_error() -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    result = CliRunner().invoke(app, ["sandbox", "serve", "--faults", "boom=1"])
    assert result.exit_code != 0
    assert "unknown fault kind" in result.output
