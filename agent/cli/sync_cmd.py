"""`effort sync`: pull the scope from Asana (or the sandbox) into the local store.

Long steps show counts and an ETA; the run ends with what changed, what it cost, which paid features
answered, and per-field coverage. Failures end in one line on stderr and a non-zero exit: 3 the token
was refused, 4 Asana unreachable, 5 Asana kept failing (what was read is kept: the next run continues),
6 the store cannot be used (read-only, unwritable folder, database down).
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from agent.cli.common import ConfigOpt, JsonOpt, fail, settings_or_exit
from tools.redact import install_redaction

if TYPE_CHECKING:  # heavy (sqlalchemy, pydantic-settings): `effort --help` must not load them
    from agent.config import Settings
    from tools.sync import SyncOptions, SyncSummary

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py

_STAGES = {
    "people": "people",
    "projects": "projects",
    "projects crawled": "projects (tasks and time entries)",
    "entry details": "time-entry details (billable, note, created)",
    "stories": "stories (estimate history, comments)",
    "events": "events",
}


def sync_with_progress(
    settings: Settings,
    console: Console,
    *,
    full: bool,
    stories: bool | None = None,
    options: SyncOptions | None = None,
) -> SyncSummary:
    """Run a sync with a progress bar (counts and ETA) per long step; raises ``GatewayError``
    subclasses when Asana fails and ``StoreError`` / SQLAlchemy errors when the store does."""
    from tools.gateway import AsanaGateway
    from tools.store import Store
    from tools.sync import sync_workspace

    store = Store.open(settings.database_url)
    try:
        with (
            AsanaGateway.from_settings(settings) as gateway,
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            ) as bar,
        ):
            ids: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int | None) -> None:
                if stage not in ids:
                    ids[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
                bar.update(ids[stage], completed=done, total=total)

            return sync_workspace(
                gateway, store, options or settings, full=full, progress=progress, stories=stories
            )
    finally:
        store.close()


def print_sync_summary(summary: SyncSummary, out: Console) -> None:
    """What changed, per kind, what the sync cost in requests, and what is known afterwards."""
    table = Table(title=f"effort sync: {summary.mode}")
    for col in ("kind", "created", "updated", "deleted", "unchanged"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, c in sorted(summary.counts.items()):
        table.add_row(kind, str(c.created), str(c.updated), str(c.deleted), str(c.unchanged))
    out.print(table)
    out.print(
        f"{summary.requests} requests ({summary.retries} retries, {summary.rate_limited} rate-limited; "
        f"rate: {summary.rate_limit}) in {summary.duration_s:.1f}s; {summary.details_read} entry details "
        f"and {summary.stories_read} tasks' stories read; {summary.skipped} values skipped"
    )
    for skip in summary.skips[:10]:
        out.print(f"  skipped {skip['kind']} {skip['gid']}: {skip['reason']}", soft_wrap=True)
    for feature, line in summary.features.items():
        if line != "ok":
            out.print(f"[yellow]{feature}:[/yellow] {line}", soft_wrap=True)
    if summary.coverage:
        out.print("known after this sync:")
        for cov in summary.coverage:
            out.print(f"  {cov.describe()}")
    if summary.details_pending:
        out.print(
            f"[yellow]{summary.details_pending} entries in the window still lack their details:[/yellow] "
            "the next `effort sync` continues reading them"
        )
    for warning in summary.warnings:
        out.print(f"[yellow]warning:[/yellow] {warning}", soft_wrap=True)


def summary_json(summary: SyncSummary) -> str:
    data = summary.model_dump(mode="json")
    data["coverage"] = [
        c.model_dump() | {"share": round(c.share, 4), "text": c.describe()} for c in summary.coverage
    ]
    return json.dumps(data, indent=2)


@app.command("sync")
def sync_command(
    full: Annotated[
        bool, typer.Option("--full", help="Re-crawl everything instead of reading events.")
    ] = False,
    stories: Annotated[
        bool | None,
        typer.Option(
            "--stories/--no-stories",
            help="Read task stories (exact estimate history, comments) for tasks changed in the detail "
            "window (default: [sync] stories, on).",
        ),
    ] = None,
    details: Annotated[
        list[str] | None,
        typer.Option(
            "--details",
            help="Also read (and keep current) the entry details of this period, e.g. 2025-03 or "
            "'Q1 2025' (beyond the detail window); repeatable. Remembered for later syncs.",
        ),
    ] = None,
    refresh_details: Annotated[
        bool, typer.Option("--refresh-details", help="Re-read the details of every entry in the window.")
    ] = False,
    no_index: Annotated[
        bool, typer.Option("--no-index", help="Do not refresh the similar-task index afterwards.")
    ] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Sync projects, tasks, time entries (with their details in the window), stories, custom fields,
    budgets and rates into the local store, then refresh the similar-task index (only new or changed
    tasks are embedded). An interrupted sync is continued by the next run."""
    from sqlalchemy.exc import SQLAlchemyError

    from tools.gateway import AuthError, ConnectionFailed, GatewayError
    from tools.store import StoreError, describe_store_error
    from tools.sync import SyncOptions

    console = Console(stderr=True)
    settings = settings_or_exit(config, console)
    token = settings.asana_access_token.get_secret_value() if settings.asana_access_token else ""
    if not token:
        raise fail("no Asana token: set ASANA_ACCESS_TOKEN (or run `effort sandbox serve`)", 2, console)
    redactor = install_redaction(settings.secrets())  # the redactor itself, for the messages below
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    options = SyncOptions.of(settings).model_copy(update={"refresh_details": refresh_details})
    try:
        if details:
            _request_periods(settings, details, console)
        summary = sync_with_progress(settings, console, full=full, stories=stories, options=options)
    except AuthError as exc:
        raise fail(
            f"Asana refused the token ({exc.status}): check ASANA_ACCESS_TOKEN and its access", 3, console
        ) from None
    except ConnectionFailed:
        raise fail(
            f"cannot reach {redactor(settings.asana_base_url)}: is it running / reachable?", 4, console
        ) from None
    except GatewayError as exc:
        raise fail(
            f"sync failed: {redactor(str(exc))} (what was read is kept: the next run continues from there)",
            5,
            console,
        ) from None
    except (StoreError, SQLAlchemyError, OSError) as exc:
        raise fail(redactor(describe_store_error(exc, settings.database_url)), 6, console) from None
    if as_json:
        typer.echo(summary_json(summary))
    else:
        print_sync_summary(summary, Console())
    if not no_index and settings.index_on_sync:
        _refresh_index(settings, console, quiet=as_json)


def _request_periods(settings: Settings, texts: list[str], console: Console) -> None:
    from tools.periods import PeriodError, parse_period
    from tools.store import Store
    from tools.sync import request_detail_period

    store = Store.open(settings.database_url)
    try:
        for text in texts:
            try:
                period = parse_period(text, settings.today())
            except PeriodError as exc:
                raise fail(f"--details {text!r}: {exc}", 2, console) from None
            request_detail_period(store, period.start, period.end)
            console.print(f"entry details requested for {period.describe()}")
    finally:
        store.close()


def _refresh_index(settings: Settings, console: Console, *, quiet: bool) -> None:
    from tools.index.refresh import refresh_after_sync

    with console.status("refreshing the similar-task index"):
        refreshed = refresh_after_sync(settings.database_url, settings.index, enabled=settings.index_on_sync)
    if refreshed is None:
        console.print(
            "[yellow]warning:[/yellow] similar-task index not refreshed: run `effort index refresh`"
        )
    elif not quiet:
        Console().print(
            f"index: {refreshed.upserted} upserted, {refreshed.deleted} deleted, "
            f"{refreshed.unchanged} unchanged ({refreshed.indexed} tasks) in {refreshed.seconds:.1f}s"
        )
