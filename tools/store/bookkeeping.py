"""Sync bookkeeping in the store: sync state (events tokens, checkpoints, capabilities), sync runs, and
coverage (what share of each detail field is actually read, per period).

Runs carry their host, process id and a heartbeat, so a run left ``running`` by a killed process is
marked ``interrupted`` by the next one instead of staying ``running`` forever.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, and_, delete, func, or_, select

from tools.store.rows import dt, dumps
from tools.store.schema import entries_t, sync_runs_t, sync_state_t, task_stories_t, tasks_t

STALE_HEARTBEAT = timedelta(minutes=30)  # a run on another host silent this long is not running


class SyncState(BaseModel):
    scope: str
    token: str | None = None
    last_sync_at: datetime | None = None
    data: dict[str, Any] = {}


class SyncRun(BaseModel):
    id: int
    started_at: datetime
    finished_at: datetime | None
    full: bool
    status: str  # running | ok | failed | interrupted
    summary: dict[str, Any]


class FieldCoverage(BaseModel):
    """How many of ``total`` records have the field actually read (and still current)."""

    known: int
    total: int

    @property
    def share(self) -> float:
        return self.known / self.total if self.total else 1.0


class Coverage(BaseModel):
    """What the store knows, for ``effort sync``'s summary, ``effort doctor`` and analyses.

    ``details`` counts entries whose single-entry details are read and current, for all entries and
    for the detail window (``window_start`` onwards); ``complete_since`` is the earliest entry date
    from which every entry's details are read (None = not even the newest day is complete)."""

    entries: int
    details_all: FieldCoverage
    details_window: FieldCoverage
    window_start: date | None
    complete_since: date | None
    latest_entry: date | None
    stories_tasks: int  # tasks whose stories (estimate history, comments) are read
    stories_window: FieldCoverage  # tasks changed in the window
    # Compact fields (every list returns them): entries that carry a value.
    with_creator: int = 0
    with_project: int = 0
    with_category: int = 0


def _host() -> str:
    return socket.gethostname()[:200]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


class Bookkeeping:
    """Mixed into ``Store`` (which provides ``engine`` and ``_upsert``)."""

    engine: Engine
    _upsert: Callable[[Any, Any], int]  # Store._upsert(table, rows): provided by Store

    # -- sync state ---------------------------------------------------------------------------------------
    def sync_state(self, scope: str) -> SyncState | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(sync_state_t).where(sync_state_t.c.scope == scope)).first()
        if row is None:
            return None
        return SyncState(scope=row[0], token=row[1], last_sync_at=dt(row[2]), data=json.loads(row[3] or "{}"))

    def sync_states(self, prefix: str) -> list[SyncState]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(sync_state_t).where(sync_state_t.c.scope.startswith(prefix)))
            return [
                SyncState(scope=r[0], token=r[1], last_sync_at=dt(r[2]), data=json.loads(r[3] or "{}"))
                for r in rows
            ]

    def set_sync_state(self, state: SyncState) -> None:
        self._upsert(
            sync_state_t,
            [
                {
                    "scope": state.scope,
                    "token": state.token,
                    "last_sync_at": state.last_sync_at.isoformat() if state.last_sync_at else None,
                    "data": dumps(state.data),
                }
            ],
        )

    def delete_sync_states(self, prefix: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sync_state_t).where(sync_state_t.c.scope.startswith(prefix)))

    def clear_sync_state(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(sync_state_t))

    # -- sync runs ------------------------------------------------------------------------------------------
    def start_sync_run(self, full: bool) -> int:
        """Record a new ``running`` run (first marking runs whose process is gone as interrupted)."""
        self.mark_interrupted_runs()
        now = datetime.now(UTC).isoformat()
        with self.engine.begin() as conn:
            res = conn.execute(
                sync_runs_t.insert().values(
                    started_at=now,
                    full=full,
                    status="running",
                    summary="{}",
                    host=_host(),
                    pid=os.getpid(),
                    heartbeat_at=now,
                )
            )
            return int(res.inserted_primary_key[0])  # type: ignore[index]

    def heartbeat(self, run_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sync_runs_t.update()
                .where(sync_runs_t.c.id == run_id)
                .values(heartbeat_at=datetime.now(UTC).isoformat())
            )

    def mark_interrupted_runs(self) -> int:
        """``running`` runs that cannot be running any more become ``interrupted``: on this host when
        their process is gone, elsewhere when their heartbeat is older than ``STALE_HEARTBEAT``."""
        now = datetime.now(UTC)
        here = _host()
        gone: list[int] = []
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    sync_runs_t.c.id, sync_runs_t.c.host, sync_runs_t.c.pid, sync_runs_t.c.heartbeat_at
                ).where(sync_runs_t.c.status == "running")
            ).all()
        for run_id, host, pid, beat in rows:
            if host == here and pid is not None:
                if pid == os.getpid() or _alive(int(pid)):
                    continue
            else:
                last = dt(beat)
                if last is not None and now - last < STALE_HEARTBEAT:
                    continue
            gone.append(int(run_id))
        if gone:
            with self.engine.begin() as conn:
                conn.execute(
                    sync_runs_t.update()
                    .where(sync_runs_t.c.id.in_(gone))
                    .values(status="interrupted", finished_at=now.isoformat())
                )
        return len(gone)

    def finish_sync_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sync_runs_t.update()
                .where(sync_runs_t.c.id == run_id)
                .values(finished_at=datetime.now(UTC).isoformat(), status=status, summary=dumps(summary))
            )

    def sync_runs(self, limit: int = 20) -> list[SyncRun]:
        q = (
            select(
                sync_runs_t.c.id,
                sync_runs_t.c.started_at,
                sync_runs_t.c.finished_at,
                sync_runs_t.c.full,
                sync_runs_t.c.status,
                sync_runs_t.c.summary,
            )
            .order_by(sync_runs_t.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                SyncRun(
                    id=r[0],
                    started_at=datetime.fromisoformat(r[1]),
                    finished_at=dt(r[2]),
                    full=bool(r[3]),
                    status=r[4],
                    summary=json.loads(r[5] or "{}"),
                )
                for r in conn.execute(q)
            ]

    # -- what is read, what is missing ------------------------------------------------------------------
    def entries_needing_details(
        self,
        since: date | None,
        periods: list[tuple[date, date]] = (),  # type: ignore[assignment]
    ) -> list[tuple[str, str]]:
        """``(gid, entered_on)`` of entries whose details are missing or stale, entered on or after
        ``since`` or inside one of ``periods``; newest first (the backfill reads in this order)."""
        c = entries_t.c
        where_date = [c.entered_on >= since.isoformat()] if since is not None else []
        where_date += [and_(c.entered_on >= a.isoformat(), c.entered_on <= b.isoformat()) for a, b in periods]
        if not where_date:
            return []
        stale = or_(c.details_fp.is_(None), c.details_fp != c.compact_fp, c.compact_fp.is_(None))
        q = (
            select(c.gid, c.entered_on)
            .where(and_(stale, or_(*where_date)))
            .order_by(c.entered_on.desc(), c.gid.desc())
        )
        with self.engine.connect() as conn:
            return [(str(r[0]), str(r[1])) for r in conn.execute(q)]

    def tasks_needing_stories(self, since: datetime | None) -> list[tuple[str, str | None]]:
        """``(gid, modified_at)`` of tasks changed since ``since`` whose stories were never read or were
        read for an older state of the task; most recently changed first."""
        if since is None:
            return []
        t, s = tasks_t.c, task_stories_t.c
        q = (
            select(t.gid, t.modified_at)
            .select_from(tasks_t.outerjoin(task_stories_t, t.gid == s.gid))
            .where(t.modified_at >= since.isoformat())
            .where(or_(s.gid.is_(None), s.modified_at.is_(None), s.modified_at != t.modified_at))
            .order_by(t.modified_at.desc(), t.gid.desc())
        )
        with self.engine.connect() as conn:
            return [(str(r[0]), r[1]) for r in conn.execute(q)]

    def story_marks(self, gids: Iterable[str]) -> dict[str, str | None]:
        """``{task gid: the modified_at its stories were read for}`` (tasks never read are absent)."""
        return self._column_by_gid(task_stories_t, task_stories_t.c.modified_at, gids)

    def task_modified(self, gids: Iterable[str]) -> dict[str, str | None]:
        """``{task gid: modified_at}`` as stored (tasks not in the store are absent)."""
        return self._column_by_gid(tasks_t, tasks_t.c.modified_at, gids)

    def _column_by_gid(self, table: Any, column: Any, gids: Iterable[str]) -> dict[str, str | None]:
        values = list(gids)
        out: dict[str, str | None] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(values), 500):
                q = select(table.c.gid, column).where(table.c.gid.in_(values[i : i + 500]))
                out.update({str(r[0]): r[1] for r in conn.execute(q)})
        return out

    def mark_stories(self, modified: dict[str, str | None]) -> None:
        """Stories of these tasks are accounted for up to the given ``modified_at``."""
        now = datetime.now(UTC).isoformat()
        self._upsert(
            task_stories_t, [{"gid": g, "modified_at": m, "read_at": now} for g, m in modified.items()]
        )

    def coverage(self, window_start: date | None, stories_since: datetime | None = None) -> Coverage:
        c = entries_t.c
        current = and_(c.details_fp.is_not(None), c.compact_fp.is_not(None), c.details_fp == c.compact_fp)
        stale = or_(c.details_fp.is_(None), c.compact_fp.is_(None), c.details_fp != c.compact_fp)
        with self.engine.connect() as conn:
            total = int(conn.execute(select(func.count()).select_from(entries_t)).scalar_one())
            known = int(conn.execute(select(func.count()).where(current)).scalar_one())
            latest = conn.execute(select(func.max(c.entered_on))).scalar_one()
            missing_latest = conn.execute(select(func.max(c.entered_on)).where(stale)).scalar_one()
            first = conn.execute(select(func.min(c.entered_on))).scalar_one()
            win_total = win_known = 0
            if window_start is not None:
                after = c.entered_on >= window_start.isoformat()
                win_total = int(conn.execute(select(func.count()).where(after)).scalar_one())
                win_known = int(conn.execute(select(func.count()).where(and_(after, current))).scalar_one())
            stories = int(conn.execute(select(func.count()).select_from(task_stories_t)).scalar_one())
            present = [
                int(conn.execute(select(func.count()).where(col.is_not(None))).scalar_one())
                for col in (c.user_gid, c.project_gid, c.categories)
            ]
            st_total = st_known = 0
            if stories_since is not None:
                t, s = tasks_t.c, task_stories_t.c
                changed = t.modified_at >= stories_since.isoformat()
                joined = tasks_t.outerjoin(task_stories_t, t.gid == s.gid)
                st_total = int(
                    conn.execute(select(func.count()).select_from(tasks_t).where(changed)).scalar_one()
                )
                st_known = int(
                    conn.execute(
                        select(func.count())
                        .select_from(joined)
                        .where(and_(changed, s.modified_at == t.modified_at))
                    ).scalar_one()
                )
        if total == 0:
            complete_since = None
        elif missing_latest is None:
            complete_since = date.fromisoformat(first)
        elif missing_latest == latest:
            complete_since = None
        else:
            complete_since = date.fromisoformat(missing_latest) + timedelta(days=1)
        return Coverage(
            entries=total,
            details_all=FieldCoverage(known=known, total=total),
            details_window=FieldCoverage(known=win_known, total=win_total),
            window_start=window_start,
            complete_since=complete_since,
            latest_entry=date.fromisoformat(latest) if latest else None,
            stories_tasks=stories,
            stories_window=FieldCoverage(known=st_known, total=st_total),
            with_creator=present[0],
            with_project=present[1],
            with_category=present[2],
        )
