"""The retrospective end to end on a generated workspace: sync, analyse, report, propose, approve,
write, audit; a re-run of the same period lands on the same batch; phase insight proposes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

import pytest

from agent.approvals_service import decisions_for, get_pending, resume
from agent.audit import AuditLog, AuditStatus
from agent.checkpoint import open_checkpointer
from agent.config import Phase
from agent.retro import grounded
from agent.runs import PeriodError, parse_period, run_report
from agent.writer import writer_from_settings
from tests.fixtures.store import sync_settings
from tools.gateway import AsanaGateway
from tools.proposals import AI_FIELDS, ProposalKind
from tools.store import Store
from tools.sync import sync_workspace

AS_OF = datetime.combine(datetime(2026, 11, 27).date(), time(18), UTC)
PERIOD = parse_period("2026-10", "retro", AS_OF.date())


@pytest.fixture
def synced(sandbox_factory: Any, tmp_path: Path) -> tuple[Any, Any, Store]:
    sb = sandbox_factory(seed=3, tasks=160)
    settings = sync_settings(
        sb,
        EFFORT_DATABASE_URL=f"sqlite:///{tmp_path / 'effort.db'}",
        EFFORT_DATA_DIR=tmp_path,
        EFFORT_APPROVER="lead@example.com",
    )
    store = Store.open(settings.database_url)
    with AsanaGateway.from_settings(settings) as gateway:
        sync_workspace(gateway, store, settings, full=True)
    sb.reset_log()
    return sb, settings, store


def _run(settings: Any, store: Store) -> Any:
    return run_report(settings, "retro", PERIOD, as_of=AS_OF, with_text=False, store=store)


def test_retro_proposes_one_batch_and_writes_only_what_was_approved(synced: Any) -> None:
    sb, settings, store = synced
    outcome = _run(settings, store)

    assert not outcome.reused and outcome.pending, "a retro over a busy month proposes something"
    assert sb.write_count() == 0, "nothing reaches Asana before approval"
    assert all(Path(p).exists() for p in outcome.report_paths)
    assert {Path(p).suffix for p in outcome.report_paths} == {".md", ".html"}
    fields = [p for p in outcome.pending if p.kind is ProposalKind.SET_FIELD]
    assert fields and all(p.field_name in AI_FIELDS for p in fields)
    assert {"AI Estimated Hours", "AI Estimate P10", "AI Estimate P90"} <= {p.field_name for p in fields}

    summaries = [p for p in outcome.pending if p.kind is ProposalKind.SUMMARY_TASK]
    assert [p.target_gid for p in summaries] == [sb.truth.retro_project]
    chosen = [p for p in fields if p.field_name == "AI Estimated Hours"][:2] + summaries
    with open_checkpointer(settings) as saver:
        pending = get_pending(saver, outcome.thread_id)
        decisions = decisions_for(
            pending, "approve", approver=settings.approver, items=[p.id for p in chosen]
        )
        writer = writer_from_settings(settings, store=store)
        try:
            resume(saver, pending, decisions, writer=writer, settings=settings, approver=settings.approver)
        finally:
            writer.gateway.close()

    posted = [sb.state.get("task", gid) for gid in sb.state.tasks_by_project.get(sb.truth.retro_project, {})]
    assert [t["name"] for t in posted] == ["Retrospective 2026-10-01 – 2026-10-31"]
    assert "Tasks completed:" in posted[0]["notes"]
    field_gid = sb.field_gid("AI Estimated Hours")
    for p in chosen[:2]:
        values = sb.state.get("task", p.target_gid)["custom_field_values"]
        assert float(values[field_gid]) == pytest.approx(float(p.value), abs=0.05)
    audit = AuditLog(store.engine)
    applied = audit.entries(run_id=outcome.run_id, statuses=[AuditStatus.APPLIED])
    assert {e.proposal_id for e in applied} >= {p.id for p in chosen}
    assert all(e.approver == "lead@example.com" for e in applied)
    rejected = audit.entries(run_id=outcome.run_id, statuses=[AuditStatus.REJECTED])
    assert len(rejected) == len(outcome.pending) - len(chosen)


def test_rerun_of_the_same_period_reuses_the_pending_batch(synced: Any) -> None:
    _, settings, store = synced
    first = _run(settings, store)
    second = _run(settings, store)
    assert second.reused and second.thread_id == first.thread_id
    assert [p.id for p in second.pending] == [p.id for p in first.pending]
    with open_checkpointer(settings) as saver:
        from agent.approvals_service import list_pending

        assert [a.thread_id for a in list_pending(saver)].count(first.thread_id) == 1


def test_phase_insight_reports_but_proposes_nothing(synced: Any) -> None:
    sb, settings, store = synced
    insight = settings.model_copy(update={"phase": Phase.INSIGHT})
    outcome = _run(insight, store)
    assert outcome.pending == [] and outcome.report_paths
    assert sb.write_count() == 0


def test_narrative_is_kept_only_when_its_numbers_come_from_the_analytics() -> None:
    facts = ["Tasks took 1.25x their estimate (40 tasks; 55% overran)."]
    assert grounded("The team ran 1.25x over on 40 tasks.", facts)
    assert not grounded("The team ran 1.4x over on 40 tasks.", facts)


@pytest.mark.parametrize("text", ["2026-13", "tomorrow", "2026-10-05..2026-10-01", "1900..2100"])
def test_bad_periods_get_a_clear_error(text: str) -> None:
    with pytest.raises(PeriodError, match="period"):
        parse_period(text, "retro", AS_OF.date())


def test_dismissed_flags_teach_the_detector(synced: Any) -> None:
    from tools.analytics.anomalies import detect_anomalies

    _, settings, store = synced
    outcome = _run(settings, store)
    flags = [p for p in outcome.pending if p.field_name == "AI Review Flag"]
    assert flags and all(p.evidence["anomaly"]["kind"] for p in flags)
    with open_checkpointer(settings) as saver:
        pending = get_pending(saver, outcome.thread_id)
        decisions = decisions_for(pending, "reject", approver=settings.approver)
        writer = writer_from_settings(settings, store=store)
        try:
            resume(saver, pending, decisions, writer=writer, settings=settings, approver=settings.approver)
        finally:
            writer.gateway.close()

    feedback = AuditLog(store.engine).detector_feedback()
    dismissed = {(p.evidence["anomaly"]["person_gid"], p.evidence["anomaly"]["kind"]) for p in flags}
    assert {(f.person_gid, f.kind.value) for f in feedback} == {d for d in dismissed if d[0]}
    assert all(f.confirmed_normal for f in feedback)
    ws = store.workspace(as_of=AS_OF)
    before = detect_anomalies(ws, start=PERIOD[0], end=PERIOD[1])
    after = detect_anomalies(ws, start=PERIOD[0], end=PERIOD[1], feedback=feedback)

    def count(flags: list[Any]) -> int:
        return sum(1 for f in flags if (f.person_gid, f.kind.value) in dismissed)

    assert count(after) < count(before)
