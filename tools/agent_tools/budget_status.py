"""The budget read tool: "are we on budget on X?", "which projects will overrun their budget?".

Compact text over ``tools.analytics.budget`` (figures as computed, the as-of date stated, problems with
budgets said rather than hidden), bounded whatever the workspace size: one project in a few lines, or
the top projects by risk with "and N more".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from tools.agent_tools.budget import TOP_N, untrusted
from tools.agent_tools.common import find_project

if TYPE_CHECKING:
    from tools.agent_tools.reads import ToolEnv
    from tools.analytics.budget import BudgetStatus

SIMULATIONS = 1000  # enough for P50/P80 dates to the day in chat; the CLI uses more


class BudgetArgs(BaseModel):
    project: str | None = Field(
        None,
        description="One project (name or gid); leave empty to list the projects at risk of overrunning.",
    )


def _amount(value: float, unit: str) -> str:
    return f"{value:,.1f} {unit}" if unit == "h" else f"{value:,.0f} {unit}"


def status_line(s: BudgetStatus) -> str:
    """One project's budget in one line (the chat answer's core)."""
    if s.ran_out_on is not None:
        outlook = f"ran out on {s.ran_out_on.isoformat()}"
    elif s.open_tasks == 0:
        outlook = "no open work left"
    else:
        p50 = s.runs_out_p50.isoformat() if s.runs_out_p50 else "not before completion"
        p80 = s.runs_out_p80.isoformat() if s.runs_out_p80 else "not before completion"
        outlook = f"runs out P50 {p50}, P80 {p80}"
    return (
        f"{untrusted(s.name, 60)} ({s.project_gid}): {s.state.replace('_', ' ').upper()}; spent "
        f"{_amount(s.spent, s.unit)} of {_amount(s.budget, s.unit)} ({s.pct_spent:.0f}%), "
        f"{_amount(s.remaining, s.unit)} left, burn {_amount(s.burn_per_week, s.unit)}/week; total at "
        f"completion P50 {_amount(s.eac_p50, s.unit)}, P80 {_amount(s.eac_p80, s.unit)} "
        f"({s.p_exceed:.0%} of simulations exceed the budget); {outlook}; budget from {s.source.value}"
    )


def budget_view(env: ToolEnv, args: BudgetArgs) -> str:
    from tools.analytics.budget import budget_report

    ws = env.workspace
    gids = None
    if args.project:
        matches = find_project(ws, args.project)
        if not matches:
            return f"budget_status: no project matches {args.project!r}."
        if len(matches) > 1:
            names = ", ".join(f"{untrusted(p.name, 40)} ({p.gid})" for p in matches[:TOP_N])
            return f"budget_status: {len(matches)} projects match {args.project!r}: {names}. Which one?"
        gids = [matches[0].gid]
    report = budget_report(
        ws,
        budgets=env.settings.budgets,
        capacity=env.settings.capacity,
        project_gids=gids,
        simulations=SIMULATIONS,
        frame=env.get_frame(),
    )
    head = f"BUDGETS as of {report.as_of.isoformat()} ({report.simulations} simulations)"
    problems = [f"problem: {p[:160]}" for p in report.problems[:3]]
    if gids is not None:
        if not report.projects:
            why = problems or [
                "it has no budget: set one in Asana (Budgets) or under [budgets] projects in the config"
            ]
            return "\n".join([head, f"{untrusted(matches[0].name, 60)}: no usable budget.", *why])
        [s] = report.projects
        notes = [f"note: {n[:160]}" for n in s.notes[:3]]
        return "\n".join([head, status_line(s), *notes, *problems])
    risky = [s for s in report.projects if s.state in ("over", "at_risk")]
    lines = [
        head,
        f"{len(report.projects)} projects have a budget ({report.without_budget} without); "
        f"{sum(s.state == 'over' for s in report.projects)} already over, "
        f"{sum(s.state == 'at_risk' for s in report.projects)} forecast to overrun (P80 total above the budget).",
        *(status_line(s) for s in risky[:TOP_N]),
    ]
    if len(risky) > TOP_N:
        lines.append(f"…and {len(risky) - TOP_N} more")
    if not risky and report.projects:
        lines.append("No project is over or forecast to overrun its budget.")
    return "\n".join([*lines, *problems])


def budget_status(env: ToolEnv, args: BudgetArgs) -> str:
    """The read tool: ``budget_view`` with the read tools' one failure path."""
    from tools.agent_tools.reads import _run_view

    return _run_view(env, "budget_status", lambda: budget_view(env, args))


__all__ = ["BudgetArgs", "budget_status", "budget_view", "status_line"]
