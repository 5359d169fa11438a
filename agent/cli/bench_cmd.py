"""`effort bench …`: benchmarks. This module owns the `bench` sub-app (``bench_app``) and its
`estimation` and `sip-csv` commands; other modules may add commands to ``bench_app`` (e.g. `bench all`).

    effort bench estimation --tasks TASKS.csv --predictions OUT.csv [--report OUT.md] [--test-fraction 0.2]
    effort bench sip-csv --out FILE [--sip-dir DIR]
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
    from evals.bench.estimation import BenchError, run_bench
    from evals.datasets.tasks_csv import TasksCsvError
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
    t = result.totals
    if t.batches:
        typer.echo(
            f"project-month totals ({t.batches} batches): |error| sum ai {num(t.ai_abs_error_sum)} h vs human "
            f"{num(t.human_abs_error_sum)} h; P10-P90 coverage {pct(t.coverage80)}"
        )
    for fit in result.hindsight:
        typer.echo(
            f" hindsight ({fit.mode}; fitted on the test answers, an upper bound): {fit.model}: "
            f"mean|log| {num(fit.mean_abs_log)}  MdMRE {num(fit.mdmre)}  PRED(25) {pct(fit.pred25)}"
        )
    typer.echo(f"wrote {predictions}" + (f" and {report}" if report else ""))


@bench_app.command("sip-csv")
def sip_csv(
    out: Annotated[Path, typer.Option("--out", help="Where to write the SiP TASKS.csv.")],
    sip_dir: Annotated[
        Path | None, typer.Option("--sip-dir", help="SiP data directory (default ../shared/data/sip).")
    ] = None,
) -> None:
    """Write the SiP dataset (read in place) as a TASKS.csv for `effort bench estimation`."""
    from evals.datasets.sip import DEFAULT_SIP_DIR, SipError, write_sip_csv

    try:
        count = write_sip_csv(out, sip_dir or DEFAULT_SIP_DIR)
    except (SipError, OSError, KeyError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"wrote {count} SiP tasks to {out}")
