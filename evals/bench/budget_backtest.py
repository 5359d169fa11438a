"""Budget backtest: replay project histories week by week; was the overrun predicted by P80, how early?

At every cut (weekly by default) the workspace holds only what was known then, and ``budget_report``
(the product's code: the completion forecast's own Monte Carlo, spent as Asana counts it) gives the
total at completion P50/P80/P95. A project is *flagged* at a cut when P80 of its total at completion
exceeds the budget while the budget is not yet spent (the "forecast to exceed by P80" alert). The truth
is the project's final total: an overrun when it exceeds the budget, on the day spending crossed it.

Reported per dataset: overrun projects predicted before their crossing (and the median lead time in
weeks), projects that stayed within budget but were flagged (false alarms), the precision of the
weekly flags, and how often the final total was at most P80 (calibration, over cuts before the end).

- SiP (``/work/shared/data/sip``, read in place, never copied; the mapping of ``evals.datasets.sip``):
  each project's budget is the total of its tasks' original estimates (hours). SiP has no time
  entries, so spent is completed tasks' actual hours; tasks appear as they were created, so a forecast
  sees only the work known at its cut.
- Generated workspaces: the generator's own Asana budgets (time and cost, about 90-140% of the planned
  work, billable-only on client projects; costs through its rates), for the projects that are finished
  or already over at the generator's as-of date (the others have no outcome yet).

    python -m evals.bench.budget_backtest [--sip-dir DIR] [--seeds 1 2 3] [--tasks 800] [--step-weeks 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import tools  # noqa: F401  (offline environment switches)
from evals.bench.forecast_backtest import load_sip
from evals.bench.forecast_backtest import snapshot as sip_snapshot
from evals.bench.timesheet_backtest import snapshot as generated_snapshot
from tools.analytics.budget import budget_report
from tools.records import Budget, BudgetType, Workspace


class _Truth:
    """A project's budget and what really happened: the final total and the day spending crossed it."""

    def __init__(self, budget: float, final: float, crossed: date | None, start: date, end: date) -> None:
        self.budget, self.final, self.crossed, self.start, self.end = budget, final, crossed, start, end

    @classmethod
    def from_spending(
        cls, budget: float, spending: Sequence[tuple[date, float]], start: date, end: date
    ) -> _Truth:
        crossed, total = None, 0.0
        for day, hours in sorted(spending):
            total += hours
            if crossed is None and total > budget + 1e-9:
                crossed = day
        return cls(budget, total, crossed, start, end)

    @property
    def overrun(self) -> bool:
        return self.crossed is not None


def replay(
    truths: dict[str, _Truth],
    view: Callable[[date], Workspace],
    cuts: Sequence[date],
    simulations: int,
    budgets: dict[str, Budget] | None = None,
) -> list[dict[str, Any]]:
    """One row per (project, cut) while the project is under way and its budget not yet spent.
    ``budgets``: the projects' own budgets (else a time budget of the truth's hours)."""
    rows: list[dict[str, Any]] = []
    for cut in cuts:
        active = [g for g, t in truths.items() if t.start <= cut < (t.crossed or t.end) and t.budget > 0]
        if not active:
            continue
        ws = view(cut)
        these = tuple(
            budgets[g]
            if budgets is not None
            else Budget(gid=f"b{g}", project_gid=g, budget_type=BudgetType.TIME, total=truths[g].budget * 60)
            for g in active
        )
        report = budget_report(
            ws.model_copy(update={"budgets": these}), project_gids=active, simulations=simulations
        )
        for s in report.projects:
            truth = truths[s.project_gid]
            if s.spent >= s.budget:
                continue  # spent by what was known at the cut (the truth crosses a bit later)
            rows.append(
                {
                    "project": s.project_gid,
                    "cut": cut,
                    "flagged": s.eac_p80 > s.budget,
                    "overrun": truth.overrun,
                    "final_le_p80": truth.final <= s.eac_p80 + 1e-6,
                    "final_le_p50": truth.final <= s.eac_p50 + 1e-6,
                    "crossed": truth.crossed,
                }
            )
    return rows


def score(truths: dict[str, _Truth], rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    first_flag: dict[str, date] = {}
    for r in rows:
        if r["flagged"] and r["project"] not in first_flag:
            first_flag[r["project"]] = r["cut"]
    seen = {r["project"] for r in rows}
    over = [g for g in seen if truths[g].overrun]
    within = [g for g in seen if not truths[g].overrun]
    predicted = [g for g in over if g in first_flag]
    leads = [(truths[g].crossed - first_flag[g]).days / 7 for g in predicted]  # type: ignore[operator]
    flags = [r for r in rows if r["flagged"]]
    return {
        "projects": len(seen),
        "overrun_projects": len(over),
        "overruns_predicted_by_p80": len(predicted),
        "share_predicted": round(len(predicted) / len(over), 3) if over else None,
        "median_lead_weeks": round(statistics.median(leads), 1) if leads else None,
        "lead_weeks": sorted(round(x, 1) for x in leads),
        "within_budget_projects": len(within),
        "false_alarm_projects": sum(1 for g in within if g in first_flag),
        "weekly_flags": len(flags),
        "flag_precision": round(sum(1 for r in flags if r["overrun"]) / len(flags), 3) if flags else None,
        "cases": len(rows),
        "final_le_p80": round(sum(r["final_le_p80"] for r in rows) / len(rows), 3) if rows else None,
        "final_le_p50": round(sum(r["final_le_p50"] for r in rows) / len(rows), 3) if rows else None,
    }


def _cuts(start: date, end: date, step_weeks: int) -> list[date]:
    out, cut = [], start
    while cut <= end:
        out.append(cut)
        cut += timedelta(weeks=step_weeks)
    return out


def run_sip(sip_dir: Path | None, step_weeks: int, simulations: int) -> dict[str, Any]:
    from evals.datasets.sip import find_sip_dir

    directory = sip_dir or find_sip_dir()
    if not (directory / "Sip-task-info.csv").exists():
        return {"error": f"SiP not found at {directory}"}
    rows = load_sip(directory)
    end = max(r["done"] for r in rows)
    by_project: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_project.setdefault(r["project"], []).append(r)
    truths = {
        p: _Truth.from_spending(
            sum(r["est"] for r in rs),
            [(r["done"], r["act"]) for r in rs],
            min(r["created"] for r in rs),
            max(r["done"] for r in rs),
        )
        for p, rs in by_project.items()
    }
    first = min(t.start for t in truths.values()) + timedelta(weeks=4)
    cases = replay(truths, lambda cut: sip_snapshot(rows, cut), _cuts(first, end, step_weeks), simulations)
    return score(truths, cases)


def generated_with_budgets(seed: int, tasks: int) -> Workspace:
    """A generated workspace as sync maps it, with the generator's Asana budgets and rates (time and
    cost budgets, billable filters; the sandbox computes their actual the way Asana does)."""
    from evals.bench.anomaly_bench import generated_workspace
    from sandbox.generator import export_payloads, populate
    from sandbox.state import SandboxState
    from tools.sync.mapping import MappingContext
    from tools.sync.mapping_extra import map_budget, map_rate

    ws, _ = generated_workspace(seed, tasks)
    state = SandboxState()
    populate(state, seed=seed, tasks=tasks)
    payloads = export_payloads(state)
    ctx = MappingContext()
    budgets = [
        map_budget(b, ctx, str((b.get("parent") or {}).get("gid"))) for b in payloads.get("budget", [])
    ]
    rates = [map_rate(r, ctx) for r in payloads.get("rate", [])]
    return ws.model_copy(
        update={"budgets": tuple(b for b in budgets if b), "rates": tuple(r for r in rates if r)}
    )


def run_generated(seeds: Sequence[int], tasks: int, step_weeks: int, simulations: int) -> dict[str, Any]:
    """The generator's own budgets (about 90-140% of the planned work, some in money): the truth is
    what ``budget_report`` counts on the whole history (spent at the as-of date, the day it ran out),
    kept for projects that are finished or already over (the rest have no outcome yet)."""
    all_truths: dict[str, _Truth] = {}
    cases: list[dict[str, Any]] = []
    for seed in seeds:
        ws = generated_with_budgets(seed, tasks)
        assert ws.as_of is not None
        as_of = ws.as_of.date()
        final = {s.project_gid: s for s in budget_report(ws, simulations=200).projects}
        budgets = {b.project_gid: b for b in ws.budgets}
        truths: dict[str, _Truth] = {}
        for gid, s in final.items():
            mine = [t for t in ws.tasks if t.project_gid == gid]
            if not mine or not (s.open_tasks == 0 or s.ran_out_on is not None):
                continue  # still running and under budget: the outcome is not known yet
            start = min(t.created_at.date() for t in mine)
            truths[gid] = _Truth(s.budget, s.spent, s.ran_out_on, start, as_of)
        start = min((t.start for t in truths.values()), default=as_of) + timedelta(weeks=4)

        def view(cut: date, ws: Workspace = ws) -> Workspace:
            return generated_snapshot(ws, cut, set(), actual_field=True)

        for r in replay(truths, view, _cuts(start, as_of, step_weeks), simulations, budgets):
            cases.append({**r, "project": f"{seed}:{r['project']}"})
        all_truths.update({f"{seed}:{g}": t for g, t in truths.items()})
    return score(all_truths, cases)


def run(
    sip_dir: Path | None = None,
    seeds: Sequence[int] = (1, 2, 3),
    tasks: int = 800,
    step_weeks: int = 1,
    simulations: int = 500,
    quick: bool = False,
    **_: Any,
) -> dict[str, Any]:
    started = time.perf_counter()
    if quick:
        seeds, tasks, step_weeks = tuple(seeds)[:1], min(tasks, 400), max(step_weeks, 4)
    result: dict[str, Any] = {
        "step_weeks": step_weeks,
        "simulations": simulations,
        "sip": run_sip(sip_dir, step_weeks, simulations),
        "generated": run_generated(seeds, tasks, step_weeks, simulations),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    figures = []
    for name in ("sip", "generated"):
        r: dict[str, Any] = result[name]
        if "error" in r:
            figures.append({"figure": f"budget backtest ({name})", "value": None, "note": r["error"]})
            continue
        figures += [
            {
                "figure": f"overruns predicted by P80 before they happened ({name})",
                "value": r["share_predicted"],
                "note": f"{r['overruns_predicted_by_p80']} of {r['overrun_projects']} projects",
            },
            {"figure": f"median lead time, weeks ({name})", "value": r["median_lead_weeks"]},
            {
                "figure": f"projects within budget that were flagged ({name})",
                "value": r["false_alarm_projects"],
                "note": f"of {r['within_budget_projects']}",
            },
            {"figure": f"weekly flag precision ({name})", "value": r["flag_precision"]},
            {"figure": f"final total <= P80 ({name})", "value": r["final_le_p80"], "bar": "~0.80"},
        ]
    result["figures"] = figures
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sip-dir", type=Path, default=None)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--tasks", type=int, default=800)
    parser.add_argument("--step-weeks", type=int, default=1)
    parser.add_argument("--sims", type=int, default=500)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = run(args.sip_dir, args.seeds, args.tasks, args.step_weeks, args.sims, quick=args.quick)
    print(json.dumps({k: v for k, v in result.items() if k != "figures"}, indent=2, default=str))


if __name__ == "__main__":
    main()
