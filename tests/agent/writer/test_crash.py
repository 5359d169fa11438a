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
        env.writer(hook=_crash_at(stage)).apply(
            [p, c], [accept(p), accept(c)], thread_id="t", run_id="r", approver="lead"
        )
    audit = env.audit()
    assert p.id in {u.proposal_id for u in audit.unfinished()}  # the approval is not lost
    results = env.writer().resume(approver="lead")
    assert {r.proposal_id: r.status for r in results} == {
        p.id: AuditStatus.APPLIED,
        c.id: AuditStatus.APPLIED,
    }
    assert env.field_value(task, "AI Estimated Hours") == 4.5
    assert len(env.stories_with(task, f"[effort:{c.id}]")) == 1
    puts = [
        r for r in env.sb.requests if r.method == "PUT" and r.path == f"/tasks/{task}" and r.status == 200
    ]
    assert len(puts) == 1  # field written once even when the crash came after the write
    assert audit.unfinished() == []
    assert env.writer().resume(approver="lead") == []  # nothing left to do


def test_seeded_faults_never_double_a_post(approval_env: ApprovalEnv) -> None:
    """5xx and dropped connections on every endpoint (seeded): each comment lands exactly once, each
    field ends at its value; what could not be confirmed is `failed` and `resume` finishes it."""
    from sandbox.faults import FaultInjector, FaultSpec

    env = approval_env
    tasks = env.in_scope[:4]
    items = [comment_proposal(t, f"fault drill {n}") for n, t in enumerate(tasks)]
    items += [field_proposal(t, 1.5 + n) for n, t in enumerate(tasks)]
    env.sb.api.faults = FaultInjector(FaultSpec.parse("5xx=0.2,drop=0.15,seed=11"))  # type: ignore[arg-type]
    try:
        results = env.writer().apply(
            items, [accept(i) for i in items], thread_id="f", run_id="f", approver="lead"
        )
        assert {r.status for r in results} <= {AuditStatus.APPLIED, AuditStatus.FAILED}
        assert any(r.fault for r in env.sb.requests)  # the drill really injected faults
    finally:
        env.sb.api.faults = None
    env.writer().resume(approver="lead")
    for n, (t, c) in enumerate(zip(tasks, items, strict=False)):
        assert len(env.stories_with(t, f"[effort:{c.id}]")) == 1
        assert env.field_value(t, "AI Estimated Hours") == 1.5 + n
    assert env.audit().unfinished() == []
