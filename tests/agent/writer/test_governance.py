"""Issue 17, the writer's part, against the sandbox over HTTP: a refused rollback is retried (17.2),
field ownership is proven by the recorded gid (17.9), a moved input makes a proposal stale (17.12),
significant changes in optimize are found by the one rule (17.10), and time entries are created once,
only after the person approves, and rolled back without touching anyone else's (budget's base)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from agent.audit import AuditStatus
from agent.config import Phase
from tests.fixtures.approval import ApprovalEnv, accept, field_proposal
from tools.gateway import WriteGrant
from tools.proposals import Decision, DecisionType, Proposal, ProposalKind, TimeEntryDraft, is_significant
from tools.records import Person
from tools.sync.mapping import MappingContext, map_task


def human(target: str) -> WriteGrant:
    """A person acting in Asana (tests may build grants; product code gets them from the guard)."""
    return WriteGrant(approval_id="human", run_id="human", proposal_id="human", target_gid=target)


def _estimate_of(env: ApprovalEnv, task: str) -> float | None:
    """The task's human estimate as the writer's mapping reads it."""
    from tools.gateway.client import TASK_FIELDS

    with env.gateway() as gw:
        mapped = map_task(gw.get_task_raw(task, TASK_FIELDS), MappingContext())
    return mapped.estimate_hours if mapped is not None else None


def test_a_refused_rollback_is_tried_again_until_it_restores(approval_env: ApprovalEnv) -> None:
    env, task = approval_env, approval_env.in_scope[0]
    p = field_proposal(task, 8.0)
    env.writer().apply([p], [accept(p)], thread_id="t", run_id="r", approver="lead")
    [refused] = env.writer(phase=Phase.INSIGHT).rollback("r", approver="ops")
    assert refused.status is AuditStatus.REFUSED
    readonly = env.writer(gateway=env.gateway(env.sb.readonly_token))
    [forbidden] = readonly.rollback("r", approver="ops")  # refused again, now by Asana (403)
    assert forbidden.status is AuditStatus.REFUSED and "403" in (forbidden.error or "")
    assert env.field_value(task, "AI Estimated Hours") == 8.0
    [done] = env.writer().rollback("r", approver="ops")  # not "nothing to roll back"
    assert done.status is AuditStatus.ROLLED_BACK and env.field_value(task, "AI Estimated Hours") is None
    assert env.writer().rollback("r", approver="ops") == []


def test_a_human_field_with_an_ai_name_is_never_written(approval_env: ApprovalEnv) -> None:
    env, task, other = approval_env, approval_env.in_scope[0], approval_env.in_scope[1]
    with env.gateway() as gw:  # a person creates "AI Estimated Hours" themselves and types 42
        spec = {"name": "AI Estimated Hours", "resource_subtype": "number", "precision": 1}
        field = gw.create_custom_field(human(env.workspace_gid), env.workspace_gid, spec)
        gw.add_custom_field_to_project(human(env.scope_project), env.scope_project, field.gid)
        gw.update_task_custom_fields(human(task), task, {field.gid: 42})
    env.sb.reset_log()
    p, q = field_proposal(task, 8.3), field_proposal(other, 3.0)
    by_id = {
        r.proposal_id: r
        for r in env.writer().apply(
            [p, q], [accept(p), accept(q)], thread_id="t", run_id="r", approver="lead"
        )
    }
    assert by_id[p.id].status is AuditStatus.REFUSED and "not created by Effort Copilot" in (
        by_id[p.id].error or ""
    )
    assert by_id[q.id].status is AuditStatus.REFUSED  # its project carries the human's field too
    assert env.field_value(task, "AI Estimated Hours") == 42
    assert env.sb.write_count() == 0


def test_a_field_the_agent_created_is_recognised_by_its_gid(approval_env: ApprovalEnv) -> None:
    env, task = approval_env, approval_env.in_scope[0]
    first = field_proposal(task, 2.0)
    env.writer().apply([first], [accept(first)], thread_id="t", run_id="r1", approver="lead")
    assert env.audit().owned_fields()["AI Estimated Hours"] == {env.sb.field_gid("AI Estimated Hours")}
    second = field_proposal(task, 3.0)
    [r] = env.writer().apply([second], [accept(second)], thread_id="t", run_id="r2", approver="lead")
    assert r.status is AuditStatus.APPLIED and env.field_value(task, "AI Estimated Hours") == 3.0


def test_a_human_input_that_moved_makes_the_proposal_stale(approval_env: ApprovalEnv) -> None:
    env = approval_env
    task = next(t for t in env.in_scope if _estimate_of(env, t))
    estimate = _estimate_of(env, task)
    p = field_proposal(task, 19.8, inputs={"estimate_hours": estimate})
    env.sb.state.update_task(task, {"custom_fields": {env.sb.field_gid("Estimated Hours"): 400}})
    env.sb.reset_log()
    [r] = env.writer().apply([p], [accept(p)], thread_id="t", run_id="r", approver="lead")
    assert r.status is AuditStatus.STALE and "400" in (r.error or "") and "estimate" in (r.error or "")
    assert env.sb.write_count() == 0 and env.field_value(task, "AI Estimated Hours") is None
    fresh = field_proposal(task, 19.8, inputs={"estimate_hours": 400.0})  # proposed on the new value
    [ok] = env.writer().apply([fresh], [accept(fresh)], thread_id="t", run_id="r2", approver="lead")
    assert ok.status is AuditStatus.APPLIED


def test_significance_is_one_rule_read_by_the_guard(approval_env: ApprovalEnv) -> None:
    big = field_proposal("1", 60.0, inputs={"estimate_hours": 8.0})  # 52 h = 6.5 working days at 8 h
    small = field_proposal("1", 9.0, inputs={"estimate_hours": 8.0})
    assert is_significant(big, significant_days=5, hours_per_day=8) and not is_significant(
        small, significant_days=5, hours_per_day=8
    )
    assert not is_significant(
        field_proposal("1", 60.0, name="AI Schedule Variance %"), significant_days=5, hours_per_day=8
    )
    env, task = approval_env, approval_env.in_scope[0]
    estimate = _estimate_of(env, task)
    moving = field_proposal(task, (estimate or 0) + 80, inputs={"estimate_hours": estimate})  # not flagged
    [r] = env.writer(phase=Phase.OPTIMIZE).apply(
        [moving], [accept(moving)], thread_id="t", run_id="r", approver="lead"
    )
    assert r.status is AuditStatus.REFUSED and "approval subtask" in (r.error or "")
    gentle = field_proposal(task, (estimate or 0) + 1, inputs={"estimate_hours": estimate})
    [g] = env.writer(phase=Phase.OPTIMIZE).apply(
        [gentle], [accept(gentle)], thread_id="t", run_id="r", approver="lead"
    )
    assert g.status is AuditStatus.APPLIED


def _entry(env: ApprovalEnv, task: str, person: str, minutes: int = 90) -> Proposal:
    return Proposal(
        kind=ProposalKind.TIME_ENTRY,
        target_gid=task,
        project_gid=env.scope_project,
        text="Drafted from the week's activity",
        description="Timesheet draft",
        entry=TimeEntryDraft(person_gid=person, entered_on=date(2026, 11, 2), duration_minutes=minutes),
        source="timesheet",
    )


def _entries(env: ApprovalEnv, task: str) -> list[dict[str, Any]]:
    return [e for e in env.sb.state.objects["time_tracking_entry"].values() if e.get("task") == task]


def test_time_entries_need_the_persons_approval_are_made_once_and_rolled_back_alone(
    approval_env: ApprovalEnv,
) -> None:
    env, task = approval_env, approval_env.in_scope[0]
    user = env.sb.api.tokens[env.sb.token][0]
    person = env.sb.state.get("user", user)
    env.store.upsert_people([Person(gid=user, name=person["name"], email=person["email"])])
    human = env.sb.state.add_time_entry(task, 90, "2026-11-02", by=user, description="logged by hand")
    theirs = {e["gid"] for e in _entries(env, task)}  # the generated history and the look-alike
    assert human["gid"] in theirs
    p = _entry(env, task, user)
    [not_theirs] = env.writer().apply(
        [p], [accept(p, approver="mallory")], thread_id="t", run_id="r0", approver="x"
    )
    assert not_theirs.status is AuditStatus.REFUSED and "must be approved by that person" in (
        not_theirs.error or ""
    )
    decision = Decision(
        proposal_id=p.id, type=DecisionType.ACCEPT, approver=person["email"].upper(), via="test"
    )
    [made] = env.writer().apply([p], [decision], thread_id="t", run_id="r1", approver="x")
    assert made.status is AuditStatus.APPLIED and made.wrote
    again = Decision(proposal_id=p.id, type=DecisionType.ACCEPT, approver=user, via="test")
    [same] = env.writer().apply([p], [again], thread_id="t2", run_id="r2", approver="x")  # marker found
    assert same.status is AuditStatus.APPLIED and not same.wrote
    ours = [e for e in _entries(env, task) if f"[effort:{p.id}]" in (e.get("description") or "")]
    assert len(ours) == 1 and ours[0]["duration_minutes"] == 90
    [undone] = env.writer().rollback("r1", approver=person["email"])
    assert undone.status is AuditStatus.ROLLED_BACK
    assert {e["gid"] for e in _entries(env, task)} == theirs  # only the agent's entry went


@pytest.mark.parametrize("target", ["other-task", None])
def test_a_grant_is_for_one_object(approval_env: ApprovalEnv, target: str | None) -> None:
    env, task = approval_env, approval_env.in_scope[0]
    grant = WriteGrant(approval_id="1", run_id="r", proposal_id="p", target_gid=target)
    with env.gateway() as gw:
        if target is None:  # an unbound grant (tests only build those) is still a grant
            assert gw.create_comment(grant, task, text="bound nowhere").gid
        else:
            with pytest.raises(PermissionError, match="is for other-task"):
                gw.create_comment(grant, task, text="aimed elsewhere")
