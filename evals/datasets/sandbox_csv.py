"""A generated sandbox workspace as a TASKS.csv, through the real product path: sandbox server ->
gateway -> sync -> store -> Task records -> CSV (completed tasks with actual hours only).

    python -m evals.datasets.sandbox_csv --tasks 3000 --seed 3 --out /tmp/sandbox_tasks.csv

Used to check that the estimator generalises beyond SiP (different biases, sizes and text).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import tools  # noqa: F401  (offline switches first)
from tools.backtest.tasks_csv import write_tasks_csv


def write_sandbox_csv(out: Path, tasks: int = 2000, seed: int = 3) -> int:
    """Generate, serve, sync and export; returns the number of rows written."""
    from agent.config import Settings
    from sandbox import Sandbox
    from tools.gateway import AsanaGateway
    from tools.store import Store
    from tools.sync import sync_workspace

    with (
        tempfile.TemporaryDirectory(prefix="sandbox_csv_") as tmp,
        Sandbox.start(seed=seed, tasks=tasks) as sb,
    ):
        store = Store.open(f"sqlite:///{Path(tmp) / 'store.db'}")
        try:
            settings = Settings(
                ASANA_ACCESS_TOKEN=sb.token,  # type: ignore[arg-type]
                EFFORT_ASANA_BASE_URL=sb.base_url,
                EFFORT_WORKSPACE=sb.workspace_gid,
            )
            with AsanaGateway(sb.base_url, sb.token) as gateway:
                sync_workspace(gateway, store, settings, full=True)
            workspace = store.workspace()
        finally:
            store.close()
    done = [t for t in workspace.tasks if t.completed_at is not None and t.actual_hours is not None]
    return write_tasks_csv(done, out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export a generated sandbox workspace as a TASKS.csv.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        count = write_sandbox_csv(args.out, args.tasks, args.seed)
    except Exception as exc:  # a CLI: report, don't dump a traceback
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {count} completed sandbox tasks to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
