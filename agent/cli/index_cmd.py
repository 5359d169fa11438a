"""`effort index …`: the similar-task index (refresh from the store, status, search).

A refresh shows its progress (stage, tasks embedded of how many, ETA) on stderr; every command states
how fresh the store it reads is (``tools/freshness.py``), says "nothing synced yet" on an empty store,
and prints JSON with ``--json``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli.common import ConfigOpt, JsonOpt, fail, settings_or_exit, stderr_console, working

if TYPE_CHECKING:
    from agent.config import Settings
    from tools.freshness import Freshness

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py

index_app = typer.Typer(help="The similar-task index (Chroma) of past tasks.", no_args_is_help=True)
app.add_typer(index_app, name="index")
console = Console()


def _where(settings: Settings) -> str:
    return f"Chroma server {settings.chroma_url}" if settings.chroma_url else str(settings.chroma_path)


def _freshness(settings: Settings) -> Freshness:
    from tools.freshness import Freshness, never_synced, store_freshness
    from tools.store import Store

    if never_synced(settings.database_url):
        return Freshness()
    try:
        store = Store.open(settings.database_url)
    except Exception as exc:  # a missing or locked database: say so, no traceback
        raise fail(f"cannot read the store ({type(exc).__name__}): run `effort sync` first?", 1) from None
    try:
        return store_freshness(store)
    finally:
        store.close()


def _no_index(settings: Settings) -> bool:
    return not settings.chroma_url and not settings.chroma_path.exists()


def _echo_json(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2))


@index_app.command("refresh")
def refresh(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed every task.")] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Bring the index up to date with the store (only new or changed tasks are embedded)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with working("reading the store…"):
        from tools.index.refresh import refresh_from_store
        from tools.index.store import IndexError_

        settings = settings_or_exit(config)
        freshness = _freshness(settings)
    if freshness.empty:
        raise fail(f"{freshness.describe()}: the index is built from the store", 1)
    err = stderr_console()
    err.print(f"[dim]{freshness.describe()}[/dim]", soft_wrap=True, highlight=False)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("starting", total=None)

        def on_progress(stage: str, done: int, total: int | None) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        try:
            result = refresh_from_store(
                settings.database_url, settings.index, rebuild=rebuild, progress=on_progress
            )
        except IndexError_ as exc:
            raise fail(str(exc)) from None
    if as_json:
        return _echo_json(
            {
                **result.model_dump(mode="json"),
                "where": _where(settings),
                "data_freshness": freshness.describe(),
            }
        )
    console.print(
        f"index ({_where(settings)}): {result.upserted} upserted, {result.deleted} deleted, "
        f"{result.unchanged} unchanged; {result.indexed} tasks indexed in {result.seconds:.1f}s",
        soft_wrap=True,
    )


@index_app.command("status")
def status(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Where the index is, how many tasks it holds, and how fresh the store behind it is."""
    with working("opening the store and the index…"):
        from tools.index.store import IndexError_, TaskIndex

        settings = settings_or_exit(config)
        freshness = _freshness(settings)
        tasks: int | None = None
        model: str | None = None
        if not _no_index(settings):
            try:
                index = TaskIndex.open(settings.index)
            except IndexError_ as exc:
                raise fail(str(exc)) from None
            tasks, model = index.count(), index.embedder.name()
    if as_json:
        return _echo_json(
            {
                "where": _where(settings),
                "exists": tasks is not None,
                "tasks": tasks,
                "model": model,
                "store_tasks": freshness.tasks,
                "data_freshness": freshness.describe(),
            }
        )
    console.print(f"store: {freshness.describe()}", soft_wrap=True)
    if tasks is None:
        hint = "run `effort sync`" if freshness.empty else "run `effort index refresh`"
        console.print(f"no index yet at {settings.chroma_path}: {hint}", soft_wrap=True)
        return
    behind = f" ([yellow]{freshness.tasks - tasks} behind the store[/yellow]: `effort index refresh`)"
    console.print(
        f"index ({_where(settings)}): {tasks} tasks, model {model}"
        + (behind if tasks < freshness.tasks else ""),
        soft_wrap=True,
    )


@index_app.command("similar")
def similar(
    text: Annotated[str, typer.Argument(help="A task title or description to match.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many similar tasks.")] = 5,
    include_open: Annotated[bool, typer.Option("--include-open", help="Also open tasks.")] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The past tasks most similar to TEXT, with their estimates and actual hours."""
    with working("searching the index…"):
        from tools.index.store import IndexError_, TaskIndex

        settings = settings_or_exit(config)
        freshness = _freshness(settings)
        if freshness.empty:
            raise fail(freshness.describe(), 1)
        if _no_index(settings):
            raise fail(f"no index at {settings.chroma_path}: run `effort index refresh` first", 1)
        try:
            hits = TaskIndex.open(settings.index).similar(text, k, completed_only=not include_open)
        except IndexError_ as exc:
            raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps([h.model_dump(mode="json") for h in hits], indent=2))
        return
    console.print(f"[dim]{freshness.describe()}[/dim]", soft_wrap=True, highlight=False)
    table = Table(title=f"tasks similar to {text[:60]!r}")
    for col in ("similarity", "task", "estimate h", "actual h", "assignee"):
        table.add_column(col, justify="right" if col.endswith("h") or col == "similarity" else "left")

    def hours(value: Any) -> str:
        return "-" if value is None else f"{value:.1f}"

    for h in hits:
        table.add_row(
            f"{h.similarity:.2f}",
            escape(h.title[:70]),
            hours(h.estimate_hours),
            hours(h.actual_hours),
            escape(h.assignee_name or h.assignee or "-"),
        )
    console.print(table)
