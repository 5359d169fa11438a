"""Processes killed with SIGKILL: in the middle of a sync, and while a chat waits on an approval.

On restart nothing is lost (the store converges to the sandbox's state; the approval is still pending)
and nothing is written twice (the write count at the sandbox is exact).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from agent.approvals_service import list_pending
from agent.checkpoint import open_checkpointer
from agent.config import Settings
from tests.fixtures.store import fast_gateway, sync_settings
from tests.tools.sync.test_engine import expected, stored
from tools.store import Store
from tools.sync import sync_workspace


def _env(sb: Any, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "EFFORT_"))}
    env.update(
        ASANA_ACCESS_TOKEN=sb.token,
        EFFORT_ASANA_BASE_URL=sb.base_url,
        EFFORT_DATABASE_URL=f"sqlite:///{db}",
        EFFORT_DATA_DIR=str(db.parent),
        EFFORT_APPROVER="lead",
    )
    config = db.parent / "effort.toml"
    config.write_text('[scope]\nprojects = ["*"]\n', encoding="utf-8")
    env["EFFORT_CONFIG"] = str(config)
    return env


def _effort(*args: str) -> list[str]:
    return [sys.executable, "-c", "from agent.cli import app; app()", *args]


def test_sigkill_in_the_middle_of_a_sync_loses_nothing(tmp_path: Path, sandbox_factory: Any) -> None:
    # Slow responses stretch the crawl so the kill lands while pages are still arriving.
    sb = sandbox_factory(seed=21, tasks=120, faults="slow=0.5,seed=3,slow_s=0.05")
    db = tmp_path / "effort.db"
    killed = threading.Event()
    proc = subprocess.Popen(
        _effort("sync", "--full"),
        env=_env(sb, db),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    halfway = 60

    def kill_when_halfway() -> None:
        # Condition, not a timer: the sandbox's request log says how far the crawl got.
        while proc.poll() is None and not killed.is_set():
            if len(sb.requests) >= halfway:
                proc.send_signal(signal.SIGKILL)
                killed.set()
                return
            threading.Event().wait(0.005)

    watcher = threading.Thread(target=kill_when_halfway, daemon=True)
    watcher.start()
    proc.wait(timeout=120)
    killed.set()
    watcher.join(timeout=5)
    assert proc.returncode == -signal.SIGKILL, "the sync finished before it could be killed"
    assert sb.write_count() == 0

    store = Store.open(f"sqlite:///{db}")
    assert store.sync_runs()[0].status == "running"  # what the killed process left behind
    with fast_gateway(sb) as gateway:
        sync_workspace(gateway, store, sync_settings(sb), full=False)
    assert stored(store) == expected(sb)
    assert [r.status for r in store.sync_runs()][:2] == ["ok", "interrupted"]  # not `running` forever


def test_sigkill_while_a_chat_waits_on_approval_keeps_the_batch(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=22, tasks=40)
    db = tmp_path / "effort.db"
    settings = sync_settings(sb, EFFORT_DATABASE_URL=f"sqlite:///{db}", EFFORT_DATA_DIR=tmp_path)
    with fast_gateway(sb) as gateway:
        sync_workspace(gateway, Store.open(settings.database_url), settings, full=True)
    task = next(t for t in Store.open(settings.database_url).tasks() if not t.completed)
    sb.reset_log()

    chat = subprocess.Popen(
        _effort("chat"),
        env=_env(sb, db),
        cwd=tmp_path,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert chat.stdin is not None and chat.stdout is not None
    chat.stdin.write(f"propose an AI estimate for task {task.gid}\n")
    chat.stdin.flush()
    seen: list[str] = []
    for line in chat.stdout:  # read until the REPL shows the batch and waits
        seen.append(line)
        if "effort approvals" in line:
            break
    chat.send_signal(signal.SIGKILL)
    chat.wait(timeout=30)
    assert any("effort approvals" in line for line in seen), "".join(seen)[-2000:]
    assert sb.write_count() == 0

    with open_checkpointer(Settings(EFFORT_DATABASE_URL=f"sqlite:///{db}")) as saver:
        pending = list_pending(saver)
    assert len(pending) == 1
    assert {p.target_gid for p in pending[0].proposals} == {task.gid}
    listed = subprocess.run(
        _effort("approvals", "list", "--json"),
        env=_env(sb, db),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert [item["id"] for item in json.loads(listed.stdout)] == [pending[0].id]
    assert sb.write_count() == 0
