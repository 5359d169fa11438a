"""Developer benchmark: the estimation backtest (``tools.backtest``, the product's own
``effort bench estimation``) on the SiP dataset, for ``effort bench all`` / ``python -m evals.bench.all``.

The SiP TASKS.csv and the per-task predictions are written to a temporary directory (the data is read in
place, never copied into the project); only the aggregate report goes to ``out_dir``.

    python -m evals.bench.estimation [--sip-dir DIR] [--out-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import tools  # noqa: F401  (offline switches before onnxruntime is imported)
from evals.datasets.sip import find_sip_dir, write_sip_csv
from tools.backtest.runner import BenchReport, run_bench


def summary(r: BenchReport) -> dict[str, Any]:
    """The figures in the shape ``evals.bench.all`` reads (fractions, not percents)."""
    return {
        "human": r.human.model_dump(),
        "ai": r.ai.model_dump(),
        "cold": r.cold.model_dump(),
        "cold_on_estimated": r.cold_on_estimated.model_dump(),
        "totals": r.totals.model_dump(),
        "project_totals": r.project_totals.model_dump(),
        "approver": r.approver.model_dump() if r.approver is not None else None,
        "train_tasks": r.train_tasks,
        "test_tasks": r.test_tasks,
        "seconds": r.seconds,
        "figures": r.figures,
        "hindsight": [f.model_dump() for f in r.hindsight],
    }


def run(
    sip_dir: Path | None = None,
    out_dir: Path | None = None,
    quick: bool = False,
    test_fraction: float = 0.2,
    **_: Any,
) -> dict[str, Any]:
    """The backtest on SiP (TASKS.csv and predictions in a temporary directory)."""
    with tempfile.TemporaryDirectory(prefix="sip_bench_") as tmp:
        tasks_csv = Path(tmp) / "sip_tasks.csv"
        write_sip_csv(tasks_csv, sip_dir or find_sip_dir())
        report = (out_dir or Path(tmp)) / "sip_estimation.md"
        result = run_bench(tasks_csv, Path(tmp) / "sip_predictions.csv", report, test_fraction=test_fraction)
    return summary(result)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sip-dir", type=Path, default=None)
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    result = run(args.sip_dir, args.out_dir)
    print(json.dumps({k: result[k] for k in ("human", "ai", "cold", "totals")}, indent=2))


if __name__ == "__main__":
    main()
