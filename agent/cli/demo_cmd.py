"""`effort demo`: the two-minute tour on the built-in sandbox (what `make demo` runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py


@app.command("demo")
def demo_cmd(
    directory: Annotated[Path, typer.Option("--dir", help="Working folder, recreated on each run")] = Path(
        ".effort/demo"
    ),
    seed: Annotated[int, typer.Option("--seed", help="Workspace generator seed")] = 7,
    tasks: Annotated[
        int,
        typer.Option("--tasks", min=20, envvar="EFFORT_DEMO_TASKS", help="Tasks in the generated workspace"),
    ] = 400,
) -> None:
    """Sandbox -> sync -> retrospective -> report -> approval -> write-back -> audit, unattended."""
    from agent.demo import run_demo

    raise typer.Exit(run_demo(directory, seed=seed, tasks=tasks))
