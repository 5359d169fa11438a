"""Estimation backtest: ``effort bench estimation --tasks TASKS.csv --predictions OUT.csv [--report OUT.md]
[--test-fraction 0.2]`` (PRODUCT.md, Interfaces), the check a sceptic runs on their own history.

Split: tasks sorted by ``completed_at`` (else ``created_at``; ties by created_at then task_id); the last
``test_fraction`` is the test set. The estimator is fitted on the rest only. Test tasks are handed to it
with ``actual_hours`` removed (so it cannot read them), and for the cold-start columns with
``estimate_hours`` removed too. OUT.csv: one row per test task with
``task_id,estimate_hours,ai_estimate_hours,ai_p10_hours,ai_p90_hours,cold_start_hours,cold_start_p10_hours,
cold_start_p90_hours`` (``ai_*`` empty where the task has no human estimate).

The report gives, for the raw human estimate, the AI estimate and cold start: MdMRE, PRED(25), mean
|log(actual/pred)|, MAE and P10-P90 coverage; project-month and project totals with their simulated
ranges; AI vs person per assignee and category; and what a simulated approver's edits teach the model.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from tools.analytics.estimator import Estimate, Estimator, EstimatorConfig, GroupVerdict, task_text
from tools.backtest.approver import ApproverFigures, simulate_approver
from tools.backtest.headroom import HindsightFit, hindsight_fits
from tools.backtest.metrics import Metrics, TotalsMetrics, group_table, metrics, totals_metrics
from tools.backtest.tasks_csv import MAX_SHOWN_PROBLEMS, ReadResult, read_tasks_csv
from tools.records import Task

PREDICTION_COLUMNS = (
    "task_id",
    "estimate_hours",
    "ai_estimate_hours",
    "ai_p10_hours",
    "ai_p90_hours",
    "cold_start_hours",
    "cold_start_p10_hours",
    "cold_start_p90_hours",
)
Embed = Callable[[Sequence[str]], np.ndarray]


class BenchError(ValueError):
    """The backtest cannot run on this input (the message says why)."""


# --------------------------------------------------------------------------- split and predict


def split_key(task: Task) -> datetime:
    """When a task counts as done for the split: completed_at, else created_at."""
    moment = task.completed_at or task.created_at
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def split(tasks: Sequence[Task], test_fraction: float) -> tuple[list[Task], list[Task]]:
    """Chronological split: the last ``test_fraction`` of tasks (by :func:`split_key`) is the test set."""
    if not 0 < test_fraction < 1:
        raise BenchError(f"--test-fraction must be between 0 and 1 (exclusive), got {test_fraction}")
    ordered = sorted(tasks, key=lambda t: (split_key(t), t.created_at, t.gid))
    n_test = max(1, round(len(ordered) * test_fraction))
    if n_test >= len(ordered):
        raise BenchError(f"{len(ordered)} usable task(s): need at least 2 for a train/test split")
    return ordered[:-n_test], ordered[-n_test:]


def as_history(task: Task) -> Task:
    """A TASKS.csv row has its actual hours, so it is done: date it by its split key if it has no
    completed_at, so the estimator (which learns from completed tasks only) can use it."""
    if task.completed_at is not None:
        return task
    return task.model_copy(update={"completed_at": split_key(task), "completed": True})


def hide_actual(task: Task) -> Task:
    """The task as it was when estimated: no actual hours, not completed."""
    return task.model_copy(update={"actual_hours": None, "completed": False, "completed_at": None})


@dataclass
class Predictions:
    test: list[Task]
    ai: list[Estimate | None]
    cold: list[Estimate]
    estimator: Estimator
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def predict_test(
    train: Sequence[Task],
    test: Sequence[Task],
    *,
    embed: Embed | None,
    config: EstimatorConfig | None = None,
) -> Predictions:
    """Fit on ``train``; predict ``test`` with actuals hidden (and, for cold start, estimates hidden)."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    vectors: dict[str, np.ndarray] = {}
    if embed is not None:
        everything = [*train, *test]
        matrix = embed([task_text(t) for t in everything])
        vectors = {t.gid: matrix[i] for i, t in enumerate(everything)}
    timings["embed_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    estimator = Estimator(config, embed).fit([as_history(t) for t in train], vectors=vectors)
    timings["fit_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    # The model never sees a test task's actual hours: they are removed before prediction.
    hidden = [hide_actual(t) for t in test]
    no_estimate = [t.model_copy(update={"estimate_hours": None}) for t in hidden]
    ai_all = estimator.predict_many(hidden, vectors=vectors)
    cold = estimator.predict_many(no_estimate, use_estimate=False, vectors=vectors)
    ai: list[Estimate | None] = [e if e.mode == "calibrated" else None for e in ai_all]
    timings["predict_s"] = round(time.perf_counter() - started, 2)
    return Predictions(
        test=list(test), ai=ai, cold=cold, estimator=estimator, vectors=vectors, seconds=timings
    )


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def write_predictions(preds: Predictions, path: Path) -> None:
    """OUT.csv: one row per test task, columns as PRODUCT.md specifies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PREDICTION_COLUMNS)
        for task, ai, cold in zip(preds.test, preds.ai, preds.cold, strict=True):
            writer.writerow(
                [
                    task.gid,
                    _fmt(task.estimate_hours),
                    _fmt(ai.hours if ai else None),
                    _fmt(ai.p10_hours if ai else None),
                    _fmt(ai.p90_hours if ai else None),
                    _fmt(cold.hours),
                    _fmt(cold.p10_hours),
                    _fmt(cold.p90_hours),
                ]
            )


# --------------------------------------------------------------------------- the whole backtest


class BenchReport(BaseModel):
    source: str
    rows_read: int
    rows_skipped: int
    train_tasks: int
    test_tasks: int
    test_with_estimate: int
    split_at: str
    human: Metrics
    ai: Metrics
    cold: Metrics
    cold_on_estimated: Metrics  # cold start on the same tasks as human/ai, for comparison
    totals: TotalsMetrics  # project x month
    project_totals: TotalsMetrics  # whole project (its test tasks)
    by_assignee: list[GroupVerdict] = []  # on the test set: AI vs person per assignee
    by_category: list[GroupVerdict] = []
    approver: ApproverFigures | None = None
    seconds: dict[str, float]
    figures: list[dict[str, object]]
    hindsight: list[HindsightFit] = []


def evaluate(preds: Predictions) -> tuple[Metrics, Metrics, Metrics, Metrics]:
    """Metrics of the human estimate, the AI estimate, cold start (all) and cold start (estimated)."""
    with_est = [i for i, e in enumerate(preds.ai) if e is not None]
    actual = [preds.test[i].actual_hours or 0.0 for i in range(len(preds.test))]
    human = metrics([actual[i] for i in with_est], [preds.test[i].estimate_hours or 0.0 for i in with_est])
    ai_est = [e for e in (preds.ai[i] for i in with_est) if e is not None]
    ai = metrics(
        [actual[i] for i in with_est],
        [e.hours for e in ai_est],
        [e.p10_hours for e in ai_est],
        [e.p90_hours for e in ai_est],
    )
    cold = metrics(
        actual,
        [e.hours for e in preds.cold],
        [e.p10_hours for e in preds.cold],
        [e.p90_hours for e in preds.cold],
    )
    cold_est = metrics(
        [actual[i] for i in with_est],
        [preds.cold[i].hours for i in with_est],
        [preds.cold[i].p10_hours for i in with_est],
        [preds.cold[i].p90_hours for i in with_est],
    )
    return human, ai, cold, cold_est


def _bar(name: str, value: float | None, bar: str, passed: bool | None, unit: str = "") -> dict[str, object]:
    return {"figure": name, "value": value, "unit": unit, "bar": bar, "passed": passed}


def _between(value: float | None, low: float, high: float) -> bool | None:
    return None if value is None else low <= value <= high


def bar_figures(human: Metrics, ai: Metrics, cold: Metrics, totals: TotalsMetrics) -> list[dict[str, object]]:
    """The quality bars of PRODUCT.md and issue 16, each with the measured value and pass/miss."""
    ratio = ai.mean_abs_log / human.mean_abs_log if ai.mean_abs_log and human.mean_abs_log else None
    pred_ok = None if ai.pred25 is None or human.pred25 is None else ai.pred25 >= human.pred25 - 0.01
    out = [
        _bar(
            "mean |log(actual/ai)| / human's", ratio, "<= 1.00", None if ratio is None else ratio <= 1.0, "x"
        ),
        _bar(
            "PRED(25) with human estimate (ai)",
            ai.pred25,
            f">= {human.pred25 - 0.01:.3f} (human's - 1 point)"
            if human.pred25 is not None
            else ">= human's - 1 point",
            pred_ok,
        ),
        _bar("P10-P90 coverage (ai)", ai.coverage, "0.75-0.85", _between(ai.coverage, 0.75, 0.85)),
        _bar("cold start MdMRE", cold.mdmre, "<= 0.50", None if cold.mdmre is None else cold.mdmre <= 0.50),
        _bar(
            "cold start PRED(25)",
            cold.pred25,
            ">= 0.30",
            None if cold.pred25 is None else cold.pred25 >= 0.30,
        ),
        _bar("cold start P10-P90 coverage", cold.coverage, "0.75-0.85", _between(cold.coverage, 0.75, 0.85)),
    ]
    if totals.batches:
        lower = (
            None
            if totals.ai_abs_error_sum is None or totals.human_abs_error_sum is None
            else totals.ai_abs_error_sum <= totals.human_abs_error_sum
        )
        out.append(
            _bar("project-month total |error| (ai, sum)", totals.ai_abs_error_sum, "<= human's", lower, "h")
        )
        out.append(
            _bar("project-month total |error| (human, sum)", totals.human_abs_error_sum, "", None, "h")
        )
        out.append(
            _bar(
                "project-month P10-P90 coverage of totals",
                totals.coverage80,
                "0.75-0.85",
                _between(totals.coverage80, 0.75, 0.85),
            )
        )
    return out


def run_backtest(
    tasks: Sequence[Task],
    *,
    source: str = "",
    rows_read: int | None = None,
    rows_skipped: int = 0,
    test_fraction: float = 0.2,
    embed: Embed | None = None,
    config: EstimatorConfig | None = None,
    approver: bool = True,
) -> tuple[BenchReport, Predictions]:
    """Split, fit, predict and score ``tasks`` (each with actual hours)."""
    train, test = split(tasks, test_fraction)
    preds = predict_test(train, test, embed=embed, config=config)
    human, ai, cold, cold_est = evaluate(preds)
    started = time.perf_counter()
    totals = totals_metrics(preds.test, preds.ai, preds.estimator, by_month=True)
    project_totals = totals_metrics(preds.test, preds.ai, preds.estimator, by_month=False)
    preds.seconds["totals_s"] = round(time.perf_counter() - started, 2)
    approver_figures = None
    if approver:
        started = time.perf_counter()
        approver_figures = simulate_approver(preds)
        preds.seconds["approver_s"] = round(time.perf_counter() - started, 2)
    report = BenchReport(
        source=source,
        rows_read=len(tasks) if rows_read is None else rows_read,
        rows_skipped=rows_skipped,
        train_tasks=len(train),
        test_tasks=len(test),
        test_with_estimate=sum(1 for e in preds.ai if e is not None),
        split_at=split_key(test[0]).isoformat(),
        human=human,
        ai=ai,
        cold=cold,
        cold_on_estimated=cold_est,
        totals=totals,
        project_totals=project_totals,
        by_assignee=group_table(preds.test, preds.ai, "assignee"),
        by_category=group_table(preds.test, preds.ai, "category"),
        approver=approver_figures,
        seconds=preds.seconds,
        figures=bar_figures(human, ai, cold, totals),
        hindsight=hindsight_fits(test),
    )
    return report, preds


def run_bench(
    tasks_csv: Path,
    predictions: Path,
    report: Path | None = None,
    test_fraction: float = 0.2,
    *,
    embed: Embed | None = None,
    use_text: bool = True,
    config: EstimatorConfig | None = None,
    warn: Callable[[str], None] | None = None,
) -> BenchReport:
    """Read TASKS.csv, split, fit, predict, write OUT.csv (and the Markdown report); return the figures."""
    from tools.backtest.report import render_report

    read: ReadResult = read_tasks_csv(tasks_csv)
    if warn is not None and read.skipped:
        for problem in read.problems[:MAX_SHOWN_PROBLEMS]:
            warn(f"skipped {problem}")
        if read.skipped > MAX_SHOWN_PROBLEMS:
            warn(f"... and {read.skipped - MAX_SHOWN_PROBLEMS} more skipped row(s)")
    if embed is None and use_text:
        from tools.index.embedding import MiniLMInt8

        embed = MiniLMInt8().encode
    result, preds = run_backtest(
        read.tasks,
        source=str(tasks_csv),
        rows_read=read.rows,
        rows_skipped=read.skipped,
        test_fraction=test_fraction,
        embed=embed if use_text else None,
        config=config,
    )
    write_predictions(preds, predictions)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_report(result), encoding="utf-8")
    return result
