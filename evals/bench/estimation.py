"""Estimation backtest: ``effort bench estimation --tasks TASKS.csv --predictions OUT.csv [--report OUT.md]
[--test-fraction 0.2]`` (PRODUCT.md, Interfaces).

Split: tasks sorted by ``completed_at`` (else ``created_at``; ties by created_at then task_id); the last
``test_fraction`` is the test set. The estimator is fitted on the rest only. Test tasks are handed to it
with ``actual_hours`` removed (so it cannot read them), and for the cold-start columns with
``estimate_hours`` removed too. OUT.csv: one row per test task with
``task_id,estimate_hours,ai_estimate_hours,ai_p10_hours,ai_p90_hours,cold_start_hours,cold_start_p10_hours,
cold_start_p90_hours`` (``ai_*`` empty where the task has no human estimate).

The report gives, for the raw human estimate, the AI estimate and cold start: MdMRE, PRED(25), mean
|log(actual/pred)|, MAE and P10-P90 coverage, overall and for project-month totals.
"""

from __future__ import annotations

import csv
import math
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

import tools  # noqa: F401  (offline switches before onnxruntime is imported)
from evals.bench.headroom import HindsightFit, hindsight_fits, render_hindsight
from evals.datasets.tasks_csv import MAX_SHOWN_PROBLEMS, ReadResult, read_tasks_csv
from tools.analytics.estimator import Estimate, Estimator, EstimatorConfig, task_text
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
MIN_BATCH_TASKS = 3
SIMULATIONS = 4000


class BenchError(ValueError):
    """The benchmark cannot run on this input (the message says why)."""


# --------------------------------------------------------------------------- metrics


class Metrics(BaseModel):
    """Accuracy of one predictor on the tasks it predicted (relative metrics skip 0 h actuals)."""

    tasks: int = 0
    mae: float | None = None
    mdae: float | None = None
    mmre: float | None = None
    mdmre: float | None = None
    pred25: float | None = None
    mean_log: float | None = None  # mean log(actual/pred): > 0 = under-prediction
    mean_abs_log: float | None = None
    overrun_share: float | None = None
    coverage: float | None = None  # share of actuals inside P10-P90 (when there is a range)
    median_width: float | None = None  # median P90/P10


def metrics(
    actual: Sequence[float],
    predicted: Sequence[float],
    low: Sequence[float] | None = None,
    high: Sequence[float] | None = None,
) -> Metrics:
    """Point and interval metrics; tasks with a non-positive actual or prediction are left out of the
    relative and log metrics (MRE and logs are undefined there) but kept in MAE."""
    a, p = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    if not len(a):
        return Metrics()
    pos = (a > 0) & (p > 0)
    mre = np.abs(a[pos] - p[pos]) / a[pos]
    logs = np.log(a[pos] / p[pos])
    out = Metrics(
        tasks=len(a),
        mae=float(np.mean(np.abs(a - p))),
        mdae=float(np.median(np.abs(a - p))),
        overrun_share=float(np.mean(a > p)),
    )
    if pos.any():
        out.mmre, out.mdmre = float(np.mean(mre)), float(np.median(mre))
        out.pred25 = float(np.mean(mre <= 0.25))
        out.mean_log, out.mean_abs_log = float(np.mean(logs)), float(np.mean(np.abs(logs)))
    if low is not None and high is not None:
        lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
        out.coverage = float(np.mean((a >= lo) & (a <= hi)))
        ok = lo > 0
        out.median_width = float(np.median(hi[ok] / lo[ok])) if ok.any() else None
    return out


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


def _as_history(task: Task) -> Task:
    # A TASKS.csv row has its actual hours, so it is done: date it by its split key if it has no
    # completed_at, so the estimator (which learns from completed tasks only) can use it.
    if task.completed_at is not None:
        return task
    return task.model_copy(update={"completed_at": split_key(task), "completed": True})


@dataclass
class Predictions:
    test: list[Task]
    ai: list[Estimate | None]
    cold: list[Estimate]
    seconds: dict[str, float] = field(default_factory=dict)


def predict_test(
    train: Sequence[Task],
    test: Sequence[Task],
    *,
    embed: Callable[[Sequence[str]], np.ndarray] | None,
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
    estimator = Estimator(config, embed).fit([_as_history(t) for t in train], vectors=vectors)
    timings["fit_s"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    # The model never sees a test task's actual hours: they are removed before prediction.
    hidden = [
        t.model_copy(update={"actual_hours": None, "completed": False, "completed_at": None}) for t in test
    ]
    no_estimate = [t.model_copy(update={"estimate_hours": None}) for t in hidden]
    ai_all = estimator.predict_many(hidden, vectors=vectors)
    cold = estimator.predict_many(no_estimate, use_estimate=False, vectors=vectors)
    ai: list[Estimate | None] = [e if e.mode == "calibrated" else None for e in ai_all]
    timings["predict_s"] = round(time.perf_counter() - started, 2)
    return Predictions(test=list(test), ai=ai, cold=cold, seconds=timings)


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


# --------------------------------------------------------------------------- totals


def _draws(est: Estimate, rng: np.random.Generator, n: int) -> np.ndarray:
    """Samples from a two-piece log-normal through P10, point and P90 (z of P10/P90 = -+1.2816)."""
    center = math.log(max(est.hours, 1e-6))
    low = (center - math.log(max(est.p10_hours, 1e-6))) / 1.2816
    high = (math.log(max(est.p90_hours, 1e-6)) - center) / 1.2816
    z = rng.standard_normal(n)
    return np.exp(center + np.where(z < 0, z * low, z * high))


class TotalsMetrics(BaseModel):
    batches: int = 0
    tasks: int = 0
    human_abs_error_sum: float | None = None  # sum over batches of |actual total - human total|
    ai_abs_error_sum: float | None = None
    human_median_abs_log: float | None = None
    ai_median_abs_log: float | None = None
    ai_better_share: float | None = None  # batches where the AI total is closer than the human's
    coverage80: float | None = None  # batches whose actual total is inside the simulated P10-P90
    coverage50: float | None = None


def project_month_totals(preds: Predictions, seed: int = 7) -> TotalsMetrics:
    """Per project x calendar month (by the split date) batches of >= 3 tasks, all with a human estimate.
    AI total = median of summed per-task draws (calibrated estimates), interval = P10-P90 of the sums."""
    batches: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, task in enumerate(preds.test):
        if preds.ai[i] is None:
            continue
        month = split_key(task).strftime("%Y-%m")
        batches[(task.project_gid or "(none)", month)].append(i)
    rng = np.random.default_rng(seed)
    human_err, ai_err, human_log, ai_log, better, in80, in50 = [], [], [], [], [], [], []
    n_tasks = 0
    for rows in batches.values():
        if len(rows) < MIN_BATCH_TASKS:
            continue
        n_tasks += len(rows)
        actual = sum(preds.test[i].actual_hours or 0.0 for i in rows)
        human = sum(preds.test[i].estimate_hours or 0.0 for i in rows)
        sims = np.zeros(SIMULATIONS)
        for i in rows:
            est = preds.ai[i]
            assert est is not None
            sims += _draws(est, rng, SIMULATIONS)
        p10, p25, p50, p75, p90 = np.quantile(sims, [0.1, 0.25, 0.5, 0.75, 0.9])
        human_err.append(abs(actual - human))
        ai_err.append(abs(actual - p50))
        if actual > 0:
            human_log.append(abs(math.log(actual / human)) if human > 0 else math.inf)
            ai_log.append(abs(math.log(actual / p50)))
        better.append(abs(actual - p50) < abs(actual - human))
        in80.append(p10 <= actual <= p90)
        in50.append(p25 <= actual <= p75)
    if not human_err:
        return TotalsMetrics()
    return TotalsMetrics(
        batches=len(human_err),
        tasks=n_tasks,
        human_abs_error_sum=float(sum(human_err)),
        ai_abs_error_sum=float(sum(ai_err)),
        human_median_abs_log=float(np.median(human_log)) if human_log else None,
        ai_median_abs_log=float(np.median(ai_log)) if ai_log else None,
        ai_better_share=float(np.mean(better)),
        coverage80=float(np.mean(in80)),
        coverage50=float(np.mean(in50)),
    )


# --------------------------------------------------------------------------- the whole benchmark


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
    totals: TotalsMetrics
    seconds: dict[str, float]
    figures: list[dict[str, Any]]
    hindsight: list[HindsightFit] = []


def evaluate(preds: Predictions) -> tuple[Metrics, Metrics, Metrics, Metrics]:
    """Metrics of the human estimate, the AI estimate, cold start (all) and cold start (estimated)."""
    with_est = [i for i, e in enumerate(preds.ai) if e is not None]
    actual = [preds.test[i].actual_hours or 0.0 for i in range(len(preds.test))]
    human = metrics([actual[i] for i in with_est], [preds.test[i].estimate_hours or 0.0 for i in with_est])
    ai_est = [preds.ai[i] for i in with_est]
    ai = metrics(
        [actual[i] for i in with_est],
        [e.hours for e in ai_est if e],
        [e.p10_hours for e in ai_est if e],
        [e.p90_hours for e in ai_est if e],
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


def _figures(human: Metrics, ai: Metrics, cold: Metrics, totals: TotalsMetrics) -> list[dict[str, Any]]:
    def fig(name: str, value: float | None, bar: str, passed: bool | None, unit: str = "") -> dict[str, Any]:
        return {"figure": name, "value": value, "unit": unit, "bar": bar, "passed": passed}

    ratio = ai.mean_abs_log / human.mean_abs_log if ai.mean_abs_log and human.mean_abs_log else None
    out = [
        fig(
            "mean |log(actual/ai)| / human's", ratio, "<= 0.95", None if ratio is None else ratio <= 0.95, "x"
        ),
        fig(
            "PRED(25) with human estimate (ai vs human)",
            ai.pred25,
            f">= {human.pred25:.3f}" if human.pred25 is not None else ">= human's",
            None if ai.pred25 is None or human.pred25 is None else ai.pred25 >= human.pred25,
        ),
        fig(
            "P10-P90 coverage (ai)",
            ai.coverage,
            "0.75-0.85",
            None if ai.coverage is None else 0.75 <= ai.coverage <= 0.85,
        ),
        fig("cold start MdMRE", cold.mdmre, "<= 0.50", None if cold.mdmre is None else cold.mdmre <= 0.50),
        fig(
            "cold start PRED(25)",
            cold.pred25,
            ">= 0.30",
            None if cold.pred25 is None else cold.pred25 >= 0.30,
        ),
        fig(
            "cold start P10-P90 coverage",
            cold.coverage,
            "0.75-0.85",
            None if cold.coverage is None else 0.75 <= cold.coverage <= 0.85,
        ),
    ]
    if totals.batches:
        lower = (
            None
            if totals.ai_abs_error_sum is None or totals.human_abs_error_sum is None
            else totals.ai_abs_error_sum < totals.human_abs_error_sum
        )
        out.append(
            fig("project-month total |error| (ai, sum)", totals.ai_abs_error_sum, "< human's", lower, "h")
        )
        out.append(fig("project-month total |error| (human, sum)", totals.human_abs_error_sum, "", None, "h"))
        out.append(fig("project-month P10-P90 coverage of totals", totals.coverage80, "near 0.80", None))
    return out


def run_bench(
    tasks_csv: Path,
    predictions: Path,
    report: Path | None = None,
    test_fraction: float = 0.2,
    *,
    embed: Callable[[Sequence[str]], np.ndarray] | None = None,
    use_text: bool = True,
    config: EstimatorConfig | None = None,
    warn: Callable[[str], None] | None = None,
) -> BenchReport:
    """Read TASKS.csv, split, fit, predict, write OUT.csv (and the Markdown report); return the figures."""
    read: ReadResult = read_tasks_csv(tasks_csv)
    if warn is not None and read.skipped:
        for problem in read.problems[:MAX_SHOWN_PROBLEMS]:
            warn(f"skipped {problem}")
        if read.skipped > MAX_SHOWN_PROBLEMS:
            warn(f"... and {read.skipped - MAX_SHOWN_PROBLEMS} more skipped row(s)")
    train, test = split(read.tasks, test_fraction)
    if embed is None and use_text:
        from tools.index.embedding import MiniLMInt8

        embed = MiniLMInt8().encode
    preds = predict_test(train, test, embed=embed if use_text else None, config=config)
    write_predictions(preds, predictions)
    human, ai, cold, cold_est = evaluate(preds)
    totals = project_month_totals(preds)
    result = BenchReport(
        source=str(tasks_csv),
        rows_read=read.rows,
        rows_skipped=read.skipped,
        train_tasks=len(train),
        test_tasks=len(test),
        test_with_estimate=sum(1 for e in preds.ai if e is not None),
        split_at=split_key(test[0]).isoformat(),
        human=human,
        ai=ai,
        cold=cold,
        cold_on_estimated=cold_est,
        totals=totals,
        seconds=preds.seconds,
        figures=_figures(human, ai, cold, totals),
        hindsight=hindsight_fits(test),
    )
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_report(result), encoding="utf-8")
    return result


def _cell(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if pct else f"{value:.3f}"


def render_report(r: BenchReport) -> str:
    """The Markdown report."""
    lines = [
        "# Estimation backtest",
        "",
        f"- source: `{r.source}`; rows read {r.rows_read}, skipped {r.rows_skipped}",
        f"- chronological split at {r.split_at}: train {r.train_tasks} tasks, test {r.test_tasks} "
        f"({r.test_with_estimate} with a human estimate)",
        "- the model never read a test task's actual hours; cold start never read its estimate",
        f"- time: {', '.join(f'{k} {v}' for k, v in r.seconds.items())}",
        "",
        "| predictor | tasks | MAE h | MdMRE | PRED(25) | mean log(act/pred) | mean abs log | P10-P90 coverage | median P90/P10 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, m in (
        ("human estimate (raw)", r.human),
        ("AI estimate (calibrated human)", r.ai),
        ("cold start (all test tasks)", r.cold),
        ("cold start (tasks with a human estimate)", r.cold_on_estimated),
    ):
        lines.append(
            f"| {name} | {m.tasks} | {_cell(m.mae)} | {_cell(m.mdmre)} | {_cell(m.pred25, True)} | "
            f"{_cell(m.mean_log)} | {_cell(m.mean_abs_log)} | {_cell(m.coverage, True)} | {_cell(m.median_width)} |"
        )
    t = r.totals
    lines += [
        "",
        f"## Project x month totals ({t.batches} batches of >= {MIN_BATCH_TASKS} tasks, {t.tasks} tasks)",
        "",
        "AI total = median of summed per-task draws (two-piece log-normal through each task's P10/point/P90, "
        "independent draws); human total = sum of human estimates.",
        "",
        "| figure | human | AI |",
        "|---|---|---|",
        f"| sum of \\|actual total - forecast\\| (h) | {_cell(t.human_abs_error_sum)} | {_cell(t.ai_abs_error_sum)} |",
        f"| median \\|log(actual total / forecast)\\| | {_cell(t.human_median_abs_log)} | {_cell(t.ai_median_abs_log)} |",
        f"| batches where AI is closer | | {_cell(t.ai_better_share, True)} |",
        f"| actual total inside P10-P90 (nominal 80%) | | {_cell(t.coverage80, True)} |",
        f"| actual total inside P25-P75 (nominal 50%) | | {_cell(t.coverage50, True)} |",
        "",
        "## Bars",
        "",
        "| figure | value | bar | met |",
        "|---|---|---|---|",
    ]
    for f in r.figures:
        met = "-" if f["passed"] is None else ("yes" if f["passed"] else "**no**")
        value = f["value"]
        name = str(f["figure"]).replace("|", "\\|")
        lines.append(f"| {name} | {value if value is None else f'{value:.3f}'} | {f['bar']} | {met} |")
    lines += render_hindsight(r.hindsight)
    return "\n".join(lines) + "\n"


def summary(r: BenchReport) -> dict[str, Any]:
    """The figures in the shape ``evals.bench.all`` reads (fractions, not percents)."""
    return {
        "human": r.human.model_dump(),
        "ai": r.ai.model_dump(),
        "cold": r.cold.model_dump(),
        "cold_on_estimated": r.cold_on_estimated.model_dump(),
        "totals": r.totals.model_dump(),
        "train_tasks": r.train_tasks,
        "test_tasks": r.test_tasks,
        "seconds": r.seconds,
        "figures": r.figures,
        "hindsight": [f.model_dump() for f in r.hindsight],
    }


def run(
    sip_dir: Path | None = None,
    out_dir: Path | None = None,
    quick: bool = False,
    test_fraction: float = 0.2,
    **_: Any,
) -> dict[str, Any]:
    """``bench all`` entry point: the backtest on SiP (the TASKS.csv is written to a temporary dir)."""
    from evals.datasets.sip import DEFAULT_SIP_DIR, write_sip_csv

    with tempfile.TemporaryDirectory(prefix="sip_bench_") as tmp:
        tasks_csv = Path(tmp) / "sip_tasks.csv"
        write_sip_csv(tasks_csv, sip_dir or DEFAULT_SIP_DIR)
        # Per-task predictions carry SiP's own estimates: they stay in the temporary directory (the data
        # is read in place, never copied into the project); only the aggregate report goes to out_dir.
        report = (out_dir or Path(tmp)) / "sip_estimation.md"
        result = run_bench(tasks_csv, Path(tmp) / "sip_predictions.csv", report, test_fraction=test_fraction)
    return summary(result)
