"""Reactions to webhook events, run on a worker thread from the persistent inbox.

- A time entry added/changed/removed, or a task's `actual_time_minutes` / actual-hours custom field
  changed: re-check that task for anomalies (`ServeDeps.check_task` syncs it incrementally first) and,
  when a flag scores at or above the threshold, PROPOSE the `AI Review Flag` and a comment. Proposals go
  to an approval thread (`ServeDeps.propose`); nothing is written here.
- A task marked completed: offer it to the approval engine (`ServeDeps.on_task_completed`); if it was an
  approval subtask, its thread resumes there.

Events of one batch are grouped per task, so the two events Asana sends for one new entry (the entry
`added` and the task's `actual_time_minutes` `changed`) cause one check. A failing reaction keeps its
events pending (retried with the next wake-up, at most `max_attempts` times, then marked failed and
logged): nothing is dropped silently.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agent.serve.deps import Finding, ServeDeps
from agent.serve.store import InboxEvent, ServeStore
from tools.proposals import Proposal, ProposalKind

log = logging.getLogger("effort.serve.reactions")

REVIEW_FLAG_FIELD = "AI Review Flag"
REVIEW_FLAG_VALUE = "Review"


@dataclass(frozen=True)
class Work:
    """What one event asks for: an anomaly check of a task, or a completion to offer to approvals."""

    action: str  # "check" | "completed" | "ignore"
    task_gid: str | None = None
    entry_gid: str | None = None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def classify(event: dict[str, Any], actual_field_names: Sequence[str] = ()) -> Work:
    """Map one Asana event to the work it triggers (pure; unknown shapes are ignored, not errors)."""
    resource, parent, change = (
        _dict(event.get("resource")),
        _dict(event.get("parent")),
        _dict(event.get("change")),
    )
    rtype = resource.get("resource_type") or event.get("type")
    gid = str(resource.get("gid") or "")
    action = event.get("action")
    if not gid:
        return Work("ignore")
    if rtype == "time_tracking_entry" and action in {"added", "changed", "removed", "deleted", "undeleted"}:
        task = str(parent.get("gid")) if parent.get("resource_type") == "task" and parent.get("gid") else None
        return Work("check", task_gid=task, entry_gid=gid)
    if rtype == "task" and action == "changed":
        changed = change.get("field")
        if changed == "actual_time_minutes":
            return Work("check", task_gid=gid)
        if changed == "custom_fields":
            name = _dict(change.get("new_value")).get("name")
            # Unknown names (the compact change often carries only the gid) are checked: cheap and safe.
            if name is None or name in actual_field_names:
                return Work("check", task_gid=gid)
            return Work("ignore")
        if changed == "completed":
            return Work("completed", task_gid=gid)
    return Work("ignore")


def review_proposals(task_gid: str, findings: Sequence[Finding], threshold: float) -> list[Proposal]:
    """The flag and the comment for findings at or above ``threshold`` (empty when none are)."""
    above = sorted((f for f in findings if f.score >= threshold), key=lambda f: (-f.score, f.kind, f.reason))
    if not above:
        return []
    top = above[0]
    evidence = {
        "flags": [
            {"kind": f.kind, "score": round(f.score, 3), "reason": f.reason[:300], "entry_gid": f.entry_gid}
            for f in above[:5]
        ],
        "threshold": threshold,
    }
    lines = "\n".join(f"- {f.reason[:300]} (score {f.score:.2f})" for f in above[:5])
    text = (
        "Effort Copilot flagged the time logged on this task for review:\n"
        f"{lines}\n"
        "If this is expected, set AI Review Flag to OK; the detector learns from it."
    )
    common: dict[str, Any] = {
        "target_gid": task_gid,
        "project_gid": top.project_gid,
        "evidence": evidence,
        "source": "trigger",
    }
    return [
        Proposal(
            kind=ProposalKind.SET_FIELD,
            field_name=REVIEW_FLAG_FIELD,
            value=REVIEW_FLAG_VALUE,
            description=f"Flag for review: {top.reason[:200]} (score {top.score:.2f})",
            **common,
        ),
        Proposal(
            kind=ProposalKind.COMMENT,
            text=text,
            description=f"Explain the review flag on the task ({len(above)} finding(s))",
            **common,
        ),
    ]


@dataclass
class ReactionRecord:
    """What one reaction did (kept in memory for /healthz and for tests to wait on)."""

    at: datetime
    action: str
    task_gid: str | None
    outcome: str  # "proposed" | "below_threshold" | "resumed" | "not_approval" | "ignored" | "error"
    thread_id: str | None = None
    proposal_ids: list[str] = field(default_factory=list)
    error: str | None = None


class Reactor:
    """Drains the inbox on one worker thread; `wake()` after new events, `stop()` on shutdown."""

    def __init__(
        self,
        store: ServeStore,
        deps: ServeDeps,
        *,
        max_attempts: int = 5,
        retry_interval: float = 30.0,
        redact: Callable[[str], str] = lambda s: s,
    ) -> None:
        self.store = store
        self.deps = deps
        self.max_attempts = max_attempts
        self.retry_interval = retry_interval
        self.redact = redact
        self.records: deque[ReactionRecord] = deque(maxlen=500)
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.batches = 0

    # -- lifecycle --------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="effort-reactions", daemon=True)
        self._thread.start()
        self.wake()  # events left pending by a previous run are processed first

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        self._wake.set()

    def wait_for(self, predicate: Callable[[list[ReactionRecord]], bool], timeout: float = 10.0) -> bool:
        """Block until ``predicate(records)`` holds (re-checked after each batch) or ``timeout``."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(list(self.records)), timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.retry_interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                while self.drain_once():
                    if self._stop.is_set():
                        break
            except Exception:  # the worker must survive anything; the events stay pending
                log.exception("reaction worker: unexpected error; events stay queued")

    # -- processing --------------------------------------------------------------------------------------
    def drain_once(self, limit: int = 100) -> int:
        """Process one batch of pending events; returns how many were taken (0 = inbox empty)."""
        batch = self.store.pending(limit)
        if not batch:
            return 0
        groups: dict[tuple[str, str], list[InboxEvent]] = {}
        ignored: list[str] = []
        for item in batch:
            work = classify(item.event, self.deps.actual_field_names)
            task_gid = work.task_gid
            if work.action == "check" and task_gid is None and work.entry_gid:
                try:
                    task_gid = self.deps.resolve_entry_task(work.entry_gid)
                except Exception as exc:
                    log.warning(
                        "cannot resolve time entry %s to its task: %s", work.entry_gid, self.redact(str(exc))
                    )
            if work.action == "ignore" or task_gid is None:
                ignored.append(item.event_key)
                continue
            groups.setdefault((work.action, task_gid), []).append(item)
        self.store.mark(ignored, "done")
        new_records: list[ReactionRecord] = []
        for (action, task_gid), items in groups.items():
            keys = [i.event_key for i in items]
            try:
                record = self._check(task_gid) if action == "check" else self._completed(task_gid)
                self.store.mark(keys, "done")
            except Exception as exc:
                message = self.redact(f"{type(exc).__name__}: {exc}")[:500]
                attempts = max(i.attempts for i in items) + 1
                final = attempts >= self.max_attempts
                self.store.mark(keys, "failed" if final else "pending", message)
                log.error(
                    "reaction %s on task %s failed (attempt %d%s): %s",
                    action,
                    task_gid,
                    attempts,
                    ", giving up" if final else "",
                    message,
                )
                record = ReactionRecord(self.deps.clock(), action, task_gid, "error", error=message)
            new_records.append(record)
        with self._cond:
            self.records.extend(new_records)
            self.batches += 1
            self._cond.notify_all()
        return len(batch)

    def _check(self, task_gid: str) -> ReactionRecord:
        findings = list(self.deps.check_task(task_gid))
        now = self.deps.clock()
        proposals = review_proposals(task_gid, findings, self.deps.anomaly_threshold)
        if not proposals:
            return ReactionRecord(now, "check", task_gid, "below_threshold")
        # One thread per task and day: a second event the same day lands on (and de-duplicates into)
        # the same pending approval instead of opening another.
        thread_id = self.deps.propose(
            proposals, kind="anomaly", scope=task_gid, period=now.date().isoformat()
        )
        log.info("task %s: proposed review flag (thread %s)", task_gid, thread_id)
        return ReactionRecord(now, "check", task_gid, "proposed", thread_id, [p.id for p in proposals])

    def _completed(self, task_gid: str) -> ReactionRecord:
        resumed = self.deps.on_task_completed(task_gid)
        return ReactionRecord(
            self.deps.clock(), "completed", task_gid, "resumed" if resumed else "not_approval"
        )
