"""The `effort` commands, registered explicitly and in reading order (the order `effort --help` shows).

To add a command: write ``agent/cli/<name>_cmd.py`` with its own ``app = typer.Typer()`` (commands and
sub-apps decorate that), keep its top-level imports light (typer, rich, ``agent.cli.common``), import
heavy modules inside the command function, and add the module to ``MODULES`` below.
"""

from __future__ import annotations

from types import ModuleType

import typer

from agent.cli import (
    analyze_cmd,
    approvals_cmd,
    bench_cmd,
    chat_cmd,
    demo_cmd,
    doctor_cmd,
    index_cmd,
    mcp_cmd,
    retro_cmd,
    runs_cmd,
    sandbox_cmd,
    serve_cmd,
    sync_cmd,
    timesheet_cmd,
)

# Reading order: try it, fill the store, ask, run the retrospective and decide, analyse, then the
# tools for operators and developers.
MODULES: tuple[ModuleType, ...] = (
    demo_cmd,  # demo
    sync_cmd,  # sync
    chat_cmd,  # ask, chat
    retro_cmd,  # retro, summary
    approvals_cmd,  # approvals …
    runs_cmd,  # runs …, rollback
    analyze_cmd,  # analyze … (budget included)
    timesheet_cmd,  # timesheet draft|approve|edit|reject
    index_cmd,  # index …
    bench_cmd,  # bench …
    serve_cmd,  # serve, webhooks …
    mcp_cmd,  # mcp
    doctor_cmd,  # doctor: what the token can read, what the store knows
    sandbox_cmd,  # sandbox serve
)


def register(root: typer.Typer) -> None:
    """Merge each module's commands into ``root``, in ``MODULES`` order."""
    for module in MODULES:
        sub = getattr(module, "app", None)
        if isinstance(sub, typer.Typer) and sub is not root:  # a module may still decorate root itself
            root.add_typer(sub)
