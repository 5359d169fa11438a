"""Real dependencies for `effort serve`: gateway, store, sync, analytics, approval gate, Slack.

Everything here is the production implementation of `ServeDeps`; tests replace it piece by piece.
Imports of the heavier parts happen inside the functions so that the server module itself stays light
and a missing optional part gives a clear error at the moment it is needed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast

from langgraph.checkpoint.base import BaseCheckpointSaver

from agent.approval import build_approval_graph
from agent.checkpoint import open_checkpointer, thread_id_for
from agent.config import Settings
from agent.graph_kinds import GraphKind, metadata
from agent.retro import RunKind
from agent.serve.alerts import SlackNotifier
from agent.serve.deps import CapacityAlert, Finding, ServeDeps
from agent.serve.reactions import REVIEW_FLAG_FIELD, REVIEW_FLAG_VALUE
from tools.proposals import Proposal

log = logging.getLogger("effort.serve.wiring")


class GateProposer:
    """Sends proposals to a deterministic approval thread (`thread_id_for(kind, scope, period)`).

    The thread stops at the approval interrupt; people decide with `effort approvals`, an Agent Inbox,
    or an Asana approval subtask. Proposing what is already pending on that thread is a no-op.
    """

    def __init__(self, checkpointer: BaseCheckpointSaver[Any]) -> None:
        self.checkpointer = checkpointer
        self.graph = build_approval_graph(checkpointer)
        self._lock = threading.Lock()

    def __call__(self, proposals: Sequence[Proposal], *, kind: str, scope: str, period: str) -> str:
        thread_id = thread_id_for(kind, scope, period)
        config: dict[str, Any] = {
            "configurable": {"thread_id": thread_id},
            "metadata": metadata(GraphKind.APPROVAL),
        }
        with self._lock:
            state = self.graph.get_state(cast(Any, config))
            known = {p.id for p in (state.values or {}).get("proposals", [])}
            if state.next and all(p.id in known for p in proposals):
                return thread_id
            self.graph.invoke(
                cast(Any, {"proposals": list(proposals), "run_id": thread_id}), cast(Any, config)
            )
        return thread_id


def findings_for_task(workspace: Any, task_gid: str, *, settings: Settings) -> list[Finding]:
    """Anomaly flags touching one task, from `tools.analytics.anomalies` over a workspace snapshot."""
    from tools.analytics.anomalies import detect_anomalies

    calendar = None
    with contextlib.suppress(ImportError, AttributeError, TypeError):
        from tools.analytics.calendar import build_calendar

        calendar = build_calendar(settings.capacity, workspace.people)
    tasks = {t.gid: t for t in workspace.tasks}
    task = tasks.get(task_gid)
    flags = detect_anomalies(workspace, calendar=calendar)
    return [
        Finding(
            task_gid=task_gid,
            score=f.score,
            reason=f.reason,
            kind=str(f.kind),
            project_gid=task.project_gid if task else None,
            entry_gid=f.entry_gid,
            task_name=task.name if task else None,
        )
        for f in flags
        if f.task_gid == task_gid
    ]


def capacity_alerts_from(workspace: Any, settings: Settings) -> list[CapacityAlert]:
    """Over-capacity person-weeks from `tools.analytics.capacity`, each aimed at that person's most
    urgent open task (where the proposed comment goes)."""
    from tools.analytics.capacity import capacity_report

    report = capacity_report(workspace, config=settings.capacity)
    open_by_person: dict[str, list[Any]] = {}
    for task in workspace.tasks:
        if not task.completed and task.assignee_gid:
            open_by_person.setdefault(task.assignee_gid, []).append(task)
    alerts: list[CapacityAlert] = []
    for person in report.people:
        tasks = sorted(open_by_person.get(person.person_gid, []), key=lambda t: (t.due_on or date.max, t.gid))
        target = tasks[0] if tasks else None
        for week in person.weeks:
            if week.status != "over":
                continue
            alerts.append(
                CapacityAlert(
                    person_gid=person.person_gid,
                    person_name=person.name,
                    week_start=week.week_start,
                    planned_hours=week.load_hours,
                    capacity_hours=week.capacity_hours,
                    task_gid=target.gid if target else None,
                    project_gid=target.project_gid if target else None,
                )
            )
    return alerts


def build_deps(
    settings: Settings,
    *,
    summary: Callable[[], Any] | None = None,
    retro: Callable[[], Any] | None = None,
) -> ServeDeps:
    """The production `ServeDeps` over the configured Asana, store and checkpointer."""
    from tools.gateway import AsanaGateway
    from tools.store import Store
    from tools.sync.engine import sync_workspace

    gateway = AsanaGateway.from_settings(settings)
    store = Store.open(settings.database_url)
    stack = contextlib.ExitStack()
    checkpointer = stack.enter_context(open_checkpointer(settings))
    sync_lock = threading.Lock()  # the nightly sync and webhook reactions never sync at the same time

    def sync(full: bool = False) -> Any:
        with sync_lock:
            return sync_workspace(gateway, store, settings, full=full)

    def check_task(task_gid: str) -> list[Finding]:
        sync()  # incremental: the events since the last token, i.e. this change (and any neighbours)
        task = store.task(task_gid)
        if task is None:
            return []
        if task.ai_fields.get(REVIEW_FLAG_FIELD) == REVIEW_FLAG_VALUE:
            # Already flagged and waiting for a person: proposing it again (say, the next day, on a new
            # thread) would only add noise. The flag's own write event also lands here.
            log.info("task %s already carries the review flag; no new proposal", task_gid)
            return []
        # Live, not a replay: load everything (``as_of`` would cut entries dated after today, and a
        # future-dated entry is one of the anomalies to catch), then pin "now" for the detector.
        workspace = store.workspace(project_gids=[task.project_gid] if task.project_gid else None)
        workspace = workspace.model_copy(update={"as_of": datetime.now(UTC)})
        return findings_for_task(workspace, task_gid, settings=settings)

    def resolve_entry_task(entry_gid: str) -> str | None:
        entry = gateway.time_entry(entry_gid)
        task = getattr(entry, "task", None)
        return str(getattr(task, "gid", None) or "") or None

    def on_task_completed(task_gid: str) -> bool:
        from agent.approvals_service import poll_asana
        from agent.writer import writer_from_settings

        raw = gateway.get_task_raw(task_gid, "notes,completed")
        if "[effort-approval:" not in str(raw.get("notes") or ""):
            return False
        writer = writer_from_settings(settings, store=store, gateway=gateway)
        report = poll_asana(checkpointer, writer=writer, settings=settings)
        return any(v.startswith("resumed") for v in report.values())

    def capacity_overloads() -> list[CapacityAlert]:
        workspace = store.workspace(as_of=datetime.now(UTC))
        return capacity_alerts_from(workspace, settings)

    def close() -> None:
        stack.close()
        gateway.close()
        store.close()

    def nightly_sync() -> str:
        """The scheduled sync, then the similar-task index catches up with it (webhook reactions do
        not refresh the index: one event's change can wait for the night)."""
        from tools.index.refresh import refresh_after_sync

        synced = _summary_of(sync())
        refreshed = refresh_after_sync(settings.database_url, settings.index, enabled=settings.index_on_sync)
        return synced + (f"; index {refreshed.upserted} upserted" if refreshed is not None else "")

    jobs: dict[str, Callable[[], Any]] = {"sync": nightly_sync}
    if summary is not None:
        jobs["summary"] = summary
    if retro is not None:
        jobs["retro"] = retro
    notify = (
        SlackNotifier(settings.slack_webhook_url.get_secret_value()) if settings.slack_webhook_url else None
    )
    deps = ServeDeps(
        propose=GateProposer(checkpointer),
        check_task=check_task,
        resolve_entry_task=resolve_entry_task,
        on_task_completed=on_task_completed,
        capacity_overloads=capacity_overloads,
        notify=notify,
        jobs=jobs,
        actual_field_names=tuple(settings.fields.actual),
        close=close,
    )

    # Budgets and timesheets read ``deps`` when they run (its notifier and proposer may be swapped).
    def budget_alerts() -> dict[str, Any]:
        from agent.budgets import AlertLog, run_budget_alerts

        workspace = store.workspace(as_of=datetime.now(UTC))
        return run_budget_alerts(
            settings, workspace, log_store=AlertLog(store.engine), propose=deps.propose, notify=deps.notify
        )

    def timesheets() -> dict[str, Any]:
        from agent.timesheet_approvals import weekly_drafts

        return weekly_drafts(settings, store, checkpointer, notify=deps.notify, gateway=gateway)

    deps.budget_alerts = budget_alerts
    jobs["timesheets"] = timesheets
    return deps


def _summary_of(result: Any) -> str:
    dump = getattr(result, "model_dump", None)
    return str(dump(mode="json") if callable(dump) else result)[:300]


def report_job(
    settings: Settings, kind: RunKind, *, clock: Callable[[], datetime] | None = None
) -> Callable[[], str]:
    """A scheduled summary (last week) or retrospective (last month): the retro graph's run, which
    writes the Markdown and HTML report and leaves one approval batch on a deterministic thread (a
    re-fire for the same period finds that batch instead of proposing it again)."""

    def run() -> str:
        from agent.runs import incremental_sync, parse_period, run_report

        now = (clock or (lambda: datetime.now(UTC)))()
        period = parse_period(None, kind, now.date())
        outcome = run_report(settings, kind, period, sync=incremental_sync(settings))
        files = " and ".join(Path(p).name for p in outcome.report_paths)
        waiting = (
            f"; {len(outcome.pending)} proposals wait on thread {outcome.thread_id}"
            if outcome.pending
            else ""
        )
        return f"wrote {files}{waiting}"

    return run
