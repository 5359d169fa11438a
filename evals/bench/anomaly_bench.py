"""Anomaly detector benchmark: precision and recall per kind on the sandbox generator's seeded anomalies.

The generator (sandbox.generator) records every anomaly it plants in ``truth.anomalies`` ({gid: kind});
its payloads are mapped to records with the sync's pure mapping functions (no HTTP), then
``detect_anomalies`` runs over the whole workspace. A flag matches a planted anomaly when it names the
same entry (entry kinds) or task (task kinds) with a corresponding kind. Natural data also has tasks more
than 50% off their estimate, so "variance" precision against the *seeded* ones is a lower bound.

Every figure comes twice: over all flags (what ``effort analyze anomalies`` lists) and over flags at or
above the scores from which the product proposes an ``AI Review Flag`` (the retrospective's and
``effort serve``'s thresholds, read from their code). Held-out seeds (default 4 5 6) are reported apart
from the development seeds: the detector's thresholds are robust statistics, not fitted to any seed, and
the held-out figures are the check.

    python -m evals.bench.anomaly_bench [--seeds 1 2 3] [--holdout-seeds 4 5 6] [--tasks 2000]
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


def proposal_thresholds() -> dict[str, float]:
    """The scores from which the product proposes an ``AI Review Flag``, read from the code that does it:
    the retrospective (``RunLimits.flag_min_score``) and ``effort serve``'s reactions to new entries
    (``ServeDeps.anomaly_threshold``)."""
    import dataclasses

    from agent.retro import LIMITS
    from agent.serve.deps import ServeDeps

    serve = next(f.default for f in dataclasses.fields(ServeDeps) if f.name == "anomaly_threshold")
    assert isinstance(serve, float)
    return {"retro": min(limit.flag_min_score for limit in LIMITS.values()), "serve": serve}


def _flag_gid(flag: AnomalyFlag, task_level: bool) -> str | None:
    return flag.task_gid if task_level else flag.entry_gid


def detectable(workspace: Workspace, truth: dict[str, str]) -> set[str]:
    """Planted gids the product's rules can see at the snapshot: a ``huge_variance`` task needs an
    estimate and either to be completed or to have already run over (an open task that is under its
    estimate so far cannot be judged yet); every planted entry-level kind is visible."""
    tasks = {t.gid: t for t in workspace.tasks}
    logged: dict[str, int] = {}
    for e in workspace.entries:
        logged[e.task_gid] = logged.get(e.task_gid, 0) + max(e.duration_minutes, 0)
    out: set[str] = set()
    for gid, kind in truth.items():
        if kind != "huge_variance":
            out.add(gid)
            continue
        task = tasks.get(gid)
        if task is None or not task.estimate_hours:
            continue
        actual = task.actual_hours if task.actual_hours is not None else logged.get(gid, 0) / 60.0
        if task.completed or actual > 1.5 * task.estimate_hours:
            out.add(gid)
    return out


def score_flags(
    flags: Iterable[AnomalyFlag],
    truth: dict[str, str],
    *,
    thresholds: dict[str, float] | None = None,
    visible: set[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per generator kind: planted, found (recall); per detector kind: flags, true (precision).

    With ``thresholds`` ({name: score}), the same counts again over flags scoring at least each one
    (``found@name``, ``flags@name``, ``true@name``): what the product would actually propose. With
    ``visible`` (see :func:`detectable`), ``detectable`` counts the planted anomalies a rule can see.
    Flags of kinds the generator never plants (pace, holiday) and person-level flags (silent weeks) have
    no truth to match; they are counted under ``unscored`` rather than silently left out.
    """
    flags = list(flags)
    levels: dict[str, float] = {"": 0.0, **{f"@{k}": v for k, v in (thresholds or {}).items()}}
    out: dict[str, dict[str, Any]] = {}
    for gen_kind, det_kind in KIND_MAP.items():
        task_level = gen_kind in TASK_KINDS
        planted = {g for g, k in truth.items() if k == gen_kind}
        row: dict[str, Any] = {"planted": len(planted)}
        if visible is not None:
            row["detectable"] = len(planted & visible)
        for suffix, level in levels.items():
            found = {_flag_gid(f, task_level) for f in flags if f.kind is det_kind and f.score >= level}
            row[f"found{suffix}"] = len(found & planted)
        row["recall"] = round(row["found"] / len(planted), 4) if planted else None
        out[gen_kind] = row
    scored: set[int] = set()
    for det_kind in AnomalyKind:
        gen_kinds = {g for g, d in KIND_MAP.items() if d is det_kind}
        if not gen_kinds:
            continue
        task_level = bool(gen_kinds & TASK_KINDS)
        mine = [f for f in flags if f.kind is det_kind and _flag_gid(f, task_level) is not None]
        scored.update(id(f) for f in mine)
        row = {}
        for suffix, level in levels.items():
            kept = [f for f in mine if f.score >= level]
            row[f"flags{suffix}"] = len(kept)
            row[f"true{suffix}"] = sum(
                1 for f in kept if truth.get(_flag_gid(f, task_level) or "") in gen_kinds
            )
        row["precision"] = round(row["true"] / row["flags"], 4) if row["flags"] else None
        out[f"detector:{det_kind.value}"] = row
    unscored = [f for f in flags if id(f) not in scored]
    out["unscored"] = {"flags": len(unscored)} | {
        f"flags{suffix}": sum(1 for f in unscored if f.score >= level)
        for suffix, level in levels.items()
        if suffix
    }
    return out


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _aggregate(seeds: list[int], tasks: int, thresholds: dict[str, float]) -> dict[str, Any]:
    """Counts summed over ``seeds``, then precision / recall per kind and overall, for all flags and for
    flags at each proposal threshold."""
    totals: dict[str, dict[str, int]] = {}
    for seed in seeds:
        workspace, truth = generated_workspace(seed, tasks)
        flags = detect_anomalies(workspace, calendar=WorkCalendar())
        scored = score_flags(flags, truth, thresholds=thresholds, visible=detectable(workspace, truth))
        for key, counts in scored.items():
            acc = totals.setdefault(key, {})
            for k, v in counts.items():
                if isinstance(v, int):
                    acc[k] = acc.get(k, 0) + v
    levels = ["", *(f"@{k}" for k in thresholds)]
    per_kind: dict[str, dict[str, Any]] = {}
    for key, acc in totals.items():
        row: dict[str, Any] = dict(acc)
        for suffix in levels:
            if "planted" in acc:
                row[f"recall{suffix}"] = _ratio(acc[f"found{suffix}"], acc["planted"])
                if suffix == "":
                    row["recall_detectable"] = _ratio(acc["found"], acc["detectable"])
            elif key != "unscored":
                row[f"precision{suffix}"] = _ratio(acc[f"true{suffix}"], acc[f"flags{suffix}"])
        per_kind[key] = row
    overall: dict[str, Any] = {}
    for suffix in levels:
        planted = sum(v.get("planted", 0) for v in totals.values())
        found = sum(v.get(f"found{suffix}", 0) for k, v in totals.items() if "planted" in v)
        flagged = sum(v.get(f"flags{suffix}", 0) for k, v in totals.items() if k.startswith("detector:"))
        true = sum(v.get(f"true{suffix}", 0) for v in totals.values())
        overall[f"recall{suffix}"] = _ratio(found, planted)
        overall[f"precision{suffix}"] = _ratio(true, flagged)
    return {"seeds": seeds, "overall": overall, "per_kind": per_kind}


def run(
    seeds: list[int] | None = None,
    tasks: int = 2000,
    quick: bool = False,
    holdout_seeds: list[int] | None = None,
    **_: Any,
) -> dict[str, Any]:
    """Precision / recall per kind summed over ``seeds`` and, separately, over ``holdout_seeds`` (seeds
    nobody looked at while choosing the detector's rules: a check that they are not fitted to the
    development seeds). ``figures`` for the bench table."""
    seeds = seeds or ([1] if quick else [1, 2, 3])
    holdout = holdout_seeds if holdout_seeds is not None else ([] if quick else [4, 5, 6])
    tasks = min(tasks, 600) if quick else tasks
    thresholds = proposal_thresholds()
    dev = _aggregate(seeds, tasks, thresholds)
    held = _aggregate(holdout, tasks, thresholds) if holdout else None
    figures: list[dict[str, Any]] = []
    for label, part in (("", dev), ("held-out ", held)):
        if part is None:
            continue
        note = f"seeds {' '.join(map(str, part['seeds']))} x {tasks} tasks"
        o = part["overall"]
        figures.append({"figure": f"{label}overall recall / precision (all flags)", "value": f"{o['recall']} / {o['precision']}", "note": note})  # fmt: skip
        for name, level in thresholds.items():
            figures.append(
                {
                    "figure": f"{label}overall recall / precision at score >= {level} ({name} proposes)",
                    "value": f"{o[f'recall@{name}']} / {o[f'precision@{name}']}",
                    "note": note,
                }
            )
        for key, row in part["per_kind"].items():
            if "planted" in row:
                at = ", ".join(f"{row[f'found@{n}']} at >= {v}" for n, v in thresholds.items())
                figures.append({"figure": f"{label}recall {key}", "value": row["recall"], "note": f"{row['found']}/{row['planted']} ({row['detectable']} detectable); {at}"})  # fmt: skip
            elif key.startswith("detector:"):
                at = ", ".join(
                    f"{row[f'true@{n}']}/{row[f'flags@{n}']} at >= {v}" for n, v in thresholds.items()
                )
                figures.append({"figure": f"{label}precision {key.split(':', 1)[1]}", "value": row["precision"], "note": f"{row['true']}/{row['flags']}; {at}"})  # fmt: skip
    return {
        "seeds": seeds,
        "holdout_seeds": holdout,
        "tasks": tasks,
        "thresholds": thresholds,
        "recall": dev["overall"]["recall"],
        "precision": dev["overall"]["precision"],
        "development": dev,
        "holdout": held,
        "figures": figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--holdout-seeds", type=int, nargs="*", default=[4, 5, 6])
    parser.add_argument("--tasks", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(run(args.seeds, args.tasks, holdout_seeds=args.holdout_seeds), indent=2))


if __name__ == "__main__":
    main()
