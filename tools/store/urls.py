"""Database URLs and storage errors: where the store lives, said without its password.

``postgresql://`` URLs use the psycopg 3 driver; a SQLite file's folder is created on first use; a
storage failure (read-only file, unwritable folder, server down) becomes one line that names the store
and the driver's reason.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url


class StoreError(Exception):
    """The store cannot be opened or written (read-only file, unwritable folder, server down)."""


def normalise_url(url: str) -> str:
    """``postgresql://`` / ``postgres://`` use psycopg 3; everything else passes through."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def prepare_url(url: str) -> str:
    """``normalise_url``, and create a SQLite file's folder so ``create_engine`` can open it."""
    url = normalise_url(url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    return url


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except Exception:
        return "(unparsable database URL)"


def describe_store_error(exc: BaseException, url: str) -> str:
    """One line for a storage failure: where, and the driver's reason (first line only)."""
    if isinstance(exc, StoreError):
        return str(exc)
    orig = getattr(exc, "orig", None) or exc
    reason = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    if isinstance(exc, OSError) and exc.strerror:
        reason = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return f"the store at {safe_url(url)} cannot be used: {reason[:300]}"
