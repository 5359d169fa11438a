"""What every command group shares: the --config option and loading settings with a clear error."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from agent.config import ConfigError, Settings, load_settings
from tools.redact import install_redaction

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML config file (default effort.toml)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]


def print_error(message: str, console: Console | None = None) -> None:
    """``error: message`` on ``console`` (stderr by default); the message is not read as markup, and
    the line is not folded at the terminal width (paths stay whole, greppable)."""
    (console or Console(stderr=True)).print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)


def fail(message: str, code: int = 2, console: Console | None = None) -> typer.Exit:
    """Print the error and return the exit to raise: ``raise fail(...) from None``."""
    print_error(message, console)
    return typer.Exit(code)


def settings_or_exit(config: Path | None, console: Console | None = None) -> Settings:
    """The settings, or the config error on ``console`` (stderr by default) and exit code 2. From here
    on, log records have the settings' secrets redacted."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        raise fail(str(exc), console=console) from None
    install_redaction(settings.secrets())
    return settings
