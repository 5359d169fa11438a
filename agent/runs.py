"""Running a retrospective or weekly summary: periods, scopes, thread ids and the run-time wiring.

The CLI (`effort retro`, `effort summary`), `effort serve`'s schedules and the demo all call
``run_report``; it builds the retro graph on the persisted checkpointer and invokes it on a
deterministic thread, so a second run of the same scope and period finds the pending batch instead of
proposing it again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig

from agent.checkpoint import open_checkpointer, thread_id_for
from agent.config import Phase, Settings
from agent.retro import RetroContext, RunKind, build_retro_graph, new_run_id
from tools.analytics.calendar import parse_period as parse_explicit_period
from tools.analytics.retro import period_bounds
from tools.proposals import Proposal
from tools.store import Store

GRAPH_NAME = "retro"  # checkpoint metadata: how `effort approvals` rebuilds the graph to resume it

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


class PeriodError(ValueError):
    """A period the CLI cannot read; the message lists the accepted forms."""


def parse_period(text: str | None, kind: RunKind, today: date) -> tuple[date, date]:
    """``last-month`` (retro default), ``last-week`` (summary default), ``YYYY-MM`` or ``A..B``."""
    value = (text or ("last-month" if kind == "retro" else "last-week")).strip().lower()
    if value == "last-month":
        return period_bounds(datetime.combine(today, datetime.min.time(), UTC))
    if value == "last-week":
        monday = today - timedelta(days=today.weekday())
        return monday - timedelta(days=7), monday - timedelta(days=1)
    if value == "this-month":
        return today.replace(day=1), today
    if _MONTH.match(value) or _RANGE.match(value):
        try:
            return parse_explicit_period(value)
        except ValueError as exc:
            raise PeriodError(f"period {text!r}: {exc}") from None
    raise PeriodError(f"cannot read period {text!r}: use last-month, last-week, this-month, YYYY-MM or A..B")


def resolve_scope(store: Store, names: Sequence[str]) -> tuple[str, list[str]]:
    """Project names or gids -> (a stable scope label, project gids). Empty = every synced project."""
    projects = store.projects()
    if not names:
        return "all", []
    by_name = {p.name.strip().lower(): p.gid for p in projects}
    gids = {p.gid for p in projects}
    found: list[str] = []
    for raw in names:
        key = raw.strip()
        gid = key if key in gids else by_name.get(key.lower())
        if gid is None:
            raise PeriodError(f"no synced project is named or numbered {key!r}")
        found.append(gid)
    return ",".join(sorted(found)), sorted(found)


def incremental_sync(settings: Settings) -> Callable[[], dict[str, Any]] | None:
    """An incremental sync through the gateway for the graph's sync node; None without a token."""
    if settings.asana_access_token is None:
        return None

    def sync() -> dict[str, Any]:
        from tools.gateway import AsanaGateway
        from tools.sync import sync_workspace

        store = Store.open(settings.database_url)
        try:
            with AsanaGateway.from_settings(settings) as gateway:
                summary = sync_workspace(gateway, store, settings, full=False)
        finally:
            store.close()
        from tools.index.refresh import refresh_after_sync

        refreshed = refresh_after_sync(settings)
        result = summary.model_dump(mode="json")
        result["index"] = refreshed.model_dump() if refreshed is not None else None
        return result

    return sync


@dataclass
class RunOutcome:
    """What a run left behind: its thread, the report files, and the batch waiting for approval."""

    thread_id: str
    run_id: str
    period: tuple[date, date]
    reused: bool  # True: an earlier run of this scope and period was still waiting; nothing re-ran
    report_paths: list[str] = field(default_factory=list)
    highlights: list[str] = field(default_factory=list)
    pending: list[Proposal] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)


def run_report(
    settings: Settings,
    kind: RunKind,
    period: tuple[date, date],
    *,
    scope_names: Sequence[str] = (),
    sync: Callable[[], dict[str, Any]] | None = None,
    narrate: Callable[[list[str]], str] | None = None,
    as_of: datetime | None = None,
    with_text: bool = True,
    report_dir: Path | None = None,
    store: Store | None = None,
) -> RunOutcome:
    """Run (or find the pending run of) a retrospective / summary for a scope and period."""
    store = store or Store.open(settings.database_url)
    scope_label, project_gids = resolve_scope(store, scope_names)
    start, end = period
    thread_id = thread_id_for(kind, scope_label, f"{start.isoformat()}..{end.isoformat()}")
    with open_checkpointer(settings) as saver:
        graph = build_retro_graph(saver)
        ctx = RetroContext(
            settings=settings,
            store=store,
            sync=sync,
            narrate=narrate,
            as_of=as_of,
            with_text=with_text,
            report_dir=report_dir,
        )
        config: RunnableConfig = {
            "configurable": {"thread_id": thread_id, "retro": ctx, "approver": settings.approver},
            "metadata": {"effort_graph": GRAPH_NAME},
        }
        snapshot = graph.get_state(config)
        if snapshot.next:
            values = dict(snapshot.values)
            return _outcome(thread_id, values, period, reused=True, pending=_pending(snapshot))
        run_id = new_run_id(kind)
        inputs = {
            "kind": kind,
            "scope": scope_label,
            "project_gids": project_gids,
            "period_start": start,
            "period_end": end,
            "run_id": run_id,
        }
        if settings.phase is Phase.INSIGHT:
            inputs["insight_only"] = True
        graph.invoke(inputs, config)
        snapshot = graph.get_state(config)
        return _outcome(thread_id, dict(snapshot.values), period, reused=False, pending=_pending(snapshot))


def _pending(snapshot: Any) -> list[Proposal]:
    from agent.approval import pending_proposals

    return pending_proposals(snapshot.values) if snapshot.next else []


def _outcome(
    thread_id: str,
    values: dict[str, Any],
    period: tuple[date, date],
    *,
    reused: bool,
    pending: list[Proposal],
) -> RunOutcome:
    return RunOutcome(
        thread_id=thread_id,
        run_id=str(values.get("run_id") or ""),
        period=period,
        reused=reused,
        report_paths=list(values.get("report_paths") or []),
        highlights=list(values.get("highlights") or []),
        pending=pending,
        values=values,
    )
