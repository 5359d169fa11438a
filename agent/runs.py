"""Running a retrospective or weekly summary: periods, scopes, thread ids and the run-time wiring.

The CLI (`effort retro`, `effort summary`), `effort serve`'s schedules and the demo all call
``run_report``; it builds the retro graph on the persisted checkpointer and invokes it on a
deterministic thread, so a second run of the same scope and period finds the pending batch instead of
proposing it again.

Never stuck: a run that stopped before its approval (a crash, a failed sync or analysis) is retried
from where it stopped by the next run of the same scope and period (or abandoned with `effort runs
abandon`); a finished run's thread is started afresh, so a re-run proposes again (its history is the
audit log). A waiting batch does not skip the sync: a bad token is reported, not hidden.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig

from agent.checkpoint import open_checkpointer, thread_id_for
from agent.config import Phase, Settings
from agent.graph_kinds import GraphKind, metadata
from agent.retro import RetroContext, RunKind, build_retro_graph, new_run_id
from tools.periods import PeriodError
from tools.periods import parse_period as read_period
from tools.proposals import Proposal
from tools.scope import key as scope_key
from tools.store import Store

__all__ = [
    "PeriodError",
    "RunOutcome",
    "RunStopped",
    "ScopeError",
    "data_as_of",
    "parse_period",
    "resolve_scope",
    "run_report",
]


class ScopeError(ValueError):
    """A ``--scope`` entry that names no synced project."""


class RunStopped(RuntimeError):
    """A run of this scope and period cannot go on as it is; the message says what to do."""


def data_as_of(store: Store) -> str:
    """ "data as of …" for the run's output, by THE freshness rule (tools/freshness.py)."""
    from tools.freshness import store_freshness

    return store_freshness(store).describe()


DEFAULT_PERIOD: dict[RunKind, str] = {"retro": "last-month", "summary": "last-week"}


def parse_period(text: str | None, kind: RunKind, today: date) -> tuple[date, date]:
    """The run's period in the one period grammar (tools/periods.py); the default is last month for a
    retrospective and last week for a summary."""
    period = read_period(text or DEFAULT_PERIOD[kind], today)
    return period.start, period.end


def resolve_scope(store: Store, names: Sequence[str]) -> tuple[str, list[str]]:
    """Project names or gids -> (a stable scope label, project gids). Empty = every synced project."""
    projects = store.projects()
    if not names:
        return "all", []
    by_name = {scope_key(p.name): p.gid for p in projects}
    gids = {p.gid for p in projects}
    found: list[str] = []
    for raw in names:
        key = raw.strip()
        gid = key if key in gids else by_name.get(scope_key(key))
        if gid is None:
            raise ScopeError(f"no synced project is named or numbered {key!r}")
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

        refreshed = refresh_after_sync(settings.database_url, settings.index, enabled=settings.index_on_sync)
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
    retried: bool = False  # True: an earlier run had stopped before its approval and was finished now
    data_as_of: str = ""  # "data as of …" (the store's last successful sync), tools/freshness.py
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
    if as_of is None and settings.as_of is not None:
        # A pinned "today" (--as-of, config, EFFORT_AS_OF): the data is read as of the end of that day.
        as_of = datetime.combine(settings.as_of, time(23, 59, 59), UTC)
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
            approver=settings.approver,
        )
        config: RunnableConfig = {
            "configurable": {"thread_id": thread_id},
            "metadata": metadata(GraphKind.RETRO),
        }
        snapshot = graph.get_state(config)
        waiting = tuple(snapshot.next)
        if waiting == ("approval",):
            if sync is not None:
                sync()  # a waiting batch does not hide a bad token, and the next run reads fresh data
            values = dict(snapshot.values)
            return _outcome(thread_id, values, period, reused=True, pending=_pending(snapshot), store=store)
        if "apply" in waiting:
            raise RunStopped(
                f"the batch of {thread_id} was decided but its writes did not finish: run `effort approvals "
                f"resume` to finish them (or `effort runs abandon {thread_id}`)"
            )
        if waiting:  # stopped before its approval (a crash, a failed sync or analysis): go on from there
            _invoke(graph, None, config, ctx, thread_id)
            snapshot = graph.get_state(config)
            values = dict(snapshot.values)
            outcome = _outcome(
                thread_id, values, period, reused=False, pending=_pending(snapshot), store=store
            )
            outcome.retried = True
            return outcome
        if snapshot.values:
            saver.delete_thread(thread_id)  # a finished run: start afresh (its record is the audit log)
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
        _invoke(graph, inputs, config, ctx, thread_id)
        snapshot = graph.get_state(config)
        return _outcome(
            thread_id, dict(snapshot.values), period, reused=False, pending=_pending(snapshot), store=store
        )


def _invoke(graph: Any, inputs: Any, config: RunnableConfig, ctx: RetroContext, thread_id: str) -> None:
    """Run the graph; a failure inside a node (not Asana, not the database: those have their own clear
    errors) stops the run where it was, to be retried by the next run or abandoned."""
    from sqlalchemy.exc import SQLAlchemyError

    from tools.gateway import GatewayError

    try:
        graph.invoke(inputs, config, context=ctx)
    except (GatewayError, SQLAlchemyError, OSError):
        raise
    except Exception as exc:
        raise RunStopped(
            f"the run stopped ({type(exc).__name__}: {str(exc)[:200]}); the next run of this scope and period "
            f"goes on from there, or `effort runs abandon {thread_id}` drops it"
        ) from exc


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
    store: Store,
) -> RunOutcome:
    return RunOutcome(
        thread_id=thread_id,
        run_id=str(values.get("run_id") or ""),
        period=period,
        reused=reused,
        data_as_of=data_as_of(store),
        report_paths=list(values.get("report_paths") or []),
        highlights=list(values.get("highlights") or []),
        pending=pending,
        values=values,
    )
