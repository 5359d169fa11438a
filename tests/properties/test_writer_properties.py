"""Property: no path writes without an approval, to a field the agent does not own, or outside scope.

Random batches mix valid proposals, human fields smuggled past validation with ``model_construct``,
out-of-scope targets, hostile values, forged decisions for unknown ids and both phases. Every write
request is counted at the sandbox and must be explained by an accepted, valid, in-scope proposal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agent.config import Phase
from tests.fixtures.approval import ApprovalEnv, approval_environment, forged_field_proposal
from tools.proposals import AI_FIELDS, Decision, DecisionType, Proposal, ProposalKind, is_agent_owned

HUMAN_FIELDS = ["Estimated Hours", "Actual Hours", "Priority", "ai estimated hours", "AI Estimated Hours "]
NUMBER_AI = [name for name, kind in AI_FIELDS.items() if kind == "number"]
_task_path = re.compile(r"^/tasks/(\d+)(?:/(stories|subtasks))?$")


@dataclass(frozen=True)
class Spec:
    kind: str  # ai | human | comment | text
    task: int  # index into the candidate targets
    value: Any
    decision: str  # none | accept | edit | ignore
    edit: Any


values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-(10**12), 10**12),
    st.text(max_size=12),
    st.none(),
)
specs = st.builds(
    Spec,
    kind=st.sampled_from(["ai", "human", "comment", "text"]),
    task=st.integers(0, 4),
    value=values,
    decision=st.sampled_from(["none", "accept", "edit", "ignore"]),
    edit=values,
)


def _proposal(spec: Spec, target: str, n: int) -> Proposal | None:
    if spec.kind == "human":
        # model_construct skips the validator: exactly what a buggy or hostile tool could hand over
        return forged_field_proposal(
            target,
            HUMAN_FIELDS[n % len(HUMAN_FIELDS)],
            float(spec.value) if isinstance(spec.value, int) else spec.value,
        )
    if spec.kind == "comment":
        return Proposal(kind=ProposalKind.COMMENT, target_gid=target, text=f"note {n} {spec.value!s:.20}")
    if spec.kind == "text":
        return Proposal(
            kind=ProposalKind.SET_FIELD,
            target_gid=target,
            field_name="AI Projection",
            value=None if spec.value is None else str(spec.value),
        )
    value = spec.value if isinstance(spec.value, int | float) or spec.value is None else 1.0
    fields = {
        "kind": ProposalKind.SET_FIELD,
        "target_gid": target,
        "field_name": NUMBER_AI[n % len(NUMBER_AI)],
        "value": value,
    }
    try:
        return Proposal(**fields)
    except ValidationError:
        # A value the value rule refuses, smuggled past it: the writer must refuse it too.
        return Proposal.model_construct(**fields)


@pytest.fixture(scope="module")
def prop_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApprovalEnv]:
    with approval_environment(tmp_path_factory.mktemp("prop")) as env:
        yield env


_runs = count()


def _snapshot(env: ApprovalEnv, tasks: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with env.gateway() as gw:
        for gid in tasks:
            raw = gw.get_task_raw(gid, "name,notes,custom_fields.name,custom_fields.display_value")
            fields = {cf["name"]: cf.get("display_value") for cf in raw.get("custom_fields") or []}
            out[gid] = {
                "name": raw.get("name"),
                "human": {k: v for k, v in fields.items() if not is_agent_owned(k)},
                # an AI field attached to the project shows up empty on every task: only values count
                "ai": {k: v for k, v in fields.items() if is_agent_owned(k) and v not in (None, "")},
                "stories": len(list(gw.iter_stories(gid, "text"))),
                "subtasks": len(list(gw.iter_subtasks(gid, "name"))),
            }
    return out


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batch=st.lists(specs, min_size=1, max_size=5),
    forged=st.lists(st.text("0123456789abcdef", min_size=16, max_size=16), max_size=2),
    insight=st.booleans(),
)
def test_no_write_without_approval_ownership_and_scope(
    prop_env: ApprovalEnv, batch: list[Spec], forged: list[str], insight: bool
) -> None:
    env = prop_env
    targets = env.in_scope[:3] + env.out_of_scope[:2]
    run = f"prop-{next(_runs)}"
    proposals: list[Proposal] = []
    decisions: list[Decision] = []
    for n, spec in enumerate(batch):
        p = _proposal(spec, targets[spec.task], n)
        if p is None or any(q.id == p.id for q in proposals):
            continue
        proposals.append(p)
        if spec.decision != "none":
            kind = {"accept": DecisionType.ACCEPT, "edit": DecisionType.EDIT, "ignore": DecisionType.IGNORE}[
                spec.decision
            ]
            edited = spec.edit if isinstance(spec.edit, int | float | str) or spec.edit is None else None
            decisions.append(Decision(proposal_id=p.id, type=kind, edited_value=edited, approver="prop"))
    decisions += [Decision(proposal_id="p_" + f, type=DecisionType.ACCEPT, approver="forger") for f in forged]

    before_snap = _snapshot(env, targets)
    start = len(env.sb.requests)
    phase = Phase.INSIGHT if insight else Phase.SUGGEST
    results = env.writer(phase=phase).apply(proposals, decisions, thread_id=run, run_id=run, approver="prop")
    new = env.sb.requests[start:]
    writes = [r for r in new if r.write]
    after_snap = _snapshot(env, targets)

    if insight:
        assert new == [] and not any(r.status.value == "applied" for r in results)
        assert after_snap == before_snap
        return
    approved = {d.proposal_id for d in decisions if d.type in (DecisionType.ACCEPT, DecisionType.EDIT)}
    allowed_tasks = {
        p.target_gid
        for p in proposals
        if p.id in approved
        and p.target_gid in env.in_scope
        and (p.field_name is None or is_agent_owned(p.field_name))
    }
    for req in writes:
        m = _task_path.match(req.path)
        if m:
            assert m.group(1) in allowed_tasks, f"unapproved or out-of-scope write {req.method} {req.path}"
        else:  # only field set-up may touch anything else, and only inside the scope project
            assert (
                req.path == "/custom_fields"
                or req.path == f"/projects/{env.scope_project}/addCustomFieldSetting"
            ), req.path
    for gid in targets:
        assert after_snap[gid]["human"] == before_snap[gid]["human"], "a human field changed"
        if gid not in allowed_tasks:
            assert after_snap[gid] == before_snap[gid], f"task {gid} changed without an approved proposal"
    # every forged or smuggled item is refused and audited
    refused = {r.proposal_id for r in results if r.status.value == "refused"}
    assert {"p_" + f for f in forged} <= refused
    assert {
        p.id for p in proposals if p.field_name and not is_agent_owned(p.field_name) and p.id in approved
    } <= refused
