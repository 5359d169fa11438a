"""`effort bench estimation` end to end on small synthetic CSVs, bad CSVs, the SiP adapter, and the
rule that the product never imports `evals/`."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from evals.datasets.sip import DEFAULT_SIP_DIR, sip_rows, write_sip_csv
from tests import REPO
from tests.fixtures.index import make_history, write_csv
from tools.backtest.metrics import metrics
from tools.backtest.runner import PREDICTION_COLUMNS, split
from tools.backtest.tasks_csv import COLUMNS, TasksCsvError, read_tasks_csv

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["bench", *args])
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes is not None else "")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_cli_end_to_end_with_text_similarity(tmp_path: Path) -> None:
    tasks = write_csv(make_history(150), tmp_path / "tasks.csv", drop_estimate_every=5)
    out, report = tmp_path / "out.csv", tmp_path / "report.md"
    code, output = _run(
        "estimation",
        "--tasks",
        str(tasks),
        "--predictions",
        str(out),
        "--report",
        str(report),
        "--test-fraction",
        "0.2",
    )
    assert code == 0, output
    rows = _rows(out)
    assert list(rows[0].keys()) == list(PREDICTION_COLUMNS)
    assert len(rows) == 30  # one row per test task
    test_ids = {t.gid for t in split(read_tasks_csv(tasks).tasks, 0.2)[1]}
    assert {r["task_id"] for r in rows} == test_ids
    for row in rows:
        assert (
            float(row["cold_start_p10_hours"])
            <= float(row["cold_start_hours"])
            <= float(row["cold_start_p90_hours"])
        )
        if row["estimate_hours"]:
            assert float(row["ai_p10_hours"]) <= float(row["ai_estimate_hours"]) <= float(row["ai_p90_hours"])
        else:  # no human estimate: the ai_* columns stay empty
            assert row["ai_estimate_hours"] == row["ai_p10_hours"] == row["ai_p90_hours"] == ""
    text = report.read_text()
    assert "MdMRE" in text and "PRED(25)" in text and "Project x month totals" in text
    assert "Project totals" in text and "Learning from approvers" in text and "## Bars" in text
    assert "Hindsight bounds" in text and "hindsight (cold start" in output
    assert "human estimate (raw)" in output or "human" in output


def test_metrics_known_values() -> None:
    m = metrics([1.0, 2.0, 4.0, 10.0], [1.0, 2.5, 2.0, 10.0], [0.5, 2.0, 4.5, 1.0], [2.0, 3.0, 5.0, 20.0])
    assert m.pred25 == pytest.approx(0.75)  # MREs 0, 0.25, 0.5, 0
    assert m.mdmre == pytest.approx(0.125)
    assert m.mae == pytest.approx((0 + 0.5 + 2 + 0) / 4)
    assert m.coverage == pytest.approx(0.75)


def test_split_is_chronological_by_completed_then_created(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "task_id,created_at,completed_at,actual_hours\n"
        "a,2024-01-01,2024-03-01,1\n"
        "b,2024-01-05,,2\n"  # no completed_at: sorted by created_at
        "c,2024-01-02,2024-02-01,3\n"
        "d,2024-01-03,2024-04-01,4\n"
    )
    train, test = split(read_tasks_csv(path).tasks, 0.5)
    assert [t.gid for t in train] == ["b", "c"] and [t.gid for t in test] == ["a", "d"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("task_id,title\n1,x\n", "missing required column(s): actual_hours, completed_at or created_at"),
        ("title,actual_hours,created_at\nx,1,2024-01-01\n", "missing required column(s): task_id"),
        (
            "task_id,actual_hours,created_at\n1,abc,2024-01-01\n",
            "row 2: column actual_hours: 'abc' is not a number",
        ),
        ("task_id,actual_hours,created_at\n1,3,31/02/2024\n", "row 2: column created_at"),
    ],
)
def test_bad_csv_gives_a_clear_error_not_a_traceback(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, output = _run("estimation", "--tasks", str(path), "--predictions", str(tmp_path / "o.csv"))
    assert code == 2
    assert message in output
    assert "Traceback" not in output


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    code, output = _run(
        "estimation", "--tasks", str(tmp_path / "nope.csv"), "--predictions", str(tmp_path / "o.csv")
    )
    assert code == 2 and "file not found" in output and "Traceback" not in output


def test_bad_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    path = write_csv(make_history(60), tmp_path / "tasks.csv")
    with path.open("a", encoding="utf-8") as handle:
        handle.write("bad1,t,,p1,,ana,bug,,2024-06-01,,2024-06-02,2,lots\n")
        handle.write("bad2,t,,p1,,ana,bug,,not-a-date,,2024-06-02,2,3\n")
        handle.write("bad3,t,,p1,,ana,bug,,2024-06-01,,2024-06-02,-4,3\n")
        handle.write("t00001,dup,,p1,,ana,bug,,2024-06-01,,2024-06-02,2,3\n")
    read = read_tasks_csv(path)
    assert len(read.tasks) == 60 and read.skipped == 4
    assert any("row 62: column actual_hours" in p for p in read.problems)
    assert any("row 63: column created_at" in p for p in read.problems)
    assert any("row 64: column estimate_hours" in p for p in read.problems)
    assert any("duplicate" in p for p in read.problems)
    code, output = _run(
        "estimation", "--tasks", str(path), "--predictions", str(tmp_path / "o.csv"), "--no-text"
    )
    assert code == 0, output
    assert "4 skipped" in output and "row 62" in output


def test_only_bad_rows_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "all_bad.csv"
    path.write_text("task_id,actual_hours,completed_at\n1,x,2024-01-01\n2,,2024-01-02\n")
    with pytest.raises(TasksCsvError, match=r"no usable task rows \(2 data rows\); first problem: row 2"):
        read_tasks_csv(path)


def test_too_few_tasks_for_a_split(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("task_id,actual_hours,created_at\n1,2,2024-01-01\n")
    code, output = _run("estimation", "--tasks", str(path), "--predictions", str(tmp_path / "o.csv"))
    assert code == 2 and "need at least 2" in output


def test_bad_test_fraction(tmp_path: Path) -> None:
    path = write_csv(make_history(20), tmp_path / "tasks.csv")
    code, output = _run(
        "estimation", "--tasks", str(path), "--predictions", str(tmp_path / "o.csv"), "--test-fraction", "1.5"
    )
    assert code == 2 and "--test-fraction" in output


# --------------------------------------------------------------------------- SiP adapter


def test_sip_adapter_on_a_tiny_copy(tmp_path: Path) -> None:
    info = (
        "TaskNumber,Summary,Priority,RaisedByID,AssignedToID,AuthorisedByID,StatusCode,ProjectCode,"
        "ProjectBreakdownCode,Category,SubCategory,HoursEstimate,HoursActual,DeveloperID,DeveloperHoursActual,"
        "TaskPerformance,DeveloperPerformance\n"
        '1,"Fix \x93quoted\x94 bug",1,1,1,1,"FINISHED","PC1","PBC1","Development","Bug",2,3,7,1,0,0\n'
        '1,"Fix \x93quoted\x94 bug",1,1,1,1,"FINISHED","PC1","PBC1","Development","Bug",2,3,8,2,0,0\n'
        '2,"Open task",1,1,1,1,"CHRONICLE","PC1","PBC1","Development","Bug",2,3,7,3,0,0\n'
        '3,"No estimate",1,1,1,1,"COMPLETED","PC2","PBC2","Management","Meetings",0,3,7,3,0,0\n'
    )
    dates = "TaskNumber,EstimateOn,StartedOn,CompletedOn\n3,01-Feb-05,,03-Feb-05\n1,02-Nov-04,02-Nov-04,16-Nov-04\n1,02-Nov-04,02-Nov-04,16-Nov-04\n2,02-Nov-04,,\n"
    (tmp_path / "Sip-task-info.csv").write_bytes(info.encode("cp1252", errors="replace").replace(b"?", b""))
    (tmp_path / "Sip-task-info.csv").write_bytes(info.encode("latin-1"))
    (tmp_path / "est-act-dates.csv").write_text(dates)
    rows = sip_rows(tmp_path)
    assert len(rows) == 1  # CHRONICLE and zero-estimate tasks dropped
    row = rows[0]
    assert row["assignee"] == "8"  # the developer with most hours on the task
    assert row["title"] == "Fix “quoted” bug"
    assert (row["project"], row["category"], row["section"], row["tags"]) == (
        "PC1",
        "Bug",
        "PBC1",
        "Development",
    )
    assert (row["created_at"], row["started_at"], row["completed_at"]) == (
        "2004-11-02",
        "2004-11-02",
        "2004-11-16",
    )
    assert (row["estimate_hours"], row["actual_hours"]) == ("2", "3")
    out = tmp_path / "sip.csv"
    assert write_sip_csv(out, tmp_path) == 1
    assert list(_rows(out)[0].keys()) == list(COLUMNS)


@pytest.mark.skipif(not (DEFAULT_SIP_DIR / "Sip-task-info.csv").exists(), reason="SiP data not present")
def test_sip_adapter_on_the_shared_dataset(tmp_path: Path) -> None:
    assert write_sip_csv(tmp_path / "sip.csv", DEFAULT_SIP_DIR) == 8175
    read = read_tasks_csv(tmp_path / "sip.csv")
    assert len(read.tasks) == 8175 and read.skipped == 0  # BASELINES.md: 8,175 tasks
    assert len({t.assignee_gid for t in read.tasks}) == 21
    by_id = {t.gid: t for t in read.tasks}
    assert by_id["1742"].estimate_hours == 7 and by_id["1742"].actual_hours == 7
    assert not (REPO / "sip.csv").exists()  # nothing copied into the repo


def test_sandbox_export_feeds_the_bench(tmp_path: Path) -> None:
    """A generated sandbox workspace, synced through the product path, exports as a usable TASKS.csv."""
    from evals.datasets.sandbox_csv import write_sandbox_csv

    out = tmp_path / "sandbox.csv"
    count = write_sandbox_csv(out, tasks=80, seed=2)
    read = read_tasks_csv(out)
    assert count == len(read.tasks) > 10 and read.skipped == 0
    assert all(t.actual_hours is not None and t.completed_at is not None for t in read.tasks)
    code, output = _run(
        "estimation", "--tasks", str(out), "--predictions", str(tmp_path / "o.csv"), "--no-text"
    )
    assert code == 0, output


def test_the_product_never_imports_evals() -> None:
    """The backtest CLI runs in a fresh interpreter without `evals` importable at all."""
    import subprocess
    import sys

    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'evals' or name.startswith('evals.'):\n"
        "            raise ImportError('the product imported ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import agent.cli.bench_cmd, tools.backtest.runner, tools.backtest.report, tools.analytics.totals\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-2000:]
