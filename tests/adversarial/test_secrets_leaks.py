"""Secrets: with a distinctive fake Asana token and LLM key, run the representative commands (sync, ask,
a call to a bad URL, the writer failing) and look for the secrets in everything they leave behind:
log records, stdout/stderr, exception texts, reports, and every byte of the databases (audit rows,
store, checkpoints). They must appear nowhere."""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import sandbox as sandbox_mod

TOKEN = "asana-FAKE-tok-7d1f0c2b9e4a55"
READONLY = "asana-FAKE-ro-31c8e07d9b"
LLM_KEY = "sk-FAKE-llmkey-5a9e21c7f03b"
SECRETS = (TOKEN, READONLY, LLM_KEY)


def closed_port() -> int:
    """A loopback port with nothing listening (bind, read the number, close)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Evidence:
    """Everything the commands produced, to be searched for secrets."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, text: Any) -> None:
        self.texts.append((where, str(text)))

    def add_files(self, root: Path) -> None:
        for path in root.rglob("*"):
            if path.is_file():
                self.add(f"file {path.relative_to(root)}", path.read_bytes().decode("latin-1"))

    def leaks(self) -> list[str]:
        return [
            f"{secret[:10]}… in {where}" for where, text in self.texts for secret in SECRETS if secret in text
        ]


@pytest.fixture(scope="module")
def sb() -> Iterator[Any]:
    with sandbox_mod.Sandbox.start(seed=5, tasks=80, token=TOKEN, readonly_token=READONLY) as box:
        yield box


@pytest.fixture
def env(sb: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    values = {
        "ASANA_ACCESS_TOKEN": TOKEN,
        "EFFORT_ASANA_BASE_URL": sb.base_url,
        "EFFORT_DATABASE_URL": f"sqlite:///{tmp_path / 'effort.db'}",
        "EFFORT_DATA_DIR": str(tmp_path / ".effort"),
        "EFFORT_CHROMA_PATH": str(tmp_path / "chroma"),
        "EFFORT_PHASE": "suggest",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    # Dead URLs are retried with backoff; tiny backoffs keep this test fast (the retry path still runs).
    from tools.gateway import client

    policy = client.RetryPolicy
    monkeypatch.setattr(
        client, "RetryPolicy", lambda: policy(max_attempts=2, backoff_initial=0.01, backoff_max=0.02)
    )
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return tmp_path


def invoke(args: list[str], evidence: Evidence) -> Any:
    from agent.cli import app

    result = CliRunner().invoke(app, args)
    evidence.add(f"output of effort {' '.join(args)}", result.output)
    with contextlib.suppress(ValueError):
        evidence.add(f"stderr of effort {' '.join(args)}", result.stderr)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        evidence.add(f"exception of effort {' '.join(args)}", repr(result.exception))
    return result


def test_no_secret_anywhere(
    env: Path,
    sb: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
    spans: Any,
) -> None:
    import agent.cli.chat_cmd  # noqa: F401
    import tools.sync  # noqa: F401

    caplog.set_level(logging.DEBUG)
    evidence = Evidence()

    # 1. sync (works), then sync against a dead URL and with a token Asana refuses.
    assert invoke(["sync", "--full"], evidence).exit_code == 0
    monkeypatch.setenv("EFFORT_ASANA_BASE_URL", f"http://127.0.0.1:{closed_port()}/api/1.0")
    assert invoke(["sync"], evidence).exit_code != 0
    monkeypatch.setenv("EFFORT_ASANA_BASE_URL", sb.base_url)
    monkeypatch.setenv("ASANA_ACCESS_TOKEN", TOKEN + "-revoked")
    assert invoke(["sync"], evidence).exit_code != 0
    monkeypatch.setenv("ASANA_ACCESS_TOKEN", TOKEN)

    # 2. ask: offline, then with an LLM key whose endpoint is down (the call fails; the router answers
    # and the answer says why, naming the endpoint).
    assert invoke(["ask", "Which task types overran?", "--json", "--offline"], evidence).exit_code == 0
    monkeypatch.setenv("OPENAI_API_KEY", LLM_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{closed_port()}/v1")
    failed = invoke(["ask", "Which task types overran?", "--json"], evidence)
    assert failed.exit_code == 0 and "cannot be reached" in failed.stdout
    monkeypatch.delenv("OPENAI_BASE_URL")

    # 3. the writer, failing: a read-only token (403) and a dead URL, with audit rows written.
    import agent.writer as writer_mod
    from agent.config import load_settings
    from tools.proposals import Decision, DecisionType, Proposal, ProposalKind

    task = next(gid for gid, t in sorted(sb.state.objects["task"].items()) if not t.get("parent"))
    proposal = Proposal(
        kind=ProposalKind.SET_FIELD, target_gid=task, field_name="AI Estimated Hours", value=3.0
    )
    decision = Decision(proposal_id=proposal.id, type=DecisionType.ACCEPT, approver="tester", via="test")
    for label, overrides in (
        ("read-only token", {"ASANA_ACCESS_TOKEN": READONLY}),
        ("dead url", {"EFFORT_ASANA_BASE_URL": f"http://127.0.0.1:{closed_port()}/api/1.0"}),
    ):
        settings = load_settings(None, **overrides)
        try:
            writer = writer_mod.writer_from_settings(settings)
            results = writer.apply(
                [proposal], [decision], thread_id=f"t-{label}", run_id=f"r-{label}", approver="tester"
            )
            evidence.add(f"writer results ({label})", [r.summary() for r in results])
            evidence.add(f"audit rows ({label})", [e.model_dump_json() for e in writer.audit.entries()])
        except Exception as exc:  # a raised error is fine; its text must be clean
            evidence.add(f"writer exception ({label})", f"{exc!r} {exc}")

    # 4. a gateway call to a bad URL, raised directly.
    from tools.gateway import AsanaGateway

    gateway = AsanaGateway(f"http://127.0.0.1:{closed_port()}/api/1.0", TOKEN)
    try:
        gateway.get_task_raw("1")
    except Exception as exc:
        evidence.add("gateway exception", f"{exc!r} {exc} {exc.__cause__!r} {exc.__context__!r}")
    finally:
        gateway.close()

    # 5. a report whose notes carry that failure.
    import agent.reports.render as reports
    from agent.reports.model import ReportData

    notes = [text for where, text in evidence.texts if "exception" in where][:3]
    day = __import__("datetime").date(2026, 11, 1)
    reports.write_report(
        ReportData(title="secrets check", period_start=day, period_end=day, notes=notes), env / "report"
    )

    # 6. every span exported meanwhile (sync, Asana requests, tool and LLM calls, writes) and /metrics.
    from agent.config import load_settings as _load
    from agent.telemetry.metrics import exposition
    from tests.fixtures.telemetry import span_text

    exported = spans.get_finished_spans()
    assert {"effort.sync", "effort.write"} <= {s.name for s in exported}
    evidence.add("exported spans", "\n".join(span_text(s) for s in exported))
    evidence.add("metrics", exposition(_load(None)).decode())

    out, err = capfd.readouterr()
    evidence.add("captured stdout", out)
    evidence.add("captured stderr", err)
    evidence.add(
        "log records", "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    )
    evidence.add_files(env)

    assert len(evidence.texts) > 10
    assert any("effort.db" in where for where, _ in evidence.texts), (
        "the store/audit database must be searched"
    )
    assert evidence.leaks() == []


def test_leak_detector_catches_a_leak(tmp_path: Path) -> None:
    """The search itself works: a secret planted in a log line, a file and a SQLite row is found."""
    import sqlite3

    evidence = Evidence()
    evidence.add("log records", f"GET /tasks Authorization: Bearer {TOKEN}")
    (tmp_path / "report.md").write_text(f"key={LLM_KEY}")
    with sqlite3.connect(tmp_path / "audit.db") as db:
        db.execute("create table t (x text)")
        db.execute("insert into t values (?)", (READONLY,))
    evidence.add_files(tmp_path)
    assert len(evidence.leaks()) == 3
