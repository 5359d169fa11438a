"""Claims: exactly-once work across processes, one unique row per piece of work in the store.

Before the writer touches Asana for an item (a proposal's write, a field's creation, a rollback, a
batch's decision), it claims the item's key. The claim is a row whose primary key is the key, so
taking it is one INSERT that exactly one process wins, on SQLite and PostgreSQL alike; every later
change is a compare-and-set UPDATE on (key, owner), equally atomic. No lock is held across the HTTP
call, so the audit log and the claim can still be written by the holder meanwhile.

A claim ends ``done`` (the work is finished: nobody does it again, with the same audit transaction as
the final row when the caller passes its connection) or is released (the work failed transiently:
anyone may try again). A holder that died is recognised (same host: its process is gone; any host:
its lease ran out) and its claim is taken over; the new holder then re-checks the audit log and the
idempotency markers, so work that had landed before the crash is not repeated.

A second process that finds the key held waits (bounded) for the holder to finish and then reports
its outcome: "applied by another process".
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

METADATA = sa.MetaData()

claims_table = sa.Table(
    "writer_claims",
    METADATA,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # held | done
    sa.Column("outcome", sa.String(400), nullable=True),  # done: what happened (e.g. "applied #123")
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

HOST = socket.gethostname()


class ClaimState(StrEnum):
    HELD = "held"
    DONE = "done"


@dataclass(frozen=True)
class Claim:
    """A key this process holds."""

    key: str
    owner: str


@dataclass(frozen=True)
class Taken:
    """Another process holds the key (``state`` held) or finished it (``state`` done)."""

    key: str
    owner: str
    state: ClaimState
    outcome: str | None


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def owner_alive(owner: str, expires_at: datetime, now: datetime) -> bool:
    """Is the holder still working? On this host: its process exists. Elsewhere: its lease runs."""
    host, _, rest = owner.partition("|")
    pid_text = rest.partition("|")[0]
    if host == HOST and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            return True  # another thread of this process
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # exists, owned by another user
        return True
    return _aware(expires_at) > now


def create_tables(metadata: sa.MetaData, engine: Engine) -> None:
    """``create_all`` that tolerates another process creating the same tables at the same moment."""
    try:
        metadata.create_all(engine, checkfirst=True)
    except (IntegrityError, DBAPIError):
        metadata.create_all(engine, checkfirst=True)  # lost the race: they exist now


class Claims:
    """Claims in the store's database (the audit log's engine)."""

    def __init__(self, engine: Engine, *, lease: timedelta = timedelta(minutes=5)) -> None:
        self.engine = engine
        self.lease = lease
        create_tables(METADATA, engine)

    def new_owner(self) -> str:
        return f"{HOST}|{os.getpid()}|{uuid.uuid4().hex[:12]}"

    # --- taking -------------------------------------------------------------------------------------
    def try_claim(self, key: str, owner: str | None = None) -> Claim | Taken:
        """Take ``key`` now, or say who has it. A dead holder's claim is taken over."""
        me = owner or self.new_owner()
        now = datetime.now(UTC)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.insert(claims_table).values(
                        key=key,
                        owner=me,
                        state=ClaimState.HELD.value,
                        claimed_at=now,
                        expires_at=now + self.lease,
                    )
                )
            return Claim(key, me)
        except IntegrityError:
            pass
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(claims_table).where(claims_table.c.key == key)).first()
        if row is None:  # released between our INSERT and our SELECT: try once more
            return self.try_claim(key, me)
        taken = Taken(key, str(row.owner), ClaimState(row.state), row.outcome)
        if taken.state is ClaimState.DONE or owner_alive(taken.owner, row.expires_at, now):
            return taken
        with self.engine.begin() as conn:  # compare-and-set: exactly one taker wins
            won = conn.execute(
                sa.update(claims_table)
                .where(claims_table.c.key == key)
                .where(claims_table.c.owner == taken.owner)
                .where(claims_table.c.state == ClaimState.HELD.value)
                .values(owner=me, claimed_at=now, expires_at=now + self.lease)
            ).rowcount
        return Claim(key, me) if won == 1 else self.try_claim(key, me)

    def claim(self, key: str, *, wait: float = 30.0, owner: str | None = None) -> Claim | Taken:
        """Take ``key``, waiting up to ``wait`` seconds while a live holder works on it. Returns the
        claim, or the holder's record (done: its outcome; held: it was still working)."""
        me = owner or self.new_owner()
        deadline = time.monotonic() + max(0.0, wait)
        pause = 0.02
        while True:
            got = self.try_claim(key, me)
            if isinstance(got, Claim) or got.state is ClaimState.DONE or time.monotonic() >= deadline:
                return got
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.5)

    # --- ending -------------------------------------------------------------------------------------
    def complete(self, claim: Claim, outcome: str, *, conn: Connection | None = None) -> bool:
        """Mark the work done (in ``conn``'s transaction when given). False if the claim was lost."""
        statement = (
            sa.update(claims_table)
            .where(claims_table.c.key == claim.key)
            .where(claims_table.c.owner == claim.owner)
            .values(state=ClaimState.DONE.value, outcome=outcome[:400])
        )
        if conn is not None:
            return conn.execute(statement).rowcount == 1
        with self.engine.begin() as own:
            return own.execute(statement).rowcount == 1

    def release(self, claim: Claim) -> None:
        """Give the key back (the work failed and may be retried by anyone)."""
        with self.engine.begin() as conn:
            conn.execute(
                sa.delete(claims_table)
                .where(claims_table.c.key == claim.key)
                .where(claims_table.c.owner == claim.owner)
                .where(claims_table.c.state == ClaimState.HELD.value)
            )

    def outcome(self, key: str) -> Taken | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(claims_table).where(claims_table.c.key == key)).first()
        return None if row is None else Taken(key, str(row.owner), ClaimState(row.state), row.outcome)
