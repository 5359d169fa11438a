"""Anomaly detector benchmark: precision and recall per kind on the sandbox generator's seeded anomalies.

The generator (sandbox.generator) records every anomaly it plants in ``truth.anomalies`` ({gid: kind});
its payloads are mapped to records with the sync's pure mapping functions (no HTTP), then
``detect_anomalies`` runs over the whole workspace. A flag matches a planted anomaly when it names the
same entry (entry kinds) or task (task kinds) with a corresponding kind. Natural data also has tasks more
than 50% off their estimate, so "variance" precision against the *seeded* ones is a lower bound.

    python -m evals.bench.anomaly_bench [--seeds 1 2 3] [--tasks 2000]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import tools  # noqa: F401  (offline environment switches)
from tools.analytics.anomalies import AnomalyFlag, AnomalyKind, detect_anomalies
from tools.analytics.calendar import WorkCalendar
from tools.records import Comment, FieldChange, Workspace

# generator kind -> detector kind
KIND_MAP: dict[str, AnomalyKind] = {
    "weekend": AnomalyKind.WEEKEND,
    "duplicate": AnomalyKind.DUPLICATE,
    "implausible_duration": AnomalyKind.IMPLAUSIBLE,
    "zero_duration": AnomalyKind.IMPLAUSIBLE,
    "future_date": AnomalyKind.FUTURE,
    "missing_logs": AnomalyKind.MISSING_LOG,
    "huge_variance": AnomalyKind.VARIANCE,
}
TASK_KINDS = {"missing_logs", "huge_variance"}


def generated_workspace(seed: int, tasks: int, **kwargs: Any) -> tuple[Workspace, dict[str, str]]:
    """Generate a sandbox workspace and map its payloads to records; returns (workspace, truth anomalies)."""
    from sandbox.generator import export_payloads, populate
    from sandbox.state import SandboxState
    from tools.sync import mapping as m

    state = SandboxState()
    generated = populate(state, seed=seed, tasks=tasks, **kwargs)
    payloads = export_payloads(state)
    ctx = m.MappingContext()
    m.field_context_from_definitions(payloads.get("custom_field", []), ctx)
    people = [p for p in (m.map_user(u, ctx) for u in payloads.get("user", [])) if p is not None]
    projects = [p for p in (m.map_project(x, ctx) for x in payloads.get("project", [])) if p is not None]
    ctx.projects = {p.gid: p for p in projects}
    entries = [
        e for e in (m.map_entry(x, ctx) for x in payloads.get("time_tracking_entry", [])) if e is not None
    ]
    for e in entries:
        ctx.entry_minutes[e.task_gid] = ctx.entry_minutes.get(e.task_gid, 0) + max(e.duration_minutes, 0)
        first = ctx.first_entry.get(e.task_gid)
        if first is None or e.entered_on < first:
            ctx.first_entry[e.task_gid] = e.entered_on
    task_list = [t for t in (m.map_task(x, ctx) for x in payloads.get("task", [])) if t is not None]
    changes: list[FieldChange] = []
    for story in payloads.get("story", []):
        target = (story.get("target") or {}).get("gid")
        mapped = m.map_story(story, target, ctx) if target else None
        if mapped is not None and not isinstance(mapped, Comment):
            changes.append(mapped)
    as_of = date.fromisoformat(generated.truth.as_of)
    workspace = Workspace(
        people=tuple(people),
        projects=tuple(projects),
        tasks=tuple(task_list),
        entries=tuple(entries),
        field_changes=tuple(changes),
        as_of=datetime.combine(as_of, datetime.max.time().replace(microsecond=0), tzinfo=UTC),
    )
    return workspace, dict(generated.truth.anomalies)


def _flag_gid(flag: AnomalyFlag, task_level: bool) -> str | None:
    return flag.task_gid if task_level else flag.entry_gid


def score_flags(flags: Iterable[AnomalyFlag], truth: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Per generator kind: planted, found (recall); per detector kind: flags, true (precision)."""
    flags = list(flags)
    out: dict[str, dict[str, Any]] = {}
    for gen_kind, det_kind in KIND_MAP.items():
        task_level = gen_kind in TASK_KINDS
        planted = {g for g, k in truth.items() if k == gen_kind}
        found = {_flag_gid(f, task_level) for f in flags if f.kind is det_kind} & planted
        out[gen_kind] = {
            "planted": len(planted),
            "found": len(found),
            "recall": round(len(found) / len(planted), 4) if planted else None,
        }
    for det_kind in AnomalyKind:
        gen_kinds = {g for g, d in KIND_MAP.items() if d is det_kind}
        if not gen_kinds:
            continue
        task_level = bool(gen_kinds & TASK_KINDS)
        mine = [f for f in flags if f.kind is det_kind and _flag_gid(f, task_level) is not None]
        true = [f for f in mine if truth.get(_flag_gid(f, task_level) or "") in gen_kinds]
        out[f"detector:{det_kind.value}"] = {
            "flags": len(mine),
            "true": len(true),
            "precision": round(len(true) / len(mine), 4) if mine else None,
        }
    return out


def run(seeds: list[int] | None = None, tasks: int = 2000, quick: bool = False, **_: Any) -> dict[str, Any]:
    """Precision / recall per kind summed over ``seeds``; ``figures`` for the bench table."""
    seeds = seeds or ([1] if quick else [1, 2, 3])
    tasks = min(tasks, 600) if quick else tasks
    totals: dict[str, dict[str, int]] = {}
    for seed in seeds:
        workspace, truth = generated_workspace(seed, tasks)
        flags = detect_anomalies(workspace, calendar=WorkCalendar())
        for key, scored in score_flags(flags, truth).items():
            acc = totals.setdefault(key, {})
            for k, v in scored.items():
                if isinstance(v, int):
                    acc[k] = acc.get(k, 0) + v
    per_kind: dict[str, dict[str, Any]] = {}
    figures: list[dict[str, Any]] = []
    for key, acc in totals.items():
        row: dict[str, Any] = dict(acc)
        if "planted" in acc:
            row["recall"] = round(acc["found"] / acc["planted"], 4) if acc["planted"] else None
            figures.append(
                {
                    "figure": f"recall {key}",
                    "value": row["recall"],
                    "note": f"{acc['found']}/{acc['planted']}",
                }
            )
        else:
            row["precision"] = round(acc["true"] / acc["flags"], 4) if acc["flags"] else None
            figures.append({"figure": f"precision {key.split(':', 1)[1]}", "value": row["precision"], "note": f"{acc['true']}/{acc['flags']}"})  # fmt: skip
        per_kind[key] = row
    planted = sum(v.get("planted", 0) for v in totals.values())
    found = sum(v.get("found", 0) for v in totals.values())
    flagged = sum(v.get("flags", 0) for v in totals.values())
    true = sum(v.get("true", 0) for v in totals.values())
    result = {
        "seeds": seeds,
        "tasks": tasks,
        "recall": round(found / planted, 4) if planted else None,
        "precision": round(true / flagged, 4) if flagged else None,
        "per_kind": per_kind,
        "figures": [
            {
                "figure": "overall recall (seeded anomalies)",
                "value": round(found / planted, 4) if planted else None,
            },
            {
                "figure": "overall precision (matched kinds)",
                "value": round(true / flagged, 4) if flagged else None,
            },
            *figures,
        ],
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--tasks", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(run(args.seeds, args.tasks), indent=2))


if __name__ == "__main__":
    main()
