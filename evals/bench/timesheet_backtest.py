"""Timesheet-draft backtest: hide logged entries in generated workspaces, see how much the drafts recover.

For each generated workspace (seeded) and each of the last ``weeks`` full weeks before its as-of date,
a share of every person's entries of that week is hidden (as if never logged). The replay then stands
on the Monday after the week: the workspace holds only what was known then (entries dated by then,
minus the hidden ones; tasks completed by then; comments made by then), and ``draft_timesheet`` drafts
the week for every person who worked in it. Compared with the hidden entries:

- hours error per person-week, two ways: of the timesheet once the draft is accepted, sum
  |logged + drafted - worked| / sum worked (no draft at all scores the hidden share; goal <= 20%),
  and of the hidden part alone, sum |drafted - hidden| / sum hidden (with its per-person-week median);
- recovered on the right task: sum over (person-week, task) of min(drafted, hidden) / sum hidden;
- never worked: the share of drafted hours on a (person, task, week) with no entry at all, hidden or
  not (time the draft invents);
- drafted hours on person-weeks where nothing was hidden (what a person who logged everything is
  asked to review).

Two ways to forget: ``entries`` hides random entries; ``days`` hides whole person-days (forgot to log
Tuesday). Two evidence levels: with the tasks' "Actual Hours" custom field (which the generator fills
from the same entries: a strong, perhaps generous, signal) and without it (activity only).

    python -m evals.bench.timesheet_backtest [--seeds 1 2 3] [--tasks 800] [--hide 0.3] [--weeks 8]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import tools  # noqa: F401  (offline environment switches)
from evals.bench.anomaly_bench import generated_workspace
from tools.analytics.timesheet import Activity, ActivityKind, TimesheetError, draft_timesheet
from tools.records import ActualSource, TimeEntry, Workspace

Mode = Literal["entries", "days"]


def _comments(seed: int, tasks: int) -> list[Activity]:
    """The generator's comment stories as activities (the workspace mapping drops comments)."""
    from sandbox.generator import generate

    out = []
    for kind, obj in generate(seed=seed, tasks=tasks).objects:
        if kind == "story" and obj.get("resource_subtype") == "comment_added" and obj.get("created_by"):
            when = datetime.fromisoformat(str(obj["created_at"]).replace("Z", "+00:00"))
            out.append(
                Activity(
                    person_gid=str(obj["created_by"]),
                    task_gid=str(obj["target"]),
                    at=when,
                    kind=ActivityKind.COMMENT,
                )
            )
    return out


def _hide(entries: Sequence[TimeEntry], share: float, mode: Mode, rng: random.Random) -> set[str]:
    if mode == "entries":
        return {e.gid for e in entries if rng.random() < share}
    days = sorted({(e.user_gid, e.entered_on) for e in entries}, key=lambda k: (str(k[0]), k[1]))
    gone = {k for k in days if rng.random() < share}
    return {e.gid for e in entries if (e.user_gid, e.entered_on) in gone}


def snapshot(workspace: Workspace, today: date, hidden: set[str], actual_field: bool) -> Workspace:
    """What was known on ``today`` (end of day), with ``hidden`` entries never logged."""
    cut = datetime.combine(today, datetime.max.time(), tzinfo=UTC)
    tasks = []
    for t in workspace.tasks:
        if t.created_at > cut:
            continue
        done = t.completed and t.completed_at is not None and t.completed_at <= cut
        keep_actual = done and actual_field and t.actual_source is ActualSource.CUSTOM_FIELD
        tasks.append(
            t.model_copy(
                update={
                    "completed": done,
                    "completed_at": t.completed_at if done else None,
                    "actual_hours": t.actual_hours if keep_actual else None,
                    "actual_source": t.actual_source if keep_actual else ActualSource.NONE,
                }
            )
        )
    entries = tuple(e for e in workspace.entries if e.entered_on <= today and e.gid not in hidden)
    changes = tuple(c for c in workspace.field_changes if c.changed_at <= cut)
    return workspace.model_copy(
        update={"tasks": tuple(tasks), "entries": entries, "field_changes": changes, "as_of": cut}
    )


def replay(
    workspace: Workspace,
    comments: Sequence[Activity],
    *,
    hide: float,
    weeks: int,
    mode: Mode,
    actual_field: bool,
    seed: int,
) -> list[dict[str, Any]]:
    """One row per person-week: hidden and drafted hours, on the right task, and invented time."""
    assert workspace.as_of is not None
    as_of = workspace.as_of.date()
    last_monday = as_of - timedelta(days=as_of.weekday() + 7)
    rows: list[dict[str, Any]] = []
    for k in range(weeks):
        monday = last_monday - timedelta(weeks=k)
        sunday = monday + timedelta(days=6)
        week_entries = [
            e for e in workspace.entries if monday <= e.entered_on <= sunday and e.duration_minutes > 0
        ]
        rng = random.Random(f"{seed}:{monday}:{mode}")
        hidden = _hide(week_entries, hide, mode, rng)
        today = sunday + timedelta(days=1)
        view = snapshot(workspace, today, hidden, actual_field)
        cut = datetime.combine(today, datetime.max.time(), tzinfo=UTC)
        known = [c for c in comments if c.at <= cut]
        for person in sorted({e.user_gid for e in week_entries if e.user_gid}):
            mine = [e for e in week_entries if e.user_gid == person]
            hidden_by_task: dict[str, int] = defaultdict(int)
            worked = {e.task_gid for e in mine}
            for e in mine:
                if e.gid in hidden:
                    hidden_by_task[e.task_gid] += e.duration_minutes
            try:
                draft = draft_timesheet(
                    view, person, monday, today=today, activities=[c for c in known if c.person_gid == person]
                )
            except TimesheetError:
                continue
            drafted_by_task: dict[str, int] = defaultdict(int)
            for line in draft.lines:
                drafted_by_task[line.task_gid or "?"] += line.minutes
            rows.append(
                {
                    "person": person,
                    "week": monday.isoformat(),
                    "hidden_h": sum(hidden_by_task.values()) / 60,
                    "drafted_h": sum(drafted_by_task.values()) / 60,
                    "on_task_h": sum(min(v, hidden_by_task.get(t, 0)) for t, v in drafted_by_task.items())
                    / 60,
                    "never_worked_h": sum(v for t, v in drafted_by_task.items() if t not in worked) / 60,
                    "logged_h": sum(e.duration_minutes for e in mine) / 60,
                }
            )
    return rows


def score(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    hidden = sum(r["hidden_h"] for r in rows)
    drafted = sum(r["drafted_h"] for r in rows)
    with_hidden = [r for r in rows if r["hidden_h"] > 0]
    rel = sorted(abs(r["drafted_h"] - r["hidden_h"]) / r["hidden_h"] for r in with_hidden)
    clean = [r for r in rows if r["hidden_h"] == 0]
    return {
        "person_weeks": len(rows),
        "person_weeks_with_hidden": len(with_hidden),
        "hidden_hours": round(hidden, 1),
        "drafted_hours": round(drafted, 1),
        "week_error_after_draft": round(
            sum(abs(r["drafted_h"] - r["hidden_h"]) for r in rows) / sum(r["logged_h"] for r in rows), 3
        )
        if rows
        else None,
        "week_error_without_draft": round(hidden / sum(r["logged_h"] for r in rows), 3) if rows else None,
        "hidden_part_error": round(sum(abs(r["drafted_h"] - r["hidden_h"]) for r in rows) / hidden, 3)
        if hidden
        else None,
        "median_person_week_error": round(rel[len(rel) // 2], 3) if rel else None,
        "recovered_on_task": round(sum(r["on_task_h"] for r in rows) / hidden, 3) if hidden else None,
        "never_worked_share": round(sum(r["never_worked_h"] for r in rows) / drafted, 3) if drafted else None,
        "drafted_h_where_nothing_hidden": round(sum(r["drafted_h"] for r in clean), 1),
        "person_weeks_nothing_hidden": len(clean),
    }


def run(
    seeds: Sequence[int] = (1, 2, 3),
    tasks: int = 800,
    hide: float = 0.3,
    weeks: int = 8,
    quick: bool = False,
    **_: Any,
) -> dict[str, Any]:
    started = time.perf_counter()
    if quick:
        seeds, tasks, weeks = tuple(seeds)[:1], min(tasks, 400), min(weeks, 4)
    results: dict[str, Any] = {}
    loaded = [(s, generated_workspace(s, tasks)[0], _comments(s, tasks)) for s in seeds]
    for mode in ("entries", "days"):
        for actual_field in (True, False):
            rows: list[dict[str, Any]] = []
            for s, ws, comments in loaded:
                rows += replay(
                    ws, comments, hide=hide, weeks=weeks, mode=mode, actual_field=actual_field, seed=s
                )  # type: ignore[arg-type]
            label = f"{mode}, {'with' if actual_field else 'without'} Actual Hours"
            results[label] = score(rows)
    figures = []
    for label, r in results.items():
        figures += [
            {
                "figure": f"week hours error after the draft ({label})",
                "value": r["week_error_after_draft"],
                "bar": "<= 0.20",
                "passed": r["week_error_after_draft"] is not None and r["week_error_after_draft"] <= 0.2,
                "note": f"without a draft: {r['week_error_without_draft']}",
            },
            {"figure": f"error on the hidden hours ({label})", "value": r["hidden_part_error"]},
            {"figure": f"recovered on the right task ({label})", "value": r["recovered_on_task"]},
            {"figure": f"drafted time never worked ({label})", "value": r["never_worked_share"]},
        ]
    return {
        "seeds": list(seeds),
        "tasks": tasks,
        "hide": hide,
        "weeks": weeks,
        "results": results,
        "seconds": round(time.perf_counter() - started, 1),
        "figures": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--tasks", type=int, default=800)
    parser.add_argument("--hide", type=float, default=0.3)
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = run(args.seeds, args.tasks, args.hide, args.weeks, quick=args.quick)
    print(json.dumps({k: v for k, v in result.items() if k != "figures"}, indent=2, default=str))


if __name__ == "__main__":
    main()
