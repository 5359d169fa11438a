"""The standalone approval graph in-process: one interrupt per batch, malformed answers, Asana polling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langgraph.types import Command

from agent.approval import ApprovalContext, build_approval_graph
from agent.approvals_service import decisions_for, get_pending, list_pending, poll_asana
from agent.audit import AuditStatus
from agent.checkpoint import open_checkpointer
from agent.config import Phase
from tests.fixtures.approval import ApprovalEnv, RecordingWriter, comment_proposal, field_proposal
from tools.proposals import DecisionType


def _config(thread: str = "t-1") -> Any:  # a RunnableConfig
    return {"configurable": {"thread_id": thread}, "metadata": {"effort_graph": "approval"}}


def _ctx(writer: Any) -> ApprovalContext:
    return ApprovalContext(writer=writer, approver="lead")


def test_one_interrupt_per_batch_and_malformed_answers_do_not_poison_the_thread(tmp_path: Path) -> None:
    writer = RecordingWriter()
    a, b = field_proposal("1", 2.0), comment_proposal("2", "hi")
    url = f"sqlite:///{tmp_path / 'effort.db'}"
    with open_checkpointer(url) as saver:
        graph = build_approval_graph(saver)
        out = graph.invoke({"proposals": [a, b], "run_id": "r"}, _config(), context=_ctx(writer))
        [intr] = out["__interrupt__"]
        assert [r["args"]["proposal_id"] for r in intr.value["action_requests"]] == [a.id, b.id]
        assert writer.calls == []  # nothing applied while waiting

        out = graph.invoke(Command(resume="yes please"), _config(), context=_ctx(writer))  # an invalid answer
        [again] = out["__interrupt__"]
        assert "previous answer was rejected" in again.value["action_requests"][0]["description"]
        assert writer.calls == []
        assert [p.thread_id for p in list_pending(saver)] == ["t-1"]

        answer = {"decisions": [{"type": "approve"}, {"type": "reject", "message": "not now"}]}
        out = graph.invoke(Command(resume=answer), _config(), context=_ctx(writer))
        assert {s["proposal_id"]: s["status"] for s in out["applied"]} == {a.id: "applied", b.id: "rejected"}
        [(_, decisions, kwargs)] = writer.calls
        assert [d.type for d in decisions] == [DecisionType.ACCEPT, DecisionType.IGNORE]
        assert kwargs["thread_id"] == "t-1" and kwargs["run_id"] == "r"
        assert list_pending(saver) == []


def test_nothing_to_approve_ends_without_interrupt(tmp_path: Path) -> None:
    with open_checkpointer(f"sqlite:///{tmp_path / 'e.db'}") as saver:
        out = build_approval_graph(saver).invoke(
            {"proposals": [], "run_id": "r"}, _config(), context=_ctx(RecordingWriter())
        )
    assert "__interrupt__" not in out


def test_asana_subtask_completion_approves_the_batch(approval_env: ApprovalEnv) -> None:
    env = approval_env
    task = env.in_scope[2]
    settings = env.settings_with(phase=Phase.OPTIMIZE)
    writer = env.writer(phase=Phase.OPTIMIZE)
    p = field_proposal(task, 30.0, significant=True, description="Projection moves 9 days")
    with open_checkpointer(settings) as saver:
        build_approval_graph(saver).invoke(
            {"proposals": [p], "run_id": "opt"}, _config("opt-1"), context=_ctx(writer)
        )
        # CLI approval alone is not enough for a significant change in optimize
        assert "waiting" in poll_asana(saver, writer=writer, settings=settings)["opt-1"]
        with env.gateway() as gw:
            [sub] = [s for s in gw.iter_subtasks(task, "name,notes,assignee") if p.id in str(s.get("notes"))]
        assert sub["name"].startswith("Approve:")
        assert (
            "waiting" in poll_asana(saver, writer=writer, settings=settings)["opt-1"]
        )  # no duplicate subtask
        with env.gateway() as gw:
            assert len([s for s in gw.iter_subtasks(task, "notes") if p.id in str(s.get("notes"))]) == 1
        env.sb.state.update_task(sub["gid"], {"completed": True})  # the lead completes it in Asana
        assert poll_asana(saver, writer=writer, settings=settings) == {"opt-1": "resumed from Asana verdicts"}
        assert list_pending(saver) == []
    assert env.field_value(task, "AI Estimated Hours") == 30.0
    rows = env.audit().entries(proposal_id=p.id)
    assert rows[-1].status is AuditStatus.APPLIED
    assert any(r.decision and r.decision.get("via") == "asana_subtask" for r in rows)


def test_reject_comment_on_the_asana_subtask_rejects(approval_env: ApprovalEnv) -> None:
    env = approval_env
    task = env.in_scope[3]
    settings = env.settings_with(phase=Phase.OPTIMIZE)
    writer = env.writer(phase=Phase.OPTIMIZE)
    p = comment_proposal(task, "Re-allocate 20h from Ana to Ben")
    p = p.model_copy(update={"significant": True})
    with open_checkpointer(settings) as saver:
        build_approval_graph(saver).invoke(
            {"proposals": [p], "run_id": "opt"}, _config("opt-2"), context=_ctx(writer)
        )
        poll_asana(saver, writer=writer, settings=settings)
        with env.gateway() as gw:
            [sub] = [s for s in gw.iter_subtasks(task, "notes") if p.id in str(s.get("notes"))]
        env.sb.state.add_comment(sub["gid"], text="Reject: Ben is on leave")
        assert poll_asana(saver, writer=writer, settings=settings)["opt-2"] == "resumed from Asana verdicts"
    assert env.stories_with(task, "Re-allocate") == []
    assert env.audit().entries(proposal_id=p.id)[-1].status is AuditStatus.REJECTED


def test_cli_decisions_validate_items(approval_env: ApprovalEnv, tmp_path: Path) -> None:
    import pytest

    from agent.approval import ApprovalResumeError

    a, b = field_proposal(approval_env.in_scope[0], 1.0), comment_proposal(approval_env.in_scope[0], "x")
    with open_checkpointer(f"sqlite:///{tmp_path / 'c.db'}") as saver:
        build_approval_graph(saver).invoke(
            {"proposals": [a, b], "run_id": "r"}, _config("cli-1"), context=_ctx(RecordingWriter())
        )
        pending = get_pending(saver, "cli")
        ds = decisions_for(pending, "approve", approver="lead", items=["2"])
        assert [(d.proposal_id, d.type) for d in ds] == [
            (a.id, DecisionType.IGNORE),
            (b.id, DecisionType.ACCEPT),
        ]
        with pytest.raises(ApprovalResumeError, match="not one of"):
            decisions_for(pending, "approve", approver="lead", items=["p_nope"])
        with pytest.raises(ApprovalResumeError, match=r"cannot be edited|number field"):
            decisions_for(pending, "edit", approver="lead", edits={"1": "ten"})


def test_apply_node_finds_the_writer_in_the_runtime_context(tmp_path: Path) -> None:
    """The chat graph passes its Writer through LangGraph's run-time context, not the config."""
    from dataclasses import dataclass

    from langgraph.graph import END, START, StateGraph

    from agent.approval import apply_node, approval_node
    from agent.state import ChatState

    @dataclass
    class Ctx:
        writer: Any

    graph = StateGraph(ChatState, context_schema=Ctx)
    graph.add_node("approval", approval_node)
    graph.add_node("apply", apply_node)
    graph.add_edge(START, "approval")
    graph.add_edge("approval", "apply")
    graph.add_edge("apply", END)
    writer = RecordingWriter()
    p = field_proposal("5", 1.0)
    config: Any = {"configurable": {"thread_id": "ctx-1"}}
    with open_checkpointer(f"sqlite:///{tmp_path / 'x.db'}") as saver:
        compiled = graph.compile(checkpointer=saver)
        compiled.invoke({"proposals": [p], "run_id": "r"}, config, context=Ctx(writer))
        out = compiled.invoke(Command(resume=[{"type": "accept", "args": None}]), config, context=Ctx(writer))
    assert out["applied"] == [{"proposal_id": p.id, "status": "applied"}]
    assert len(writer.calls) == 1
