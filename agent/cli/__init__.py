"""The `effort` command line. Each command group lives in its own module and registers itself here."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="effort",
    help="Effort Copilot: plan from your team's own Asana time-tracking history.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals could hold a token
)

# Command modules register their commands on `app` when imported.
from agent.cli import commands  # noqa: E402,F401
