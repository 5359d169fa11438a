"""The approval node's contract: LangChain's HITLRequest interrupt shape, resume validation (HITL
decisions, and the legacy Agent Inbox answers of threads that paused before), thread ids."""

from __future__ import annotations

import pytest
from langchain.agents.middleware.human_in_the_loop import ActionRequest, HITLRequest, ReviewConfig

from agent.approval import (
    ApprovalResumeError,
    build_request,
    parse_resume,
    pending_proposals,
    route_after_tools,
    route_pending,
)
from agent.checkpoint import postgres_conninfo, sqlite_checkpoint_path, thread_id_for
from tools.proposals import DecisionType, Proposal, ProposalKind


def _field(value: float = 4.0, target: str = "11") -> Proposal:
    return Proposal(
        kind=ProposalKind.SET_FIELD,
        target_gid=target,
        field_name="AI Estimated Hours",
        value=value,
        description="AI estimate from 12 similar tasks",
        evidence={"similar": ["1", "2"], "before": None},
    )


def _comment() -> Proposal:
    return Proposal(kind=ProposalKind.COMMENT, target_gid="12", text="Overran by 60%")


def test_interrupt_is_a_hitl_request_with_one_action_request_per_item() -> None:
    summary = Proposal(kind=ProposalKind.SUMMARY_TASK, target_gid="9", title="Retro", text="…")
    request = build_request([_field(), _comment(), summary])
    assert set(request) == set(HITLRequest.__annotations__)  # action_requests + review_configs
    requests, configs = request["action_requests"], request["review_configs"]
    assert len(requests) == len(configs) == 3
    for item, config in zip(requests, configs, strict=True):
        assert set(item) <= set(ActionRequest.__annotations__) and set(config) <= set(
            ReviewConfig.__annotations__
        )
        assert config["action_name"] == item["name"]  # each item finds its review config by name
    assert requests[0]["args"]["proposal_id"] == _field().id
    assert "similar" in requests[0]["description"]  # the evidence travels with the item
    assert configs[0]["allowed_decisions"] == ["approve", "edit", "reject", "respond"]
    assert "edit" not in configs[2]["allowed_decisions"]  # a summary task is all or nothing


def test_hitl_decisions_map_to_decisions_in_order() -> None:
    proposals = [_field(), _comment()]
    answer = {
        "decisions": [
            {"type": "edit", "edited_action": {"name": "set_field", "args": {"value": "6.5"}}},
            {"type": "reject", "message": "not this month"},
        ]
    }
    decisions = parse_resume(answer, proposals, approver="lead")
    assert [d.type for d in decisions] == [DecisionType.EDIT, DecisionType.IGNORE]
    assert decisions[0].edited_value == 6.5 and decisions[1].note == "not this month"
    assert all(d.approver == "lead" for d in decisions)
    with pytest.raises(ApprovalResumeError, match="cannot be edited"):
        summary = Proposal(kind=ProposalKind.SUMMARY_TASK, target_gid="9", title="Retro", text="…")
        parse_resume({"decisions": [{"type": "edit", "edited_action": {"name": "x", "args": {}}}]}, [summary])


def test_legacy_agent_inbox_responses_still_map_to_decisions() -> None:
    proposals = [_field(), _comment()]
    decisions = parse_resume(
        [
            {"type": "edit", "args": {"action": "x", "args": {"value": "6.5"}}},
            {"type": "ignore", "args": None},
        ],
        proposals,
        approver="lead",
    )
    assert [d.type for d in decisions] == [DecisionType.EDIT, DecisionType.IGNORE]
    assert decisions[0].edited_value == 6.5  # Agent Inbox sends strings; number fields get numbers
    assert decisions[0].approver == "lead"


def test_missing_answers_are_ignored_not_approved() -> None:
    proposals = [_field(), _comment()]
    decisions = parse_resume([{"type": "accept", "args": None}], proposals)
    assert [d.type for d in decisions] == [DecisionType.ACCEPT, DecisionType.IGNORE]
    assert decisions[1].note == "no decision given"


def test_decision_dicts_and_mapping_forms() -> None:
    p = _field()
    d1 = parse_resume({"decisions": [{"proposal_id": p.id, "type": "accept", "approver": "ana"}]}, [p])
    assert d1[0].type is DecisionType.ACCEPT and d1[0].approver == "ana"
    d2 = parse_resume({p.id: {"type": "response", "args": "not now"}}, [p])
    assert d2[0].type is DecisionType.RESPONSE and d2[0].note == "not now"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yes", "resume value must be"),
        ([{"type": "maybe"}], "unknown type"),
        ([{"args": None}], "must be an object with a 'type'"),
        ([{"type": "edit", "args": {"args": {"value": "lots"}}}], "is a number field"),
        ([{"type": "edit", "args": {"args": {"value": "nan"}}}], "plausible range"),
        ({"decisions": "all"}, "'decisions' must be a list"),
        ({"decisions": [{"proposal_id": "p_x", "type": "bogus"}]}, "invalid decision"),
        ([{"type": "accept"}, {"type": "accept"}], "2 answers for 1"),
    ],
)
def test_malformed_resume_values_get_clear_errors(value: object, message: str) -> None:
    with pytest.raises(ApprovalResumeError, match=message):
        parse_resume(value, [_field()])


def test_pending_excludes_reported_proposals_and_routes() -> None:
    a, b = _field(1.0), _field(2.0)
    state = {"proposals": [a, b], "applied": [{"proposal_id": a.id, "status": "applied"}]}
    assert pending_proposals(state) == [b]
    assert route_after_tools(state) == "approval"  # type: ignore[arg-type]
    assert route_after_tools({"proposals": [a], "applied": [{"proposal_id": a.id}]}) == "agent"  # type: ignore[arg-type]
    assert route_pending({}) == "__end__"  # type: ignore[arg-type]


def test_thread_ids_are_stable_and_distinct() -> None:
    t1 = thread_id_for("retro", "project:1", "2026-03")
    assert t1 == thread_id_for("retro", "project:1", "2026-03")
    assert t1 != thread_id_for("retro", "project:1", "2026-04")
    assert t1.startswith("retro-")


def test_checkpoint_locations() -> None:
    assert sqlite_checkpoint_path("sqlite:///data/effort.db") is not None
    assert str(sqlite_checkpoint_path("sqlite:///data/effort.db")).endswith("data/checkpoints.sqlite")
    assert sqlite_checkpoint_path("sqlite:///:memory:") is None
    assert (
        postgres_conninfo("postgresql+psycopg://postgres@127.0.0.1:5432/x")
        == "postgresql://postgres@127.0.0.1:5432/x"
    )
