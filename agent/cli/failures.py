"""One error path for the governance commands: a storage, network or input failure becomes one clear
line on stderr (``error: …``, through ``agent.cli.common.fail``) and a non-zero exit, never a traceback.

    with clear_errors(settings):
        ...  # opening the store, the checkpointer, Asana, writing files

Light to import (the CLI's start-up stays fast): the database and gateway error classes are looked up
only when something failed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from agent.cli.common import fail

if TYPE_CHECKING:
    from agent.config import Settings


def _describe(exc: Exception, settings: Settings | None) -> str | None:
    """The one line for a failure people meet, or None for anything else (a bug: it propagates)."""
    import sqlite3

    from sqlalchemy.exc import SQLAlchemyError

    from tools.gateway.errors import GatewayError
    from tools.store import StoreError, describe_store_error

    database = (StoreError, SQLAlchemyError, sqlite3.Error, *_psycopg_errors())
    if isinstance(exc, database):  # the store's own wording, password hidden (one describer)
        return describe_store_error(exc, settings.database_url if settings is not None else "")
    if isinstance(exc, GatewayError):
        return f"Asana: {exc}"
    if isinstance(exc, OSError):
        target = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return f"{exc.strerror or type(exc).__name__}{target}"
    return None


def _psycopg_errors() -> tuple[type[Exception], ...]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return ()
    return (psycopg.Error,)


@contextmanager
def clear_errors(settings: Settings | None) -> Iterator[None]:
    """Turn the failures users meet (database down or read-only, data directory not writable, Asana
    unreachable) into one redacted line and exit code 1."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        line = _describe(exc, settings)
        if line is None:
            raise
        from tools.redact import Redactor

        redact = Redactor(settings.secrets() if settings is not None else ())
        raise fail(redact(line), code=1) from None
