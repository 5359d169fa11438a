"""Crash safety inside one process: an exception injected after the `approved` row or after the write."""

from __future__ import annotations

import pytest

from agent.audit import AuditStatus
from tests.fixtures.approval import ApprovalEnv, accept, comment_proposal, field_proposal


class Crash(RuntimeError):
    pass


def _crash_at(stage: str):  # type: ignore[no-untyped-def]
    def hook(at: str, _pid: str) -> None:
        if at == stage:
            raise Crash(stage)

    return hook


@pytest.mark.parametrize("stage", ["approved", "written"])
def test_crash_then_resume_writes_exactly_once(approval_env: ApprovalEnv, stage: str) -> None:
    env = approval_env
    task = env.in_scope[0]
    p, c = field_proposal(task, 4.5), comment_proposal(task, f"crash test {stage}")
    with pytest.raises(Crash):
        env.writer(hook=_crash_at(stage)).apply([p, c], [accept(p), accept(c)], thread_id="t", run_id="r", approver="lead")
    audit = env.audit()
    assert p.id in {u.proposal_id for u in audit.unfinished()}  # the approval is not lost
    results = env.writer().resume(approver="lead")
    assert {r.proposal_id: r.status for r in results} == {p.id: AuditStatus.APPLIED, c.id: AuditStatus.APPLIED}
    assert env.field_value(task, "AI Estimated Hours") == 4.5
    assert len(env.stories_with(task, f"[effort:{c.id}]")) == 1
    puts = [r for r in env.sb.requests if r.method == "PUT" and r.path == f"/tasks/{task}" and r.status == 200]
    assert len(puts) == 1  # field written once even when the crash came after the write
    assert audit.unfinished() == []
    assert env.writer().resume(approver="lead") == []  # nothing left to do
