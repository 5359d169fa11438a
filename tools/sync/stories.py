"""Estimate history and comments, from task stories, read by default and only where they changed.

Asana bumps a task's ``modified_at`` on every story, so the store remembers, per task, the
``modified_at`` its stories were read (or accounted) for:

- a full sync reads the stories of every task changed in the detail window whose mark is missing or
  older (newest first, stored every ``BATCH`` tasks: an interruption loses nothing read);
- an incremental sync reads them for new tasks and for tasks whose events show more than one change of
  a custom field (or a comment); a single change is exact from the stored value, the new one and the
  event's time and author, so its mark moves on without a request.

Reading a task's stories replaces its field changes and comments (exact history, deleted comments gone).
"""

from __future__ import annotations

from tools.gateway.errors import NotFoundError
from tools.records import Comment, FieldChange
from tools.store.db import change_key
from tools.sync.apply import mapping_context
from tools.sync.job import SyncJob
from tools.sync.mapping import map_story

BATCH = 100


def read_stories(job: SyncJob, modified: dict[str, str | None]) -> None:
    """Read the stories of these tasks (``{task gid: modified_at they are read for}``) on the pool."""
    if not modified:
        return
    store = job.store
    ctx = mapping_context(job, None, {})
    gids = list(modified)

    def one(gid: str) -> tuple[str, list[dict[str, object]] | None]:
        try:
            return gid, list(job.gw.iter_stories(gid))
        except NotFoundError:
            return gid, None  # deleted meanwhile: the next events say so

    changes: list[FieldChange] = []
    comments: list[Comment] = []
    read: dict[str, str | None] = {}

    def flush() -> None:
        before = set(store.fingerprints("field_changes", task_gids=list(read)))
        after = {change_key(c) for c in changes}
        counts = job.count("field_changes")
        counts.created += len(after - before)
        counts.unchanged += len(after & before)
        counts.deleted += len(before - after)
        store.replace_task_history(read, changes, comments)
        store.mark_stories(read)
        job.stories_read += len(read)
        changes.clear()
        comments.clear()
        read.clear()

    job.progress("stories", 0, len(gids))
    done = 0
    try:
        for gid, items in job.gw.imap(one, gids):
            done += 1
            if items is None:
                continue
            for story in items:
                mapped = map_story(story, gid, ctx)
                if isinstance(mapped, FieldChange):
                    changes.append(mapped)
                elif isinstance(mapped, Comment):
                    comments.append(mapped)
            read[gid] = modified[gid]
            if len(read) >= BATCH:
                flush()
                job.progress("stories", done, len(gids))
    finally:
        if read:
            flush()
    job.progress("stories", done, len(gids))


def backfill_stories(job: SyncJob) -> None:
    """Stories of the tasks changed in the detail window that were not read for their current state."""
    if not job.options.stories:
        return
    todo = job.store.tasks_needing_stories(job.options.window_since())
    read_stories(job, dict(todo))
