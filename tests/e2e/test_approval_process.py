"""The approval gate across processes: a pending approval survives a restart and is resumed from a NEW
process (SQLite checkpointer); a crash between approval and apply neither loses nor doubles a write."""

from __future__ import annotations

import json
import signal
import textwrap
from dataclasses import dataclass
from typing import Any

from agent.audit import AuditStatus
from tests.fixtures.approval import ApprovalEnv, comment_proposal, field_proposal, run_python
from tools.proposals import Proposal

START_SCRIPT = """
import json
from agent.approval import build_approval_graph
from agent.checkpoint import open_checkpointer
from agent.config import load_settings
from tools.proposals import Proposal
proposals = [Proposal.model_validate(p) for p in json.loads({payload!r})]
with open_checkpointer(load_settings()) as saver:
    out = build_approval_graph(saver).invoke(
        {{"proposals": proposals, "run_id": "run-p"}},
        {{"configurable": {{"thread_id": "retro-1"}}, "metadata": {{"effort_graph": "approval"}}}},
    )
print(json.dumps([i.value for i in out["__interrupt__"]], default=str))
"""

KILL_SCRIPT = """
import os, signal
from agent.approvals_service import decisions_for, get_pending, resume
from agent.checkpoint import open_checkpointer
from agent.config import load_settings
from agent.writer import writer_from_settings

def hook(stage, pid):
    if stage == "written":
        os.kill(os.getpid(), signal.SIGKILL)  # the write landed; the `applied` row never will

settings = load_settings()
writer = writer_from_settings(settings)
writer.hook = hook
with open_checkpointer(settings) as saver:
    pending = get_pending(saver, "retro-1")
    resume(saver, pending, decisions_for(pending, "approve", approver="lead"), writer=writer,
           settings=settings, approver="lead")
"""


def _start(env: ApprovalEnv, proposals: list[Proposal]) -> list[Any]:
    payload = json.dumps([p.model_dump(mode="json") for p in proposals])
    proc = run_python(textwrap.dedent(START_SCRIPT.format(payload=payload)), _env(env))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _env(env: ApprovalEnv) -> dict[str, str]:
    return {**env.env_vars(), "EFFORT_WORKSPACE": env.workspace_gid}


def _cli(env: ApprovalEnv, *args: str, subprocess: bool = False) -> Any:
    """Run `effort ARGS`: in a NEW interpreter, or in this test process (which never ran the graph)."""
    if subprocess:
        code = "import sys; from agent.cli import app; sys.argv = ['effort', *sys.argv[1:]]; app()"
        import subprocess as sp
        import sys

        from tests.fixtures.approval import REPO

        return sp.run(
            [sys.executable, "-c", code, *args],
            env=_env(env),
            capture_output=True,
            text=True,
            timeout=180,
            cwd=REPO,
        )
    from typer.testing import CliRunner

    from agent.cli import app

    result = CliRunner().invoke(app, list(args), env=_env(env))
    return _Done(result.exit_code, result.stdout, result.output if result.exit_code else "")


@dataclass
class _Done:
    returncode: int
    stdout: str
    stderr: str


def test_pending_approval_survives_restart_and_is_resumed_by_the_cli(approval_env: ApprovalEnv) -> None:
    env = approval_env
    task = env.in_scope[0]
    p, c = field_proposal(task, 5.5), comment_proposal(task, "Retro: estimates ran 30% low")
    [interrupt] = _start(env, [p, c])  # process 1 pauses and exits
    assert [i["args"]["proposal_id"] for i in interrupt["action_requests"]] == [p.id, c.id]
    assert env.field_value(task, "AI Estimated Hours") is None  # nothing written while it waits

    listed = _cli(env, "approvals", "list", "--json")  # process 2: the approval is still there
    assert listed.returncode == 0, listed.stderr[-2000:]
    [item] = json.loads(listed.stdout)
    assert item["id"] == "retro-1" and item["items"] == [p.id, c.id]
    shown = _cli(env, "approvals", "show", "retro-1", "--json")
    assert json.loads(shown.stdout)["items"][1]["request"]["args"]["text"].startswith("Retro")

    bad = _cli(env, "approvals", "edit", "retro-1", "--item", "1", "--value", "lots")
    assert bad.returncode == 2 and "number field" in bad.stdout + bad.stderr  # clear error, still pending

    done = _cli(
        env,
        "approvals",
        "edit",
        "retro-1",
        "--item",
        "1",
        "--value",
        "6",
        "--approve-rest",
        "--json",
        subprocess=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]  # a third process resumes the thread
    answer = json.loads(done.stdout)
    assert answer["summary"].startswith("approved 1, edited 1 of 2 item(s) → 2 applied")
    statuses = {r["proposal_id"]: r["status"] for r in answer["results"]}
    assert statuses == {p.id: "applied", c.id: "applied"}
    assert env.field_value(task, "AI Estimated Hours") == 6.0
    assert len(env.stories_with(task, f"[effort:{c.id}]")) == 1
    assert json.loads(_cli(env, "approvals", "list", "--json").stdout) == []
    assert env.sb.token not in done.stdout + done.stderr


def test_sigkill_between_write_and_audit_neither_loses_nor_doubles(approval_env: ApprovalEnv) -> None:
    env = approval_env
    task = env.in_scope[1]
    c = comment_proposal(task, "Weekly summary: 3 tasks over estimate")
    _start(env, [c])
    killed = run_python(textwrap.dedent(KILL_SCRIPT), _env(env))
    assert killed.returncode == -signal.SIGKILL
    assert len(env.stories_with(task, f"[effort:{c.id}]")) == 1  # it landed before the kill
    audit = env.audit()
    assert [u.proposal_id for u in audit.unfinished()] == [c.id]  # approved, not yet marked applied

    finish = _cli(env, "approvals", "resume", "--json")  # another process (this one) finishes the job
    assert finish.returncode == 0, finish.stderr[-2000:]
    assert [r["status"] for r in json.loads(finish.stdout)] == ["applied"]
    assert len(env.stories_with(task, f"[effort:{c.id}]")) == 1  # not posted twice
    posts = [r for r in env.sb.requests if r.method == "POST" and r.path == f"/tasks/{task}/stories"]
    assert len(posts) == 1
    assert audit.unfinished() == []
    assert [r.status for r in audit.entries(proposal_id=c.id)][-1] is AuditStatus.APPLIED
