"""`effort timesheet draft|approve|edit|reject`: a week's draft of time entries, confirmed by its person.

``draft`` builds the draft from the person's Asana activity, calendar file and usual day, minus what
they already logged, prints it (table or ``--json``) and leaves it waiting for that person's approval.
``approve`` creates the approved lines through the one writer (only when the approver is the person,
or their lead from ``[timesheets] leads``), ``edit`` changes a line before approval, ``reject`` drops
the draft. Nothing is written to Asana by ``draft``, ``edit`` or ``reject``.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.console import Console

from agent.cli.common import AsOfOpt, ConfigOpt, JsonOpt, fail, settings_or_exit

if TYPE_CHECKING:
    from agent.config import Settings
    from tools.analytics.timesheet import TimesheetDraft

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py
timesheet_app = typer.Typer(
    help="Weekly timesheet drafts from Asana activity; entries are created only after the person approves.",
    no_args_is_help=True,
)
app.add_typer(timesheet_app, name="timesheet")

PersonOpt = Annotated[str, typer.Option("--person", help="Name, email or gid of the person.")]
WeekOpt = Annotated[str, typer.Option("--week", help="ISO week (2026-W48), last-week or this-week.")]


@timesheet_app.command("draft")
def draft_command(
    person: PersonOpt,
    week: WeekOpt = "last-week",
    stories: Annotated[
        bool, typer.Option("--stories/--no-stories", help="Read assignment and section changes from Asana.")
    ] = True,
    propose: Annotated[
        bool,
        typer.Option("--propose/--no-propose", help="Leave the draft waiting for the person's approval."),
    ] = True,
    as_json: JsonOpt = False,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Draft a person's week of time entries (fills gaps, never duplicates what is logged) and leave
    it waiting for their approval; nothing is written to Asana."""
    settings = settings_or_exit(config, as_of=as_of)
    draft = _build(settings, person, week, stories=stories)
    thread = _submit(settings, draft) if propose and any(x.task_gid for x in draft.lines) else None
    if as_json:
        data = json.loads(draft.model_dump_json())
        data["approval_thread"] = thread
        typer.echo(json.dumps(data, indent=2))
        return
    print_draft(draft)
    if thread:
        Console().print(
            f"Waiting for {draft.person_name}'s approval (thread {thread}): effort timesheet approve "
            f"--person {_quote(draft.person_name)} --week {draft.week} [--lines 1,3]",
            markup=False,
            soft_wrap=True,
        )


def _quote(text: str) -> str:
    return f'"{text}"' if " " in text else text


def _submit(settings: Settings, draft: TimesheetDraft) -> str:
    from agent.checkpoint import open_checkpointer
    from agent.cli.failures import clear_errors
    from agent.timesheet_approvals import submit
    from tools.analytics.timesheet import TimesheetError

    with clear_errors(settings), open_checkpointer(settings) as saver:
        try:
            return submit(saver, draft)[0]
        except TimesheetError as exc:
            raise fail(str(exc)) from None


def _build(settings: Settings, person: str, week: str, *, stories: bool) -> TimesheetDraft:
    from agent.timesheets import build_draft
    from tools.analytics.timesheet import TimesheetError
    from tools.store import Store

    try:
        store = Store.open(settings.database_url)
    except Exception as exc:  # a missing or locked database: say so, without a traceback
        raise fail(f"cannot open the store ({type(exc).__name__}): run `effort sync` first") from None
    gateway = None
    try:
        if stories and settings.asana_access_token is not None:
            from tools.gateway import AsanaGateway

            gateway = AsanaGateway.from_settings(settings)
        return build_draft(settings, store, person, week, gateway=gateway)
    except TimesheetError as exc:
        raise fail(str(exc)) from None
    finally:
        if gateway is not None:
            gateway.close()
        store.close()


def print_draft(draft: TimesheetDraft) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    console.print(
        f"Timesheet draft {draft.week} ({draft.week_start.isoformat()} to {draft.week_end.isoformat()}) for "
        f"{escape(draft.person_name)}, as of {draft.as_of.isoformat()}: {draft.drafted_minutes / 60:.2f} h drafted, "
        f"{draft.logged_minutes / 60:.2f} h already logged (usual day {draft.usual_day_minutes / 60:.2f} h)"
    )
    days = Table(title="per day")
    for col in ("day", "logged", "drafted", ""):
        days.add_column(col, justify="left" if col in ("day", "") else "right")
    for d in draft.days:
        days.add_row(
            f"{d.day:%a %d %b}", f"{d.logged_minutes / 60:.2f} h", f"{d.drafted_minutes / 60:.2f} h", d.note
        )
    console.print(days)
    if draft.lines:
        table = Table(title="draft lines (approve, edit or reject by number)")
        for col in ("#", "day", "hours", "task", "project", "confidence", "why"):
            table.add_column(col, justify="right" if col in ("#", "hours") else "left")
        number = 0
        for x in draft.lines:
            task = x.task_name if x.task_gid else f"{x.task_name} (needs a task: add it by hand)"
            number += 1 if x.task_gid else 0
            table.add_row(
                str(number) if x.task_gid else "-", f"{x.entered_on:%a %d %b}", f"{x.minutes / 60:.2f}", escape(task),
                escape(x.project_name or ""), x.confidence, escape("; ".join(x.reasons)),
            )  # fmt: skip
        console.print(table)
    else:
        console.print("Nothing to add: every working day is logged up to the usual day.")
    for note in draft.notes:
        console.print(f"note: {note}", soft_wrap=True, markup=False)


ApproverOpt = Annotated[
    str | None,
    typer.Option(
        "--approver", help="Who approves: the person, or their lead (default EFFORT_APPROVER / $USER)."
    ),
]
LinesOpt = Annotated[
    str | None,
    typer.Option(
        "--lines", help="Only these lines (numbers from the draft, e.g. 1,3); the rest are rejected."
    ),
]


def _lines(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise fail(f"--lines takes line numbers like 1,3 (got {text!r})") from None


def _decide(
    action: Literal["approve", "reject"],
    person: str,
    week: str,
    *,
    lines: str | None,
    approver: str | None,
    note: str | None,
    as_json: bool,
    config: Any,
    as_of: str | None,
) -> None:
    from agent.approvals_service import AlreadyDecided
    from agent.checkpoint import open_checkpointer
    from agent.cli.failures import clear_errors
    from agent.timesheet_approvals import decide, waiting_draft
    from agent.timesheets import find_person
    from tools.analytics.timesheet import TimesheetError, parse_week
    from tools.store import Store

    settings = settings_or_exit(config, as_of=as_of)
    who = approver or settings.approver
    chosen = _lines(lines)
    with clear_errors(settings), open_checkpointer(settings) as saver:
        store = Store.open(settings.database_url)
        try:
            found = find_person(store.workspace(), person)
            _, label = parse_week(week, settings.today())
            waiting = waiting_draft(saver, found.gid, label)
            if waiting is None:
                raise TimesheetError(
                    f"no draft of {found.name} for {label} waits for approval "
                    f"(make one: effort timesheet draft --person {_quote(found.name)} --week {label})"
                )
            results = decide(settings, store, saver, waiting, action, approver=who, lines=chosen, note=note)
        except TimesheetError as exc:
            raise fail(str(exc)) from None
        except AlreadyDecided as exc:
            raise fail(str(exc), code=1) from None
        finally:
            store.close()
    made = [r for r in results if r.get("status") == "applied"]
    if as_json:
        typer.echo(
            json.dumps({"run_id": waiting.pending.thread_id, "results": results}, default=str, indent=2)
        )
    else:
        console = Console()
        for r in results:
            if r.get("status") not in ("applied", "rejected"):
                console.print(f"{r.get('status')}: {r.get('error') or ''}", markup=False, soft_wrap=True)
        console.print(
            f"{len(made)} entries created, {sum(r.get('status') == 'rejected' for r in results)} lines rejected."
            + (f" Undo with: effort rollback {waiting.pending.thread_id}" if made else ""),
            markup=False,
            soft_wrap=True,
        )
    if any(r.get("status") not in ("applied", "rejected") for r in results):
        raise typer.Exit(1)


@timesheet_app.command("approve")
def approve_command(
    person: PersonOpt,
    week: WeekOpt = "last-week",
    lines: LinesOpt = None,
    approver: ApproverOpt = None,
    as_json: JsonOpt = False,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Approve the waiting draft (all lines, or --lines): the entries are created in Asana, marked."""
    _decide(
        "approve",
        person,
        week,
        lines=lines,
        approver=approver,
        note=None,
        as_json=as_json,
        config=config,
        as_of=as_of,
    )


@timesheet_app.command("reject")
def reject_command(
    person: PersonOpt,
    week: WeekOpt = "last-week",
    note: Annotated[str | None, typer.Option("--note", help="Why (kept in the audit log).")] = None,
    approver: ApproverOpt = None,
    as_json: JsonOpt = False,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Reject the waiting draft: nothing is written."""
    _decide(
        "reject",
        person,
        week,
        lines=None,
        approver=approver,
        note=note,
        as_json=as_json,
        config=config,
        as_of=as_of,
    )


@timesheet_app.command("edit")
def edit_command(
    person: PersonOpt,
    line: Annotated[int, typer.Option("--line", help="The line to change (its number in the draft).")],
    week: WeekOpt = "last-week",
    hours: Annotated[float | None, typer.Option("--hours", help="New duration in hours (e.g. 1.5).")] = None,
    task: Annotated[str | None, typer.Option("--task", help="Log it to this task gid instead.")] = None,
    day: Annotated[str | None, typer.Option("--day", help="Log it on this day instead (YYYY-MM-DD).")] = None,
    approver: ApproverOpt = None,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Change one line of the waiting draft (hours, task or day); it waits again for approval."""
    from agent.checkpoint import open_checkpointer
    from agent.cli.failures import clear_errors
    from agent.timesheet_approvals import edit, waiting_draft
    from agent.timesheets import find_person
    from tools.analytics.timesheet import TimesheetError, parse_week
    from tools.store import Store

    if hours is None and task is None and day is None:
        raise fail("edit needs --hours, --task or --day")
    minutes = None
    if hours is not None:
        if not 0 < hours <= 24:
            raise fail(f"--hours must be between 0 and 24 (got {hours:g})")
        minutes = round(hours * 60)
    try:
        new_day = date.fromisoformat(day) if day else None
    except ValueError:
        raise fail(f"--day must be a date YYYY-MM-DD (got {day!r})") from None
    settings = settings_or_exit(config, as_of=as_of)
    who = approver or settings.approver
    with clear_errors(settings), open_checkpointer(settings) as saver:
        store = Store.open(settings.database_url)
        try:
            found = find_person(store.workspace(), person)
            monday, label = parse_week(week, settings.today())
            if new_day is not None and not 0 <= (new_day - monday).days <= 6:
                raise TimesheetError(f"--day {new_day} is not in {label}")
            waiting = waiting_draft(saver, found.gid, label)
            if waiting is None:
                raise TimesheetError(f"no draft of {found.name} for {label} waits for approval")
            thread, proposals = edit(
                settings,
                store,
                saver,
                waiting,
                line,
                approver=who,
                minutes=minutes,
                task_gid=task,
                day=new_day,
            )
        except TimesheetError as exc:
            raise fail(str(exc)) from None
        finally:
            store.close()
    changed = proposals[line - 1]
    Console().print(
        f"Line {line} is now {changed.description}; the draft waits again for approval (thread {thread}).",
        markup=False,
        soft_wrap=True,
    )


__all__ = ["app", "approve_command", "draft_command", "edit_command", "print_draft", "reject_command"]
