"""`effort bench all`: run every benchmark, write bench.md (one table) and bench.json.

The `bench` sub-app belongs to the estimation command module (agent/cli/bench_cmd.py); this module adds
its `all` command to it. If that module is absent, a `bench` group is created here so the command exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli import app

try:
    from agent.cli.bench_cmd import bench_app  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # the estimation CLI is not there: host `bench` ourselves
    bench_app = typer.Typer(
        help="Benchmarks: estimation backtests, speed and scale figures.", no_args_is_help=True
    )
    app.add_typer(bench_app, name="bench")


@bench_app.command("all")
def bench_all(
    out: Annotated[Path, typer.Option("--out", help="directory for bench.md and bench.json")] = Path(
        "out/bench"
    ),
    quick: Annotated[
        bool, typer.Option("--quick", help="small sizes: a smoke test, not the bar figures")
    ] = False,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="run only this benchmark (repeatable)")
    ] = None,
) -> None:
    """Run every benchmark (sync, retro, index, tool tokens, estimation, anomalies, forecast)."""
    from rich.console import Console
    from rich.table import Table

    from evals.bench.all import bar_cell, run_all

    console = Console()
    report = run_all(out, quick=quick, only=only or None)
    table = Table(title=f"Effort Copilot benchmarks{' (quick)' if quick else ''}")
    for column in ("benchmark", "figure", "value", "bar", "budget used", "result"):
        table.add_column(column)
    colours = {"pass": "green", "miss": "red", "info": "cyan", "not run": "yellow", "error": "red"}
    for result in report.results:
        if result.status != "ran":
            table.add_row(result.name, "—", "—", "—", "", f"[yellow]{result.status}[/]: {result.reason}")
            continue
        for row in result.rows:
            value = "—" if row.value is None else f"{row.value} {row.unit}".strip()
            note = f" ({row.note})" if row.note else ""
            table.add_row(
                result.name,
                row.figure,
                value,
                row.bar,
                bar_cell(row),
                f"[{colours[row.status]}]{row.status}[/]{note}",
            )
    console.print(table)
    m = report.machine
    console.print(f"{m['cpu']}, {m['cores']} cores, Python {m['python']}, {m['date']}; {report.seconds} s")
    console.print(f"wrote {out / 'bench.md'} and {out / 'bench.json'}")
