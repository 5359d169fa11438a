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


def settings_or_exit(config: Path | None, console: Console | None = None) -> Settings:
    """The settings, or the config error on ``console`` (stderr by default) and exit code 2. From here
    on, log records have the settings' secrets redacted."""
    try:
        settings = load_settings(config)
    except ConfigError as exc:
        (console or Console(stderr=True)).print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    install_redaction(settings.secrets())
    return settings
