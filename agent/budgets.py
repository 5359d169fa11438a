"""Budgets for the agent: the report over the local store, and threshold alerts proposed exactly once.

The figures are ``tools.analytics.budget``'s; this module adds what needs settings and state. An alert is
a comment proposal to the project lead (through the approval gate, like every write) plus one Slack
digest. Each crossing has a stable key (project, budget, threshold); the keys already proposed live in
a table of the store database (``budget_alerts_sent``), so a crossing is proposed once across runs and
restarts of `effort serve`, and a changed budget re-arms its thresholds. The key is recorded after the
proposal is on its approval thread; that thread is named by the key too, so a crash between the two
finds the same pending thread instead of opening a second one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, create_engine, insert, select

from agent.config import Settings
from tools.analytics.budget import BudgetAlert, BudgetReport, budget_alerts, budget_report
from tools.proposals import Proposal, ProposalKind
from tools.records import Task, Workspace
from tools.store import prepare_url

log = logging.getLogger("effort.budgets")

_metadata = MetaData()
sent_table = Table(
    "budget_alerts_sent",
    _metadata,
    Column("alert_key", String(300), primary_key=True),
    Column("project_gid", String(64), nullable=False),
    Column("threshold", String(40), nullable=False),
    Column("thread_id", String(120)),  # None: nowhere to comment (Slack only)
    Column("proposed_at", DateTime(timezone=True), nullable=False),
)


class Proposer(Protocol):
    def __call__(self, proposals: Sequence[Proposal], *, kind: str, scope: str, period: str) -> str: ...


class AlertLog:
    """The budget alert keys already proposed (own table in the store database)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        _metadata.create_all(engine)

    @classmethod
    def open(cls, url: str) -> AlertLog:
        return cls(create_engine(prepare_url(url)))

    def sent(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        with self.engine.connect() as conn:
            rows = conn.execute(select(sent_table.c.alert_key).where(sent_table.c.alert_key.in_(list(keys))))
            return {r[0] for r in rows}

    def record(self, alerts: Sequence[BudgetAlert], thread_id: str | None) -> None:
        now = datetime.now(UTC)
        with self._lock, self.engine.begin() as conn:
            known = {
                r[0]
                for r in conn.execute(
                    select(sent_table.c.alert_key).where(sent_table.c.alert_key.in_([a.key for a in alerts]))
                )
            }
            rows = [
                {
                    "alert_key": a.key,
                    "project_gid": a.project_gid,
                    "threshold": a.threshold,
                    "thread_id": thread_id,
                    "proposed_at": now,
                }
                for a in alerts
                if a.key not in known
            ]
            if rows:
                conn.execute(insert(sent_table), rows)

    def close(self) -> None:
        self.engine.dispose()


def report_for(
    settings: Settings,
    workspace: Workspace,
    *,
    project_gids: Sequence[str] | None = None,
    simulations: int = 2000,
) -> BudgetReport:
    """The budget report with the configured budgets, capacity and calendar (time off from the .ics)."""
    from tools.analytics.calendar import build_calendar, read_ics

    ics = read_ics(settings.capacity.ics_file) if settings.capacity.ics_file is not None else None
    calendar = build_calendar(settings.capacity, workspace.people, ics_text=ics)
    return budget_report(
        workspace,
        budgets=settings.budgets,
        capacity=settings.capacity,
        calendar=calendar,
        project_gids=project_gids,
        simulations=simulations,
    )


def comment_target(workspace: Workspace, project_gid: str) -> Task | None:
    """Where the lead will see the alert: their own open task in the project, else the open task due
    first, else the most recently completed task; None for a project without tasks."""
    project = next((p for p in workspace.projects if p.gid == project_gid), None)
    lead = project.owner_gid if project else None
    tasks = [t for t in workspace.tasks if t.project_gid == project_gid and t.parent_gid is None]
    open_tasks = sorted(
        (t for t in tasks if not t.completed),
        key=lambda t: (t.assignee_gid != lead, t.due_on or date.max, t.gid),
    )
    if open_tasks:
        return open_tasks[0]
    done = sorted(
        (t for t in tasks if t.completed_at is not None),
        key=lambda t: t.completed_at or datetime.min.replace(tzinfo=UTC),
    )
    return done[-1] if done else None


def alert_proposal(workspace: Workspace, alerts: Sequence[BudgetAlert]) -> Proposal | None:
    """One comment for a project's new crossings (the highest threshold first), addressed to its lead."""
    if not alerts:
        return None
    first = alerts[0]
    target = comment_target(workspace, first.project_gid)
    if target is None:
        return None
    project = next((p for p in workspace.projects if p.gid == first.project_gid), None)
    lead = next((p.name for p in workspace.people if project and p.gid == project.owner_gid), None)
    ordered = sorted(alerts, key=lambda a: (a.threshold == "forecast P80", -_pct(a)))
    lines = headlines(alerts)
    greeting = f"Budget alert for {lead} (project lead) from Effort Copilot:" if lead else "Budget alert:"
    return Proposal(
        kind=ProposalKind.COMMENT,
        target_gid=target.gid,
        project_gid=first.project_gid,
        text="\n".join([greeting, *lines]),
        description=f"Budget alert: {first.name}, {', '.join(a.threshold for a in ordered)}",
        evidence={
            "project_gid": first.project_gid,
            "thresholds": [a.threshold for a in ordered],
            "pct_spent": first.pct_spent,
            "budget": first.budget,
            "unit": first.unit,
            "keys": [a.key for a in ordered],
        },
        source="trigger",
    )


def _pct(alert: BudgetAlert) -> float:
    return float(alert.threshold.rstrip("%")) if alert.threshold.endswith("%") else 0.0


def headlines(alerts: Sequence[BudgetAlert]) -> list[str]:
    """What a person reads about one project's new crossings: the highest threshold crossed (the lower
    ones crossed at the same time add nothing) and the forecast alert."""
    highest = max((a for a in alerts if a.threshold.endswith("%")), key=_pct, default=None)
    forecast = [a for a in alerts if not a.threshold.endswith("%")]
    return [a.message for a in ([highest] if highest else []) + forecast]


def run_budget_alerts(
    settings: Settings,
    workspace: Workspace,
    *,
    log_store: AlertLog,
    propose: Proposer,
    notify: Callable[[str], bool] | None = None,
    report: BudgetReport | None = None,
) -> dict[str, Any]:
    """Propose each new threshold crossing once (one comment per project per run), send one Slack
    digest of them, and remember their keys. Returns a summary."""
    report = report or report_for(settings, workspace)
    alerts = budget_alerts(report, settings.budgets)
    already = log_store.sent([a.key for a in alerts])
    fresh = [a for a in alerts if a.key not in already]
    by_project: dict[str, list[BudgetAlert]] = {}
    for a in fresh:
        by_project.setdefault(a.project_gid, []).append(a)
    threads: list[str] = []
    for project_gid, items in sorted(by_project.items()):
        proposal = alert_proposal(workspace, items)
        thread = None
        if proposal is not None:
            period = "|".join(sorted(a.key for a in items))
            thread = propose([proposal], kind="budget", scope=project_gid, period=period)
            threads.append(thread)
        else:
            log.info("budget alert for %s: the project has no task to comment on (Slack only)", project_gid)
        log_store.record(items, thread)
    slack: bool | None = None
    if fresh and notify is not None:
        shown = [m for _, items in sorted(by_project.items()) for m in headlines(items)]
        more = f"\n…and {len(shown) - 20} more." if len(shown) > 20 else ""
        slack = notify(
            f":moneybag: Budget alerts ({len(fresh)}):\n" + "\n".join(f"• {m}" for m in shown[:20]) + more
        )
    return {
        "as_of": report.as_of.isoformat(),
        "alerts": len(alerts),
        "new": len(fresh),
        "proposed": len(threads),
        "threads": threads,
        "slack": slack,
    }


__all__ = ["AlertLog", "alert_proposal", "comment_target", "headlines", "report_for", "run_budget_alerts"]
