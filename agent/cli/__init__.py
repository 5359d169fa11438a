"""The `effort` command line.

Each command module builds its own small ``typer.Typer`` (named ``app``); `agent/cli/commands.py` lists
the modules in reading order and merges them into the one ``app`` here. Command modules import only
typer, rich and light helpers at the top: anything heavy (langgraph, chromadb, sqlalchemy, numpy, the
settings loader) is imported inside the command that needs it, so `effort --help` and a mistyped option
answer at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="effort",
    help="Effort Copilot: plan from your team's own Asana time-tracking history.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals could hold a token
    rich_markup_mode=None,  # plain help: rich's help renderer alone costs ~0.15 s of CPU per call
)


def _print_version(value: bool) -> None:
    if value:
        from agent.version import DISTRIBUTION, product_version

        typer.echo(f"{DISTRIBUTION} {product_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML config file for every command (like EFFORT_CONFIG; a command's own --config wins).",
        ),
    ] = None,
) -> None:
    """Effort Copilot: plan from your team's own Asana time-tracking history."""
    if config is not None:  # the one place the settings loader looks besides an explicit --config
        os.environ["EFFORT_CONFIG"] = str(config)


from agent.cli.commands import register  # noqa: E402  (the modules may still import `app` from here)

register(app)
