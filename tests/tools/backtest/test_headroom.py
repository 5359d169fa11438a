"""Hindsight bounds of the estimation backtest: in-sample fits that bound what calibration could gain."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime

from tools.backtest.headroom import hindsight_fits, render_hindsight
from tools.records import Task

FACTORS = {"ann": 1.5, "bob": 0.8, "cat": 1.0}


def _task(i: int, assignee: str, estimate: float | None, actual: float) -> Task:
    return Task(
        gid=str(i),
        name=f"task {i}",
        assignee_name=assignee,
        project_name="P1",
        project_type="Build",
        estimate_hours=estimate,
        actual_hours=actual,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        completed=True,
        completed_at=datetime(2024, 2, 1, tzinfo=UTC),
    )


def _biased(n: int, seed: int = 3) -> list[Task]:
    rng = random.Random(seed)
    people = list(FACTORS)
    tasks = []
    for i in range(n):
        who = people[i % len(people)]
        estimate = rng.choice([1.0, 2.0, 4.0, 8.0])
        tasks.append(_task(i, who, estimate, estimate * FACTORS[who]))
    return tasks


def test_per_assignee_bias_is_fully_explained_in_hindsight() -> None:
    tasks = _biased(60)
    human_error = sum(abs(math.log(t.actual_hours / t.estimate_hours)) for t in tasks) / len(tasks)  # type: ignore[operator]
    fits = {(f.mode, f.model): f for f in hindsight_fits(tasks)}
    per_person = fits[("with estimate", "a factor per assignee")]
    assert human_error > 0.2
    assert per_person.mean_abs_log < 0.01  # the bias is all per person: hindsight removes it
    assert per_person.pred25 == 1.0 and per_person.tasks == 60


def test_pure_noise_leaves_little_to_gain() -> None:
    rng = random.Random(11)
    tasks = [_task(i, ["ann", "bob"][i % 2], 4.0, 4.0 * math.exp(rng.gauss(0.0, 0.5))) for i in range(200)]
    human_error = sum(abs(math.log(t.actual_hours / 4.0)) for t in tasks) / len(tasks)  # type: ignore[operator]
    best = min(f.mean_abs_log for f in hindsight_fits(tasks) if f.mode == "with estimate")
    assert best > 0.85 * human_error  # unbiased noise: no model form can explain it away


def test_cold_start_row_ignores_estimates_and_small_sets_give_nothing() -> None:
    tasks = [_task(i, "ann", None, 2.0) for i in range(30)]
    fits = hindsight_fits(tasks)
    assert [f.mode for f in fits] == ["cold start"]
    assert fits[0].mean_abs_log < 1e-6
    assert hindsight_fits(_biased(10)) == []
    assert render_hindsight([]) == []
    assert any("upper bound" in line for line in render_hindsight(fits))
