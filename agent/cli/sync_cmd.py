"""`effort sync`: pull the scope from Asana (or the sandbox) into the local store."""

from __future__ import annotations

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
)
from rich.table import Table

from agent.cli.common import ConfigOpt, settings_or_exit
from tools.redact import install_redaction

if TYPE_CHECKING:  # heavy (sqlalchemy, pydantic-settings): `effort --help` must not load them
    from agent.config import Settings
    from tools.sync import SyncSummary

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py

_STAGES = {
    "users": "people",
    "projects": "projects",
    "tasks": "tasks (by project)",
    "entries": "time entries",
    "stories": "stories",
    "events": "events",
}


def sync_with_progress(
    settings: Settings, console: Console, *, full: bool, stories: bool = False
) -> SyncSummary:
    """Run a sync with a rich progress bar per stage; raises GatewayError subclasses on failure."""
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
                console=console,
                transient=True,
            ) as bar,
        ):
            ids: dict[str, TaskID] = {}

            def progress(stage: str, done: int, total: int | None) -> None:
                if stage not in ids:
                    ids[stage] = bar.add_task(_STAGES.get(stage, stage), total=total)
                bar.update(ids[stage], completed=done, total=total)

            return sync_workspace(gateway, store, settings, full=full, progress=progress, stories=stories)
    finally:
        store.close()


def print_sync_summary(summary: SyncSummary, out: Console) -> None:
    """What changed, per kind, and what the sync cost in requests."""
    table = Table(title=f"effort sync: {summary.mode}")
    for col in ("kind", "created", "updated", "deleted", "unchanged"):
        table.add_column(col, justify="left" if col == "kind" else "right")
    for kind, c in sorted(summary.counts.items()):
        table.add_row(kind, str(c.created), str(c.updated), str(c.deleted), str(c.unchanged))
    out.print(table)
    out.print(
        f"{summary.requests} requests ({summary.retries} retries, {summary.rate_limited} rate-limited) "
        f"in {summary.duration_s:.1f}s; {summary.skipped} values skipped"
    )
    for skip in summary.skips[:10]:
        out.print(f"  skipped {skip['kind']} {skip['gid']}: {skip['reason']}")
    for warning in summary.warnings:
        out.print(f"[yellow]warning:[/yellow] {warning}")


@app.command("sync")
def sync_command(
    full: Annotated[
        bool, typer.Option("--full", help="Re-crawl everything instead of reading events.")
    ] = False,
    stories: Annotated[
        bool, typer.Option("--stories", help="Also read task stories (comments, exact estimate history).")
    ] = False,
    no_index: Annotated[
        bool, typer.Option("--no-index", help="Do not refresh the similar-task index afterwards.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Sync projects, tasks, time entries and custom fields into the local store, then refresh the
    similar-task index (only new or changed tasks are embedded)."""
    from tools.gateway import AuthError, ConnectionFailed, GatewayError

    console = Console(stderr=True)
    settings = settings_or_exit(config, console)
    token = settings.asana_access_token.get_secret_value() if settings.asana_access_token else ""
    if not token:
        console.print(
            "[red]error:[/red] no Asana token: set ASANA_ACCESS_TOKEN (or run `effort sandbox serve`)"
        )
        raise typer.Exit(2)
    redactor = install_redaction(settings.secrets())  # the redactor itself, for the messages below
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    try:
        summary = sync_with_progress(settings, console, full=full, stories=stories)
    except AuthError as exc:
        console.print(
            f"[red]error:[/red] Asana refused the token ({exc.status}): check ASANA_ACCESS_TOKEN and its access"
        )
        raise typer.Exit(3) from None
    except ConnectionFailed:
        console.print(
            f"[red]error:[/red] cannot reach {redactor(settings.asana_base_url)}: is it running / reachable?"
        )
        raise typer.Exit(4) from None
    except GatewayError as exc:
        console.print(
            f"[red]error:[/red] sync failed: {redactor(str(exc))} (the next run resumes; nothing was lost)"
        )
        raise typer.Exit(5) from None
    print_sync_summary(summary, Console())
    if not no_index and settings.index_on_sync:
        from tools.index.refresh import refresh_after_sync

        with console.status("refreshing the similar-task index"):
            refreshed = refresh_after_sync(
                settings.database_url, settings.index, enabled=settings.index_on_sync
            )
        if refreshed is None:
            console.print(
                "[yellow]warning:[/yellow] similar-task index not refreshed: run `effort index refresh`"
            )
        else:
            Console().print(
                f"index: {refreshed.upserted} upserted, {refreshed.deleted} deleted, "
                f"{refreshed.unchanged} unchanged ({refreshed.indexed} tasks) in {refreshed.seconds:.1f}s"
            )
