"""One error path for the governance commands: a storage, network or input failure becomes one clear
line on stderr (``error: …``, through ``agent.cli.common.fail``) and a non-zero exit, never a traceback.

    with clear_errors(settings):
        ...  # opening the store, the checkpointer, Asana, writing files
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from agent.cli.common import fail
from agent.config import Settings
from tools.gateway.errors import GatewayError
from tools.redact import Redactor


def database_label(settings: Settings) -> str:
    """The configured database, password hidden."""
    try:
        return make_url(settings.database_url).render_as_string(hide_password=True)
    except ArgumentError:
        return "the configured database"


def _first_line(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()
    return text[0][:300] if text else type(inner).__name__


@contextmanager
def clear_errors(settings: Settings | None) -> Iterator[None]:
    """Turn the failures users meet (database down or read-only, data directory not writable, Asana
    unreachable) into one redacted line and exit code 1."""
    redact = Redactor(settings.secrets() if settings is not None else ())
    where = database_label(settings) if settings is not None else "the database"
    try:
        yield
    except typer.Exit:
        raise
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise fail(redact(f"the database at {where} cannot be used: {_first_line(exc)}"), code=1) from None
    except GatewayError as exc:
        raise fail(redact(f"Asana: {exc}"), code=1) from None
    except OSError as exc:
        target = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        raise fail(redact(f"{exc.strerror or type(exc).__name__}{target}"), code=1) from None
    except _psycopg_error() as exc:
        raise fail(redact(f"the database at {where} cannot be used: {_first_line(exc)}"), code=1) from None


def _psycopg_error() -> type[BaseException]:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return _Never
    return psycopg.Error


class _Never(Exception):
    """Matches nothing."""
