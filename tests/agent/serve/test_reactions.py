"""Reactions: which events trigger what, proposals through the real approval gate, retries, alerts."""

from __future__ import annotations

from datetime import date

from langgraph.checkpoint.memory import InMemorySaver

from agent.approval import build_approval_graph
from agent.serve.alerts import SlackNotifier, run_capacity_alerts
from agent.serve.deps import CapacityAlert, Finding, ServeDeps
from agent.serve.reactions import REVIEW_FLAG_FIELD, Reactor, Work, classify, review_proposals
from agent.serve.store import ServeStore
from agent.serve.webhooks import event_key
from agent.serve.wiring import GateProposer
from tests.fixtures.serve import FakeChecker, FakeGate, SlackStub
from tools.proposals import ProposalKind


def _store(tmp_path) -> ServeStore:  # type: ignore[no-untyped-def]
    return ServeStore.open(f"sqlite:///{tmp_path / 'serve.db'}")


def _ev(rtype: str, gid: str, action: str, parent: str | None = None, change: dict | None = None) -> dict:
    event: dict = {
        "resource": {"gid": gid, "resource_type": rtype},
        "action": action,
        "created_at": "2026-11-27T10:00:00Z",
    }
    if parent:
        event["parent"] = {"gid": parent, "resource_type": "task"}
    if change:
        event["change"] = change
    return event


def test_classify_maps_events_to_work() -> None:
    assert classify(_ev("time_tracking_entry", "9", "added", parent="7")) == Work("check", "7", "9")
    assert classify(_ev("time_tracking_entry", "9", "deleted", parent="7")).action == "check"
    assert classify(_ev("time_tracking_entry", "9", "changed")) == Work("check", None, "9")  # resolve later
    assert classify(_ev("task", "7", "changed", change={"field": "actual_time_minutes"})) == Work(
        "check", "7"
    )
    actual = {"field": "custom_fields", "new_value": {"gid": "5", "name": "Actual Hours"}}
    other = {"field": "custom_fields", "new_value": {"gid": "6", "name": "Priority"}}
    assert classify(_ev("task", "7", "changed", change=actual), ["Actual Hours"]).action == "check"
    assert classify(_ev("task", "7", "changed", change=other), ["Actual Hours"]).action == "ignore"
    assert classify(_ev("task", "7", "changed", change={"field": "completed"})) == Work("completed", "7")
    assert classify(_ev("task", "7", "changed", change={"field": "name"})).action == "ignore"
    assert classify({"garbage": True}).action == "ignore"
    assert classify({"resource": "not a dict", "action": 3}).action == "ignore"


def test_review_proposals_only_above_threshold_and_only_agent_owned() -> None:
    findings = [
        Finding(task_gid="7", score=0.4, reason="weekend entry", kind="weekend"),
        Finding(task_gid="7", score=0.9, reason="<b>14 h</b> in one entry", kind="implausible_duration"),
    ]
    assert review_proposals("7", findings[:1], 0.7) == []
    flag, comment = review_proposals("7", findings, 0.7)
    assert (
        flag.kind is ProposalKind.SET_FIELD
        and flag.field_name == REVIEW_FLAG_FIELD
        and flag.value == "Review"
    )
    assert comment.kind is ProposalKind.COMMENT and "14 h" in (comment.text or "")
    assert "weekend" not in (comment.text or "")  # below-threshold findings stay out
    assert flag.source == comment.source == "trigger"
    # Deterministic: the same findings give the same proposal ids (idempotent downstream).
    assert [p.id for p in review_proposals("7", findings, 0.7)] == [flag.id, comment.id]


def test_reaction_proposes_through_the_approval_gate_and_never_writes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    saver = InMemorySaver()
    gate = GateProposer(saver)
    checker = FakeChecker({"7001": [Finding(task_gid="7001", score=0.93, reason="16 h logged on a Sunday")]})
    deps = ServeDeps(propose=gate, check_task=checker)
    store = _store(tmp_path)
    reactor = Reactor(store, deps)
    for event in (
        _ev("time_tracking_entry", "9001", "added", parent="7001"),
        _ev("task", "7001", "changed", change={"field": "actual_time_minutes", "new_value": 960}),
    ):
        assert store.enqueue("p", event_key(event), event)
    assert reactor.drain_once() == 2
    assert checker.calls == ["7001"]  # the two events of one new entry cause one check
    (record,) = reactor.records
    assert record.outcome == "proposed" and record.thread_id
    # The thread waits at the approval interrupt with both proposals: nothing was applied.
    graph = build_approval_graph(saver)
    state = graph.get_state({"configurable": {"thread_id": record.thread_id}})
    assert state.next == ("approval",)
    assert {p.id for p in state.values["proposals"]} == set(record.proposal_ids)
    assert state.values.get("applied", []) == []
    interrupts = [i for t in state.tasks for i in t.interrupts]
    assert len(interrupts) == 1 and len(interrupts[0].value) == 2
    # The same finding again (another event the same day) lands on the same pending thread, once.
    event = _ev("time_tracking_entry", "9002", "changed", parent="7001", change={"field": "duration_minutes"})
    store.enqueue("p", event_key(event), event)
    reactor.drain_once()
    assert reactor.records[-1].thread_id == record.thread_id
    state = graph.get_state({"configurable": {"thread_id": record.thread_id}})
    assert len(state.values["proposals"]) == 2
    assert store.counts() == {"done": 3}


def test_below_threshold_proposes_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    gate = FakeGate()
    checker = FakeChecker({"7": [Finding(task_gid="7", score=0.5, reason="weekend")]})
    reactor = Reactor(_store(tmp_path), ServeDeps(propose=gate, check_task=checker, anomaly_threshold=0.7))
    event = _ev("task", "7", "changed", change={"field": "actual_time_minutes"})
    reactor.store.enqueue("p", event_key(event), event)
    reactor.drain_once()
    assert checker.calls == ["7"] and gate.calls == []
    assert reactor.records[-1].outcome == "below_threshold"


def test_failed_reaction_is_retried_then_given_up_never_lost(tmp_path) -> None:  # type: ignore[no-untyped-def]
    gate = FakeGate()
    checker = FakeChecker({"7": [Finding(task_gid="7", score=0.99, reason="duplicate entry")]}, fail_times=1)
    store = _store(tmp_path)
    reactor = Reactor(store, ServeDeps(propose=gate, check_task=checker), max_attempts=2)
    event = _ev("task", "7", "changed", change={"field": "actual_time_minutes"})
    store.enqueue("p", event_key(event), event)
    reactor.drain_once()
    assert store.counts() == {"pending": 1} and reactor.records[-1].outcome == "error"
    reactor.drain_once()  # the retry succeeds
    assert store.counts() == {"done": 1} and len(gate.calls) == 1

    checker.fail_times = 5
    other = _ev("task", "8", "changed", change={"field": "actual_time_minutes"})
    store.enqueue("p", event_key(other), other)
    reactor.drain_once()
    reactor.drain_once()
    rows = {r["event_key"]: r for r in store.iter_events()}
    failed = rows[event_key(other)]
    assert failed["status"] == "failed" and "simulated" in failed["error"]


def test_entry_event_without_parent_is_resolved_to_its_task(tmp_path) -> None:  # type: ignore[no-untyped-def]
    checker = FakeChecker()
    deps = ServeDeps(
        propose=FakeGate(), check_task=checker, resolve_entry_task=lambda gid: "77" if gid == "9" else None
    )
    reactor = Reactor(_store(tmp_path), deps)
    for event in (_ev("time_tracking_entry", "9", "changed"), _ev("time_tracking_entry", "10", "changed")):
        reactor.store.enqueue("p", event_key(event), event)
    reactor.drain_once()
    assert checker.calls == ["77"]
    assert reactor.store.counts() == {"done": 2}


def test_completed_task_is_offered_to_the_approval_engine(tmp_path) -> None:  # type: ignore[no-untyped-def]
    offered: list[str] = []

    def on_completed(gid: str) -> bool:
        offered.append(gid)
        return gid == "500"

    reactor = Reactor(
        _store(tmp_path),
        ServeDeps(propose=FakeGate(), check_task=FakeChecker(), on_task_completed=on_completed),
    )
    for gid in ("500", "501"):
        event = _ev("task", gid, "changed", change={"field": "completed", "new_value": True})
        reactor.store.enqueue("p", event_key(event), event)
    reactor.drain_once()
    assert offered == ["500", "501"]
    assert sorted(r.outcome for r in reactor.records) == ["not_approval", "resumed"]


def test_capacity_alerts_propose_comments_and_post_to_slack(slack_stub: SlackStub) -> None:
    gate = FakeGate()
    alerts = [
        CapacityAlert(
            person_gid="u1",
            person_name="Dana <Levi>",
            week_start=date(2026, 11, 30),
            planned_hours=46.0,
            capacity_hours=32.0,
            task_gid="7001",
            project_gid="1200",
        ),
        CapacityAlert(
            person_gid="u2",
            person_name="Eli",
            week_start=date(2026, 11, 30),
            planned_hours=50.0,
            capacity_hours=40.0,
            task_gid=None,
        ),
    ]
    deps = ServeDeps(
        propose=gate,
        check_task=FakeChecker(),
        capacity_overloads=lambda: alerts,
        notify=SlackNotifier(slack_stub.url),
    )
    summary = run_capacity_alerts(deps)
    assert summary["alerts"] == 2 and summary["proposed"] == 1 and summary["slack"] is True
    ((thread_id, (proposal,)),) = gate.calls
    assert proposal.kind is ProposalKind.COMMENT and proposal.target_gid == "7001"
    assert "144%" in (proposal.text or "")
    assert slack_stub.received.wait(5)
    (post,) = slack_stub.posts
    assert post["path"] == "/services/T000/B000/XXXX"
    assert "Dana <Levi>" in post["json"]["text"] and "Eli" in post["json"]["text"]
    # Re-running the check for the same person-week proposes onto the same thread.
    run_capacity_alerts(deps)
    assert gate.calls[1][0] == thread_id


def test_slack_failure_is_reported_not_raised() -> None:
    notifier = SlackNotifier("http://127.0.0.1:9/hooks/closed-port", timeout=2)
    assert notifier("hello") is False
