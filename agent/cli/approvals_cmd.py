"""`effort approvals …`: list, show and decide pending batches from any process.

Output for people is rendered Markdown (items grouped per task, names, links to the configured Asana);
`--json` is for scripts. Every decision ends with a one-line summary; an approved item that was not
written (refused, failed, stale) makes the exit code 1. Errors are one `error:` line on stderr.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from agent.cli.common import ConfigOpt, JsonOpt, fail, settings_or_exit
from agent.cli.failures import clear_errors

if TYPE_CHECKING:
    from agent.config import Settings

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
def session(config: Path | None, *, need_writer: bool) -> Iterator[tuple[Settings, Any, Any]]:
    """(settings, checkpointer, writer-or-None) for one command; failures are one clear line."""
    from agent.checkpoint import open_checkpointer

    settings = settings_or_exit(config)
    with clear_errors(settings), open_checkpointer(settings) as saver:
        writer = None
        if need_writer:
            from agent.writer import writer_from_settings

            writer = writer_from_settings(settings)
        try:
            yield settings, saver, writer
        finally:
            if writer is not None:
                writer.gateway.close()


def _names(settings: Settings) -> Any:
    from agent.cli.approvals_view import Names
    from tools.store import Store

    return Names(Store.open(settings.database_url))


def print_results(
    results: Sequence[dict[str, Any]],
    *,
    only_problems: bool = False,
    fine: tuple[str, ...] = ("applied", "rejected"),
) -> None:
    """The results as a table (with ``only_problems``: only the rows whose status is not ``fine``)."""
    rows = [r for r in results if not only_problems or str(r.get("status")) not in fine]
    if not rows:
        return
    table = Table("proposal", "status", "target", "field", "before", "after", "note")
    for r in rows:
        table.add_row(
            str(r.get("proposal_id")),
            str(r.get("status")),
            str(r.get("target_gid") or ""),
            str(r.get("field_name") or ""),
            json.dumps(r.get("before"), default=str),
            json.dumps(r.get("after"), default=str),
            str(r.get("error") or r.get("note") or ""),
        )
    console.print(table)


@approvals_app.command("list")
def list_cmd(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Pending approval batches (one per waiting thread)."""
    from agent.approvals_service import list_pending
    from agent.asana_approvals import needs_asana_approval

    with session(config, need_writer=False) as (settings, saver, _w):
        pending = list_pending(saver)
    if as_json:
        rows = [
            {
                "id": p.thread_id,
                "graph": p.graph,
                "run_id": p.run_id,
                "created_at": p.created_at,
                "items": [q.id for q in p.proposals],
                "needs_asana_approval": sum(needs_asana_approval(q, settings) for q in p.proposals),
            }
            for p in pending
        ]
        typer.echo(json.dumps(rows, default=str, indent=2))
        return
    if not pending:
        console.print("No pending approvals.")
        return
    table = Table("id", "graph", "run", "waiting since", "items", "need Asana approval")
    for p in pending:
        table.add_row(
            p.thread_id,
            p.graph,
            str(p.run_id or ""),
            p.created_at.strftime("%Y-%m-%d %H:%M") if p.created_at else "",
            str(len(p.proposals)),
            str(sum(needs_asana_approval(q, settings) for q in p.proposals)),
        )
    console.print(table)
    console.print("Show one with: effort approvals show ID")


@approvals_app.command("show")
def show_cmd(approval_id: str, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Every proposal of one batch, grouped per task, with names and links."""
    from agent.approvals_service import ApprovalNotFound, get_pending
    from agent.cli.approvals_view import pending_json, render_pending

    with session(config, need_writer=False) as (settings, saver, _w):
        try:
            pending = get_pending(saver, approval_id)
        except ApprovalNotFound as exc:
            raise fail(str(exc), code=1) from None
        names = _names(settings)
        if as_json:
            typer.echo(json.dumps(pending_json(pending, settings, names), default=str, indent=2))
            return
        from rich.markdown import Markdown

        console.print(Markdown(render_pending(pending, settings, names)))


def decide(
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
    from agent.approvals_service import AlreadyDecided, ApprovalNotFound, decisions_for, get_pending, resume
    from agent.cli.approvals_view import decision_summary, has_problems

    settings = settings_or_exit(config)
    who = approver or settings.approver
    with session(config, need_writer=False) as (_s, saver, _w):  # validate before touching Asana
        try:
            pending = get_pending(saver, approval_id)
            decisions = decisions_for(
                pending, action, approver=who, items=items, edits=edits, approve_rest=approve_rest, note=note
            )
        except ApprovalNotFound as exc:
            raise fail(str(exc), code=1) from None
        except ApprovalResumeError as exc:
            raise fail(str(exc), code=2) from None
    with session(config, need_writer=True) as (settings, saver, writer):
        try:
            out = resume(saver, pending, decisions, writer=writer, settings=settings, approver=who)
        except AlreadyDecided as exc:
            raise fail(f"{exc}; see `effort runs show {pending.thread_id}`", code=1) from None
    ids = {p.id for p in pending.proposals}
    results = [a for a in out.get("applied") or [] if a.get("proposal_id") in ids]
    line = decision_summary(decisions, results, note=note)
    if as_json:
        typer.echo(json.dumps({"summary": line, "results": results}, default=str, indent=2))
    else:
        print_results(results, only_problems=True)
        console.print(line, highlight=False)
        console.print(f"Run details: effort runs show {pending.thread_id}", highlight=False)
    if has_problems(decisions, results):
        raise typer.Exit(1)


def _split(values: list[str] | None) -> list[str] | None:
    """``--items 1,3 --items 5`` -> ["1", "3", "5"]; ``--items ''`` -> [] (selects nothing: an error)."""
    if values is None:
        return None
    return [part for raw in values for part in raw.split(",")]


@approvals_app.command("approve")
def approve_cmd(
    approval_id: str,
    items: Annotated[
        list[str] | None,
        typer.Option(
            "--items", help="Only these items (ids, prefixes or 1-based numbers); the rest are rejected"
        ),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Recorded with the decision")] = None,
    config: ConfigOpt = None,
    approver: ApproverOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Approve a batch (or some of its items) and apply it now."""
    decide(
        approval_id,
        "approve",
        config=config,
        approver=approver,
        items=_split(items),
        note=note,
        as_json=as_json,
    )


@approvals_app.command("reject")
def reject_cmd(
    approval_id: str,
    note: Annotated[str | None, typer.Option("--note", help="Recorded with the decision")] = None,
    config: ConfigOpt = None,
    approver: ApproverOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reject every item of a batch (recorded; nothing is written)."""
    decide(approval_id, "reject", config=config, approver=approver, note=note, as_json=as_json)


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
    note: Annotated[str | None, typer.Option("--note", help="Recorded with the decision")] = None,
    config: ConfigOpt = None,
    approver: ApproverOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Edit item values, approve them, and apply (other items are rejected unless --approve-rest)."""
    if len(item) != len(value):
        raise fail("give one --value per --item")
    keys = [i.strip() for i in item]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise fail(f"--item {', '.join(repeated)} is given more than once: give each item one --value")
    decide(
        approval_id,
        "edit",
        config=config,
        approver=approver,
        edits=dict(zip(keys, value, strict=True)),
        approve_rest=approve_rest,
        note=note,
        as_json=as_json,
    )


@approvals_app.command("resume")
def resume_cmd(
    run_id: Annotated[str | None, typer.Option("--run", help="Only this run")] = None,
    config: ConfigOpt = None,
    approver: ApproverOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Finish approved-but-unapplied writes (after a crash) and threads stopped before their apply step.
    Safe to run from several processes at once: each item is written once."""
    from agent.approvals_service import finish_interrupted

    with session(config, need_writer=True) as (settings, saver, writer):
        who = approver or settings.approver
        results = [r.summary() for r in writer.resume(run_id=run_id, approver=who)]
        threads = [] if run_id else finish_interrupted(saver, writer=writer, settings=settings, approver=who)
    if as_json:
        typer.echo(json.dumps(results, default=str, indent=2))
    else:
        print_results(results)
        done = sum(1 for r in results if r.get("status") == "applied")
        console.print(
            f"{len(results)} unfinished item(s): {done} applied"
            + (f"; finished the apply step of {len(threads)} thread(s)" if threads else ""),
            highlight=False,
        )
    if any(str(r.get("status")) in ("refused", "failed", "stale") for r in results):
        raise typer.Exit(1)


@approvals_app.command("poll")
def poll_cmd(config: ConfigOpt = None) -> None:
    """Optimize phase: create Asana approval subtasks for significant items; resume decided batches."""
    from agent.approvals_service import poll_asana

    with session(config, need_writer=True) as (settings, saver, writer):
        report = poll_asana(saver, writer=writer, settings=settings)
    for thread, what in report.items():
        console.print(f"{thread}: {what}", highlight=False)
    if not report:
        console.print("nothing to poll (optimize phase only, significant items only)")
