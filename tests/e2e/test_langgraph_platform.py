"""`langgraph dev` (the in-memory LangGraph server, from `langgraph-cli[inmem]`) loads langgraph.json's
chat and retro graphs; through the official `langgraph-sdk` client a chat thread reaches the approval
interrupt with nothing written, and its resume goes through the one writer to a synced sandbox; a retro
thread (period text and all) reaches its own interrupt and a reject-all resume writes nothing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client
from typer.testing import CliRunner

from agent.cli import app
from sandbox import Sandbox
from tests import REPO

LANGGRAPH = str(Path(sys.executable).with_name("langgraph"))
pytestmark = pytest.mark.slow  # one server start (~7 s on 2 cores) and three runs


@dataclass
class DevServer:
    url: str
    sb: Sandbox
    task_gid: str
    output: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _drain(stream: Any, lines: list[str], ready: threading.Event) -> None:
    """Read the server's output (so its pipe never fills) and flag the end of its startup."""
    for line in stream:
        lines.append(line)
        if "Application startup complete" in line:
            ready.set()
    ready.set()  # the process ended: let the waiter look at what it said


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    tmp = tmp_path_factory.mktemp("langgraph")
    with Sandbox.start(seed=1, tasks=60) as sb:
        (tmp / "effort.toml").write_text('phase = "suggest"\n[scope]\nprojects = ["*"]\n', encoding="utf-8")
        env = {
            "ASANA_ACCESS_TOKEN": sb.token,
            "EFFORT_ASANA_BASE_URL": sb.base_url,
            "EFFORT_DATABASE_URL": f"sqlite:///{tmp / 'effort.db'}",
            "EFFORT_DATA_DIR": str(tmp / ".effort"),
            "EFFORT_CHROMA_PATH": str(tmp / "chroma"),
            "EFFORT_INDEX_ON_SYNC": "false",
            "EFFORT_CONFIG": str(tmp / "effort.toml"),
        }
        with pytest.MonkeyPatch.context() as mp:
            for key, value in env.items():
                mp.setenv(key, value)
            synced = CliRunner().invoke(app, ["sync", "--full"])
        assert synced.exit_code == 0, synced.output
        sb.reset_log()
        task = sorted(gid for gid, t in sb.state.objects["task"].items() if not t.get("parent"))[0]
        server_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("EFFORT_", "ASANA_", "OPENAI_"))
        }
        server_env |= env | {
            "LANGGRAPH_CLI_NO_ANALYTICS": "1",
            "LANGGRAPH_NO_VERSION_CHECK": "true",
            "LANGSMITH_TRACING": "false",
        }
        port = _free_port()
        command = [LANGGRAPH, "dev", "--config", str(REPO / "langgraph.json"), "--host", "127.0.0.1"]
        command += ["--port", str(port), "--no-browser", "--no-reload", "--server-log-level", "info"]
        proc = subprocess.Popen(
            command,
            cwd=tmp,  # the in-memory server keeps its files in .langgraph_api here
            env=server_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[str] = []
        ready = threading.Event()
        threading.Thread(target=_drain, args=(proc.stdout, lines, ready), daemon=True).start()
        try:
            assert ready.wait(120) and proc.poll() is None, "".join(lines[-40:])
            url = next(
                (
                    ln.split("Uvicorn running on ", 1)[1].split()[0]
                    for ln in lines
                    if "Uvicorn running on" in ln
                ),
                f"http://127.0.0.1:{port}",
            )
            yield DevServer(url, sb, task, lines)
        finally:
            proc.terminate()
            proc.wait(20)


def test_dev_server_loads_both_graphs_with_their_context_schema(dev_server: DevServer) -> None:
    client = get_sync_client(url=dev_server.url)
    assistants = {a["graph_id"]: a["assistant_id"] for a in client.assistants.search()}
    assert set(assistants) == {"chat", "retro"}
    chat_nodes = {n["id"] for n in client.assistants.get_graph(assistants["chat"])["nodes"]}
    assert {"agent", "tools", "approval", "apply"} <= chat_nodes
    retro_nodes = {n["id"] for n in client.assistants.get_graph(assistants["retro"], xray=True)["nodes"]}
    assert {
        "plan",
        "retro:sync",
        "retro:analyse",
        "retro:propose",
        "retro:approval",
        "retro:apply",
    } <= retro_nodes
    for graph_id in ("chat", "retro"):
        schema = client.assistants.get_schemas(assistants[graph_id])["context_schema"]
        assert set(schema["properties"]) == {"config_file", "as_of", "approver"}, graph_id


def test_chat_thread_stops_at_the_approval_and_resumes_into_the_writer(dev_server: DevServer) -> None:
    client = get_sync_client(url=dev_server.url)
    thread = client.threads.create()["thread_id"]
    question = {"role": "user", "content": f"Propose an AI estimate for task {dev_server.task_gid}"}
    context = {"as_of": "2026-11-30", "approver": "lead@example.com"}
    client.runs.wait(thread, "chat", input={"messages": [question]}, context=context)
    state = client.threads.get_state(thread)
    assert state["next"] == ["approval"], state["values"].get("messages", [])[-2:]
    (interrupt,) = state["interrupts"]
    items = interrupt["value"]["action_requests"]  # LangChain's HITLRequest: one action request per item
    assert items and all(i["args"]["target_gid"] == dev_server.task_gid for i in items)
    assert dev_server.sb.write_count() == 0  # waiting for a person: nothing written

    out = client.runs.wait(
        thread,
        "chat",
        command={"resume": {"decisions": [{"type": "approve"} for _ in items]}},
        context=context,
    )
    assert isinstance(out, dict)
    assert [a["status"] for a in out["applied"]] == ["applied"] * len(items)
    assert dev_server.sb.write_count(succeeded=True) > 0
    assert client.threads.get_state(thread)["next"] == []


def test_retro_thread_plans_its_period_and_a_reject_writes_nothing(dev_server: DevServer) -> None:
    client = get_sync_client(url=dev_server.url)
    thread = client.threads.create()["thread_id"]
    context = {"as_of": "2026-11-30"}
    client.runs.wait(thread, "retro", input={"kind": "retro", "period": "2026-10"}, context=context)
    state = client.threads.get_state(thread, subgraphs=True)
    assert state["next"] == ["retro"]
    (interrupt,) = state["interrupts"]
    assert len(interrupt["value"]["action_requests"]) > 0
    inner = state["tasks"][0]["state"]["values"]
    assert (inner["period_start"], inner["period_end"]) == ([2026, 10, 1], [2026, 10, 31])  # dates, as JSON
    writes = dev_server.sb.write_count()
    out = client.runs.wait(thread, "retro", command={"resume": {"decisions": []}}, context=context)
    assert isinstance(out, dict) and out["applied"]
    assert {a["status"] for a in out["applied"]} <= {"rejected", "skipped"}
    assert dev_server.sb.write_count() == writes
