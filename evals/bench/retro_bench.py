"""Retrospective benchmark: a full ``retrospective()`` (no LLM) over synthetic workspaces.

Bars (PRODUCT.md): 10k tasks + 100k entries in under 5 s; 100k tasks (+ ~1M entries) in under 60 s, on
2 cores. The Workspace is built directly from synthetic records (``model_construct``, not timed); the
timed part is everything a retro does: array conversion, variance, scope creep, overhead, bias trend,
anomalies, capacity, Monte Carlo forecasts for every open project and the billing draft.

    python -m evals.bench.retro_bench [--sizes 10000 100000] [--entries-per-task 10]
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
from tools.analytics.retro import retrospective
from tools.records import (
    ActualSource,
    BillableStatus,
    FieldChange,
    Person,
    Project,
    Task,
    TimeEntry,
    Workspace,
)

AS_OF = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)
TYPES = ("client build", "internal tool", "marketing", "support")
SECTIONS = ("Backlog", "Design", "Build", "Review", "Admin", "Meetings")
TAGS = ("frontend", "backend", "design", "admin", "bug", "content", "urgent")


def synthetic_workspace(n_tasks: int, entries_per_task: float = 10.0, seed: int = 7) -> Workspace:
    """A plausible workspace: ~n/100 people, ~n/200 projects, 2 years of history, lognormal ratios."""
    rng = np.random.default_rng(seed)
    n_people = max(5, min(400, n_tasks // 100))
    n_projects = max(3, n_tasks // 200)
    people = [Person.model_construct(gid=f"u{i}", name=f"Person {i}", email=None, capacity_hours_per_week=None) for i in range(n_people)]  # fmt: skip
    start0 = AS_OF.date() - timedelta(days=730)
    projects = []
    for j in range(n_projects):
        start = start0 + timedelta(days=int(rng.integers(0, 600)))
        projects.append(
            Project.model_construct(
                gid=f"p{j}", name=f"Project {j}", project_type=TYPES[j % 4], client=f"Client {j % 17}" if j % 4 != 1 else None,
                hourly_rate=float(80 + (j % 5) * 10) if j % 4 != 1 else None, currency="EUR", owner_gid=f"u{j % n_people}",
                team=f"Team {j % 6}", created_at=None, start_on=start, due_on=start + timedelta(days=int(rng.integers(60, 400))),
                archived=False, portfolio_gids=(), permalink_url=None,
            )
        )  # fmt: skip
    person_bias = np.exp(rng.normal(0.1, 0.2, n_people))
    task_project = rng.integers(0, n_projects, n_tasks)
    task_person = rng.integers(0, n_people, n_tasks)
    est = np.round(np.exp(rng.normal(1.6, 0.8, n_tasks)) * 2) / 2 + 0.5
    ratio = person_bias[task_person] * np.exp(rng.normal(0, 0.4, n_tasks))
    act = np.round(est * ratio * 4) / 4
    created_off = rng.integers(0, 720, n_tasks)
    duration = rng.integers(1, 30, n_tasks)
    tasks: list[Task] = []
    n_entries_task = rng.poisson(entries_per_task, n_tasks)
    entries: list[TimeEntry] = []
    changes: list[FieldChange] = []
    e_id = 0
    for i in range(n_tasks):
        p = projects[task_project[i]]
        created = datetime.combine(
            start0 + timedelta(days=int(created_off[i])), datetime.min.time(), tzinfo=UTC
        )
        done_day = created + timedelta(days=int(duration[i]))
        completed = done_day < AS_OF and (rng.random() > 0.1)
        has_est = rng.random() > 0.1
        tasks.append(
            Task.model_construct(
                gid=f"t{i}", name=f"Task {i} {SECTIONS[i % 6].lower()}", notes="", project_gid=p.gid, project_name=p.name,
                project_type=p.project_type, section=SECTIONS[i % 6], tags=(TAGS[i % 7],), assignee_gid=f"u{task_person[i]}",
                assignee_name=f"Person {task_person[i]}", parent_gid=None, created_at=created, started_at=created,
                due_on=(done_day + timedelta(days=int(rng.integers(-5, 10)))).date(), completed=completed,
                completed_at=done_day if completed else None, modified_at=done_day, estimate_hours=float(est[i]) if has_est else None,
                actual_hours=float(act[i]) if completed else None, actual_source=ActualSource.CUSTOM_FIELD, billable=None,
                permalink_url=None, ai_fields={},
            )
        )  # fmt: skip
        k = int(n_entries_task[i])
        if k:
            days = rng.integers(0, int(duration[i]) + 1, k)
            minutes = np.full(k, max(15, round(float(act[i]) * 60 / k / 15) * 15))
            for d, m in zip(days.tolist(), minutes.tolist(), strict=True):
                day = created.date() + timedelta(days=d)
                if day > AS_OF.date():
                    continue
                entries.append(
                    TimeEntry.model_construct(
                        gid=f"e{e_id}", task_gid=f"t{i}", user_gid=f"u{task_person[i]}", entered_on=day, duration_minutes=m,
                        project_gid=p.gid, billable_status=BillableStatus.BILLABLE if p.client else BillableStatus.NON_BILLABLE,
                        description=None, created_at=None,
                    )
                )  # fmt: skip
                e_id += 1
        if has_est and rng.random() < 0.05:
            changes.append(
                FieldChange.model_construct(
                    task_gid=f"t{i}", field_name="Estimated Hours", old_value=float(est[i]) * 0.7, new_value=float(est[i]),
                    changed_at=created + timedelta(days=1), by_gid=None,
                )
            )  # fmt: skip
    return Workspace.model_construct(
        people=tuple(people), projects=tuple(projects), tasks=tuple(tasks), entries=tuple(entries),
        field_changes=tuple(changes), as_of=AS_OF,
    )  # fmt: skip


def run(
    sizes: list[int] | None = None, entries_per_task: float = 10.0, seed: int = 7, **_: Any
) -> dict[str, Any]:
    """Time ``retrospective()`` for the last full month at each size; returns ``{"results": [...]}``."""
    results = []
    for n in sizes or [10_000, 100_000]:
        t0 = time.perf_counter()
        ws = synthetic_workspace(n, entries_per_task, seed)
        built = time.perf_counter() - t0
        t1, c1 = time.perf_counter(), time.process_time()
        report = retrospective(ws, date(2026, 10, 1), date(2026, 10, 31), seed=seed)
        seconds, cpu = time.perf_counter() - t1, time.process_time() - c1
        results.append(
            {
                "tasks": n,
                "entries": len(ws.entries),
                "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu, 3),  # CPU time of this process: robust to a busy machine
                "build_seconds": round(built, 2),
                "projects_forecast": len(report.forecasts.projects) if report.forecasts else 0,
                "anomaly_flags": report.anomalies.total,
                "report_json_chars": len(report.model_dump_json()),
            }
        )
        print(json.dumps(results[-1]))
    return {"results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--entries-per-task", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None, help="write the JSON result here")
    args = parser.parse_args()
    result = run(args.sizes, args.entries_per_task, args.seed)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
