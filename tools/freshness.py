"""How fresh the local store is: THE rule every answer and report uses to state "data as of …".

A figure is only as good as the last sync that fed it, so every command that reads the store says when
that was, and an empty store says so plainly ("nothing synced yet: run `effort sync`") instead of
answering "0 people". The time is the end of the last successful sync run the store recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from tools.store import Store

NOTHING_SYNCED = "nothing synced yet: run `effort sync`"


class Freshness(BaseModel):
    """When the store's data was last synced, and how much it holds."""

    synced_at: datetime | None = None  # end of the last successful sync; None = no sync recorded
    full: bool | None = None  # was that sync a full one
    tasks: int = 0
    entries: int = 0

    @property
    def empty(self) -> bool:
        """Nothing to answer from: no tasks in the store."""
        return self.tasks == 0

    def describe(self) -> str:
        """One line for the top of an answer or a report."""
        if self.empty:
            return NOTHING_SYNCED
        counts = f"{self.tasks:,} tasks, {self.entries:,} time entries"
        if self.synced_at is None:
            return f"data as of an unknown time (no sync recorded; {counts})"
        when = self.synced_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        kind = "full" if self.full else "incremental"
        return f"data as of {when} (last {kind} sync; {counts})"


def never_synced(database_url: str) -> bool:
    """True when the store cannot hold anything yet: its SQLite file does not exist. Checked before
    opening, because opening a SQLite store creates the file (a question should not leave one behind)."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url == prefix + ":memory:":
        return False
    return not Path(database_url[len(prefix) :].split("?", 1)[0]).exists()


def store_freshness(store: Store) -> Freshness:
    """The store's freshness (reads the sync-run log and the row counts)."""
    counts = store.counts()
    last = next((r for r in store.sync_runs(limit=50) if r.status == "ok" and r.finished_at), None)
    return Freshness(
        synced_at=last.finished_at if last else None,
        full=last.full if last else None,
        tasks=counts.get("tasks", 0),
        entries=counts.get("entries", 0),
    )
