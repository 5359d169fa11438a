"""`bench all`: the runner, the bar checks and the table writer (fake benchmark modules: fast)."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from evals.bench.all import (
    BenchSpec,
    check,
    default_specs,
    interpret_retro,
    interpret_tool_tokens,
    machine_info,
    render_markdown,
    run_all,
)


@pytest.fixture
def fake_benches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[BenchSpec]:
    pkg = tmp_path / "fakebench"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text(
        textwrap.dedent(
            """
            def run(quick=False, sizes=(10000, 100000)):
                print("progress output must not leak into the table")
                return {"results": [{"tasks": s, "seconds": 1.5 if s == 10000 else 75.0} for s in sizes]}
            """
        )
    )
    (pkg / "declared.py").write_text(
        "def run(quick=False):\n"
        "    return {'figures': [{'figure': 'p95', 'value': 12.0, 'unit': 'ms', 'bar': '< 20 ms', 'passed': True}]}\n"
    )
    (pkg / "broken.py").write_text("def run(quick=False):\n    raise RuntimeError('disk full')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "fakebench", raising=False)
    return [
        BenchSpec(
            "retro",
            "Retro",
            "fakebench.good",
            full_kwargs={"sizes": [10_000, 100_000]},
            quick_kwargs={"sizes": [10_000, 100_000]},
            interpret=interpret_retro,
        ),
        BenchSpec("declared", "Declared", "fakebench.declared"),
        BenchSpec("broken", "Broken", "fakebench.broken"),
        BenchSpec("missing", "Missing", "fakebench.not_written_yet"),
    ]


def test_run_all_writes_one_table_and_json(tmp_path: Path, fake_benches: list[BenchSpec]) -> None:
    report = run_all(tmp_path / "out", quick=True, specs=fake_benches)
    by_name = {r.name: r for r in report.results}
    assert by_name["retro"].status == "ran"
    assert [r.status for r in by_name["retro"].rows] == ["pass", "miss"]  # 1.5 s < 5 s; 75 s > 60 s
    assert by_name["declared"].rows[0].status == "pass"
    assert by_name["broken"].status == "error" and "disk full" in by_name["broken"].reason
    assert by_name["missing"].status == "not run" and "not_written_yet" in by_name["missing"].reason

    md = (tmp_path / "out" / "bench.md").read_text()
    table_headers = [line for line in md.splitlines() if line.startswith("| benchmark |")]
    assert len(table_headers) == 1
    assert "**miss**" in md and "**not run**" in md and "**error**" in md
    assert "progress output" not in md
    data = json.loads((tmp_path / "out" / "bench.json").read_text())
    assert data["machine"]["cores"] >= 1 and data["machine"]["python"]
    assert {r["name"] for r in data["results"]} == {"retro", "declared", "broken", "missing"}


def test_check_rows() -> None:
    assert check("b", "f", 4.0, at_most=5).status == "pass"
    assert check("b", "f", 6.0, at_most=5).status == "miss"
    assert check("b", "f", 600, at_least=500).status == "pass"
    assert check("b", "f", 0.9, between=(0.75, 0.85)).status == "miss"
    assert check("b", "f", None, at_most=5).status == "not run"
    assert check("b", "f", float("nan"), at_most=5).status == "not run"


def test_tool_token_rows_per_size() -> None:
    rows = interpret_tool_tokens(
        "t", {"results": [{"tasks": 100, "max_tokens": 900}, {"tasks": 100_000, "max_tokens": 3100}]}, False
    )
    assert [(r.figure.split(", ")[-1], r.status) for r in rows] == [
        ("100 tasks", "pass"),
        ("100,000 tasks", "miss"),
    ]


def test_markdown_escapes_pipes(tmp_path: Path, fake_benches: list[BenchSpec]) -> None:
    report = run_all(tmp_path, specs=fake_benches[:1])
    report.results[0].rows[0].figure = "a | b"
    assert "a \\| b" in render_markdown(report)


def test_machine_info_names_cpu_and_python() -> None:
    info = machine_info()
    assert info["cpu"] and info["python"].startswith("3.") and info["date"]


def test_bench_all_runs_as_a_developer_module(tmp_path: Path) -> None:
    """`make bench` runs `python -m evals.bench.all`: the product CLI does not import evals."""
    from evals.bench.all import main

    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0


def test_a_real_benchmark_through_run_all(tmp_path: Path) -> None:
    """The retro benchmark's real entry point at a tiny size: the contract between all.py and a module."""
    spec = next(s for s in default_specs() if s.name == "retro")
    spec.quick_kwargs = {"sizes": [150]}
    report = run_all(tmp_path, quick=True, specs=[spec])
    result = report.results[0]
    assert result.status == "ran", result.reason
    assert result.rows and result.rows[0].status == "pass" and result.rows[0].unit == "s"
    assert "150 tasks" in (tmp_path / "bench.md").read_text()
