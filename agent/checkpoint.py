"""LangGraph checkpointers from ``Settings.database_url``, and deterministic thread ids.

SQLite (the default): a ``checkpoints.sqlite`` file next to the store's database file, so a pending
approval survives a restart and can be resumed from another process. PostgreSQL (``postgresql://`` or
``postgresql+psycopg://``): ``PostgresSaver`` in the same database, ``setup()`` called on open.

Secrets never enter a checkpoint: the serializer redacts every string of the state (messages, tool
output, proposals, decisions, interrupt payloads) with the settings' secrets before it is stored, so a
token pasted into a chat question is kept nowhere, and nothing printed from a checkpoint can show it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from pydantic import BaseModel
from sqlalchemy.engine import make_url

from agent.config import Settings
from tools.redact import Redactor

# Our own types that travel through checkpoints; listed so deserialisation needs no warnings and
# keeps working when LANGGRAPH_STRICT_MSGPACK is switched on.
CHECKPOINT_TYPES: tuple[tuple[str, str], ...] = (
    ("tools.proposals", "Proposal"),
    ("tools.proposals", "ProposalKind"),
    ("tools.proposals", "Decision"),
    ("tools.proposals", "DecisionType"),
    ("tools.proposals", "TimeEntryDraft"),
)


def redact_value(value: Any, redactor: Redactor) -> Any:
    """``value`` with every string redacted, rebuilt only where something changed (strings in dicts,
    lists, tuples, pydantic models and dataclasses: what LangGraph state is made of)."""
    if isinstance(value, Enum):
        return value
    if isinstance(value, str):
        redacted = redactor(value)
        return value if redacted == value else redacted
    if isinstance(value, dict):
        items = {k: redact_value(v, redactor) for k, v in value.items()}
        return items if any(items[k] is not value[k] for k in value) else value
    if isinstance(value, list | tuple):
        seq = [redact_value(v, redactor) for v in value]
        if all(a is b for a, b in zip(seq, value, strict=True)):
            return value
        if isinstance(value, list):
            return seq
        return type(value)(*seq) if hasattr(value, "_fields") else type(value)(seq)  # a namedtuple, or not
    if isinstance(value, BaseModel):
        changed = {}
        for name in type(value).model_fields:
            old = getattr(value, name, None)
            new = redact_value(old, redactor)
            if new is not old:
                changed[name] = new
        return value.model_copy(update=changed) if changed else value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changed = {}
        for f in dataclasses.fields(value):
            if not f.init:
                continue
            old = getattr(value, f.name)
            new = redact_value(old, redactor)
            if new is not old:
                changed[f.name] = new
        return dataclasses.replace(value, **changed) if changed else value
    return value


class RedactingSerializer(JsonPlusSerializer):
    """LangGraph's serializer, with secrets redacted from everything before it is written."""

    def __init__(self, redactor: Redactor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.redactor = redactor

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return super().dumps_typed(redact_value(obj, self.redactor))


def serializer(
    extra: tuple[tuple[str, str], ...] = (), secrets: list[str] | None = None
) -> JsonPlusSerializer:
    """The checkpoint serializer: LangGraph's safe types (messages, Interrupt, Command, ...) plus our
    proposal types, and nothing else, so a tampered checkpoint row cannot construct arbitrary objects.
    A graph that keeps other custom types in its state passes them as ``extra``. Every string is
    redacted with ``secrets`` (and bearer tokens) before it is stored."""
    return RedactingSerializer(Redactor(secrets or ()), allowed_msgpack_modules=(*CHECKPOINT_TYPES, *extra))


def sqlite_checkpoint_path(database_url: str) -> Path | None:
    """Where the SQLite checkpoints live for a store URL (None = in memory)."""
    url = make_url(database_url)
    if not url.database or url.database == ":memory:":
        return None
    return Path(url.database).with_name("checkpoints.sqlite")


def postgres_conninfo(database_url: str) -> str:
    """A libpq URL (psycopg) from a SQLAlchemy one: drop the ``+driver`` suffix."""
    url = make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


@contextmanager
def open_checkpointer(settings_or_url: Settings | str) -> Iterator[BaseCheckpointSaver[str]]:
    """Yield a ready checkpointer for the configured database; closes its connection on exit."""
    url = settings_or_url if isinstance(settings_or_url, str) else settings_or_url.database_url
    secrets = [] if isinstance(settings_or_url, str) else settings_or_url.secrets()
    if is_postgres(url):
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg import Connection
        from psycopg.rows import dict_row

        with Connection.connect(
            postgres_conninfo(url), autocommit=True, prepare_threshold=0, row_factory=dict_row
        ) as conn:
            saver = PostgresSaver(conn, serde=serializer(secrets=secrets))  # type: ignore[arg-type]
            saver.setup()
            yield saver
        return

    from langgraph.checkpoint.sqlite import SqliteSaver

    path = sqlite_checkpoint_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False: LangGraph may run nodes on worker threads; SqliteSaver locks itself.
    sqlite_conn = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False, timeout=30)
    try:
        yield SqliteSaver(sqlite_conn, serde=serializer(secrets=secrets))
    finally:
        sqlite_conn.close()


def thread_id_for(kind: str, scope: str, period: str) -> str:
    """A stable thread id: the same run kind over the same scope and period always lands on the same
    thread, so a re-run finds (and does not duplicate) its pending approval."""
    digest = hashlib.sha256(f"{kind}\x1f{scope}\x1f{period}".encode()).hexdigest()[:16]
    safe_kind = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in kind) or "run"
    return f"{safe_kind}-{digest}"
