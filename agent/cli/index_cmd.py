"""`effort index …`: the similar-task index (refresh from the store, status, search)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.cli.common import ConfigOpt, fail, settings_or_exit

if TYPE_CHECKING:
    from agent.config import Settings

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py

index_app = typer.Typer(help="The similar-task index (Chroma) of past tasks.", no_args_is_help=True)
app.add_typer(index_app, name="index")
console = Console()


def _where(settings: Settings) -> str:
    return f"Chroma server {settings.chroma_url}" if settings.chroma_url else str(settings.chroma_path)


@index_app.command("refresh")
def refresh(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Re-embed every task.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Bring the index up to date with the store (only new or changed tasks are embedded)."""
    from tools.index.refresh import refresh_from_store
    from tools.index.store import IndexError_

    settings = settings_or_exit(config)
    try:
        result = refresh_from_store(settings.database_url, settings.index, rebuild=rebuild)
    except IndexError_ as exc:
        raise fail(str(exc)) from None
    console.print(
        f"index ({_where(settings)}): {result.upserted} upserted, {result.deleted} deleted, "
        f"{result.unchanged} unchanged; {result.indexed} tasks indexed in {result.seconds:.1f}s"
    )


@index_app.command("status")
def status(config: ConfigOpt = None) -> None:
    """Where the index is and how many tasks it holds."""
    from tools.index.store import IndexError_, TaskIndex

    settings = settings_or_exit(config)
    if not settings.chroma_url and not settings.chroma_path.exists():
        console.print(f"no index yet at {settings.chroma_path}: run `effort sync` or `effort index refresh`")
        return
    try:
        index = TaskIndex.open(settings.index)
    except IndexError_ as exc:
        raise fail(str(exc)) from None
    console.print(f"index ({_where(settings)}): {index.count()} tasks, model {index.embedder.name()}")


@index_app.command("similar")
def similar(
    text: Annotated[str, typer.Argument(help="A task title or description to match.")],
    k: Annotated[int, typer.Option("-k", min=1, max=50, help="How many similar tasks.")] = 5,
    include_open: Annotated[bool, typer.Option("--include-open", help="Also open tasks.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: ConfigOpt = None,
) -> None:
    """The past tasks most similar to TEXT, with their estimates and actual hours."""
    from tools.index.store import IndexError_, TaskIndex

    settings = settings_or_exit(config)
    if not settings.chroma_url and not settings.chroma_path.exists():
        raise fail(f"no index at {settings.chroma_path}: run `effort sync` or `effort index refresh` first")
    try:
        hits = TaskIndex.open(settings.index).similar(text, k, completed_only=not include_open)
    except IndexError_ as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps([h.model_dump(mode="json") for h in hits], indent=2))
        return
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
