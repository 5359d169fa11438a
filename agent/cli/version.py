"""`effort --version`: the installed package's version, printed before anything else is loaded."""

from __future__ import annotations

from typing import Annotated

import typer

from agent.cli import app
from agent.version import DISTRIBUTION, product_version


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"{DISTRIBUTION} {product_version()}")
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Effort Copilot: plan from your team's own Asana time-tracking history."""
