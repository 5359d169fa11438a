"""Completion-forecast backtest on SiP: replay project histories, forecast at cut dates, score P50/P80/P95.

At each cut date (every ``step_weeks`` weeks), the workspace holds only what was known then: tasks
estimated on or before the cut; those completed by the cut are history (with actuals), the rest are open
(no actuals, nothing logged: SiP has no time entries, so throughput comes from completed tasks' hours).
For every project with at least ``min_open`` open tasks, ``forecast_projects`` gives P50/P80/P95 finish
dates; the truth is the day the last of those open tasks was completed. A calibrated forecast has the
real finish on or before P50/P80/P95 for about 50/80/95% of (project, cut) cases (bars: 45-55%,
75-85%, 90-97%). Each forecast recalibrates itself on the snapshot's own past only (no leakage).

Data: ``/work/shared/data/sip/*.csv`` read in place (never copied), mapped as in shared/data/BASELINES.md
via ``evals.datasets.sip``.

    python -m evals.bench.forecast_backtest [--sip-dir DIR] [--step-weeks 13] [--sims 2000]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

import tools  # noqa: F401  (offline environment switches)
from tools.analytics.forecast import forecast_projects
from tools.records import ActualSource, Project, Task, Workspace


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def load_sip(sip_dir: Path) -> list[dict[str, Any]]:
    """Kept SiP tasks with parsed dates and hours (the BASELINES.md mapping)."""
    from evals.datasets.sip import sip_rows

    out = []
    for row in sip_rows(sip_dir):
        created, done = _day(row["created_at"]), _day(row["completed_at"])
        if created is None or done is None or done < created:
            continue
        out.append(
            {
                "gid": row["task_id"],
                "name": row["title"][:200],
                "project": row["project"],
                "assignee": row["assignee"] or None,
                "category": row["category"] or None,
                "created": created,
                "started": _day(row["started_at"]),
                "done": done,
                "est": float(row["estimate_hours"]),
                "act": float(row["actual_hours"]),
            }
        )
    return out


def snapshot(rows: list[dict[str, Any]], cut: date) -> Workspace:
    """What was known on ``cut``: open tasks have no actual and no completion."""
    tasks = []
    for r in rows:
        if r["created"] > cut:
            continue
        completed = r["done"] <= cut
        started = r["started"] if r["started"] and r["started"] <= cut else None
        tasks.append(
            Task.model_construct(
                gid=r["gid"], name=r["name"], notes="", project_gid=r["project"], project_name=r["project"],
                project_type=None, section=None, tags=(), assignee_gid=r["assignee"], assignee_name=r["assignee"],
                parent_gid=None, created_at=datetime.combine(r["created"], datetime.min.time(), tzinfo=UTC),
                started_at=datetime.combine(started, datetime.min.time(), tzinfo=UTC) if started else None,
                due_on=None, completed=completed,
                completed_at=datetime.combine(r["done"], datetime.min.time(), tzinfo=UTC) if completed else None,
                modified_at=None, estimate_hours=r["est"], actual_hours=r["act"] if completed else None,
                actual_source=ActualSource.CUSTOM_FIELD if completed else ActualSource.NONE, billable=None,
                permalink_url=None, ai_fields={},
            )
        )  # fmt: skip
    projects = sorted({t.project_gid for t in tasks if t.project_gid})
    return Workspace.model_construct(
        people=(), projects=tuple(Project(gid=p, name=p) for p in projects), tasks=tuple(tasks),
        entries=(), field_changes=(), as_of=datetime.combine(cut, datetime.max.time(), tzinfo=UTC),
    )  # fmt: skip


def run(
    sip_dir: Path | None = None,
    step_weeks: int = 13,
    simulations: int = 2000,
    min_open: int = 3,
    seed: int = 7,
    quick: bool = False,
    **_: Any,
) -> dict[str, Any]:
    """Replay SiP; returns coverage of P50/P80/P95 and error figures (``figures`` for the bench table)."""
    from evals.datasets.sip import find_sip_dir

    directory = sip_dir or find_sip_dir()
    if not (directory / "Sip-task-info.csv").exists():
        return {"figures": [{"figure": "SiP data", "value": None, "note": f"not found at {directory}"}]}
    started = time.perf_counter()
    rows = load_sip(directory)
    first = min(r["created"] for r in rows) + timedelta(days=365)  # a year of history before the first cut
    last = max(r["done"] for r in rows) - timedelta(days=90)
    step = timedelta(weeks=step_weeks * (2 if quick else 1))
    cases: list[dict[str, Any]] = []
    cut = first
    while cut <= last:
        ws = snapshot(rows, cut)
        open_by_project: dict[str, list[date]] = {}
        for r in rows:
            if r["created"] <= cut < r["done"]:
                open_by_project.setdefault(r["project"], []).append(r["done"])
        wanted = [p for p, done in open_by_project.items() if len(done) >= min_open]
        if wanted:
            report = forecast_projects(ws, project_gids=wanted, simulations=simulations, seed=seed)
            for f in report.projects:
                truth = max(open_by_project[f.project_gid])
                cases.append(
                    {
                        "cut": cut.isoformat(),
                        "project": f.project_gid,
                        "open": f.open_tasks,
                        "truth": truth.isoformat(),
                        "p50": f.p50.isoformat(),
                        "p80": f.p80.isoformat(),
                        "p95": f.p95.isoformat(),
                        "in50": truth <= f.p50,
                        "in80": truth <= f.p80,
                        "in95": truth <= f.p95,
                        "err_days": (truth - f.p50).days,
                        "horizon_days": (truth - cut).days,
                    }
                )
        cut += step
    n = len(cases)

    def share(key: str) -> float | None:
        return round(sum(c[key] for c in cases) / n, 4) if n else None

    errors = np.asarray([c["err_days"] for c in cases], dtype=float)
    horizons = np.asarray([c["horizon_days"] for c in cases], dtype=float)
    rel = np.abs(errors) / np.maximum(horizons, 1.0)
    result = {
        "cases": n,
        "cuts_every_weeks": step_weeks * (2 if quick else 1),
        "simulations": simulations,
        "coverage_p50": share("in50"),
        "coverage_p80": share("in80"),
        "coverage_p95": share("in95"),
        "median_error_days": float(np.median(errors)) if n else None,
        "median_abs_error_days": float(np.median(np.abs(errors))) if n else None,
        "median_relative_abs_error": round(float(np.median(rel)), 4) if n else None,
        "median_horizon_days": float(np.median(horizons)) if n else None,
        "seconds": round(time.perf_counter() - started, 2),
        "examples": cases[:5],
    }

    coverage = {
        key: share(key.replace("coverage_p", "in"))
        for key in ("coverage_p50", "coverage_p80", "coverage_p95")
    }

    def within(value: float | None, low: float, high: float) -> bool | None:
        return None if value is None else low <= value <= high

    result["figures"] = [
        {"figure": "cases (project x cut date)", "value": n},
        *(
            {
                "figure": f"real finish <= {name}",
                "value": coverage[key],
                "bar": f"{low:.2f}-{high:.2f}",
                "passed": within(coverage[key], low, high),
            }
            for name, key, low, high in (
                ("P50", "coverage_p50", 0.45, 0.55),
                ("P80", "coverage_p80", 0.75, 0.85),
                ("P95", "coverage_p95", 0.90, 0.97),
            )
        ),
        {"figure": "median (truth - P50) days", "value": result["median_error_days"], "unit": "days"},
        {"figure": "median |truth - P50| / horizon", "value": result["median_relative_abs_error"]},
    ]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sip-dir", type=Path, default=None)
    parser.add_argument("--step-weeks", type=int, default=13)
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--min-open", type=int, default=3)
    args = parser.parse_args()
    result = run(args.sip_dir, args.step_weeks, args.sims, args.min_open)
    print(json.dumps({k: v for k, v in result.items() if k != "figures"}, indent=2, default=str))


if __name__ == "__main__":
    main()
