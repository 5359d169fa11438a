"""The one writer against the sandbox over HTTP (real SDK): checks, idempotency, errors, rollback."""

from __future__ import annotations

from typing import Any

from agent.audit import AuditAction, AuditStatus
from agent.config import Phase
from tests.fixtures.approval import (
    ApprovalEnv,
    accept,
    comment_proposal,
    field_proposal,
    forged_field_proposal,
    statuses,
)
from tools.gateway.errors import TransientWriteError
from tools.proposals import Decision, DecisionType, Proposal, ProposalKind


def _writes(env: ApprovalEnv) -> list[Any]:
    return [r for r in env.sb.requests if r.write and r.status and r.status < 400]


def test_field_write_creates_the_ai_field_once_and_is_idempotent(approval_env: ApprovalEnv) -> None:
    env, task = approval_env, approval_env.in_scope[0]
    p = field_proposal(task, 6.5, evidence={"before": None})
    w = env.writer()
    [r] = w.apply([p], [accept(p)], thread_id="t1", run_id="run1", approver="lead")
    assert r.status is AuditStatus.APPLIED and r.wrote and r.after == 6.5
    assert env.field_value(task, "AI Estimated Hours") == 6.5
    kinds = [e.action for e in env.audit().entries(run_id="run1")]
    assert kinds[:2] == [AuditAction.DECISION, AuditAction.DECISION]  # proposed, approved: before the write
    assert AuditAction.CREATE_FIELD in kinds and AuditAction.ATTACH_FIELD in kinds
    first = len(_writes(env))
    # The same batch again (a re-run) and a fresh thread proposing the same value: no new write.
    again = w.apply([p], [accept(p)], thread_id="t1", run_id="run1", approver="lead")
    other = w.apply([p], [accept(p)], thread_id="t2", run_id="run2", approver="lead")
    assert statuses(again) == [AuditStatus.APPLIED] and statuses(other) == [AuditStatus.APPLIED]
    assert not other[0].wrote and len(_writes(env)) == first
    # A second task reuses the field (no new custom field is created).
    q = field_proposal(env.in_scope[1], 3.0)
    w.apply([q], [accept(q)], thread_id="t3", run_id="run3", approver="lead")
    assert not [r for r in _writes(env)[first:] if r.path == "/custom_fields"]


def test_insight_phase_makes_zero_requests(approval_env: ApprovalEnv) -> None:
    env = approval_env
    before = len(env.sb.requests)
    p, c = field_proposal(env.in_scope[0], 2.0), comment_proposal(env.in_scope[0], "hello")
    results = env.writer(phase=Phase.INSIGHT).apply(
        [p, c], [accept(p), accept(c)], thread_id="t", run_id="r", approver="x"
    )
    assert statuses(results) == [AuditStatus.REFUSED, AuditStatus.REFUSED]
    assert "insight" in (results[0].error or "")
    assert len(env.sb.requests) == before  # not even a read


def test_stale_value_is_refused(approval_env: ApprovalEnv) -> None:
    env, task = approval_env, approval_env.in_scope[0]
    w = env.writer()
    first = field_proposal(task, 5.0)
    w.apply([first], [accept(first)], thread_id="t", run_id="r1", approver="lead")
    stale = field_proposal(task, 9.0, evidence={"before": 4.0})  # proposed when the value was 4.0
    n = len(_writes(env))
    [r] = w.apply([stale], [accept(stale)], thread_id="t", run_id="r2", approver="lead")
    assert r.status is AuditStatus.STALE and "changed since the proposal" in (r.error or "")
    assert len(_writes(env)) == n and env.field_value(task, "AI Estimated Hours") == 5.0


def test_deleted_task_is_skipped_and_forbidden_token_is_refused(approval_env: ApprovalEnv) -> None:
    env = approval_env
    gone, task = env.in_scope[0], env.in_scope[1]
    env.sb.state.delete_task(gone)
    p = comment_proposal(gone, "late")
    [r] = env.writer().apply([p], [accept(p)], thread_id="t", run_id="r", approver="lead")
    assert r.status is AuditStatus.SKIPPED and "404" in (r.error or "")
    q = comment_proposal(task, "read-only")
    ro = env.writer(gateway=env.gateway(env.sb.readonly_token))
    [r2] = ro.apply([q], [accept(q)], thread_id="t", run_id="r", approver="lead")
    assert r2.status is AuditStatus.REFUSED and "403" in (r2.error or "") and "read-only" in (r2.error or "")
    assert env.stories_with(task, "read-only") == []
    assert env.sb.readonly_token not in str([e.model_dump() for e in env.audit().entries()])


def test_comment_is_posted_once_under_a_dropped_connection(approval_env: ApprovalEnv) -> None:
    env, task = approval_env, approval_env.in_scope[0]
    gw = env.gateway()
    real = gw.create_comment
    calls = {"n": 0}

    def dropped_after_landing(grant: Any, task_gid: str, **kw: Any) -> Any:
        calls["n"] += 1
        story = real(grant, task_gid, **kw)
        if calls["n"] == 1:  # the server processed it, the response was lost
            raise TransientWriteError("POST /tasks/{gid}/stories: connection dropped", endpoint="POST")
        return story

    gw.create_comment = dropped_after_landing  # type: ignore[method-assign]
    p = comment_proposal(task, "Estimate looks low: 12 similar tasks took 2x")
    [r] = env.writer(gateway=gw).apply([p], [accept(p)], thread_id="t", run_id="r", approver="lead")
    assert r.status is AuditStatus.APPLIED
    assert calls["n"] == 1  # the marker was found on re-read: no second POST
    assert len(env.stories_with(task, f"[effort:{p.id}]")) == 1


def test_forged_smuggled_and_out_of_scope_are_refused(approval_env: ApprovalEnv) -> None:
    env = approval_env
    n = len(_writes(env))
    human = forged_field_proposal(env.in_scope[0], "Estimated Hours", 1.0)
    outside = field_proposal(env.out_of_scope[0], 2.0)
    forged = Decision(proposal_id="p_0000000000000000", type=DecisionType.ACCEPT, approver="mallory")
    results = env.writer().apply(
        [human, outside], [accept(human), accept(outside), forged], thread_id="t", run_id="r", approver="x"
    )
    by_id = {r.proposal_id: r for r in results}
    assert by_id[forged.proposal_id].status is AuditStatus.REFUSED
    assert by_id[human.id].status is AuditStatus.REFUSED and "agent-owned" in (by_id[human.id].error or "")
    assert by_id[outside.id].status is AuditStatus.REFUSED and "scope" in (by_id[outside.id].error or "")
    assert len(_writes(env)) == n


def test_edit_and_reject_are_recorded(approval_env: ApprovalEnv) -> None:
    env, task = approval_env, approval_env.in_scope[0]
    p = field_proposal(task, 4.0)
    c = comment_proposal(task, "noise")
    flag = field_proposal(
        task, "Review", name="AI Review Flag", evidence={"anomaly": {"person_gid": "u1", "kind": "weekend"}}
    )
    decisions = [
        Decision(proposal_id=p.id, type=DecisionType.EDIT, edited_value=7.25, approver="lead"),
        Decision(proposal_id=c.id, type=DecisionType.IGNORE, approver="lead"),
        Decision(proposal_id=flag.id, type=DecisionType.IGNORE, approver="lead"),
    ]
    results = env.writer().apply([p, c, flag], decisions, thread_id="t", run_id="r", approver="lead")
    assert statuses(results) == [AuditStatus.APPLIED, AuditStatus.REJECTED, AuditStatus.REJECTED]
    assert env.field_value(task, "AI Estimated Hours") == 7.25
    audit = env.audit()
    assert [(e.proposed, e.edited) for e in audit.estimate_edits()] == [(4.0, 7.25)]
    assert [(f.person_gid, f.kind, f.confirmed_normal) for f in audit.feedback()] == [("u1", "weekend", True)]
    assert env.stories_with(task, "noise") == []


def test_enum_field_and_rollback_restore_before_values(approval_env: ApprovalEnv) -> None:
    env, t1, t2 = approval_env, approval_env.in_scope[0], approval_env.in_scope[1]
    w = env.writer()
    base = field_proposal(t1, 3.0)
    w.apply([base], [accept(base)], thread_id="t0", run_id="base", approver="lead")
    items = [
        field_proposal(t1, 8.0),
        field_proposal(t2, "Review", name="AI Review Flag"),
        comment_proposal(t2, "Please re-estimate"),
        Proposal(kind=ProposalKind.SUBTASK, target_gid=t2, title="Split this task", text="too big"),
    ]
    results = w.apply(items, [accept(i) for i in items], thread_id="t1", run_id="run-x", approver="lead")
    assert statuses(results) == [AuditStatus.APPLIED] * 4
    assert env.field_value(t2, "AI Review Flag") == "Review"
    undo = {r.proposal_id: r for r in w.rollback("run-x", approver="lead")}
    assert [undo[i.id].status for i in items if i.kind is not ProposalKind.COMMENT] == [
        AuditStatus.ROLLED_BACK
    ] * 3
    assert env.field_value(t1, "AI Estimated Hours") == 3.0  # the before value, not cleared
    assert env.field_value(t2, "AI Review Flag") is None
    comment = undo[items[2].id]
    if env.stories_with(t2, "Please re-estimate"):  # no story delete on this server: said so, not hidden
        assert comment.status is AuditStatus.SKIPPED and "left in place" in (comment.error or "")
    else:
        assert comment.status is AuditStatus.ROLLED_BACK
    with env.gateway() as gw:
        assert not [s for s in gw.iter_subtasks(t2, "name") if s.get("name") == "Split this task"]
    assert w.rollback("run-x", approver="lead") == []  # idempotent


def test_rollback_leaves_a_human_change_alone(approval_env: ApprovalEnv) -> None:
    env, task = approval_env, approval_env.in_scope[0]
    w = env.writer()
    p = field_proposal(task, 2.0)
    w.apply([p], [accept(p)], thread_id="t", run_id="r", approver="lead")
    with env.gateway() as gw:
        field_gid = next(
            cf["gid"]
            for cf in gw.get_task_raw(task, "custom_fields.name")["custom_fields"]
            if cf["name"] == "AI Estimated Hours"
        )
    env.sb.state.update_task(task, {"custom_fields": {field_gid: 11.0}})
    [r] = w.rollback("r", approver="lead")
    assert r.status is AuditStatus.STALE and env.field_value(task, "AI Estimated Hours") == 11.0


def test_optimize_significant_change_needs_the_asana_subtask(approval_env: ApprovalEnv) -> None:
    env, task = approval_env, approval_env.in_scope[0]
    w = env.writer(phase=Phase.OPTIMIZE)
    p = field_proposal(task, 20.0, significant=True)
    [r] = w.apply([p], [accept(p)], thread_id="t", run_id="r", approver="lead")
    assert r.status is AuditStatus.REFUSED and "approval subtask" in (r.error or "")
    req = w.request_asana_approval(p, thread_id="t2", run_id="r2", assignee_gid=None)
    assert req.status is AuditStatus.APPLIED and req.after and "task_gid" in req.after
    assert w.request_asana_approval(p, thread_id="t2", run_id="r2", assignee_gid=None).wrote is False
    from agent.asana_approvals import find_approval_task, verdict

    with env.gateway() as gw:
        found = find_approval_task(gw, p, p.id)
        assert found is not None and verdict(gw, found) == "pending"
    env.sb.state.update_task(req.after["task_gid"], {"completed": True})
    [r2] = w.apply([p], [accept(p)], thread_id="t2", run_id="r2", approver="lead")
    assert r2.status is AuditStatus.APPLIED and env.field_value(task, "AI Estimated Hours") == 20.0


def test_rollback_command(approval_env: ApprovalEnv) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    env, task = approval_env, approval_env.in_scope[0]
    p = field_proposal(task, 12.0)
    env.writer().apply([p], [accept(p)], thread_id="t", run_id="run-cli", approver="lead")
    vars_ = {**env.env_vars(), "EFFORT_WORKSPACE": env.workspace_gid}
    preview = CliRunner().invoke(app, ["rollback", "t", "--dry-run"], env=vars_)  # the approval id works too
    assert preview.exit_code == 0 and "restore AI Estimated Hours" in preview.stdout, preview.output
    assert env.field_value(task, "AI Estimated Hours") == 12.0  # a preview changes nothing
    unasked = CliRunner().invoke(app, ["rollback", "run-cli"], env=vars_)  # no terminal, no --yes
    assert unasked.exit_code == 2 and "--yes" in unasked.output
    out = CliRunner().invoke(app, ["rollback", "run-cli", "--yes", "--json"], env=vars_)
    assert out.exit_code == 0, out.output
    assert '"rolled_back"' in out.stdout and env.field_value(task, "AI Estimated Hours") is None
    again = CliRunner().invoke(app, ["rollback", "run-cli", "--yes"], env=vars_)
    assert again.exit_code == 0 and "nothing to roll back" in again.stdout


def test_scope_may_name_projects_as_well_as_gids(approval_env: ApprovalEnv) -> None:
    env = approval_env
    name = next(p.name for p in env.store.projects() if p.gid == env.scope_project)
    scope = env.settings.scope.model_copy(update={"projects": [name.upper()]})
    inside, outside = field_proposal(env.in_scope[0], 4.0), field_proposal(env.out_of_scope[0], 4.0)
    results = env.writer(scope=scope).apply(
        [inside, outside], [accept(inside), accept(outside)], thread_id="t", run_id="r", approver="x"
    )
    by_id = {r.proposal_id: r for r in results}
    assert by_id[inside.id].status is AuditStatus.APPLIED
    assert by_id[outside.id].status is AuditStatus.REFUSED and "scope" in (by_id[outside.id].error or "")
    assert env.field_value(env.in_scope[0], "AI Estimated Hours") == 4.0
