"""Estimator: edge cases, learned structure, intervals, and no leakage from the future or the test set."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.index import BagOfWordsEmbedder, make_history
from tools.analytics.estimator import Estimate, Estimator, EstimatorConfig
from tools.records import Task

NEW = Task(
    gid="new",
    name="Fix crash when saving invoice",
    project_gid="p1",
    project_type="bug",
    tags=("bug",),
    assignee_gid="bo",
    created_at=datetime(2030, 1, 1, tzinfo=UTC),
    estimate_hours=2.0,
)


def _sane(est: Estimate) -> None:
    assert est.p10_hours <= est.hours <= est.p90_hours
    assert est.hours > 0 and math.isfinite(est.hours) and math.isfinite(est.p90_hours)
    assert 0.0 <= est.confidence <= 1.0


def test_no_history_falls_back_with_zero_confidence() -> None:
    est = Estimator().fit([]).predict(NEW)
    _sane(est)
    assert est.mode == "calibrated" and est.hours == pytest.approx(2.0)
    assert est.confidence == 0.0 and est.evidence.history_tasks == 0 and "little history" in est.evidence.note
    cold = Estimator().fit([]).predict(NEW, use_estimate=False)
    _sane(cold)
    assert cold.mode == "cold_start" and cold.confidence == 0.0


def test_one_task_history() -> None:
    history = make_history(1)
    est = Estimator(embed=BagOfWordsEmbedder()).fit(history).predict(NEW, use_estimate=False)
    _sane(est)
    assert est.hours == pytest.approx(max(history[0].actual_hours or 0, 0.1), rel=1e-3)
    assert est.confidence < 0.1


def test_all_estimates_missing_still_gives_cold_start(bow_embed: BagOfWordsEmbedder) -> None:
    history = [t.model_copy(update={"estimate_hours": None}) for t in make_history(200)]
    estimator = Estimator(embed=bow_embed).fit(history)
    est = estimator.predict(NEW.model_copy(update={"estimate_hours": None}))
    _sane(est)
    assert est.mode == "cold_start" and est.bias_applied is None
    # With a human estimate but no estimate history: plain estimate, wide prior range.
    cal = estimator.predict(NEW)
    _sane(cal)
    assert cal.mode == "calibrated"


def test_zero_hour_tasks_do_not_break_anything(bow_embed: BagOfWordsEmbedder) -> None:
    history = make_history(120)
    history = [t.model_copy(update={"actual_hours": 0.0}) if i % 7 == 0 else t for i, t in enumerate(history)]
    history[3] = history[3].model_copy(update={"estimate_hours": 0.0})
    estimator = Estimator(embed=bow_embed).fit(history)
    for task in (NEW, NEW.model_copy(update={"estimate_hours": 0.0})):
        est = estimator.predict(task)
        _sane(est)
    assert estimator.predict(NEW.model_copy(update={"estimate_hours": 0.0})).mode == "cold_start"


def test_learns_the_assignees_bias(bow_embed: BagOfWordsEmbedder) -> None:
    estimator = Estimator(embed=bow_embed).fit(make_history(600))
    slow = estimator.predict(NEW)  # bo: actuals are 1.5x the estimate
    fast = estimator.predict(NEW.model_copy(update={"assignee_gid": "cy"}))  # cy: 0.7x
    assert slow.bias_applied is not None and fast.bias_applied is not None
    assert slow.bias_applied > 1.25 and fast.bias_applied < 0.85
    records = {(r.facet, r.value): r for r in slow.evidence.track_records}
    assert records[("assignee", "bo")].median_ratio == pytest.approx(1.5, rel=0.15)
    assert slow.evidence.similar and slow.evidence.similar[0].title.startswith(
        "Fix crash when saving invoice"
    )


def test_cold_start_uses_similar_tasks_and_category(bow_embed: BagOfWordsEmbedder) -> None:
    estimator = Estimator(embed=bow_embed).fit(make_history(600))
    feature = estimator.predict(
        NEW.model_copy(
            update={"name": "Build customer dashboard", "project_type": "feature", "tags": ("feature",)}
        ),
        use_estimate=False,
    )
    meeting = estimator.predict(
        NEW.model_copy(
            update={"name": "Weekly planning meeting", "project_type": "meeting", "tags": ("meeting",)}
        ),
        use_estimate=False,
    )
    assert feature.mode == meeting.mode == "cold_start"
    assert feature.hours > 3 * meeting.hours  # features ~8 h, meetings ~1 h in the synthetic history


def test_interval_covers_about_80_percent_on_fresh_data(bow_embed: BagOfWordsEmbedder) -> None:
    history = make_history(900, seed=3)
    train, test = history[:700], history[700:]
    estimator = Estimator(embed=bow_embed).fit(train)
    hidden = [t.model_copy(update={"actual_hours": None}) for t in test]
    for use_estimate in (True, False):
        preds = estimator.predict_many(hidden, use_estimate=use_estimate)
        inside = sum(
            p.p10_hours <= (t.actual_hours or 0) <= p.p90_hours for p, t in zip(preds, test, strict=True)
        )
        assert 0.68 <= inside / len(test) <= 0.92, (use_estimate, inside / len(test))


def test_calibrated_beats_raw_estimate_on_biased_history(bow_embed: BagOfWordsEmbedder) -> None:
    history = make_history(900, seed=4)
    train, test = history[:700], history[700:]
    preds = (
        Estimator(embed=bow_embed)
        .fit(train)
        .predict_many([t.model_copy(update={"actual_hours": None}) for t in test])
    )
    raw = sum(abs(math.log((t.actual_hours or 1) / (t.estimate_hours or 1))) for t in test)
    ai = sum(abs(math.log((t.actual_hours or 1) / p.hours)) for t, p in zip(test, preds, strict=True))
    assert ai < 0.8 * raw


def test_confidence_is_higher_for_a_predictable_history(bow_embed: BagOfWordsEmbedder) -> None:
    tight = make_history(400, seed=5)
    noisy = [
        t.model_copy(
            update={"actual_hours": (t.actual_hours or 1) * math.exp(random.Random(i).gauss(0, 1.2))}
        )
        for i, t in enumerate(tight)
    ]
    c_tight = Estimator(embed=bow_embed).fit(tight).predict(NEW).confidence
    c_noisy = Estimator(embed=bow_embed).fit(noisy).predict(NEW).confidence
    assert c_tight > c_noisy + 0.15


# --------------------------------------------------------------------------- no leakage


def test_tasks_completed_after_as_of_are_ignored(bow_embed: BagOfWordsEmbedder) -> None:
    history = make_history(300)
    as_of = history[200].completed_at
    assert as_of is not None
    rng = random.Random(9)
    future_garbage = [t.model_copy(update={"actual_hours": rng.uniform(0, 500)}) for t in history[200:]]
    open_tasks = [
        Task(
            gid=f"open{i}",
            name="Fix login error on mobile",
            created_at=as_of - timedelta(days=1),
            actual_hours=999.0,
        )
        for i in range(5)
    ]
    a = Estimator(embed=bow_embed).fit(history[:200], as_of)
    b = Estimator(embed=bow_embed).fit(history[:200] + future_garbage + open_tasks, as_of)
    for use_estimate in (True, False):
        assert a.predict(NEW, use_estimate=use_estimate) == b.predict(NEW, use_estimate=use_estimate)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=10_000))
def test_predictions_do_not_change_when_test_actuals_are_shuffled(seed: int) -> None:
    """The benchmark's predict step: shuffling (or garbling) the test set's actual hours changes nothing."""
    from tools.backtest.runner import predict_test, split

    tasks = make_history(160, seed=seed % 7)
    train, test = split(tasks, 0.25)
    rng = random.Random(seed)
    actuals = [t.actual_hours for t in test]
    rng.shuffle(actuals)
    shuffled = [t.model_copy(update={"actual_hours": a}) for t, a in zip(test, actuals, strict=True)]
    embed = BagOfWordsEmbedder()
    first = predict_test(train, test, embed=embed, config=EstimatorConfig())
    second = predict_test(train, shuffled, embed=embed, config=EstimatorConfig())
    assert first.ai == second.ai and first.cold == second.cold


@settings(max_examples=25, deadline=None)
@given(
    estimate=st.one_of(st.none(), st.floats(min_value=0.0, max_value=500.0)),
    assignee=st.sampled_from(["ana", "bo", "cy", "someone-new", None]),
    category=st.sampled_from(["bug", "feature", "meeting", "unknown", None]),
    title=st.text(max_size=60),
)
def test_interval_always_contains_the_point_estimate(
    estimate: float | None, assignee: str | None, category: str | None, title: str
) -> None:
    est = _FITTED.predict(
        Task(
            gid="x",
            name=title or "x",
            assignee_gid=assignee,
            project_type=category,
            created_at=datetime(2030, 1, 1, tzinfo=UTC),
            estimate_hours=estimate,
        )
    )
    _sane(est)


_FITTED = Estimator(embed=BagOfWordsEmbedder()).fit(make_history(200, seed=11))
