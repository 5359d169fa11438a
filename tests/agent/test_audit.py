"""The audit log: append-only, redacted, decodes what it stores; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from agent.audit import (
    AuditAction,
    AuditLog,
    AuditStatus,
    FeedbackRecord,
    audit_table,
    feedback_from_decision,
)
from tests.fixtures.store import throwaway_pg_database
from tools.proposals import Decision, DecisionType, Proposal, ProposalKind
from tools.redact import Redactor
from tools.store import normalise_url

TOKEN = "1/123456:abcdefSECRETtoken"


def _proposal() -> Proposal:
    return Proposal(
        kind=ProposalKind.SET_FIELD,
        target_gid="42",
        field_name="AI Review Flag",
        value="Review",
        evidence={"anomaly": {"person_gid": "7", "kind": "weekend"}, "note": f"Bearer {TOKEN}"},
    )


def _exercise(log: AuditLog) -> None:
    p = _proposal()
    d = Decision(proposal_id=p.id, type=DecisionType.EDIT, edited_value="OK", approver="lead")
    log.record(
        action=AuditAction.DECISION, status=AuditStatus.PROPOSED, proposal=p, thread_id="t", run_id="r"
    )
    log.record(
        action=AuditAction.DECISION,
        status=AuditStatus.EDITED,
        proposal=p,
        decision=d,
        thread_id="t",
        run_id="r",
    )
    log.record(
        action=AuditAction.WRITE,
        status=AuditStatus.FAILED,
        proposal=p,
        thread_id="t",
        run_id="r",
        error=f"HTTP 500 while sending Authorization: Bearer {TOKEN}",
    )
    rows = log.entries(run_id="r")
    assert [r.status for r in rows] == [AuditStatus.PROPOSED, AuditStatus.EDITED, AuditStatus.FAILED]
    assert rows[1].decision is not None and rows[1].decision["edited_value"] == "OK"
    assert rows[1].proposal_model() == p or rows[1].proposal_model() is not None
    # an approved decision without a final write row is unfinished (crash recovery finds it)
    assert [u.proposal_id for u in log.unfinished(run_id="r")] == [p.id]
    assert log.approval_record(p.id, thread_id="t") is not None
    assert log.approval_record(p.id, thread_id="other") is None
    log.record(
        action=AuditAction.WRITE,
        status=AuditStatus.APPLIED,
        proposal=p,
        thread_id="t",
        run_id="r",
        before=None,
        after="OK",
    )
    assert log.unfinished(run_id="r") == []
    # secrets never reach a row, whatever field carried them
    with log.engine.connect() as conn:
        dump = " ".join(str(v) for row in conn.execute(sa.select(audit_table)) for v in row)
    assert TOKEN not in dump and "SECRET" not in dump
    assert not hasattr(log, "update") and not hasattr(log, "delete")
    feedback = feedback_from_decision(
        p, Decision(proposal_id=p.id, type=DecisionType.IGNORE, approver="lead")
    )
    assert feedback == FeedbackRecord(
        person_gid="7",
        kind="weekend",
        confirmed_normal=True,
        task_gid="42",
        proposal_id=p.id,
        approver="lead",
    )
    log.record_feedback(feedback)
    assert [f.confirmed_normal for f in log.feedback("7")] == [True]


def test_audit_log_on_sqlite(tmp_path: Path) -> None:
    log = AuditLog(sa.create_engine(f"sqlite:///{tmp_path / 'a.db'}"), Redactor([TOKEN]))
    _exercise(log)
    # Rejected later = no approval any more
    p = _proposal()
    log.record(
        action=AuditAction.DECISION, status=AuditStatus.REJECTED, proposal=p, thread_id="t", run_id="r"
    )
    assert log.approval_record(p.id, thread_id="t") is None


def test_estimate_edits_are_reported(tmp_path: Path) -> None:
    log = AuditLog(sa.create_engine(f"sqlite:///{tmp_path / 'a.db'}"))
    p = Proposal(kind=ProposalKind.SET_FIELD, target_gid="9", field_name="AI Estimated Hours", value=5.0)
    d = Decision(proposal_id=p.id, type=DecisionType.EDIT, edited_value=8.0, approver="lead")
    log.record(
        action=AuditAction.DECISION,
        status=AuditStatus.EDITED,
        proposal=p,
        decision=d,
        thread_id="t",
        run_id="r",
    )
    edits = log.estimate_edits()
    assert len(edits) == 1 and edits[0].proposed == 5.0 and edits[0].edited == 8.0


@pytest.fixture
def pg_url() -> Iterator[str]:
    with throwaway_pg_database("approval") as url:
        yield normalise_url(url)


@pytest.mark.postgres
def test_audit_log_on_postgres(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    try:
        _exercise(AuditLog(engine, Redactor([TOKEN])))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_checkpointer_interrupt_and_resume(pg_url: str) -> None:
    """The approval graph pauses and resumes on PostgresSaver (two separate checkpointer connections)."""
    from langgraph.types import Command

    from agent.approval import ApprovalContext, build_approval_graph
    from agent.approvals_service import list_pending
    from agent.checkpoint import open_checkpointer
    from tests.fixtures.approval import RecordingWriter

    p = _proposal()
    writer = RecordingWriter()
    config: Any = {"configurable": {"thread_id": "pg-1"}, "metadata": {"effort_graph": "approval"}}
    ctx = ApprovalContext(writer=writer, approver="lead")
    with open_checkpointer(pg_url) as saver:
        out = build_approval_graph(saver).invoke({"proposals": [p], "run_id": "r1"}, config, context=ctx)
        assert out["__interrupt__"][0].value["action_requests"][0]["args"]["proposal_id"] == p.id
    with open_checkpointer(pg_url) as saver:
        [pending] = list_pending(saver)
        assert pending.thread_id == "pg-1" and [q.id for q in pending.proposals] == [p.id]
        assert "Bearer ***" in str(pending.proposals[0].evidence)  # the checkpoint keeps no token
        answer = {"decisions": [{"type": "approve"}]}
        out = build_approval_graph(saver).invoke(Command(resume=answer), config, context=ctx)
        assert [a["status"] for a in out["applied"]] == ["applied"]
        assert list_pending(saver) == []
    assert [d.type for d in writer.calls[0][1]] == [DecisionType.ACCEPT]
