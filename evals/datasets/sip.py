"""SiP dataset adapter: ``../shared/data/sip/`` (read in place, never copied) -> TASKS.csv.

Mapping (as in shared/data/BASELINES.md): title=Summary, project=ProjectCode, category=SubCategory,
assignee=DeveloperID with the most DeveloperHoursActual on the task, estimate=HoursEstimate,
actual=HoursActual (task total), created_at=EstimateOn, started_at=StartedOn, completed_at=CompletedOn.
Extra context columns: section=ProjectBreakdownCode (sub-project), tags=Category (Development /
Management / Operational). Kept: StatusCode FINISHED/COMPLETED/RELEASED with estimate > 0 and
actual > 0 (8,175 tasks).

    python -m evals.datasets.sip --out /tmp/sip_tasks.csv [--sip-dir DIR]

The data is found at ``--sip-dir``, else ``$EFFORT_SIP_DIR``, else the first ``shared/data/sip`` next to
the repository or one of its parent directories (a git worktree sits deeper than the main checkout).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from tools.backtest.tasks_csv import COLUMNS

REPO_ROOT = Path(__file__).resolve().parents[2]
TASK_FILE = "Sip-task-info.csv"
DATES_FILE = "est-act-dates.csv"
DONE_STATUSES = frozenset({"FINISHED", "COMPLETED", "RELEASED"})


class SipError(RuntimeError):
    """The SiP files are missing or not in the expected shape."""


def find_sip_dir() -> Path:
    """``$EFFORT_SIP_DIR``, else the first ``shared/data/sip`` (or ``data/sip``) beside the repository or
    one of its parents; the conventional location when none has the data (the error then names it)."""
    env = os.environ.get("EFFORT_SIP_DIR")
    if env:
        return Path(env)
    for base in (REPO_ROOT, *REPO_ROOT.parents):
        for candidate in (base / "shared" / "data" / "sip", base / "data" / "sip"):
            if (candidate / TASK_FILE).is_file():
                return candidate
    return REPO_ROOT.parent / "shared" / "data" / "sip"


DEFAULT_SIP_DIR = find_sip_dir()


@dataclass
class _TaskAcc:
    row: dict[str, str]
    dates: dict[str, str]
    best_dev: str
    best_hours: float


def _sip_date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    return datetime.strptime(text, "%d-%b-%y").date()


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("nan")


def sip_rows(sip_dir: Path = DEFAULT_SIP_DIR) -> list[dict[str, str]]:
    """The kept SiP tasks as TASKS.csv rows (strings), in task order of first appearance."""
    task_path, dates_path = sip_dir / TASK_FILE, sip_dir / DATES_FILE
    for path in (task_path, dates_path):
        if not path.is_file():
            raise SipError(f"SiP file not found: {path} (pass --sip-dir)")
    # Titles are Windows-1252 (curly quotes). The files hold the same TaskNumber multiset (not in the same
    # order) and a task's dates are identical on all of its rows, so join on TaskNumber.
    with (
        task_path.open(encoding="cp1252", newline="") as f1,
        dates_path.open(encoding="cp1252", newline="") as f2,
    ):
        info_rows = list(csv.DictReader(f1))
        date_rows = list(csv.DictReader(f2))
    if len(info_rows) != len(date_rows):
        raise SipError(f"{TASK_FILE} has {len(info_rows)} rows but {DATES_FILE} has {len(date_rows)}")
    dates_by_task: dict[str, dict[str, str]] = {}
    for date_row in date_rows:
        dates_by_task.setdefault(date_row["TaskNumber"].strip(), date_row)
    tasks: dict[str, _TaskAcc] = {}
    for line, info in enumerate(info_rows, start=2):
        number = info["TaskNumber"].strip()
        found = dates_by_task.get(number)
        if found is None:
            raise SipError(f"row {line}: TaskNumber {number} has no row in {DATES_FILE}")
        dev_hours = _float(info.get("DeveloperHoursActual", ""))
        dev_hours = dev_hours if dev_hours == dev_hours else -1.0
        acc = tasks.get(number)
        if acc is None:
            tasks[number] = _TaskAcc(info, found, info["DeveloperID"].strip(), dev_hours)
        elif dev_hours > acc.best_hours:  # ties keep the first developer row
            acc.best_dev, acc.best_hours = info["DeveloperID"].strip(), dev_hours
    out: list[dict[str, str]] = []
    for number, acc in tasks.items():
        info, dates = acc.row, acc.dates
        estimate, actual = _float(info["HoursEstimate"]), _float(info["HoursActual"])
        if info["StatusCode"].strip() not in DONE_STATUSES or not (estimate > 0 and actual > 0):
            continue
        created, started, completed = (
            _sip_date(dates["EstimateOn"]),
            _sip_date(dates["StartedOn"]),
            _sip_date(dates["CompletedOn"]),
        )
        row = dict.fromkeys(COLUMNS, "")
        row.update(
            task_id=number,
            title=info["Summary"].strip(),
            project=info["ProjectCode"].strip(),
            section=info["ProjectBreakdownCode"].strip(),
            assignee=acc.best_dev,
            category=info["SubCategory"].strip(),
            tags=info["Category"].strip(),
            created_at=created.isoformat() if created else "",
            started_at=started.isoformat() if started else "",
            completed_at=completed.isoformat() if completed else "",
            estimate_hours=f"{estimate:g}",
            actual_hours=f"{actual:g}",
        )
        out.append(row)
    return out


def write_sip_csv(out: Path, sip_dir: Path = DEFAULT_SIP_DIR) -> int:
    """Write the SiP TASKS.csv to ``out``; returns the number of tasks written."""
    rows = sip_rows(sip_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    """``python -m evals.datasets.sip --out FILE [--sip-dir DIR]``."""
    parser = argparse.ArgumentParser(description="Write the SiP dataset as a TASKS.csv for effort bench.")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sip-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        count = write_sip_csv(args.out, args.sip_dir or find_sip_dir())
    except (SipError, OSError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {count} SiP tasks to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
