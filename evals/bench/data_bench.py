"""Complete-data benchmark (issue 11): billing against the API's own records, duplicate detection on
planted double submissions, and coverage of every stored entry field.

    .venv/bin/python -m evals.bench.data_bench [--tasks 400] [--dup-seeds 1 2 3] [--holdout-seeds 4 5 6]

- **Billing**: a sandbox workspace synced through the SDK with the default 180-day detail window, plus
  the older months asked for as a billing draft would (``request_detail_period``); for every client
  and month, the draft's money against an independent computation straight from the sandbox's API
  records (entry-level billable status x the person's rate on the project). Bar: within 0.5%.
- **Duplicates**: generated workspaces whose payloads are mapped with the sync's own mapping (the
  records a complete sync stores: the sync tests check field by field that they are equal), every
  flag at or above the retrospective's proposal threshold against the planted double submissions.
  Bars: precision and recall >= 90%. One seed is also synced over HTTP to show the same figures.
- **Coverage**: every stored entry field, on the synced workspace. Bar: 100%.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import tools  # noqa: F401  (offline environment switches)
from tools.analytics.anomalies import AnomalyKind, detect_anomalies
from tools.analytics.billing import billing_draft
from tools.gateway import AsanaGateway
from tools.store import Store
from tools.sync import SyncOptions, request_detail_period, sync_workspace


def proposal_threshold() -> float:
    """The score from which a retrospective proposes an ``AI Review Flag`` (read from its code)."""
    from evals.bench.anomaly_bench import proposal_thresholds

    return float(proposal_thresholds()["retro"])


def reference(sb: Any) -> dict[tuple[str, str], float]:
    """Money per (client, month) from the API's full records: billable entries x the person's rate."""
    from sandbox.generator import export_payloads

    payloads = export_payloads(sb.state)
    client = {
        p["gid"]: cf["text_value"]
        for p in payloads["project"]
        for cf in p.get("custom_fields") or []
        if cf.get("name") == "Client" and cf.get("text_value")
    }
    rate = {(r["parent"]["gid"], r["resource"]["gid"]): r["rate"] for r in payloads["rate"]}
    listed = {t["gid"] for t in payloads["task"] if t.get("projects")}
    out: dict[tuple[str, str], float] = defaultdict(float)
    for e in payloads["time_tracking_entry"]:
        if e["billable_status"] != "billable" or e["duration_minutes"] <= 0 or e["task"]["gid"] not in listed:
            continue
        project = e["attributable_to"]["gid"]
        out[(client.get(project, "(no client)"), e["entered_on"][:7])] += (
            e["duration_minutes"] / 60 * rate[(project, e["created_by"]["gid"])]
        )
    return out


def _month(key: str) -> tuple[date, date]:
    start = date.fromisoformat(key + "-01")
    return start, (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def billing_and_coverage(seed: int, tasks: int, months: int) -> dict[str, Any]:
    from sandbox import Sandbox
    from tools.config_types import ScopeConfig

    with Sandbox.start(seed=seed, tasks=tasks) as sb, tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'b.db'}")
        options = SyncOptions(
            workspace=sb.workspace_gid,
            scope=ScopeConfig(projects=["*"]),
            today=date.fromisoformat(sb.truth.as_of),
        )
        ref = reference(sb)
        wanted = sorted({m for _, m in ref})[-months:]
        with AsanaGateway(sb.base_url, sb.token) as gw:
            first = sync_workspace(gw, store, options, full=True)
            # A billing draft for months before the window asks for their details: the next sync reads them.
            for month in wanted:
                start, end = _month(month)
                if start < options.window_start():
                    request_detail_period(store, start, end)
            later = sync_workspace(gw, store, options, full=False)
        ws = store.workspace()
        rows, worst = [], 0.0
        for month in wanted:
            draft = billing_draft(ws, *_month(month))
            mine: dict[str, float] = defaultdict(float)
            for line in draft.lines:
                mine[line.client] += float(line.amount or 0)
            for (client, m), money in sorted(ref.items()):
                if m != month:
                    continue
                error = abs(mine.get(client, 0.0) - money) / money if money else 0.0
                worst = max(worst, error)
                rows.append({"month": month, "client": client, "api": round(money, 2), "draft": round(mine.get(client, 0.0), 2), "error": round(error, 6)})  # fmt: skip
            if draft.status_unknown_entries:
                rows.append({"month": month, "unknown_status_entries": draft.status_unknown_entries})
        store.close()
    return {
        "seed": seed,
        "tasks": tasks,
        "months": wanted,
        "client_months": sum(1 for r in rows if "client" in r),
        "worst_error": round(worst, 6),
        "rows": rows,
        "coverage_after_first_sync": [c.describe() for c in first.coverage],
        "coverage": [c.describe() for c in later.coverage],
        "coverage_min_share": min(
            c.share for c in later.coverage if "categories" not in c.field and "all time" not in c.field
        ),
        "details_read": [first.details_read, later.details_read],
    }


def duplicates(seeds: list[int], tasks: int) -> dict[str, Any]:
    from evals.bench.anomaly_bench import generated_workspace

    threshold = proposal_threshold()
    per_seed, tp_all, flagged_all, planted_all = [], 0, 0, 0
    for seed in seeds:
        ws, truth = generated_workspace(seed, tasks)
        planted = {g for g, k in truth.items() if k == "duplicate"}
        flags = [f for f in detect_anomalies(ws) if f.kind is AnomalyKind.DUPLICATE and f.score >= threshold]
        got = {f.entry_gid for f in flags}
        tp = len(got & planted)
        per_seed.append({"seed": seed, "planted": len(planted), "flagged": len(got), "true": tp})
        tp_all, flagged_all, planted_all = tp_all + tp, flagged_all + len(got), planted_all + len(planted)
    return {
        "threshold": threshold,
        "tasks": tasks,
        "per_seed": per_seed,
        "precision": round(tp_all / flagged_all, 4) if flagged_all else None,
        "recall": round(tp_all / planted_all, 4) if planted_all else None,
    }


def duplicates_synced(seed: int, tasks: int) -> dict[str, Any]:
    """The same detector on a workspace synced over HTTP (details read for the whole history)."""
    from sandbox import Sandbox
    from tools.config_types import ScopeConfig

    threshold = proposal_threshold()
    with Sandbox.start(seed=seed, tasks=tasks) as sb, tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'd.db'}")
        options = SyncOptions(
            workspace=sb.workspace_gid, scope=ScopeConfig(projects=["*"]), detail_window_days=3660
        )
        with AsanaGateway(sb.base_url, sb.token) as gw:
            sync_workspace(gw, store, options, full=True)
        ws = store.workspace()
        planted = {g for g, k in sb.truth.anomalies.items() if k == "duplicate"}
        store.close()
    got = {
        f.entry_gid for f in detect_anomalies(ws) if f.kind is AnomalyKind.DUPLICATE and f.score >= threshold
    }
    tp = len(got & planted)
    return {"seed": seed, "tasks": tasks, "planted": len(planted), "flagged": len(got), "true": tp}


def run(
    tasks: int = 400,
    months: int = 12,
    dup_seeds: tuple[int, ...] = (1, 2, 3),
    holdout_seeds: tuple[int, ...] = (4, 5, 6),
    dup_tasks: int = 2000,
    seed: int = 7,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "billing": billing_and_coverage(seed, tasks, months),
        "duplicates": duplicates(list(dup_seeds), dup_tasks),
        "duplicates_holdout": duplicates(list(holdout_seeds), dup_tasks),
        "duplicates_synced": duplicates_synced(seed, tasks),
    }
    dup, hold = out["duplicates"], out["duplicates_holdout"]
    billing = out["billing"]
    out["figures"] = [  # rows for evals/bench/all.py's table
        {"figure": f"billing vs the API, worst of {billing['client_months']} client-months", "value": billing["worst_error"] * 100,
         "unit": "%", "bar": "≤ 0.5%", "passed": billing["worst_error"] <= 0.005},
        {"figure": "duplicates at the proposal threshold: precision (held-out)", "value": hold["precision"],
         "bar": "≥ 0.90", "passed": (hold["precision"] or 0) >= 0.9, "note": f"development seeds {dup['precision']}"},
        {"figure": "duplicates at the proposal threshold: recall (held-out)", "value": hold["recall"],
         "bar": "≥ 0.90", "passed": (hold["recall"] or 0) >= 0.9, "note": f"development seeds {dup['recall']}"},
        {"figure": "coverage of every stored entry field", "value": billing["coverage_min_share"] * 100, "unit": "%",
         "bar": "100%", "passed": billing["coverage_min_share"] == 1.0},
    ]  # fmt: skip
    out["bars"] = {
        "billing_within_0_5pct": out["billing"]["worst_error"] <= 0.005,
        "duplicates_precision_ge_90": (dup["precision"] or 0) >= 0.9 and (hold["precision"] or 0) >= 0.9,
        "duplicates_recall_ge_90": (dup["recall"] or 0) >= 0.9 and (hold["recall"] or 0) >= 0.9,
        "coverage_100": out["billing"]["coverage_min_share"] == 1.0,
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--tasks", type=int, default=400)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--dup-seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--holdout-seeds", type=int, nargs="+", default=[4, 5, 6])
    ap.add_argument("--dup-tasks", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    result = run(
        args.tasks, args.months, tuple(args.dup_seeds), tuple(args.holdout_seeds), args.dup_tasks, args.seed
    )
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
