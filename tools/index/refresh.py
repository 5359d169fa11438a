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
from collections.abc import Callable, Iterable

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


# Progress: (stage, done, total or None while the total is unknown). Embedding is the long stage.
Progress = Callable[[str, int, int | None], None]
PROGRESS_BATCH = (
    200  # tasks per embedding batch when someone watches: a bar that moves, an ETA that means something
)


def refresh_index(
    index: TaskIndex, tasks: Iterable[Task], *, rebuild: bool = False, progress: Progress | None = None
) -> IndexRefresh:
    """Upsert new or changed ``tasks``, delete indexed tasks that are not among them.

    ``rebuild`` re-embeds every task (after changing the embedding model's settings, say).
    Subtasks are indexed like tasks: they are estimated and logged like any other piece of work.
    ``progress`` hears each stage and, while embedding, the count of tasks done so far.
    """
    started = time.perf_counter()
    current = {t.gid: t for t in tasks}
    if progress is not None:
        progress("comparing fingerprints", 0, None)
    known = index.fingerprints()
    changed = [t for gid, t in current.items() if rebuild or known.get(gid) != task_fingerprint(t)]
    gone = sorted(set(known) - set(current))
    index.delete(gone)
    if progress is None:
        written = index.upsert_tasks(changed)
    else:
        done = [0]

        def on_batch(n: int) -> None:
            done[0] += n
            progress("embedding tasks", done[0], len(changed))

        progress("embedding tasks", 0, len(changed))
        written = index.upsert_tasks(changed, batch_size=PROGRESS_BATCH, on_batch=on_batch)
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


def refresh_from_store(
    database_url: str, config: IndexConfig, *, rebuild: bool = False, progress: Progress | None = None
) -> IndexRefresh:
    """Open the store and the index and bring the index up to date with the store."""
    from tools.store import Store  # type: ignore[attr-defined,unused-ignore]

    if progress is not None:
        progress("reading the store", 0, None)
    store = Store.open(database_url)
    try:
        tasks = store.tasks()  # tasks only: a whole workspace would also read every time entry
    finally:
        store.close()
    if progress is not None:
        progress("loading the embedding model", 0, None)
    return refresh_index(TaskIndex.open(config), tasks, rebuild=rebuild, progress=progress)


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
