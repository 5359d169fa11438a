"""`effort timesheet draft|approve|edit|reject`: a week's draft of time entries, confirmed by its person.

``draft`` builds the draft from the person's Asana activity, calendar file and usual day, minus what
they already logged, prints it (table or ``--json``) and leaves it waiting for that person's approval.
``approve`` creates the approved lines through the one writer (only when the approver is the person,
or their lead from ``[timesheets] leads``), ``edit`` changes a line before approval, ``reject`` drops
the draft. Nothing is written to Asana by ``draft``, ``edit`` or ``reject``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli.common import AsOfOpt, ConfigOpt, JsonOpt, fail, settings_or_exit

if TYPE_CHECKING:
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
    as_json: JsonOpt = False,
    as_of: AsOfOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Draft a person's week of time entries (fills gaps, never duplicates what is logged)."""
    settings = settings_or_exit(config, as_of=as_of)
    draft = _build(settings, person, week, stories=stories)
    if as_json:
        typer.echo(draft.model_dump_json(indent=2))
        return
    print_draft(draft)


def _build(settings: object, person: str, week: str, *, stories: bool) -> TimesheetDraft:
    from agent.config import Settings
    from agent.timesheets import build_draft
    from tools.analytics.timesheet import TimesheetError
    from tools.store import Store

    assert isinstance(settings, Settings)
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
        for i, x in enumerate(draft.lines, start=1):
            task = x.task_name if x.task_gid else f"{x.task_name} (needs a task)"
            table.add_row(
                str(i), f"{x.entered_on:%a %d %b}", f"{x.minutes / 60:.2f}", escape(task),
                escape(x.project_name or ""), x.confidence, escape("; ".join(x.reasons)),
            )  # fmt: skip
        console.print(table)
    else:
        console.print("Nothing to add: every working day is logged up to the usual day.")
    for note in draft.notes:
        console.print(f"note: {note}", soft_wrap=True, markup=False)


__all__ = ["app", "draft_command", "print_draft"]
