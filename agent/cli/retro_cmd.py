"""`effort retro` and `effort summary`: sync, analyse, report, and one approval batch per scope and period.

A run needs a sync first: without a way to sync (no token) it says so and exits 2 unless `--no-sync`
says to report on the local store as it is. Every report states the date of its data (the store's last
successful sync)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agent.cli.common import AsOfOpt, ConfigOpt, JsonOpt, fail, settings_or_exit
from agent.cli.failures import clear_errors

if TYPE_CHECKING:  # agent.retro loads langgraph: `effort --help` must not
    from agent.retro import RunKind

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py

console = Console()

ScopeOpt = Annotated[
    list[str] | None,
    typer.Option("--scope", help="Project name or gid (repeatable; default: every synced project)"),
]
PeriodOpt = Annotated[
    str | None,
    typer.Option(
        "--period",
        help="last-month | last-week | this-month | last-quarter | Q3 | 2026-10 | October | 2026 | "
        "2026-10-01..2026-10-31 | 'since 2026-09-01' (relative to --as-of)",
    ),
]
NoSyncOpt = Annotated[bool, typer.Option("--no-sync", help="Analyse the local store without syncing first")]


def _narrator(settings: Any) -> Any:
    if not settings.llm_configured:
        return None
    from agent.narrative import llm_narrator

    return llm_narrator(settings)


def run_command(
    kind: RunKind,
    config: Path | None,
    scope: list[str] | None,
    period: str | None,
    no_sync: bool,
    as_json: bool,
    as_of: str | None = None,
) -> None:
    """Shared body of `effort retro` and `effort summary`."""
    from agent.runs import PeriodError, RunStopped, ScopeError, incremental_sync, parse_period, run_report
    from tools.gateway import GatewayError

    settings = settings_or_exit(config, as_of=as_of)
    try:
        bounds = parse_period(period, kind, settings.today())
    except PeriodError as exc:
        raise fail(str(exc)) from None
    sync = None if no_sync else incremental_sync(settings)
    if sync is None and not no_sync:
        raise fail(
            "cannot sync before the run: no Asana token (set ASANA_ACCESS_TOKEN), or pass --no-sync to "
            "report on the local store as of its last sync"
        )
    try:
        with clear_errors(settings):
            try:
                outcome = run_report(
                    settings, kind, bounds, scope_names=scope or [], sync=sync, narrate=_narrator(settings)
                )
            except GatewayError as exc:
                raise fail(f"sync failed, nothing was analysed: {exc}", code=1) from None
    except ScopeError as exc:
        raise fail(str(exc)) from None
    except RunStopped as exc:
        raise fail(str(exc), code=1) from None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "thread_id": outcome.thread_id,
                    "run_id": outcome.run_id,
                    "reused": outcome.reused,
                    "retried": outcome.retried,
                    "data_freshness": outcome.data_as_of,
                    "period": [d.isoformat() for d in outcome.period],
                    "reports": outcome.report_paths,
                    "highlights": outcome.highlights,
                    "pending": [p.model_dump(mode="json") | {"id": p.id} for p in outcome.pending],
                },
                indent=2,
            )
        )
        return
    label = "Retrospective" if kind == "retro" else "Weekly summary"
    console.rule(f"{label} {outcome.period[0]} – {outcome.period[1]}")
    console.print(
        f"{outcome.data_as_of}{' (not synced now: --no-sync)' if no_sync else ''}.", highlight=False
    )
    if outcome.retried:
        console.print(
            "[yellow]An earlier run of this scope and period had stopped; it was finished now.[/yellow]"
        )
    if outcome.reused:
        console.print(
            "[yellow]This scope and period already has a batch waiting for approval; "
            "showing it instead of proposing it twice.[/yellow]"
        )
    for line in outcome.highlights:
        console.print(f"• {line}")
    for path in outcome.report_paths:
        console.print(f"report: [link=file://{Path(path).resolve()}]{path}[/link]")
    if outcome.pending:
        table = Table(title=f"Waiting for approval (thread {outcome.thread_id})")
        for col in ("#", "proposal", "action", "description"):
            table.add_column(col)
        for i, p in enumerate(outcome.pending, 1):
            table.add_row(str(i), p.id, p.kind.value, p.description)
        console.print(table)
        console.print(f"Decide with: effort approvals show {outcome.thread_id}")
    elif outcome.reused:
        console.print("Nothing to approve.")
    else:
        console.print(
            "Nothing to approve" + (" (nothing happened in this period)." if not outcome.highlights else ".")
        )


@app.command("retro")
def retro_cmd(
    config: ConfigOpt = None,
    scope: ScopeOpt = None,
    period: PeriodOpt = None,
    no_sync: NoSyncOpt = False,
    as_json: JsonOpt = False,
    as_of: AsOfOpt = None,
) -> None:
    """Monthly retrospective: bias, scope creep, overhead, anomalies, capacity, forecasts, billing."""
    run_command("retro", config, scope, period, no_sync, as_json, as_of)


@app.command("summary")
def summary_cmd(
    config: ConfigOpt = None,
    scope: ScopeOpt = None,
    period: PeriodOpt = None,
    no_sync: NoSyncOpt = False,
    as_json: JsonOpt = False,
    as_of: AsOfOpt = None,
) -> None:
    """Weekly summary per project or team: the retrospective pipeline over one week, shorter."""
    run_command("summary", config, scope, period, no_sync, as_json, as_of)
