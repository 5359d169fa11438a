"""Keep the similar-task index in step with the store: incremental upserts as tasks change.

The store is the source of truth; the index is a derived view of it. Each indexed task carries a
fingerprint of everything the index holds for it (document text and metadata), so a refresh embeds only
the tasks that are new or whose text, actuals, estimate, assignee or completion changed, and deletes
the ones the store no longer has. It needs no change feed, so it is correct after a full sync, an
incremental one, a crash half-way through a refresh, or a store restored from a backup: a refresh after
any of them converges to the store, and a second refresh does nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from pydantic import BaseModel

from tools.config_types import IndexConfig
from tools.index.store import TaskIndex, task_fingerprint
from tools.records import Task

log = logging.getLogger(__name__)


class IndexRefresh(BaseModel):
    """What one refresh did."""

    upserted: int = 0
    deleted: int = 0
    unchanged: int = 0
    indexed: int = 0  # tasks in the index afterwards
    seconds: float = 0.0


def refresh_index(index: TaskIndex, tasks: Iterable[Task], *, rebuild: bool = False) -> IndexRefresh:
    """Upsert new or changed ``tasks``, delete indexed tasks that are not among them.

    ``rebuild`` re-embeds every task (after changing the embedding model's settings, say).
    Subtasks are indexed like tasks: they are estimated and logged like any other piece of work.
    """
    started = time.perf_counter()
    current = {t.gid: t for t in tasks}
    known = index.fingerprints()
    changed = [t for gid, t in current.items() if rebuild or known.get(gid) != task_fingerprint(t)]
    gone = sorted(set(known) - set(current))
    index.delete(gone)
    written = index.upsert_tasks(changed)
    result = IndexRefresh(
        upserted=written,
        deleted=len(gone),
        unchanged=len(current) - len(changed),
        indexed=index.count(),
        seconds=round(time.perf_counter() - started, 2),
    )
    log.info(
        "index refresh: %d upserted, %d deleted, %d unchanged (%d indexed) in %.1fs",
        result.upserted,
        result.deleted,
        result.unchanged,
        result.indexed,
        result.seconds,
    )
    return result


def refresh_from_store(database_url: str, config: IndexConfig, *, rebuild: bool = False) -> IndexRefresh:
    """Open the store and the index and bring the index up to date with the store."""
    from tools.store import Store  # type: ignore[attr-defined,unused-ignore]

    store = Store.open(database_url)
    try:
        tasks = store.tasks()  # tasks only: a whole workspace would also read every time entry
    finally:
        store.close()
    return refresh_index(TaskIndex.open(config), tasks, rebuild=rebuild)


def refresh_after_sync(
    database_url: str, config: IndexConfig, *, enabled: bool = True
) -> IndexRefresh | None:
    """The refresh that follows a sync (``enabled``: the ``index_on_sync`` setting). A failure is
    logged, not raised: the sync itself succeeded and the store is the source of truth; the next
    refresh catches up."""
    if not enabled:
        return None
    try:
        return refresh_from_store(database_url, config)
    except Exception as exc:  # the index is derived data: never fail a sync because of it
        log.warning("similar-task index not refreshed (%s); run `effort index refresh`", exc)
        return None
