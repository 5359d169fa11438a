"""`effort analyze budget`: budget, spent, remaining, burn, and when each budget runs out (P50/P80/P95).

Registered on the ``analyze`` group by agent/cli/analyze_cmd.py; reuses its store loading so that
``--project``, ``--as-of`` and ``--json`` mean the same as for every other analysis. Read-only: the
alerts this report implies are proposed by `effort serve` (agent/budgets.py), never here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli.common import ConfigOpt, JsonOpt, fail, working

if TYPE_CHECKING:
    from tools.analytics.budget import BudgetReport, BudgetStatus

ProjectOpt = Annotated[
    list[str] | None, typer.Option("--project", help="Limit to these projects, by name or gid (repeatable).")
]
AsOfOpt = Annotated[str | None, typer.Option("--as-of", help="Pin 'now' (ISO date or datetime).")]


def budget_command(
    project: ProjectOpt = None,
    sims: Annotated[int, typer.Option("--sims", min=200, max=20000, help="Monte Carlo simulations.")] = 2000,
    as_of: AsOfOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Per project: budget, spent, remaining, burn per week, the total at completion and the date the
    budget runs out (P50/P80/P95), from the completion forecast's simulations."""
    with working("reading the store…"):
        from agent.budgets import report_for
        from agent.cli.analyze_cmd import _emit_json, _freshness_line, _load

        loaded = _load(config, project, as_of)
        try:
            report = report_for(loaded.settings, loaded.workspace, simulations=sims)
        except (OSError, ValueError) as exc:
            raise fail(str(exc)) from None
    if as_json:
        _emit_json(report, loaded)
        return
    print_report(report, freshness=_freshness_line(loaded))


def _money(value: float, unit: str) -> str:
    return f"{value:,.1f} {unit}" if unit == "h" else f"{value:,.0f} {unit}"


def _date(s: BudgetStatus, which: str) -> str:
    value = getattr(s, f"runs_out_{which}")
    if value is not None:
        return value.isoformat()
    return "-" if s.open_tasks == 0 else "not before done"


def print_report(report: BudgetReport, freshness: str = "") -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    if freshness:
        console.print(f"[dim]{freshness}[/dim]", soft_wrap=True, highlight=False)
    console.print(
        f"Budgets as of {report.as_of.isoformat()} ({report.simulations} simulations; "
        f"{len(report.projects)} with a budget, {report.without_budget} without)"
    )
    if report.projects:
        table = Table(title="budgets (over first, then at risk)")
        for col in (
            "project",
            "spent of budget",
            "burn/wk",
            "total at end P50/P80",
            "runs out P50/P80",
            "state",
        ):
            table.add_column(col, justify="left" if col in ("project", "state") else "right")
        for s in report.projects:
            runs_out = (
                f"ran out {s.ran_out_on.isoformat()}"
                if s.ran_out_on
                else f"{_date(s, 'p50')} / {_date(s, 'p80')}"
            )
            table.add_row(
                escape(s.name),
                f"{_money(s.spent, s.unit)} of {_money(s.budget, s.unit)} ({s.pct_spent:.0f}%)",
                _money(s.burn_per_week, s.unit),
                f"{_money(s.eac_p50, s.unit)} / {_money(s.eac_p80, s.unit)}",
                runs_out,
                s.state.replace("_", " "),
            )
        console.print(table)
        for s in report.projects:
            for note in s.notes:
                console.print(f"  {s.name}: {note}", markup=False, highlight=False)
    for problem in report.problems:
        console.print(f"[yellow]problem:[/yellow] {escape(problem)}", soft_wrap=True)
    if report.without_budget and (not report.projects or report.without_budget <= 5):
        names = ", ".join(report.unbudgeted) + (
            " …" if report.without_budget > len(report.unbudgeted) else ""
        )
        console.print(
            f"No budget for {names}: set one in Asana (Budgets) or under [budgets] projects in the config.",
            soft_wrap=True,
            markup=False,
        )


__all__ = ["budget_command", "print_report"]
