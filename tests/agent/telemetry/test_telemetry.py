"""Spans, metrics and logs: what sync, each Asana request, each tool call, each LLM call and each write
report, exported through the product's redacting exporter into memory (the OpenTelemetry SDK's own
in-memory exporter), and what `effort serve` shows at /metrics."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr
from typer.testing import CliRunner

from agent.checkpoint import open_checkpointer
from agent.config import ScopeConfig, Settings
from agent.context import AgentContext
from agent.graph import build_chat_graph
from agent.llm import make_llm
from agent.serve.app import create_app
from agent.serve.deps import ServeDeps
from agent.serve.wiring import GateProposer
from agent.telemetry import setup_telemetry
from agent.telemetry.logs import configure_logging
from agent.telemetry.secrets import remember_secrets
from tests.fixtures.approval import ApprovalEnv, accept, field_proposal, forged_field_proposal
from tests.fixtures.store import fast_gateway, sync_settings
from tests.fixtures.telemetry import span_text
from tests.openai_stub import StubServer, calls, text
from tools.store import Store
from tools.sync import sync_workspace
from tools.telemetry import span

Metric = Callable[..., float]


def by_name(exporter: InMemorySpanExporter, prefix: str) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith(prefix)]


def test_sync_has_a_span_with_one_child_per_asana_request(
    spans: InMemorySpanExporter, metric: Metric, sandbox: Any, tmp_path: Path
) -> None:
    outcomes = ("ok", "4xx", "5xx", "429", "connection_error", "error")
    before = sum(metric("effort_asana_requests_total", method="GET", outcome=o) for o in outcomes)
    runs_before = metric("effort_sync_duration_seconds_count", mode="full", outcome="ok")
    store = Store.open(f"sqlite:///{tmp_path / 'effort.db'}")
    with fast_gateway(sandbox) as gw:
        summary = sync_workspace(gw, store, sync_settings(sandbox), full=True)
        requests = gw.stats.total
    store.close()
    (sync_span,) = by_name(spans, "effort.sync")
    assert sync_span.attributes["effort.sync.mode"] == summary.mode == "full"
    asana = by_name(spans, "asana ")
    assert len(asana) == requests > 10
    assert all(s.parent is not None and s.parent.span_id == sync_span.context.span_id for s in asana)
    assert {s.attributes["http.request.method"] for s in asana} == {"GET"}
    assert any(s.attributes["asana.endpoint"] == "GET /projects/{gid}/tasks" for s in asana)
    counted = sum(metric("effort_asana_requests_total", method="GET", outcome=o) for o in outcomes)
    assert counted - before == requests
    assert metric("effort_sync_duration_seconds_count", mode="full", outcome="ok") - runs_before == 1


def test_retries_and_429s_are_counted(
    spans: InMemorySpanExporter, metric: Metric, sandbox_factory: Callable[..., Any]
) -> None:
    sb = sandbox_factory(tasks=30, faults="429=0.2,5xx=0.2,seed=5")
    retries, limited = metric("effort_asana_retries_total"), metric("effort_asana_rate_limited_total")
    with fast_gateway(sb, sleep=lambda _s: None) as gw:  # Retry-After is 1 s: do not wait it out
        for project in gw.projects(sb.workspace_gid):
            list(gw.iter_tasks_for_project(project.gid, "name"))
        stats = gw.stats.snapshot()
    assert stats["rate_limited"] > 0 and stats["retries"] > 0
    assert metric("effort_asana_retries_total") - retries == stats["retries"]
    assert metric("effort_asana_rate_limited_total") - limited == stats["rate_limited"]
    outcomes = [s.attributes.get("asana.outcome") for s in by_name(spans, "asana ")]
    assert outcomes.count("429") == stats["rate_limited"]
    assert outcomes.count("5xx") == stats["server_errors"]


def test_chat_run_has_llm_and_tool_spans_and_llm_latency(
    spans: InMemorySpanExporter, metric: Metric, openai_stub: StubServer, chat_workspace: Any, tmp_path: Path
) -> None:
    openai_stub.script = [calls(("variance", {"group_by": "project_type"})), text("Client builds overran.")]
    settings = Settings(
        OPENAI_BASE_URL=openai_stub.url,
        OPENAI_API_KEY=SecretStr("sk-telemetry-test-4242"),
        EFFORT_LLM_MODEL="stub-model",
        EFFORT_DATABASE_URL=f"sqlite:///{tmp_path}/effort.db",
        scope=ScopeConfig(projects=["*"]),
    )
    remember_secrets(settings)
    latency_before = metric("effort_llm_latency_seconds_count", model="stub-model", outcome="ok")
    tools_before = metric("effort_tool_calls_total", tool="variance", via="chat", outcome="ok")
    ctx = AgentContext.for_workspace(chat_workspace, settings)
    with open_checkpointer(settings) as saver:
        graph = build_chat_graph(make_llm(settings, streaming=False, max_retries=0, timeout=10), saver)
        graph.invoke(
            {"messages": [HumanMessage("which types overran?")]},
            {"configurable": {"thread_id": "t"}},
            context=ctx,
        )
    (root,) = by_name(spans, "graph ")
    llm = by_name(spans, "llm ")
    (tool,) = by_name(spans, "tool variance")
    assert len(llm) == 2 and {s.attributes["gen_ai.request.model"] for s in llm} == {"stub-model"}
    assert all(s.context.trace_id == root.context.trace_id for s in [*llm, tool])
    assert tool.attributes["effort.tool.outcome"] == "ok"
    assert metric("effort_llm_latency_seconds_count", model="stub-model", outcome="ok") - latency_before == 2
    assert metric("effort_tool_calls_total", tool="variance", via="chat", outcome="ok") - tools_before == 1
    exported = " ".join(span_text(s) for s in spans.get_finished_spans())
    assert "sk-telemetry-test-4242" not in exported and "which types overran" not in exported


def test_each_write_has_a_span_and_writes_are_counted_by_status(
    spans: InMemorySpanExporter, metric: Metric, approval_env: ApprovalEnv
) -> None:
    applied, refused = (metric("effort_writes_total", status=s) for s in ("applied", "refused"))
    task = approval_env.in_scope[0]
    good = field_proposal(task, 4.5)
    human = forged_field_proposal(task, "Estimated Hours", 99.0)
    writer = approval_env.writer()
    results = writer.apply(
        [good, human], [accept(good), accept(human)], thread_id="t", run_id="r", approver="lead"
    )
    assert [r.status.value for r in results] == ["applied", "refused"]
    assert metric("effort_writes_total", status="applied") - applied == 1
    assert metric("effort_writes_total", status="refused") - refused == 1
    writes = by_name(spans, "effort.write")
    ok = [s for s in writes if s.attributes["effort.write.status"] == "applied"]
    assert len(ok) == 1 and ok[0].attributes["effort.proposal.field"] == "AI Estimated Hours"
    children = [s for s in by_name(spans, "asana ") if s.parent and s.parent.span_id == ok[0].context.span_id]
    assert any(s.attributes["http.request.method"] == "PUT" for s in children)


def test_exported_spans_are_scrubbed_of_secrets(spans: InMemorySpanExporter) -> None:
    """Whoever makes a span (an SDK recording an error message, say), secrets do not leave the process."""
    secret = "asana-telemetry-secret-77e1"
    remember_secrets(Settings(ASANA_ACCESS_TOKEN=SecretStr(secret)))
    tracer = trace.get_tracer("some-sdk")
    with tracer.start_as_current_span(f"call with {secret}") as sp:
        sp.set_attribute("http.url", f"https://x/?token={secret}")
        sp.set_attribute("headers", ["Authorization: Bearer abcdef123456", "ok"])
        sp.add_event("retry", {"detail": f"failed for {secret}"})
        sp.set_status(trace.Status(trace.StatusCode.ERROR, f"401 for {secret}"))
    with pytest.raises(RuntimeError), span("effort.step", {"note": secret}):
        raise RuntimeError(f"boom {secret}")
    exported = [span_text(s) for s in spans.get_finished_spans()]
    assert len(exported) == 2
    assert all(secret not in t and "abcdef123456" not in t for t in exported)
    assert "***" in exported[0]
    (step,) = by_name(spans, "effort.step")
    assert step.attributes["error.type"] == "RuntimeError" and step.status.description == "RuntimeError"


def test_serve_metrics_endpoint(
    serve_settings: Settings, serve_deps: ServeDeps, run_server: Callable[[Any], Any], metric: Metric
) -> None:
    with open_checkpointer(serve_settings) as saver:
        thread = GateProposer(saver)(
            [field_proposal("1201", 3.0), field_proposal("1202", 4.0)], kind="t", scope="s", period="p"
        )
    assert thread
    server = run_server(create_app(serve_settings, serve_deps, start_scheduler=False))
    response = httpx.get(f"{server.base_url}/metrics", timeout=10)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    body = response.text
    assert 'effort_proposals_pending{graph="approval"} 2.0' in body
    assert "effort_approvals_pending 1.0" in body
    for name in (
        "effort_asana_requests_total",
        "effort_asana_retries_total",
        "effort_asana_rate_limited_total",
        "effort_sync_duration_seconds",
        "effort_writes_total",
        "effort_llm_latency_seconds",
        "process_cpu_seconds_total",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in body, name


def test_json_logs_carry_trace_ids_and_no_secret(
    spans: InMemorySpanExporter, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "sk-json-log-secret-9f0a"
    settings = Settings(OPENAI_API_KEY=SecretStr(secret), EFFORT_LOG_FORMAT="json")
    handler = configure_logging(settings, default_level="INFO")
    try:
        with span("effort.test") as sp:
            logging.getLogger("effort.test").info("calling with key %s", secret)
        line = capsys.readouterr().err.strip().splitlines()[-1]
    finally:
        logging.getLogger().removeHandler(handler)
    record = json.loads(line)
    assert record["level"] == "INFO" and record["logger"] == "effort.test"
    assert record["message"] == "calling with key ***"
    assert record["trace_id"] == f"{sp.get_span_context().trace_id:032x}"


def test_one_text_log_format_replaces_instead_of_stacking(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(EFFORT_LOG_LEVEL="WARNING")
    setup_telemetry(settings)
    handler = configure_logging(settings)
    try:
        ours = [h for h in logging.getLogger().handlers if getattr(h, "_effort_handler", False)]
        logging.getLogger("effort.x").warning("once")
        err = capsys.readouterr().err
    finally:
        logging.getLogger().removeHandler(handler)
    assert ours == [handler]
    assert err.count("once") == 1 and " WARNING effort.x: once" in err


def test_version() -> None:
    from importlib.metadata import version

    from agent.cli import app

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"effort-copilot {version('effort-copilot')}"


def test_otlp_export_from_a_real_command_reaches_a_collector_without_secrets(
    sandbox: Any, tmp_path: Path
) -> None:
    """`effort sync` with OTEL_EXPORTER_OTLP_ENDPOINT set, in its own process, posts its spans over
    OTLP/HTTP to a collector on loopback (a recording HTTP server here); the token is not in them."""
    import os
    import subprocess
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[tuple[str, bytes]] = []

    class Collector(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append((self.path, self.rfile.read(int(self.headers.get("content-length") or 0))))
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            return None

    collector = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EFFORT_", "ASANA_", "OTEL_"))}
    env |= {
        "ASANA_ACCESS_TOKEN": sandbox.token,
        "EFFORT_ASANA_BASE_URL": sandbox.base_url,
        "EFFORT_DATABASE_URL": f"sqlite:///{tmp_path / 'effort.db'}",
        "EFFORT_INDEX_ON_SYNC": "false",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}",
    }
    try:
        done = subprocess.run(
            [str(Path(sys.executable).with_name("effort")), "sync", "--full"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        collector.shutdown()
    assert done.returncode == 0, done.stderr
    assert received and {path for path, _ in received} == {"/v1/traces"}
    body = b"".join(data for _, data in received)
    assert b"effort.sync" in body and b"GET /projects/{gid}/tasks" in body and b"effort-copilot" in body
    assert sandbox.token.encode() not in body
