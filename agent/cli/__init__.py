"""The `effort` command line.

Each command module builds its own small ``typer.Typer`` (named ``app``); `agent/cli/commands.py` lists
the modules in reading order and merges them into the one ``app`` here. Command modules import only
typer, rich and light helpers at the top: anything heavy (langgraph, chromadb, sqlalchemy, numpy, the
settings loader) is imported inside the command that needs it, so `effort --help` and a mistyped option
answer at once.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="effort",
    help="Effort Copilot: plan from your team's own Asana time-tracking history.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals could hold a token
)

from agent.cli.commands import register  # noqa: E402  (the modules may still import `app` from here)

register(app)
