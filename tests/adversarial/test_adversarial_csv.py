"""Adversarial: broken benchmark CSVs (`effort bench estimation --tasks`) and CSV timesheet attachments:
a clear error naming the file and the problem, or bad rows skipped with a reason, never a traceback."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tools.backtest import tasks_csv

HEADER = ",".join(tasks_csv.COLUMNS)
GOOD_ROW = "t1,Fix login,,Web,Build,ana,bug,ui;auth,2026-01-01,2026-01-02,2026-01-05,4,5.5"
GOOD_ROW_2 = "t2,Add search,,Web,Build,ben,feature,,2026-01-03,,2026-01-09,8,7"

BAD_FILES: list[tuple[str, bytes, str]] = [
    ("empty", b"", "empty"),
    ("whitespace-only", b"  \n\n \n", "empty"),
    ("header-only", HEADER.encode() + b"\n", "no usable task rows"),
    ("missing-actual-column", b"task_id,title,completed_at\nt1,x,2026-01-01\n", "actual_hours"),
    ("missing-date-columns", b"task_id,actual_hours\nt1,3\n", "completed_at or created_at"),
    (
        "wrong-delimiter",
        HEADER.replace(",", ";").encode() + b"\n" + GOOD_ROW.replace(",", ";").encode(),
        "missing",
    ),
    ("latin1-bytes", (HEADER + "\n" + GOOD_ROW.replace("Fix login", "Caf\xe9")).encode("latin-1"), "UTF-8"),
    ("binary-garbage", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "UTF-8"),
    (
        "all-rows-bad",
        (HEADER + "\nt1,x,,,,,,,2026-01-01,,2026-01-02,4,lots\nt2,y,,,,,,,nope,,nope,4,3\n").encode(),
        "no usable task rows",
    ),
    ("nul-bytes", (HEADER + "\n" + GOOD_ROW.replace("Fix", "F\x00ix")).encode(), ""),
    (
        "huge-field",
        (HEADER + "\n" + GOOD_ROW.replace("Fix login,", "Fix," + "x" * 200_000 + ",")).encode(),
        "",
    ),
]


@pytest.mark.parametrize(
    ("content", "needle"), [(c, n) for _, c, n in BAD_FILES], ids=[i for i, *_ in BAD_FILES]
)
def test_broken_tasks_csv_is_a_clear_error(tmp_path: Path, content: bytes, needle: str) -> None:
    path = tmp_path / "history.csv"
    path.write_bytes(content)
    try:
        result = tasks_csv.read_tasks_csv(path)
    except tasks_csv.TasksCsvError as exc:
        message = str(exc)
        assert str(path) in message and needle.lower() in message.lower()
        assert "Traceback" not in message
        return
    # Accepted: then every bad row is accounted for, and what was read is sane.
    assert result.tasks, "an accepted file must yield tasks"
    assert result.rows == len(result.tasks) + result.skipped


BAD_ROWS: list[tuple[str, str, str]] = [
    ("actual-text", "t9,x,,,,,,,2026-01-01,,2026-01-02,4,lots", "actual_hours"),
    ("actual-nan", "t9,x,,,,,,,2026-01-01,,2026-01-02,4,nan", "actual_hours"),
    ("actual-inf", "t9,x,,,,,,,2026-01-01,,2026-01-02,4,inf", "actual_hours"),
    ("actual-negative", "t9,x,,,,,,,2026-01-01,,2026-01-02,4,-3", "actual_hours"),
    ("estimate-1e308", "t9,x,,,,,,,2026-01-01,,2026-01-02,1e999,3", "estimate_hours"),
    ("actual-missing", "t9,x,,,,,,,2026-01-01,,2026-01-02,4,", "actual_hours"),
    ("id-missing", ",x,,,,,,,2026-01-01,,2026-01-02,4,3", "task_id"),
    ("date-garbage", "t9,x,,,,,,,someday,,never,4,3", "date"),
    ("too-many-cells", "t9,x,,,,,,,2026-01-01,,2026-01-02,4,3,extra,cells", "more values"),
    ("duplicate-id", GOOD_ROW, "duplicate"),
]


@pytest.mark.parametrize(("row", "needle"), [(r, n) for _, r, n in BAD_ROWS], ids=[i for i, *_ in BAD_ROWS])
def test_bad_row_is_skipped_with_reason(tmp_path: Path, row: str, needle: str) -> None:
    path = tmp_path / "history.csv"
    path.write_text(f"{HEADER}\n{GOOD_ROW}\n{GOOD_ROW_2}\n{row}\n", encoding="utf-8")
    result = tasks_csv.read_tasks_csv(path)
    assert [t.gid for t in result.tasks] == ["t1", "t2"]
    assert result.skipped == 1 and len(result.problems) == 1
    assert "row 4" in result.problems[0] and needle in result.problems[0]


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(tasks_csv.TasksCsvError, match="not found"):
        tasks_csv.read_tasks_csv(tmp_path / "nope.csv")
    with pytest.raises(tasks_csv.TasksCsvError, match="directory"):
        tasks_csv.read_tasks_csv(tmp_path)


@pytest.mark.parametrize("name", ["binary-garbage", "header-only", "missing-actual-column"])
def test_bench_estimation_cli_reports_broken_csv(tmp_path: Path, name: str) -> None:
    from typer.testing import CliRunner

    import agent.cli.bench_cmd  # noqa: F401
    from agent.cli import app

    content = next(c for i, c, _ in BAD_FILES if i == name)
    path = tmp_path / "history.csv"
    path.write_bytes(content)
    result = CliRunner().invoke(
        app, ["bench", "estimation", "--tasks", str(path), "--predictions", str(tmp_path / "pred.csv")]
    )
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert not (tmp_path / "pred.csv").exists() or (tmp_path / "pred.csv").stat().st_size == 0


def _timesheet_parser():  # type: ignore[no-untyped-def]
    """The CSV timesheet (attachment) parser, wherever the sync engineer put it."""
    for module, name in (
        ("tools.sync.timesheets", "parse_timesheet"),
        ("tools.sync.attachments", "parse_timesheet"),
        ("tools.timesheets", "parse_timesheet"),
        ("tools.sync.timesheet", "parse_timesheet_csv"),
    ):
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        fn = getattr(mod, name, None)
        if callable(fn):
            return fn
    pytest.skip(
        "no CSV timesheet parser found (looked for tools.sync.timesheets.parse_timesheet and similar): "
        "attachments are not parsed yet"
    )


BAD_TIMESHEETS: list[tuple[str, bytes, str]] = [  # (id, content, "error" | "problem")
    ("empty", b"", "error"),
    ("binary", bytes(range(256)) * 4, "error"),
    ("nul-bytes", b"date,hours\n2026-01-05,2\x00\n", "error"),
    ("too-large", b"date,hours\n" + b"2026-01-05,1\n" * 500_000, "error"),
    ("no-header", b"2026-01-05,3.5\n", "error"),
    ("unbalanced-quote", b'date,hours,task\n"2026-01-05,2,t1\n', "error"),
    ("hours-text", b"date,hours,task\n2026-01-05,lots,t1\n", "problem"),
    ("hours-nan", b"date,hours,task\n2026-01-05,nan,t1\n", "problem"),
    ("hours-inf", b"date,hours,task\n2026-01-05,inf,t1\n", "problem"),
    ("hours-negative", b"date,hours,task\n2026-01-05,-2,t1\n", "problem"),
    ("hours-1e308", b"date,hours,task\n2026-01-05,1e308,t1\n", "problem"),
    ("minutes-huge", b"date,minutes\n2026-01-05,99999999\n", "problem"),
    ("date-garbage", b"date,hours,task\nsoon,2,t1\n", "problem"),
]


@pytest.mark.parametrize(
    ("content", "expect"), [(c, e) for _, c, e in BAD_TIMESHEETS], ids=[i for i, *_ in BAD_TIMESHEETS]
)
def test_broken_timesheet_attachment(content: bytes, expect: str) -> None:
    parse = _timesheet_parser()
    try:
        sheet = parse(content)
    except ValueError as exc:  # a clear error for a file that cannot be a timesheet
        assert expect == "error", f"whole file refused where one row should be skipped: {exc}"
        assert str(exc) and "Traceback" not in str(exc)
        return
    assert expect == "problem", "an unusable file was accepted"
    rows = sheet if isinstance(sheet, list) else getattr(sheet, "rows", [])
    problems = getattr(sheet, "problems", [])
    assert rows == [] and len(problems) == 1 and problems[0].startswith("row 2")
