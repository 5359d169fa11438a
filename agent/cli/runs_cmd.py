"""`effort runs list|show|abandon` and `effort rollback`: find a run again, end a stuck one, undo one.

Wherever a run id is asked for, the approval id (the thread id `effort approvals` shows) or a unique
prefix of either works. `effort rollback` shows what it will undo and asks before it does anything
(`--yes` for scripts, `--dry-run` to only look); an item that could not be restored is tried again by
the next rollback.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agent.cli.approvals_cmd import ApproverOpt, print_results, session
from agent.cli.common import ConfigOpt, JsonOpt, fail

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py

runs_app = typer.Typer(
    help="Runs: what was proposed, decided, written; abandon a stuck one.", no_args_is_help=True
)
app.add_typer(runs_app, name="runs")
console = Console()

YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do it without asking (scripts)")]


def _audit(settings: Any) -> Any:
    from agent.audit import AuditLog
    from tools.redact import Redactor
    from tools.store import Store

    return AuditLog(Store.open(settings.database_url).engine, Redactor(settings.secrets()))


def _resolve(settings: Any, saver: Any, audit: Any, ident: str) -> str:
    from agent.run_history import RunNotFound, resolve

    try:
        return resolve(audit, saver, settings, ident)
    except RunNotFound as exc:
        raise fail(str(exc), code=1) from None


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise fail("not asking on a non-interactive input: add --yes to go ahead, or --dry-run to look")
    if not typer.confirm(question, default=False):
        console.print("Nothing done.")
        raise typer.Exit(1)


@runs_app.command("list")
def list_cmd(
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many runs")] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Runs newest first: waiting for a decision, stopped, decided, rolled back."""
    from agent.run_history import list_runs

    with session(config, need_writer=False) as (settings, saver, _w):
        runs = list_runs(_audit(settings), saver, settings, limit=limit)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in runs], indent=2))
        return
    if not runs:
        console.print("No runs yet.")
        return
    table = Table("run", "approval id", "graph", "state", "items", "outcome", "last activity")
    for r in runs:
        outcome = ", ".join(f"{n} {s}" for s, n in sorted(r.outcomes.items()))
        when = r.last.strftime("%Y-%m-%d %H:%M") if r.last else ""
        table.add_row(r.run_id, r.approval_id or "", r.graph or "", r.state, str(r.items), outcome, when)
    console.print(table)


@runs_app.command("show")
def show_cmd(run: str, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """One run item by item: proposal, decision (with its note), write, rollback."""
    from agent.run_history import list_runs, run_items

    with session(config, need_writer=False) as (settings, saver, _w):
        audit = _audit(settings)
        run_id = _resolve(settings, saver, audit, run)
        summary = next(r for r in list_runs(audit, saver, settings, limit=10_000) if r.run_id == run_id)
        items = run_items(audit, run_id)
    if as_json:
        payload = {
            "run": summary.model_dump(mode="json"),
            "items": [i.model_dump(mode="json") for i in items],
        }
        typer.echo(json.dumps(payload, default=str, indent=2))
        return
    console.print(
        f"[bold]{run_id}[/bold]  approval {summary.approval_id or '-'}  graph {summary.graph or '-'}  "
        f"state {summary.state}  items {summary.items}",
        highlight=False,
    )
    if summary.state == "waiting":
        console.print(f"Waiting for a decision: effort approvals show {summary.approval_id}", highlight=False)
    table = Table("proposal", "change", "decision", "by", "write", "rollback", "note / error")
    for i in items:
        table.add_row(
            i.proposal_id,
            (i.description or f"{i.kind} {i.field_name or ''} on {i.target_gid}")[:70],
            i.decision or "",
            i.approver or "",
            i.write or "",
            i.rollback or "",
            (i.error or i.note or "")[:80],
        )
    if items:
        console.print(table)


@runs_app.command("abandon")
def abandon_cmd(
    run: str,
    note: Annotated[
        str | None, typer.Option("--note", help="Why (recorded with each withdrawn item)")
    ] = None,
    yes: YesOpt = False,
    config: ConfigOpt = None,
    approver: ApproverOpt = None,
) -> None:
    """End a waiting or stopped run for good: nothing of it is written; the next run of that scope and
    period starts afresh."""
    from agent.run_history import RunNotFound, abandon, list_runs

    with session(config, need_writer=False) as (settings, saver, _w):
        audit = _audit(settings)
        run_id = _resolve(settings, saver, audit, run)
        summary = next(r for r in list_runs(audit, saver, settings, limit=10_000) if r.run_id == run_id)
        if summary.state not in ("waiting", "stopped") or not summary.approval_id:
            raise fail(
                f"run {run_id} is {summary.state}: only a waiting or stopped run can be abandoned", code=1
            )
        _confirm(f"Abandon run {run_id} ({summary.items} item(s), nothing will be written)?", yes)
        try:
            withdrawn = abandon(
                saver, audit, summary.approval_id, approver=approver or settings.approver, note=note
            )
        except RunNotFound as exc:
            raise fail(str(exc), code=1) from None
    console.print(
        f"Abandoned {run_id}: {withdrawn} item(s) withdrawn; nothing of it will be written.", highlight=False
    )


@app.command("rollback")
def rollback_cmd(
    run: Annotated[str, typer.Argument(help="Run id, approval id, or a unique prefix of either")],
    yes: YesOpt = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only show what would be undone")] = False,
    config: ConfigOpt = None,
    approver: ApproverOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Undo a run's writes: restore field before-values, delete the tasks, comments and entries it made.
    Shows what it will do and asks first; an item not restored is tried again by the next rollback."""
    from agent.writer.rollback import plan_rollback

    with session(config, need_writer=False) as (settings, saver, _w):
        audit = _audit(settings)
        run_id = _resolve(settings, saver, audit, run)
        steps = plan_rollback(audit, run_id)
    if not steps:
        message = f"nothing to roll back for run {run_id}: every write it made is already undone (or it wrote nothing)"
        typer.echo(json.dumps({"run_id": run_id, "plan": [], "results": []}) if as_json else message)
        return
    plan = [{"proposal_id": s.row.proposal_id, "undo": s.describe()} for s in steps]
    if as_json and dry_run:
        typer.echo(json.dumps({"run_id": run_id, "plan": plan, "results": []}, indent=2))
        return
    if not as_json:
        console.print(f"Rolling back run {run_id} would:", highlight=False)
        for n, step in enumerate(plan, start=1):
            console.print(f"  {n}. {step['undo']}", highlight=False)
    if dry_run:
        return
    _confirm(f"Undo these {len(steps)} write(s) in Asana?", yes)
    with session(config, need_writer=True) as (settings, _saver, writer):
        results = [r.summary() for r in writer.rollback(run_id, approver=approver or settings.approver)]
    if as_json:
        typer.echo(json.dumps({"run_id": run_id, "plan": plan, "results": results}, default=str, indent=2))
    else:
        print_results(results, only_problems=True, fine=("rolled_back", "skipped"))
        restored = sum(1 for r in results if r.get("status") in ("rolled_back", "skipped"))
        console.print(f"{restored} of {len(results)} undone.", highlight=False)
    if any(r.get("status") not in ("rolled_back", "skipped") for r in results):
        left = sum(1 for r in results if r.get("status") not in ("rolled_back", "skipped"))
        raise fail(f"{left} item(s) not undone; run `effort rollback {run_id}` again once fixed", code=1)
