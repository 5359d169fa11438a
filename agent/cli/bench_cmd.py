"""`effort bench …`: the estimation backtest a user runs on their own history. This module owns the
`bench` sub-app (``bench_app``) and its `estimation` command; other modules may add commands to
``bench_app`` (e.g. `bench all`). The backtest itself is product code (``tools.backtest``); the
developer benchmarks (SiP conversion, sandbox CSVs, forecast backtest) live in ``evals/`` and run as
``python -m evals...``.

    effort bench estimation --tasks TASKS.csv --predictions OUT.csv [--report OUT.md] [--test-fraction 0.2]
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli.common import fail

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py

bench_app = typer.Typer(
    help="Benchmarks: estimation backtests, speed and scale figures.", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")


@bench_app.command("estimation")
def estimation(
    tasks: Annotated[Path, typer.Option("--tasks", help="TASKS.csv with the task history to backtest on.")],
    predictions: Annotated[Path, typer.Option("--predictions", help="Where to write OUT.csv (test tasks).")],
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write a Markdown report here.")
    ] = None,
    test_fraction: Annotated[
        float, typer.Option("--test-fraction", help="Latest share of tasks held out as the test set.")
    ] = 0.2,
    no_text: Annotated[
        bool, typer.Option("--no-text", help="Leave out text similarity (no embedding model).")
    ] = False,
) -> None:
    """Backtest the estimator: chronological split, fit on the past, predict the held-out tasks."""
    from tools.backtest.runner import BenchError, run_bench
    from tools.backtest.tasks_csv import TasksCsvError
    from tools.index.embedding import EmbeddingModelError

    def warn(message: str) -> None:
        typer.echo(f"warning: {message}", err=True)

    try:
        result = run_bench(
            tasks, predictions, report, test_fraction=test_fraction, use_text=not no_text, warn=warn
        )
    except (TasksCsvError, BenchError, EmbeddingModelError) as exc:
        raise fail(str(exc)) from None
    except OSError as exc:  # e.g. the output directory is not writable
        raise fail(f"{exc.strerror or exc}: {exc.filename or ''}".strip(": ")) from None

    def pct(value: float | None) -> str:
        return "-" if value is None else f"{100 * value:.1f}%"

    def num(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    typer.echo(
        f"read {result.rows_read} rows ({result.rows_skipped} skipped); train {result.train_tasks}, "
        f"test {result.test_tasks} ({result.test_with_estimate} with a human estimate); split at {result.split_at}"
    )
    for name, m in (("human", result.human), ("ai", result.ai), ("cold start", result.cold)):
        typer.echo(
            f"{name:>10}: MdMRE {num(m.mdmre)}  PRED(25) {pct(m.pred25)}  mean|log| {num(m.mean_abs_log)}  "
            f"MAE {num(m.mae)} h  P10-P90 coverage {pct(m.coverage)}"
        )
    for label, t in (("project-month", result.totals), ("project", result.project_totals)):
        if t.batches:
            typer.echo(
                f"{label} totals ({t.batches} batches): |error| sum ai {num(t.ai_abs_error_sum)} h vs human "
                f"{num(t.human_abs_error_sum)} h; P10-P90 coverage {pct(t.coverage80)}"
            )
    a = result.approver
    if a is not None and a.static.tasks:
        typer.echo(
            f"simulated approver ({a.edited} edits, {a.rejected} rejections): mean|log| "
            f"{num(a.static.mean_abs_log)} -> {num(a.learning.mean_abs_log)}, PRED(25) "
            f"{pct(a.static.pred25)} -> {pct(a.learning.pred25)}"
        )
    for fit in result.hindsight:
        typer.echo(
            f" hindsight ({fit.mode}; fitted on the test answers, an upper bound): {fit.model}: "
            f"mean|log| {num(fit.mean_abs_log)}  MdMRE {num(fit.mdmre)}  PRED(25) {pct(fit.pred25)}"
        )
    misses = [str(f["figure"]) for f in result.figures if f["passed"] is False]
    typer.echo("bars: " + ("all met" if not misses else "missed: " + "; ".join(misses)))
    typer.echo(f"wrote {predictions}" + (f" and {report}" if report else ""))
