"""Exactly once across processes (issue 17.1): two and three concurrent approvers of one batch, and
three concurrent resumers after a killed apply, each a real `effort` process, against a sandbox that
answers every request 120 ms late (so the processes really overlap). Every item is written once, on
SQLite and on PostgreSQL; the processes that lost the race say so."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from agent.approval import build_approval_graph
from agent.audit import AuditAction, AuditStatus
from agent.checkpoint import open_checkpointer
from sandbox.faults import FaultInjector, FaultSpec
from tests.fixtures.approval import (
    REPO,
    ApprovalEnv,
    approval_environment,
    comment_proposal,
    field_proposal,
    run_python,
)
from tests.fixtures.store import throwaway_pg_database
from tools.proposals import Proposal, ProposalKind

LATENCY = "slow=1.0,slow_s=0.12,seed=5"

KILLED_APPLY = """
import os, signal
from agent.approvals_service import decisions_for, get_pending, resume
from agent.checkpoint import open_checkpointer
from agent.config import load_settings
from agent.writer import writer_from_settings

def hook(stage, pid):
    if stage == "approved":  # every decision is on record; not one write has happened
        os.kill(os.getpid(), signal.SIGKILL)

settings = load_settings()
writer = writer_from_settings(settings)
writer.hook = hook
with open_checkpointer(settings) as saver:
    pending = get_pending(saver, "batch-1")
    resume(saver, pending, decisions_for(pending, "approve", approver="lead"), writer=writer,
           settings=settings, approver="lead")
"""


def _env(env: ApprovalEnv) -> dict[str, str]:
    return {**env.env_vars(), "EFFORT_WORKSPACE": env.workspace_gid}


def _batch(env: ApprovalEnv, first: int = 0) -> list[Proposal]:
    a, b, c = env.in_scope[first : first + 3]
    return [
        field_proposal(a, 5.5, project_gid=env.scope_project),
        field_proposal(b, 7.0, project_gid=env.scope_project),  # the same field: created and attached once
        comment_proposal(c, "Estimates ran 30% low this month"),
        Proposal(
            kind=ProposalKind.SUMMARY_TASK,
            target_gid=env.scope_project,
            project_gid=env.scope_project,
            title=f"Retrospective (concurrency drill {first})",
            text="Tasks completed: 3",
        ),
    ]


def _start(env: ApprovalEnv, proposals: list[Proposal], thread: str = "batch-1") -> None:
    """A batch waiting on the approval gate (this process pauses it; other processes decide it)."""
    with open_checkpointer(env.settings) as saver:
        build_approval_graph(saver).invoke(
            {"proposals": proposals, "run_id": f"run-{thread}"},
            {"configurable": {"thread_id": thread}, "metadata": {"effort_graph": "approval"}},
        )


def _effort_all(env: ApprovalEnv, commands: list[list[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Start every command at once (separate interpreters), then wait for all."""
    code = "import sys; from agent.cli import app; sys.argv = ['effort', *sys.argv[1:]]; app()"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, *args],
            env=_env(env),
            cwd=REPO,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for args in commands
    ]
    done = []
    for proc, args in zip(procs, commands, strict=True):
        out, err = proc.communicate(timeout=240)
        done.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return done


def _writes(env: ApprovalEnv, proposals: list[Proposal]) -> dict[str, int]:
    """Successful write requests, counted at the sandbox: per field and comment target, the custom
    field's creation and attachment, summary tasks."""
    ok = [r for r in env.sb.requests if r.write and r.status and r.status < 400]
    counts = {
        "custom field created": sum(r.path == "/custom_fields" for r in ok),
        "field attached": sum(r.path.endswith("/addCustomFieldSetting") for r in ok),
        "summary tasks": sum(r.method == "POST" and r.path == "/tasks" for r in ok),
    }
    for p in proposals:
        if p.kind is ProposalKind.SET_FIELD:
            counts[f"field {p.target_gid}"] = sum(
                r.method == "PUT" and r.path == f"/tasks/{p.target_gid}" for r in ok
            )
        elif p.kind is ProposalKind.COMMENT:
            counts[f"comment {p.target_gid}"] = sum(r.path == f"/tasks/{p.target_gid}/stories" for r in ok)
    return counts


def _assert_applied_once(env: ApprovalEnv, proposals: list[Proposal], summaries: int = 1) -> None:
    once = {k: 1 for k in _writes(env, proposals)} | {"summary tasks": summaries}
    assert _writes(env, proposals) == once
    assert env.field_value(proposals[0].target_gid, "AI Estimated Hours") == 5.5
    assert len(env.stories_with(proposals[2].target_gid, f"[effort:{proposals[2].id}]")) == 1
    applied = env.audit().entries(actions=[AuditAction.WRITE], statuses=[AuditStatus.APPLIED])
    assert sorted(r.proposal_id for r in applied) == sorted(p.id for p in proposals)  # one row each
    assert env.audit().unfinished() == []


@contextmanager
def _postgres_env(tmp_path: Path) -> Iterator[ApprovalEnv]:
    with throwaway_pg_database("gov") as url, approval_environment(tmp_path, database_url=url) as env:
        yield env


def _env_for(backend: str, tmp_path: Path) -> Any:
    return _postgres_env(tmp_path) if backend == "postgres" else approval_environment(tmp_path)


BACKENDS = [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_and_three_concurrent_approvers_write_each_item_once(tmp_path: Path, backend: str) -> None:
    """Two processes approve batch-2 while three approve batch-3, all at once (both batches also race
    to create and attach the same AI field)."""
    with _env_for(backend, tmp_path) as env:
        two, three = _batch(env, 0), _batch(env, 3)
        _start(env, two, "batch-2")
        _start(env, three, "batch-3")
        env.sb.api.faults = FaultInjector(FaultSpec.parse(LATENCY))  # type: ignore[arg-type]
        env.sb.reset_log()
        commands = [["approvals", "approve", "batch-2", "--json"]] * 2 + [
            ["approvals", "approve", "batch-3", "--json"]
        ] * 3
        runs = _effort_all(env, commands)
        env.sb.api.faults = None
        for batch, group in (("batch-2", runs[:2]), ("batch-3", runs[2:])):
            winners = [r for r in group if r.returncode == 0]
            assert len(winners) == 1, (batch, [r.stderr[-800:] for r in group])
            assert {x["status"] for x in json.loads(winners[0].stdout)["results"]} == {"applied"}
            for loser in (r for r in group if r.returncode != 0):
                assert loser.returncode == 1 and loser.stderr.startswith("error:"), loser.stderr[-800:]
                assert "another process" in loser.stderr or "no pending approval" in loser.stderr
        _assert_applied_once(env, two + three, summaries=2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_three_concurrent_resumers_after_a_killed_apply_write_each_item_once(
    tmp_path: Path, backend: str
) -> None:
    with _env_for(backend, tmp_path) as env:
        proposals = _batch(env)
        _start(env, proposals)
        killed = run_python(textwrap.dedent(KILLED_APPLY), _env(env))
        assert killed.returncode == -signal.SIGKILL
        assert len(env.audit().unfinished()) == len(proposals)  # approved, nothing written
        env.sb.api.faults = FaultInjector(FaultSpec.parse(LATENCY))  # type: ignore[arg-type]
        env.sb.reset_log()
        runs = _effort_all(env, [["approvals", "resume", "--json"]] * 3)
        env.sb.api.faults = None
        assert all(r.returncode == 0 for r in runs), [r.stderr[-800:] for r in runs]
        reported = [item for r in runs for item in json.loads(r.stdout)]
        assert not [i for i in reported if i["status"] == "refused"], reported  # nobody's work refused
        written_here = [
            i for i in reported if i["status"] == "applied" and "another process" not in (i.get("note") or "")
        ]
        assert sorted(i["proposal_id"] for i in written_here) == sorted(p.id for p in proposals)
        _assert_applied_once(env, proposals)
