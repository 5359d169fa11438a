"""What every command group shares: the --config option and loading settings with a clear error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:  # the settings loader (pydantic-settings) costs 0.3 s: loaded by the command that runs
    from agent.config import Settings

ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML config file (default effort.toml)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
AsOfOpt = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="'Today' for relative periods and forecasts, YYYY-MM-DD (default: config as_of, "
        "EFFORT_AS_OF, else the clock).",
    ),
]


@cache
def stderr_console() -> Console:
    """One stderr console per process: rich keeps a live spinner tidy only for prints through the
    console object that draws it, so errors printed while one runs land above it."""
    return Console(stderr=True)


@contextmanager
def working(message: str) -> Iterator[None]:
    """A transient spinner on stderr while something slow loads (the heavy stack, the store), so a
    person at a terminal sees an answer start at once. Scripts (no terminal) see nothing."""
    err = stderr_console()
    if not err.is_terminal:
        yield
        return
    with err.status(message):
        yield


def print_error(message: str, console: Console | None = None) -> None:
    """``error: message`` on ``console`` (stderr by default); the message is not read as markup, and
    the line is not folded at the terminal width (paths stay whole, greppable)."""
    (console or stderr_console()).print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)


def fail(message: str, code: int = 2, console: Console | None = None) -> typer.Exit:
    """Print the error and return the exit to raise: ``raise fail(...) from None``."""
    print_error(message, console)
    return typer.Exit(code)


def settings_or_exit(
    config: Path | None, console: Console | None = None, *, as_of: str | None = None
) -> Settings:
    """The settings, or the config error on ``console`` (stderr by default) and exit code 2. From here
    on, log records have the settings' secrets redacted. ``as_of`` (``--as-of``) overrides the
    configured "today"."""
    from agent.config import ConfigError, load_settings
    from agent.telemetry import setup_telemetry
    from tools.redact import install_redaction

    overrides: dict[str, date] = {}
    if as_of is not None:
        try:
            overrides["as_of"] = date.fromisoformat(as_of.strip())
        except ValueError:
            raise fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)", console=console) from None
    try:
        settings = load_settings(config, **overrides)
    except ConfigError as exc:
        raise fail(str(exc), console=console) from None
    setup_telemetry(settings)  # one log format (EFFORT_LOG_FORMAT); traces when OTLP is configured
    install_redaction(settings.secrets())
    return settings
