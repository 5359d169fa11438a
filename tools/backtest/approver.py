"""What approvers' edits teach the estimator, measured with a simulated approver on the test set.

The test tasks are replayed in the order they were created (when their estimate would be proposed).
For a share of them, a simulated lead reviews the AI estimate knowing roughly how long the task will
take: if the person's own estimate is closer to the truth they reject the AI figure, otherwise they
edit it part of the way toward the truth. Each decision is fed to the estimator as
``EstimateFeedback`` before the next task is estimated, never for the task itself. The figure compares
those later estimates with the same model's estimates without feedback (the OUT.csv predictions,
which never see any of this).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel

from tools.analytics.estimator import EstimateFeedback
from tools.backtest.metrics import Metrics, metrics

if TYPE_CHECKING:
    from tools.backtest.runner import Predictions


class ApproverFigures(BaseModel):
    review_share: float  # share of test tasks whose AI estimate the simulated lead reviews
    pull: float  # how far an edit moves toward the truth (share of the log distance)
    edited: int
    rejected: int
    static: Metrics  # AI estimates (with a human estimate) without feedback
    learning: Metrics  # the same tasks, each estimated after the feedback on earlier tasks
    cold_static: Metrics  # cold start, same comparison
    cold_learning: Metrics


def simulate_approver(
    preds: Predictions,
    *,
    review_share: float = 0.3,
    pull: float = 0.5,
    seed: int = 11,
) -> ApproverFigures:
    """Replay the test set with a simulated approver (see the module docstring)."""
    from tools.backtest.runner import hide_actual

    model = preds.estimator.without_feedback()
    rng = np.random.default_rng(seed)
    index = {t.gid: i for i, t in enumerate(preds.test)}
    order = sorted(preds.test, key=lambda t: (t.created_at, t.gid))
    learned: dict[str, float] = {}
    learned_cold: dict[str, float] = {}
    edited = rejected = 0
    for task in order:
        hidden = hide_actual(task)
        vector = preds.vectors.get(task.gid)
        est = model.predict(hidden, vector=vector)
        cold = model.predict(hidden, use_estimate=False, vector=vector)
        learned_cold[task.gid] = cold.hours
        if est.mode == "calibrated":
            learned[task.gid] = est.hours
        actual = task.actual_hours or 0.0
        if actual <= 0 or rng.random() >= review_share:
            continue
        human = task.estimate_hours
        if human and abs(math.log(actual / human)) < abs(math.log(actual / est.hours)):
            decision = EstimateFeedback.for_task(task, est.hours, None, task.created_at)
            rejected += 1
        else:
            approved = est.hours * (actual / est.hours) ** pull
            decision = EstimateFeedback.for_task(task, est.hours, approved, task.created_at)
            edited += 1
        model.add_feedback([decision])
    cal = [gid for gid in learned if preds.ai[index[gid]] is not None]
    actual_cal = [preds.test[index[g]].actual_hours or 0.0 for g in cal]
    static_cal = [preds.ai[index[g]].hours for g in cal]  # type: ignore[union-attr]
    everything = list(learned_cold)
    actual_all = [preds.test[index[g]].actual_hours or 0.0 for g in everything]
    return ApproverFigures(
        review_share=review_share,
        pull=pull,
        edited=edited,
        rejected=rejected,
        static=metrics(actual_cal, static_cal),
        learning=metrics(actual_cal, [learned[g] for g in cal]),
        cold_static=metrics(actual_all, [preds.cold[index[g]].hours for g in everything]),
        cold_learning=metrics(actual_all, [learned_cold[g] for g in everything]),
    )
