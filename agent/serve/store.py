"""Persistent state of `effort serve`: webhook secrets, pending registrations and the event inbox.

Tables live in the store database (own ``serve_`` prefix, own MetaData, as tools/store asks) or in a
separate SQLite file when ``Settings.webhook_secret_store`` names one. The inbox is both the
de-duplication record (primary key = stable event key, so a redelivered event is a no-op insert) and the
work queue: an event is stored before the 200 goes out and marked done only after its reaction ran, so
a crash between the two loses nothing; pending rows are picked up again on start.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from tools.store import prepare_url

_metadata = MetaData()

secrets_table = Table(
    "serve_webhook_secrets",
    _metadata,
    Column("hook_key", String(200), primary_key=True),  # resource gid (from the target URL) or "default"
    Column("secret", String(512), nullable=False),
    Column("webhook_gid", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

pending_table = Table(
    "serve_webhook_pending",
    _metadata,
    Column("hook_key", String(200), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

inbox_table = Table(
    "serve_event_inbox",
    _metadata,
    Column("event_key", String(64), primary_key=True),
    Column("hook_key", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | done | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("error", Text),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
)


@dataclass(frozen=True)
class InboxEvent:
    event_key: str
    hook_key: str
    event: dict[str, Any]
    attempts: int


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything here is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class ServeStore:
    """Webhook secrets, pending handshakes and the de-duplicating event inbox."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite allows one writer; serialising our own writes avoids "database is locked" between the
        # request handler and the reaction worker (PostgreSQL does not need it, and it costs nothing).
        self._lock = threading.RLock()
        _metadata.create_all(engine)

    @classmethod
    def open(cls, url: str) -> ServeStore:
        url = prepare_url(url)
        kwargs: dict[str, Any] = {}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        return cls(create_engine(url, **kwargs))

    @classmethod
    def for_settings(cls, settings: Any) -> ServeStore:
        """The configured location: ``webhook_secret_store`` (a SQLite file) or the store database."""
        if settings.webhook_secret_store is not None:
            return cls.open(f"sqlite:///{Path(settings.webhook_secret_store).resolve()}")
        return cls.open(settings.database_url)

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> bool:
        """True when the database answers a trivial query (for /healthz)."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # any driver error means "not reachable"; the health check reports it
            return False

    # -- secrets and handshakes ----------------------------------------------------------------------
    def expect_handshake(self, hook_key: str, ttl: timedelta = timedelta(minutes=2)) -> None:
        """Allow one handshake for ``hook_key`` (set by `effort webhooks register` right before it calls
        Asana, withdrawn with ``cancel_handshake`` right after, whatever happened)."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(delete(pending_table).where(pending_table.c.hook_key == hook_key))
            conn.execute(insert(pending_table).values(hook_key=hook_key, expires_at=datetime.now(UTC) + ttl))

    def handshake_allowed(self, hook_key: str, *, allow_first_use: bool = False) -> bool:
        """A handshake may set a secret only when `effort webhooks register` announced it (and, with
        ``allow_first_use``, also when the key has no secret yet).

        Otherwise anyone who can reach the endpoint could plant their own secret and then send
        correctly signed, forged events.
        """
        with self.engine.connect() as conn:
            row = conn.execute(
                select(pending_table.c.expires_at).where(pending_table.c.hook_key == hook_key)
            ).first()
            if row is not None and (_aware(row[0]) or datetime.min.replace(tzinfo=UTC)) > datetime.now(UTC):
                return True
            if not allow_first_use:
                return False
            existing = conn.execute(
                select(secrets_table.c.hook_key).where(secrets_table.c.hook_key == hook_key)
            )
            return existing.first() is None

    def cancel_handshake(self, hook_key: str) -> None:
        """No handshake is expected for ``hook_key`` any more (a failed or finished registration)."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(delete(pending_table).where(pending_table.c.hook_key == hook_key))

    def forget(self, hook_key: str) -> None:
        """Drop the secret of a deleted webhook: deliveries signed with it are refused from now on."""
        with self._lock, self.engine.begin() as conn:
            conn.execute(delete(secrets_table).where(secrets_table.c.hook_key == hook_key))
            conn.execute(delete(pending_table).where(pending_table.c.hook_key == hook_key))

    def save_secret(self, hook_key: str, secret: str) -> None:
        with self._lock, self.engine.begin() as conn:
            conn.execute(delete(secrets_table).where(secrets_table.c.hook_key == hook_key))
            conn.execute(
                insert(secrets_table).values(hook_key=hook_key, secret=secret, created_at=datetime.now(UTC))
            )
            conn.execute(delete(pending_table).where(pending_table.c.hook_key == hook_key))

    def set_webhook_gid(self, hook_key: str, webhook_gid: str) -> None:
        with self._lock, self.engine.begin() as conn:
            conn.execute(
                update(secrets_table)
                .where(secrets_table.c.hook_key == hook_key)
                .values(webhook_gid=webhook_gid)
            )

    def secret(self, hook_key: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(secrets_table.c.secret).where(secrets_table.c.hook_key == hook_key)
            ).first()
        return None if row is None else str(row[0])

    def all_secrets(self) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(secrets_table.c.hook_key, secrets_table.c.secret)).all()
        return [(str(k), str(s)) for k, s in rows]

    def hooks(self) -> list[dict[str, Any]]:
        """Registered hooks without their secrets (for health and the CLI)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(secrets_table.c.hook_key, secrets_table.c.webhook_gid, secrets_table.c.created_at)
            ).all()
        return [{"hook_key": k, "webhook_gid": g, "created_at": _aware(c)} for k, g, c in rows]

    # -- inbox ----------------------------------------------------------------------------------------
    def enqueue(self, hook_key: str, event_key: str, event: dict[str, Any]) -> bool:
        """Store an event once; False when its key was seen before (a redelivery)."""
        with self._lock:
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        insert(inbox_table).values(
                            event_key=event_key,
                            hook_key=hook_key,
                            payload=json.dumps(event, sort_keys=True, default=str),
                            status="pending",
                            attempts=0,
                            received_at=datetime.now(UTC),
                        )
                    )
                return True
            except IntegrityError:
                return False

    def pending(self, limit: int = 100) -> list[InboxEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    inbox_table.c.event_key,
                    inbox_table.c.hook_key,
                    inbox_table.c.payload,
                    inbox_table.c.attempts,
                )
                .where(inbox_table.c.status == "pending")
                .order_by(inbox_table.c.received_at, inbox_table.c.event_key)
                .limit(limit)
            ).all()
        return [InboxEvent(str(k), str(h), json.loads(p), int(a or 0)) for k, h, p, a in rows]

    def mark(self, event_keys: list[str], status: str, error: str | None = None) -> None:
        """Set the status of events; "pending" counts a failed attempt and keeps them queued."""
        if not event_keys:
            return
        with self._lock, self.engine.begin() as conn:
            values: dict[str, Any] = {
                "status": status,
                "error": error,
                "attempts": inbox_table.c.attempts + 1,
            }
            if status != "pending":
                values["done_at"] = datetime.now(UTC)
            conn.execute(update(inbox_table).where(inbox_table.c.event_key.in_(event_keys)).values(**values))

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(inbox_table.c.status, func.count()).group_by(inbox_table.c.status)
            ).all()
        return {str(s): int(n) for s, n in rows}

    def prune(self, older_than: timedelta = timedelta(days=7)) -> int:
        """Forget processed events older than the redelivery window (Asana retries for 24 h)."""
        cutoff = datetime.now(UTC) - older_than
        with self._lock, self.engine.begin() as conn:
            result = conn.execute(
                delete(inbox_table)
                .where(inbox_table.c.status != "pending")
                .where(inbox_table.c.done_at < cutoff)
            )
        return int(result.rowcount or 0)

    def iter_events(self) -> Iterator[dict[str, Any]]:
        """Every stored event with its status (tests and debugging)."""
        with self.engine.connect() as conn:
            for row in conn.execute(select(inbox_table)).mappings():
                yield dict(row)
