"""`effort approvals …` and `effort rollback RUN_ID`: decide on pending batches from any process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from agent.cli.common import ConfigOpt, JsonOpt, settings_or_exit

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py

approvals_app = typer.Typer(
    help="List, show and decide pending approvals (they survive restarts).", no_args_is_help=True
)
app.add_typer(approvals_app, name="approvals")
console = Console()

ApproverOpt = Annotated[
    str | None, typer.Option("--approver", help="Who decides (default EFFORT_APPROVER / $USER)")
]


@contextmanager
def _session(config: Path | None, *, need_writer: bool) -> Iterator[tuple[Any, Any, Any]]:
    """(settings, checkpointer, writer-or-None) for one command."""
    from agent.checkpoint import open_checkpointer

    settings = settings_or_exit(config, console)
    with open_checkpointer(settings) as saver:
        writer = None
        if need_writer:
            from agent.writer import writer_from_settings
            from tools.gateway.errors import GatewayError

            try:
                writer = writer_from_settings(settings)
            except GatewayError as exc:
                console.print(f"[red]cannot reach Asana: {exc}[/red]")
                raise typer.Exit(2) from None
        try:
            yield settings, saver, writer
        finally:
            if writer is not None:
                writer.gateway.close()


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(code)


def _print_results(results: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(results, default=str, indent=2))
        return
    table = Table("proposal", "status", "target", "field", "before", "after", "note")
    for r in results:
        table.add_row(
            str(r.get("proposal_id")),
            str(r.get("status")),
            str(r.get("target_gid") or ""),
            str(r.get("field_name") or ""),
            json.dumps(r.get("before"), default=str),
            json.dumps(r.get("after"), default=str),
            str(r.get("error") or ""),
        )
    console.print(table)


@approvals_app.command("list")
def list_cmd(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Pending approval batches (one per waiting thread)."""
    from agent.approvals_service import list_pending

    with _session(config, need_writer=False) as (_s, saver, _w):
        pending = list_pending(saver)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "id": p.thread_id,
                        "graph": p.graph,
                        "run_id": p.run_id,
                        "created_at": p.created_at,
                        "items": [q.id for q in p.proposals],
                    }
                    for p in pending
                ],
                default=str,
                indent=2,
            )
        )
        return
    if not pending:
        console.print("No pending approvals.")
        return
    table = Table("id", "graph", "run", "created", "items", "significant")
    for p in pending:
        table.add_row(
            p.thread_id,
            p.graph,
            str(p.run_id or ""),
            str(p.created_at or ""),
            str(len(p.proposals)),
            str(sum(q.significant for q in p.proposals)),
        )
    console.print(table)


@approvals_app.command("show")
def show_cmd(approval_id: str, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Every proposal of one batch, with its evidence."""
    from agent.approvals_service import ApprovalNotFound, get_pending

    with _session(config, need_writer=False) as (_s, saver, _w):
        try:
            pending = get_pending(saver, approval_id)
        except ApprovalNotFound as exc:
            _fail(str(exc))
            return
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "id": pending.thread_id,
                    "graph": pending.graph,
                    "run_id": pending.run_id,
                    "items": pending.items,
                },
                default=str,
                indent=2,
            )
        )
        return
    console.print(f"[bold]{pending.thread_id}[/bold]  graph={pending.graph}  run={pending.run_id}")
    for n, item in enumerate(pending.items, start=1):
        req = item["action_request"]
        console.print(f"\n[bold]{n}. {req['action']}[/bold]  ({req['args'].get('proposal_id')})")
        console.print(json.dumps(req["args"], default=str))
        console.print(item.get("description") or "")


def _decide(
    approval_id: str,
    action: Literal["approve", "reject", "edit"],
    *,
    config: Path | None,
    approver: str | None,
    items: list[str] | None = None,
    edits: dict[str, str] | None = None,
    approve_rest: bool = False,
    note: str | None = None,
    as_json: bool = False,
) -> None:
    from agent.approval import ApprovalResumeError
    from agent.approvals_service import ApprovalNotFound, decisions_for, get_pending, resume

    with _session(config, need_writer=True) as (settings, saver, writer):
        who = approver or settings.approver
        try:
            pending = get_pending(saver, approval_id)
            decisions = decisions_for(
                pending,
                action,
                approver=who,
                items=items,
                edits=edits,
                approve_rest=approve_rest,
                note=note,
            )
        except (ApprovalNotFound, ApprovalResumeError) as exc:
            _fail(str(exc))
            return
        out = resume(saver, pending, decisions, writer=writer, settings=settings, approver=who)
    ids = {p.id for p in pending.proposals}
    _print_results([a for a in out.get("applied") or [] if a.get("proposal_id") in ids], as_json)


@approvals_app.command("approve")
def approve_cmd(
    approval_id: str,
    items: Annotated[
        list[str] | None,
        typer.Option(
            "--items", help="Only these items (ids, prefixes or 1-based numbers); the rest are rejected"
        ),
    ] = None,
    note: Annotated[str | None, typer.Option("--note")] = None,
    config: ConfigOpt = None,
    approver: ApproverOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve a batch (or some of its items) and apply it now."""
    flat = [i for raw in items or [] for i in raw.split(",") if i.strip()]
    _decide(
        approval_id,
        "approve",
        config=config,
        approver=approver,
        items=flat or None,
        note=note,
        as_json=as_json,
    )


@approvals_app.command("reject")
def reject_cmd(
    approval_id: str,
    note: Annotated[str | None, typer.Option("--note")] = None,
    config: ConfigOpt = None,
    approver: ApproverOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject every item of a batch (recorded; nothing is written)."""
    _decide(approval_id, "reject", config=config, approver=approver, note=note, as_json=as_json)


@approvals_app.command("edit")
def edit_cmd(
    approval_id: str,
    item: Annotated[
        list[str], typer.Option("--item", help="Item to edit (id, prefix or number); repeatable")
    ],
    value: Annotated[list[str], typer.Option("--value", help="New value for the matching --item")],
    approve_rest: Annotated[
        bool, typer.Option("--approve-rest", help="Accept the other items unchanged")
    ] = False,
    config: ConfigOpt = None,
    approver: ApproverOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Edit item values, approve them, and apply (other items are rejected unless --approve-rest)."""
    if len(item) != len(value):
        _fail("give one --value per --item", 2)
    _decide(
        approval_id,
        "edit",
        config=config,
        approver=approver,
        edits=dict(zip(item, value, strict=True)),
        approve_rest=approve_rest,
        as_json=as_json,
    )


@approvals_app.command("resume")
def resume_cmd(
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run")] = None,
    config: ConfigOpt = None,
    approver: ApproverOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Finish approved-but-unapplied writes (after a crash) and threads stopped before their apply step."""
    from agent.approvals_service import finish_interrupted

    with _session(config, need_writer=True) as (settings, saver, writer):
        who = approver or settings.approver
        results = [r.summary() for r in writer.resume(run_id=run_id, approver=who)]
        threads = [] if run_id else finish_interrupted(saver, writer=writer, settings=settings, approver=who)
    _print_results(results, as_json)
    if threads and not as_json:
        console.print(f"finished the apply step of {len(threads)} thread(s)")


@approvals_app.command("poll")
def poll_cmd(config: ConfigOpt = None) -> None:
    """Optimize phase: create Asana approval subtasks for significant items; resume decided batches."""
    from agent.approvals_service import poll_asana

    with _session(config, need_writer=True) as (settings, saver, writer):
        report = poll_asana(saver, writer=writer, settings=settings)
    for thread, what in report.items():
        console.print(f"{thread}: {what}")
    if not report:
        console.print("nothing to poll (optimize phase only, significant items only)")


@app.command("rollback")
def rollback_cmd(
    run_id: str,
    config: ConfigOpt = None,
    approver: ApproverOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Undo a run's writes: restore field before-values, delete the tasks and comments it created."""
    with _session(config, need_writer=True) as (settings, _saver, writer):
        results = writer.rollback(run_id, approver=approver or settings.approver)
    if not results and not as_json:
        console.print(f"nothing to roll back for run {run_id}")
        return
    _print_results([r.summary() for r in results], as_json)
