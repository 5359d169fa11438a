"""TASKS.csv, the estimation backtest's input format (PRODUCT.md, Interfaces): read, validate, write.

Columns (header names fixed): task_id,title,description,project,section,assignee,category,tags,
created_at,started_at,completed_at,estimate_hours,actual_hours. Only ``task_id``, ``actual_hours`` and
one of ``completed_at`` / ``created_at`` are required. Tags are ``;``-separated, dates ISO 8601.

Mapping to :class:`tools.records.Task`: title -> name, description -> notes, project -> project_gid and
project_name, category -> project_type (the category whose track record the estimator learns),
section -> section, tags -> tags, assignee -> assignee_gid. A missing ``created_at`` is taken from
``started_at`` or ``completed_at`` (Task requires one).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tools.records import ActualSource, Task

COLUMNS = (
    "task_id",
    "title",
    "description",
    "project",
    "section",
    "assignee",
    "category",
    "tags",
    "created_at",
    "started_at",
    "completed_at",
    "estimate_hours",
    "actual_hours",
)
REQUIRED = ("task_id", "actual_hours")
MAX_SHOWN_PROBLEMS = 10


class TasksCsvError(ValueError):
    """The file cannot be used at all (missing, empty, wrong columns, no usable row)."""


@dataclass
class ReadResult:
    """Tasks read from a TASKS.csv plus what was skipped and why (``problems`` name row and column)."""

    tasks: list[Task]
    rows: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


class _RowError(ValueError):
    pass


def parse_datetime(text: str, column: str) -> datetime | None:
    """ISO 8601 date or datetime (``Z`` accepted); naive values are UTC. Empty -> None."""
    text = text.strip()
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise _RowError(f"column {column}: {text[:40]!r} is not an ISO 8601 date") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_hours(text: str, column: str) -> float | None:
    """A finite, non-negative number of hours. Empty -> None."""
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _RowError(f"column {column}: {text[:40]!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise _RowError(f"column {column}: {text[:40]!r} is not a finite, non-negative number of hours")
    return value


def _row_to_task(row: dict[str, str]) -> Task:
    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    task_id = get("task_id")
    if not task_id:
        raise _RowError("column task_id: empty")
    actual = parse_hours(get("actual_hours"), "actual_hours")
    if actual is None:
        raise _RowError("column actual_hours: empty")
    estimate = parse_hours(get("estimate_hours"), "estimate_hours")
    created = parse_datetime(get("created_at"), "created_at")
    started = parse_datetime(get("started_at"), "started_at")
    completed = parse_datetime(get("completed_at"), "completed_at")
    anchor = created or started or completed
    if anchor is None:
        raise _RowError("columns completed_at and created_at: both empty")
    tags = tuple(t.strip() for t in get("tags").split(";") if t.strip())
    project = get("project") or None
    return Task(
        gid=task_id,
        name=get("title") or task_id,
        notes=get("description"),
        project_gid=project,
        project_name=project,
        project_type=get("category") or None,
        section=get("section") or None,
        tags=tags,
        assignee_gid=get("assignee") or None,
        assignee_name=get("assignee") or None,
        created_at=anchor,
        started_at=started,
        completed=completed is not None,
        completed_at=completed,
        estimate_hours=estimate,
        actual_hours=actual,
        actual_source=ActualSource.CUSTOM_FIELD,
    )


def read_tasks_csv(path: Path) -> ReadResult:
    """Read and validate a TASKS.csv. Bad rows are skipped and described; a bad file raises
    :class:`TasksCsvError` with a message that says what is wrong."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise TasksCsvError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise TasksCsvError(f"{path}: is a directory, expected a CSV file") from None
    except UnicodeDecodeError as exc:
        raise TasksCsvError(f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8") from None
    if not text.strip():
        raise TasksCsvError(f"{path}: the file is empty (expected a header row: {','.join(COLUMNS)})")
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    if "completed_at" not in header and "created_at" not in header:
        missing.append("completed_at or created_at")
    if missing:
        raise TasksCsvError(
            f"{path}: missing required column(s): {', '.join(missing)} (header has: {', '.join(header) or 'nothing'})"
        )
    result = ReadResult(tasks=[])
    seen: set[str] = set()
    try:
        for line_no, row in enumerate(reader, start=2):  # line 1 is the header
            result.rows += 1
            if None in row:  # more cells than header columns
                result.skipped += 1
                result.problems.append(f"row {line_no}: more values than header columns")
                continue
            try:
                task = _row_to_task(row)
            except _RowError as exc:
                result.skipped += 1
                result.problems.append(f"row {line_no}: {exc}")
                continue
            except ValueError as exc:  # a value the record rejects
                result.skipped += 1
                result.problems.append(f"row {line_no}: invalid value ({str(exc).splitlines()[0]})")
                continue
            if task.gid in seen:
                result.skipped += 1
                result.problems.append(f"row {line_no}: column task_id: duplicate {task.gid!r}")
                continue
            seen.add(task.gid)
            result.tasks.append(task)
    except csv.Error as exc:
        raise TasksCsvError(f"{path}: malformed CSV near row {reader.line_num}: {exc}") from None
    if not result.tasks:
        detail = f"; first problem: {result.problems[0]}" if result.problems else ""
        raise TasksCsvError(f"{path}: no usable task rows ({result.rows} data rows){detail}")
    return result


def _fmt_dt(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def _fmt_hours(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def task_to_row(task: Task) -> dict[str, str]:
    """One TASKS.csv row for a task (the inverse of the reader's mapping)."""
    return {
        "task_id": task.gid,
        "title": task.name,
        "description": task.notes,
        "project": task.project_name or task.project_gid or "",
        "section": task.section or "",
        "assignee": task.assignee_name or task.assignee_gid or "",
        "category": task.project_type or "",
        "tags": ";".join(task.tags),
        "created_at": _fmt_dt(task.created_at),
        "started_at": _fmt_dt(task.started_at),
        "completed_at": _fmt_dt(task.completed_at),
        "estimate_hours": _fmt_hours(task.estimate_hours),
        "actual_hours": _fmt_hours(task.actual_hours),
    }


def write_tasks_csv(tasks: Iterable[Task], path: Path) -> int:
    """Write tasks as a TASKS.csv; returns the number of rows written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS))
        writer.writeheader()
        for task in tasks:
            writer.writerow(task_to_row(task))
            count += 1
    return count
