"""Issue 16: never worse than the person, totals from the joint distribution, learning from approvers,
and plausible, calibrated completion forecasts. Small seeded datasets, no text model (fast)."""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from agent.audit import AuditAction, AuditLog, AuditStatus
from agent.estimate_feedback import estimate_feedback
from tools.analytics.estimator import EstimateFeedback, Estimator
from tools.analytics.estimator_math import within
from tools.analytics.forecast import forecast_project
from tools.analytics.totals import simulate_totals
from tools.backtest.metrics import totals_metrics
from tools.backtest.runner import predict_test, split
from tools.proposals import Decision, DecisionType, Proposal, ProposalKind
from tools.records import Person, Project, Task, TimeEntry, Workspace

START = datetime(2024, 1, 1, tzinfo=UTC)
PEOPLE = ("ana", "bo", "cy", "dee")
CATEGORIES = {"bug": 2.0, "feature": 8.0, "meeting": 1.0, "ops": 3.0}


def _task(i: int, rng: random.Random, actual_of: float | None = None, **extra: object) -> Task:
    category = rng.choice(list(CATEGORIES))
    estimate = max(0.5, round(CATEGORIES[category] * math.exp(rng.gauss(0, 0.5)) * 2) / 2)
    created = START + timedelta(days=i // 3)
    fields: dict[str, object] = {
        "gid": f"t{i:05d}",
        "name": f"{category} task {i}",
        "project_gid": f"p{i % 7}",
        "project_type": category,
        "assignee_gid": rng.choice(PEOPLE),
        "created_at": created,
        "completed": True,
        "completed_at": created + timedelta(days=3),
        "estimate_hours": estimate,
        "actual_hours": actual_of if actual_of is not None else estimate,
    }
    fields.update(extra)
    return Task.model_validate(fields)


def unbiased_history(n: int, seed: int) -> list[Task]:
    """People who are right on average: 40% of actuals equal the estimate exactly (logged as
    estimated), the rest scatter symmetrically around it in log space."""
    rng = random.Random(seed)
    tasks = []
    for i in range(n):
        t = _task(i, rng)
        est = t.estimate_hours or 1.0
        actual = est if rng.random() < 0.4 else round(est * math.exp(rng.gauss(0, 0.5)), 2)
        tasks.append(t.model_copy(update={"actual_hours": max(actual, 0.1)}))
    return tasks


def _mean_abs_log(actual: list[float], pred: list[float]) -> float:
    return float(np.mean(np.abs(np.log(np.asarray(actual) / np.asarray(pred)))))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_shrinkage_never_makes_an_unbiased_person_worse(seed: int) -> None:
    train, test = split(unbiased_history(1500, seed), 0.2)
    preds = predict_test(train, test, embed=None)
    actual = [t.actual_hours or 0.0 for t in test]
    human = [t.estimate_hours or 0.0 for t in test]
    ai = [e.hours for e in preds.ai if e is not None]
    assert len(ai) == len(test)
    assert _mean_abs_log(actual, ai) <= _mean_abs_log(actual, human) * 1.002
    pred_ai = float(np.mean(within(np.log(np.asarray(actual) / np.asarray(ai)))))
    pred_human = float(np.mean(within(np.log(np.asarray(actual) / np.asarray(human)))))
    assert pred_ai >= pred_human - 0.01
    # Nothing to correct: the gate keeps (almost) every human figure as it is.
    kept = sum(1 for e in preds.ai if e is not None and e.bias_applied == 1.0)
    assert kept >= 0.9 * len(test)


def test_a_real_bias_is_still_corrected() -> None:
    """The gate is not a switch that is always off: a person who overruns by 60% gets corrected."""
    rng = random.Random(5)
    tasks = []
    for i in range(1500):
        t = _task(i, rng)
        bias = 1.6 if t.assignee_gid == "bo" else 1.0
        tasks.append(
            t.model_copy(
                update={"actual_hours": (t.estimate_hours or 1) * bias * math.exp(rng.gauss(0, 0.2))}
            )
        )
    train, test = split(tasks, 0.2)
    preds = predict_test(train, test, embed=None)
    bo = [
        (t, e) for t, e in zip(preds.test, preds.ai, strict=True) if e is not None and t.assignee_gid == "bo"
    ]
    assert bo and np.median([e.bias_applied for _, e in bo]) > 1.3
    actual = [t.actual_hours or 0.0 for t, _ in bo]
    assert _mean_abs_log(actual, [e.hours for _, e in bo]) < 0.6 * _mean_abs_log(
        actual, [t.estimate_hours or 0.0 for t, _ in bo]
    )


def correlated_history(n: int, seed: int, shared_sd: float = 0.45) -> list[Task]:
    """Errors that move together: every project-month has its own shared shock."""
    rng = random.Random(seed)
    shocks: dict[tuple[str, str], float] = {}
    tasks = []
    for i in range(n):
        t = _task(i, rng)
        key = (t.project_gid or "", (t.completed_at or START).strftime("%Y-%m"))
        shock = shocks.setdefault(key, rng.gauss(0, shared_sd))
        actual = (t.estimate_hours or 1.0) * math.exp(shock + rng.gauss(0, 0.3))
        tasks.append(t.model_copy(update={"actual_hours": round(actual, 2)}))
    return tasks


def test_totals_ranges_come_from_correlated_draws() -> None:
    train, test = split(correlated_history(2400, seed=7), 0.25)
    preds = predict_test(train, test, embed=None)
    estimator = preds.estimator
    rho = estimator.correlation("calibrated")
    assert rho.project_month > 0.2  # it measured the shared shocks on its history
    joint = totals_metrics(preds.test, preds.ai, estimator, by_month=True)
    assert joint.batches >= 20 and joint.coverage80 is not None
    assert 0.65 <= joint.coverage80 <= 0.95
    # The same estimates drawn independently (no shared factor) give ranges far too narrow.
    independent = Estimator()
    independent.__dict__.update(estimator.__dict__)
    independent._cal = type(estimator._cal)(**{**estimator._cal.__dict__, "correlation": type(rho)()})
    independent._totals = type(estimator.totals_fit)(trust=estimator.totals_fit.trust, scale=1.0)
    alone = totals_metrics(preds.test, preds.ai, independent, by_month=True)
    assert alone.coverage80 is not None and alone.coverage80 < joint.coverage80 - 0.15


def test_simulated_totals_are_seeded_and_contain_their_median() -> None:
    train, test = split(correlated_history(600, seed=3), 0.25)
    preds = predict_test(train, test, embed=None)
    estimates = [e for e in preds.ai if e is not None][:12]
    args = (estimates, ["b"] * 12, ["p"] * 12, ["2024-05"] * 12, preds.estimator)
    first, second = simulate_totals(*args), simulate_totals(*args)
    assert first == second
    r = first["b"]
    assert r.tasks == 12 and r.p10_hours <= r.p25_hours <= r.p50_hours <= r.p75_hours <= r.p90_hours


# --------------------------------------------------------------------------- approvers


def test_an_approver_edit_moves_the_next_estimate_for_that_person_and_kind() -> None:
    history = unbiased_history(800, seed=4)
    estimator = Estimator().fit(history)
    when = (history[-1].completed_at or START) + timedelta(days=1)
    new_bo = Task(
        gid="new-bo", name="bug fix", project_gid="p1", project_type="bug", assignee_gid="bo",
        created_at=when + timedelta(days=1), estimate_hours=4.0,
    )  # fmt: skip
    new_cy = new_bo.model_copy(
        update={"gid": "new-cy", "assignee_gid": "cy", "project_gid": "p2", "project_type": "ops"}
    )
    before_bo, before_cy = estimator.predict(new_bo).hours, estimator.predict(new_cy).hours
    edits = [
        EstimateFeedback.for_task(
            new_bo.model_copy(update={"gid": f"open-{i}"}), proposed=4.0, approved=6.0, at=when
        )
        for i in range(6)
    ]
    estimator.add_feedback(edits)
    after = estimator.predict(new_bo)
    assert after.hours > before_bo * 1.1
    assert after.evidence.feedback_offset is not None and after.evidence.feedback_offset > 1.1
    assert estimator.predict(new_cy).hours == pytest.approx(before_cy)  # another person, project, kind
    same_kind = new_cy.model_copy(update={"project_type": "bug"})  # the category's evidence applies
    assert estimator.predict(same_kind).hours > Estimator().fit(history).predict(same_kind).hours
    # Cold start learns only from edits of cold-start estimates.
    assert estimator.predict(new_bo, use_estimate=False).evidence.feedback_offset is None
    # A rejection says the lead kept the person's figure (half an edit's weight): more rejections
    # than edits pull the estimate back toward the human one.
    rejections = [
        EstimateFeedback.for_task(
            new_bo.model_copy(update={"gid": f"rej-{i}"}), proposed=6.0, approved=None, at=when
        )
        for i in range(30)
    ]
    estimator.add_feedback(rejections)
    assert estimator.predict(new_bo).hours < after.hours


def test_feedback_on_a_completed_task_is_superseded_by_its_actual() -> None:
    history = unbiased_history(300, seed=6)
    done = history[-1]
    edit = EstimateFeedback.for_task(done, proposed=2.0, approved=20.0, at=done.created_at)
    estimator = Estimator().fit(history, feedback=[edit])
    assert estimator.feedback_records == 0


def test_audit_log_decisions_become_estimator_feedback(tmp_path: Path) -> None:
    audit = AuditLog.open(f"sqlite:///{tmp_path / 'audit.db'}")
    task = _task(1, random.Random(1), gid="42", completed=False, completed_at=None, actual_hours=None)
    other = task.model_copy(update={"gid": "43"})

    def decide(
        target: Task, value: float, kind: DecisionType, edited: float | None, status: AuditStatus
    ) -> None:
        proposal = Proposal(
            kind=ProposalKind.SET_FIELD, target_gid=target.gid, field_name="AI Estimated Hours", value=value
        )
        decision = Decision(proposal_id=proposal.id, type=kind, edited_value=edited, approver="lead")
        audit.record(action=AuditAction.DECISION, status=status, proposal=proposal, decision=decision)

    decide(task, 5.0, DecisionType.EDIT, 8.0, AuditStatus.EDITED)
    decide(other, 3.0, DecisionType.IGNORE, None, AuditStatus.REJECTED)
    decide(task.model_copy(update={"gid": "not-synced"}), 3.0, DecisionType.EDIT, 9.0, AuditStatus.EDITED)
    found = {f.task_gid: f for f in estimate_feedback(audit, [task, other])}
    assert set(found) == {"42", "43"}
    assert (found["42"].proposed_hours, found["42"].approved_hours) == (5.0, 8.0)
    assert found["43"].approved_hours is None and found["43"].human_hours == other.estimate_hours
    assert found["42"].assignee == task.assignee_gid and found["42"].category == task.project_type


# --------------------------------------------------------------------------- forecasts


def _busy_elsewhere_workspace() -> Workspace:
    """The sandbox case: ~460 h left on a project its team burns at ~49 h/week, one of whose workers
    has logged only a trickle on it (busy on another project) while holding ~90 h of its open work."""
    as_of = datetime(2026, 12, 4, 18, tzinfo=UTC)
    people = tuple(Person(gid=f"u{i}", name=f"Person {i}") for i in range(6))
    projects = (Project(gid="web", name="Website Redesign"), Project(gid="ops", name="Ops"))
    tasks: list[Task] = []
    entries: list[TimeEntry] = []
    rng = random.Random(3)
    open_hours = {"u0": 90.0, "u1": 80.0, "u2": 80.0, "u3": 75.0, "u4": 70.0, "u5": 65.0}
    for person, hours in open_hours.items():
        for j in range(int(hours // 5)):
            tasks.append(
                Task(
                    gid=f"{person}-open-{j}", name="page", project_gid="web", assignee_gid=person,
                    created_at=as_of - timedelta(days=rng.randint(5, 60)), estimate_hours=5.0,
                )
            )  # fmt: skip
    # History: completed tasks with actual = estimate, and 16 weeks of entries.
    for k in range(120):
        person = f"u{k % 6}"
        created = as_of - timedelta(days=200 - k)
        tasks.append(
            Task(
                gid=f"done-{k}", name="page", project_gid="web" if person != "u0" else "ops",
                assignee_gid=person, created_at=created, completed=True, completed_at=created + timedelta(days=10),
                estimate_hours=5.0, actual_hours=5.0,
            )
        )  # fmt: skip
    weekly = {"u0": 0.4, "u1": 10.0, "u2": 10.0, "u3": 10.0, "u4": 9.0, "u5": 9.6}
    for week in range(16):
        day = (as_of - timedelta(weeks=week, days=1)).date()
        for person, hours in weekly.items():
            entries.append(
                TimeEntry(
                    gid=f"e-{person}-{week}", task_gid=f"{person}-open-0", user_gid=person, entered_on=day,
                    duration_minutes=int(hours * 60), project_gid="web",
                )
            )  # fmt: skip
        entries.append(
            TimeEntry(
                gid=f"e-ops-{week}", task_gid="done-0", user_gid="u0", entered_on=day, duration_minutes=30 * 60,
                project_gid="ops",
            )
        )  # fmt: skip
    tasks.append(
        Task(
            gid="ops-open", name="ops", project_gid="ops", assignee_gid="u0", created_at=as_of - timedelta(days=5),
            estimate_hours=20.0,
        )
    )  # fmt: skip
    return Workspace(
        people=people, projects=projects, tasks=tuple(tasks), entries=tuple(entries), as_of=as_of
    )


def test_a_trickle_on_the_project_does_not_push_the_finish_years_out() -> None:
    """Regression (sandbox, issue 16): ~460 h left at ~49 h/week had a median finish in 2032."""
    ws = _busy_elsewhere_workspace()
    f = forecast_project(ws, "web", simulations=1000)
    assert f is not None
    assert 400 <= f.remaining_estimate_hours <= 520
    assert 40 <= f.throughput_hours_per_week <= 60
    as_of = date(2026, 12, 4)
    assert f.p50 <= as_of + timedelta(weeks=26), f.p50  # ~10 weeks of work for the team
    assert f.p95 <= as_of + timedelta(weeks=78), f.p95
    # Bands come from the simulated paths: ordered, start at the remaining work, reach zero.
    points = f.burndown
    assert all(p.p10_hours <= p.p50_hours <= p.p80_hours <= p.p90_hours <= p.p95_hours for p in points)
    assert points[0].p50_hours == pytest.approx(f.remaining_p50_hours, rel=0.15)
    assert points[-1].p95_hours == 0
    # Paths, not a straight line: the P50 band is not linear between its start and its zero.
    p50 = np.array([p.p50_hours for p in points])
    line = np.linspace(p50[0], 0, len(p50))
    assert np.max(np.abs(p50 - line)) > 1.0
