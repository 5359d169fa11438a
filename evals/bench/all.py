"""Run every benchmark and write one Markdown table (``bench.md``) plus one JSON file (``bench.json``).

Each benchmark lives in its own module (``evals/bench/*.py``) written by the engineer of that area; this
module only calls them, reads their results against the Quality bars (../shared/PRODUCT.md) and
records the machine. A benchmark whose module is missing, or that fails, is reported as "not run" or
"error" with the reason: never a made-up figure.

``python -m evals.bench.all [--out DIR] [--quick]`` or ``effort bench all``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import json
import math
import os
import platform
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

import tools  # noqa: F401  (offline environment switches before any library import)
from tools.analytics.stats import finite_number
from tools.redact import Redactor

Status = Literal["pass", "miss", "info", "not run", "error"]
BAR_WIDTH = 10


class Row(BaseModel):
    """One figure in the table."""

    bench: str
    figure: str
    value: float | str | None = None
    unit: str = ""
    bar: str = ""  # the Quality bar, in words ("< 5 s"); empty when the figure has none
    status: Status = "info"
    note: str = ""
    ratio: float | None = None  # value / bar limit, for the bar chart column (1.0 = at the limit)


class BenchResult(BaseModel):
    name: str
    title: str
    status: Literal["ran", "not run", "error"]
    reason: str = ""
    seconds: float | None = None
    rows: list[Row] = Field(default_factory=list)
    raw: Any = None


class BenchReport(BaseModel):
    machine: dict[str, Any]
    quick: bool
    started_at: str
    seconds: float
    results: list[BenchResult]

    @property
    def rows(self) -> list[Row]:
        return [row for result in self.results for row in result.rows]


# --------------------------------------------------------------------------- machine


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, Python, OS and the date: the context every figure needs."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb: float | None = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": affinity,
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --------------------------------------------------------------------------- reading results


def to_data(value: Any) -> Any:
    """Pydantic models, dataclasses and paths -> plain JSON-able data (NaN/inf become strings)."""
    if isinstance(value, BaseModel):
        return to_data(value.model_dump(mode="json"))
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses

        return to_data(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): to_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [to_data(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def lookup(data: Any, *paths: str) -> Any:
    """First value found at any dotted path (``"sync.requests"``); searches nested dicts only."""
    for path in paths:
        node = data
        for part in path.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                node = None
                break
        if node is not None:
            return node
    return None


def flatten(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from flatten(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(data, list) and len(data) <= 6:
        for i, value in enumerate(data):
            yield from flatten(value, f"{prefix}[{i}]")
    else:
        yield prefix, data


def check(
    bench: str,
    figure: str,
    value: Any,
    *,
    unit: str = "",
    at_most: float | None = None,
    at_least: float | None = None,
    between: tuple[float, float] | None = None,
    bar: str | None = None,
    note: str = "",
) -> Row:
    """A row judged against a bar. A missing value is "not run" (the benchmark did not report it)."""
    number = finite_number(value)
    if number is None:
        return Row(
            bench=bench,
            figure=figure,
            value=None,
            unit=unit,
            bar=bar or "",
            status="not run",
            note=note or "the benchmark did not report this figure",
        )
    status: Status = "info"
    ratio: float | None = None
    words = bar or ""
    if at_most is not None:
        status = "pass" if number <= at_most else "miss"
        ratio = number / at_most if at_most else None
        words = words or f"≤ {at_most:g}{' ' + unit if unit else ''}"
    elif at_least is not None:
        status = "pass" if number >= at_least else "miss"
        ratio = at_least / number if number else math.inf
        words = words or f"≥ {at_least:g}{' ' + unit if unit else ''}"
    elif between is not None:
        low, high = between
        status = "pass" if low <= number <= high else "miss"
        words = words or f"{low:g}–{high:g}{' ' + unit if unit else ''}"
    return Row(
        bench=bench,
        figure=figure,
        value=round(number, 4),
        unit=unit,
        bar=words,
        status=status,
        note=note,
        ratio=ratio,
    )


def info(bench: str, figure: str, value: Any, unit: str = "", note: str = "") -> Row:
    number = finite_number(value)
    shown: float | str | None = (
        round(number, 4) if number is not None else (None if value is None else str(value))
    )
    return Row(bench=bench, figure=figure, value=shown, unit=unit, status="info", note=note)


def declared_rows(bench: str, data: Any) -> list[Row] | None:
    """Rows a benchmark declared itself (``{"figures": [...]}``), if it did."""
    figures = data.get("figures") if isinstance(data, dict) else None
    if not isinstance(figures, list):
        return None
    rows: list[Row] = []
    for item in figures:
        if not isinstance(item, dict):
            continue
        passed = item.get("passed", item.get("pass"))
        status: Status = "info" if passed is None else ("pass" if passed else "miss")
        number = finite_number(item.get("value"))
        rows.append(
            Row(
                bench=bench,
                figure=str(item.get("figure") or item.get("name") or "?"),
                value=round(number, 4) if number is not None else item.get("value"),
                unit=str(item.get("unit") or ""),
                bar=str(item.get("bar") or ""),
                status=status,
                note=str(item.get("note") or ""),
            )
        )
    return rows


def generic_rows(bench: str, data: Any, limit: int = 12) -> list[Row]:
    """Fallback: the result's numeric leaves, shown as information (no bar judged)."""
    declared = declared_rows(bench, data)
    if declared is not None:
        return declared
    rows = [info(bench, key, value) for key, value in flatten(data) if finite_number(value) is not None]
    return rows[:limit] or [info(bench, "result", json.dumps(data, default=str)[:120])]


# --------------------------------------------------------------------------- the benchmarks


# --------------------------------------------------------------------------- reading each benchmark
# Each reader looks for the figure under the names the benchmark uses (a few aliases, since the modules
# are written in parallel) and judges it against the bar; figures it cannot find show as "not run".


def _with_fallback(bench: str, data: Any, rows: list[Row]) -> list[Row]:
    declared = declared_rows(bench, data)
    if declared:
        return declared
    if all(r.status == "not run" for r in rows):
        return rows + generic_rows(bench, data)
    return rows


def _ratio(numerator: Any, denominator: Any) -> float | None:
    top, bottom = finite_number(numerator), finite_number(denominator)
    return top / bottom if top is not None and bottom else None


def interpret_sync(bench: str, data: Any, quick: bool) -> list[Row]:
    full = lookup(data, "full") or {}
    throttled = lookup(data, "throttled") or {}
    note = "" if lookup(data, "tasks") == 10_000 else f"{lookup(data, 'tasks')} tasks (quick size)"
    rows = [
        info(
            bench,
            "tasks / entries synced",
            f"{lookup(full, 'counts.tasks')} / {lookup(full, 'counts.entries')}",
        ),
        info(bench, "requests, full sync", lookup(full, "requests"), note=note),
        check(
            bench,
            "requests / minimum page count",
            lookup(full, "ratio"),
            at_most=1.10,
            unit="x",
            bar="≤ 1.10x",
            note=f"minimum {lookup(full, 'minimum_pages')} pages",
        ),
        info(bench, "wall time, full sync (no limit)", lookup(full, "wall_s"), "s"),
        check(
            bench,
            f"wall time under {lookup(data, 'rate_limit'):g} req/min / what the limit allows"
            if finite_number(lookup(data, "rate_limit"))
            else "wall time under the rate limit / allowed",
            lookup(throttled, "ratio"),
            at_most=1.25,
            unit="x",
            bar="≤ 1.25x",
            note=f"{lookup(throttled, 'wall_s')} s vs {lookup(throttled, 'limit_allows_s')} s allowed"
            if throttled
            else "the rate-limited run did not happen",
        ),
        check(
            bench,
            "incremental sync of 100 changed tasks: requests",
            lookup(data, "incremental_100.requests"),
            at_most=5,
        ),
    ]
    return _with_fallback(bench, data, rows)


def _sized(data: Any, key: str) -> dict[int, Any]:
    """``{"sizes": [{"tasks": 10000, key: ...}, ...]}`` or ``{"10000": {key: ...}}`` -> {size: value}."""
    found: dict[int, Any] = {}
    items = data.get("results") or data.get("sizes") or data.get("runs") if isinstance(data, dict) else None
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict):
                size = finite_number(item.get("tasks") or item.get("size") or item.get("n_tasks"))
                if size is not None:
                    found[int(size)] = item.get(key)
    elif isinstance(data, dict):
        for k, v in data.items():
            size = finite_number(k)
            if size is not None and isinstance(v, dict):
                found[int(size)] = v.get(key)
    return found


def interpret_retro(bench: str, data: Any, quick: bool) -> list[Row]:
    seconds = _sized(data, "seconds")
    rows: list[Row] = []
    for size, value in sorted(seconds.items()):
        limit = 5.0 if size <= 10_000 else 60.0
        rows.append(
            check(
                bench,
                f"retrospective, {size:,} tasks",
                value,
                unit="s",
                at_most=limit,
                note="" if size in (10_000, 100_000) else "quick size",
            )
        )
    if not rows:
        rows = [
            check(bench, "retrospective, 10,000 tasks", None, unit="s", at_most=5.0),
            check(bench, "retrospective, 100,000 tasks", None, unit="s", at_most=60.0),
        ]
    return _with_fallback(bench, data, rows)


def interpret_index(bench: str, data: Any, quick: bool) -> list[Row]:
    size = finite_number(lookup(data, "tasks"))
    note = "" if size == 100_000 else f"{size:,.0f} tasks (quick size)" if size else ""
    rows = [
        check(
            bench,
            "titles indexed per second",
            lookup(data, "titles_per_second", "index_rate", "throughput"),
            unit="titles/s",
            at_least=500,
        ),
        check(
            bench,
            "query p95",
            lookup(data, "p95_ms", "query_p95_ms", "query.p95_ms"),
            unit="ms",
            at_most=20,
            note=note,
        ),
        info(bench, "query p95 with a date filter", lookup(data, "p95_ms_with_before_filter"), "ms"),
        info(bench, "tasks indexed", lookup(data, "tasks", "n_tasks", "size")),
    ]
    return _with_fallback(bench, data, rows)


def interpret_ask(bench: str, data: Any, quick: bool) -> list[Row]:
    tasks = lookup(data, "tasks")
    rows = [
        check(
            bench,
            f"effort ask first answer, {tasks:,} tasks (worst question)",
            lookup(data, "max_wall_s"),
            unit="s",
            at_most=2.0,
        ),
        info(bench, "importing every CLI command", lookup(data, "cli_import_s"), unit="s"),
    ]
    return _with_fallback(bench, data, rows)


def interpret_tool_tokens(bench: str, data: Any, quick: bool) -> list[Row]:
    peaks = _sized(data, "max_tokens")
    rows = [
        check(bench, f"max tool-output tokens per turn, {size:,} tasks", v, unit="tokens", at_most=3000)
        for size, v in sorted(peaks.items())
    ]
    if not rows:
        rows = [
            check(
                bench,
                "max tool-output tokens per turn",
                lookup(data, "max_tokens", "max"),
                unit="tokens",
                at_most=3000,
            )
        ]
    return _with_fallback(bench, data, rows)


def interpret_estimation(bench: str, data: Any, quick: bool) -> list[Row]:
    human_log = finite_number(lookup(data, "human.mean_abs_log", "human_mean_abs_log"))
    ai_log = finite_number(lookup(data, "ai.mean_abs_log", "ai_mean_abs_log"))
    human_pred = finite_number(lookup(data, "human.pred25", "human_pred25"))
    rows = [
        check(
            bench,
            "mean |log(actual/ai)| vs human (ratio)",
            ai_log / human_log if ai_log and human_log else None,
            at_most=1.0,
            unit="x",
            bar="≤ 1.00x",
        ),
        check(
            bench,
            "PRED(25) with human estimate",
            lookup(data, "ai.pred25", "ai_pred25"),
            at_least=human_pred - 0.01 if human_pred is not None else math.inf,
            bar="≥ human's - 1 point",
        ),
        check(
            bench,
            "P10-P90 coverage",
            lookup(data, "ai.coverage", "coverage", "ai_coverage"),
            between=(0.75, 0.85),
        ),
        check(
            bench,
            "cold start MdMRE",
            lookup(data, "cold.mdmre", "cold_start.mdmre", "cold_mdmre"),
            at_most=0.50,
        ),
        check(
            bench,
            "cold start PRED(25)",
            lookup(data, "cold.pred25", "cold_start.pred25", "cold_pred25"),
            at_least=0.30,
        ),
    ]
    return _with_fallback(bench, data, rows)


def interpret_anomaly(bench: str, data: Any, quick: bool) -> list[Row]:
    rows = [
        info(bench, "precision", lookup(data, "precision")),
        info(bench, "recall", lookup(data, "recall")),
    ]
    return _with_fallback(bench, data, rows)


def interpret_forecast(bench: str, data: Any, quick: bool) -> list[Row]:
    return _with_fallback(bench, data, [])


@dataclass
class BenchSpec:
    """How to call one benchmark module and read its result against the bars."""

    name: str
    title: str
    module: str
    entry: tuple[str, ...] = ("run", "main_run", "benchmark")
    full_kwargs: dict[str, Any] = field(default_factory=dict)
    quick_kwargs: dict[str, Any] = field(default_factory=dict)
    interpret: Callable[[str, Any, bool], list[Row]] | None = None


def _call(fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    """Call with only the keyword arguments the function accepts (entry points differ per area)."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return fn(**kwargs)
    return fn(**{k: v for k, v in kwargs.items() if k in params})


def run_one(spec: BenchSpec, quick: bool, workdir: Path) -> BenchResult:
    """Import, call and interpret one benchmark; a missing module or a failure is reported, not raised."""
    started = time.perf_counter()
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name == spec.module:
            return BenchResult(
                name=spec.name,
                title=spec.title,
                status="not run",
                reason=f"{spec.module} does not exist (not written yet)",
            )
        return BenchResult(
            name=spec.name,
            title=spec.title,
            status="not run",
            reason=f"module {spec.module} is not available ({exc.__class__.__name__}: {exc})",
        )
    fn = next((getattr(module, n) for n in spec.entry if callable(getattr(module, n, None))), None)
    if fn is None:
        return BenchResult(
            name=spec.name,
            title=spec.title,
            status="not run",
            reason=f"{spec.module} has no entry point ({' / '.join(spec.entry)})",
        )
    out_dir = workdir / spec.name
    out_dir.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"quick": quick, "out_dir": out_dir, "workdir": out_dir, "seed": 7}
    kwargs.update(spec.quick_kwargs if quick else spec.full_kwargs)
    try:
        # Benchmarks may print progress; keep the table the only thing this command prints.
        with contextlib.redirect_stdout(io.StringIO()):
            raw = _call(fn, kwargs)
        data = to_data(raw)
        rows = (spec.interpret or (lambda b, d, q: generic_rows(b, d)))(spec.name, data, quick)
    except Exception as exc:  # one failing benchmark must not hide the others' figures
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" at {Path(last[0].filename).name}:{last[0].lineno}" if last else ""
        return BenchResult(
            name=spec.name,
            title=spec.title,
            status="error",
            reason=f"{exc.__class__.__name__}: {str(exc)[:300]}{where}",
            seconds=round(time.perf_counter() - started, 2),
        )
    return BenchResult(
        name=spec.name,
        title=spec.title,
        status="ran",
        rows=rows,
        raw=data,
        seconds=round(time.perf_counter() - started, 2),
    )


def default_specs(sip_dir: Path | None = None) -> list[BenchSpec]:
    """Every benchmark, with the sizes the Quality bars name (``--quick``: small sizes, same code)."""
    sip = sip_dir or find_sip()
    return [
        BenchSpec(
            "sync",
            "Sync 10k tasks / ~100k entries with complete data (rate-limited, 5x scaled time)",
            "evals.bench.sync_bench",
            full_kwargs={"tasks": 10_000, "entries_per_task": 16.3, "rate_limit": 1500, "scale": 5},
            quick_kwargs={"tasks": 200, "entries_per_task": 16.3, "rate_limit": 1500, "scale": 5},
            interpret=interpret_sync,
        ),
        BenchSpec(
            "data",
            "Complete data: billing vs the API, duplicates, coverage",
            "evals.bench.data_bench",
            full_kwargs={},
            quick_kwargs={
                "tasks": 150,
                "months": 4,
                "dup_seeds": (1,),
                "holdout_seeds": (4,),
                "dup_tasks": 500,
            },
        ),
        BenchSpec(
            "retro",
            "Retrospective without LLM at 10k and 100k tasks",
            "evals.bench.retro_bench",
            full_kwargs={"sizes": [10_000, 100_000]},
            quick_kwargs={"sizes": [500, 2_000]},
            interpret=interpret_retro,
        ),
        BenchSpec(
            "index",
            "Similar-task index: throughput and query p95 at 100k",
            "evals.bench.index_bench",
            full_kwargs={"tasks": 100_000},
            quick_kwargs={"tasks": 2_000, "queries": 50},
            interpret=interpret_index,
        ),
        BenchSpec(
            "tool_tokens",
            "Chat tool output tokens per turn at 100 / 10k / 100k tasks",
            "evals.bench.tool_tokens",
            full_kwargs={"sizes": [100, 10_000, 100_000]},
            quick_kwargs={"sizes": [100, 1_000]},
            interpret=interpret_tool_tokens,
        ),
        BenchSpec(
            "ask",
            "effort ask offline, first answer on a 10k-task store",
            "evals.bench.ask_bench",
            full_kwargs={"tasks": 10_000, "entries_per_task": 10, "repeat": 3},
            quick_kwargs={"tasks": 1_000, "entries_per_task": 10, "repeat": 1},
            interpret=interpret_ask,
        ),
        BenchSpec(
            "estimation",
            "Estimation backtest on SiP",
            "evals.bench.estimation",
            full_kwargs={"data_dir": sip, "sip_dir": sip},
            quick_kwargs={"data_dir": sip, "sip_dir": sip},
            interpret=interpret_estimation,
        ),
        BenchSpec(
            "anomaly",
            "Time-entry anomaly precision / recall",
            "evals.bench.anomaly_bench",
            interpret=interpret_anomaly,
        ),
        BenchSpec(
            "forecast",
            "Completion forecast backtest",
            "evals.bench.forecast_backtest",
            interpret=interpret_forecast,
        ),
        BenchSpec(
            "budget",
            "Budget overrun backtest (SiP and generated, replayed week by week)",
            "evals.bench.budget_backtest",
            full_kwargs={"sip_dir": sip},
            quick_kwargs={"sip_dir": sip},
        ),
        BenchSpec(
            "timesheet",
            "Timesheet drafts: hidden entries recovered",
            "evals.bench.timesheet_backtest",
        ),
    ]


def find_sip() -> Path | None:
    """The SiP dataset: ``EFFORT_SIP_DIR``, else ../shared/data/sip next to the repository."""
    env = os.environ.get("EFFORT_SIP_DIR")
    candidates = [Path(env)] if env else []
    repo = Path(__file__).resolve().parents[2]
    candidates += [repo.parent / "shared" / "data" / "sip", repo / "data" / "sip"]
    return next((c for c in candidates if (c / "Sip-task-info.csv").exists()), None)


def run_all(
    out_dir: Path, quick: bool = False, only: list[str] | None = None, specs: list[BenchSpec] | None = None
) -> BenchReport:
    """Run the benchmarks (all, or those named in ``only``), write bench.md and bench.json to ``out_dir``."""
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = [s for s in (specs or default_specs()) if not only or s.name in only]
    machine = machine_info()
    results: list[BenchResult] = []
    report = BenchReport(machine=machine, quick=quick, started_at=started_at, seconds=0.0, results=results)
    for i, spec in enumerate(chosen):
        results.append(run_one(spec, quick, out_dir / "work"))
        # Written after every benchmark: an interrupted run still leaves the figures it measured, and the
        # ones still to come are listed as "not run" (interrupted before it) rather than missing.
        pending = [
            BenchResult(
                name=s.name, title=s.title, status="not run", reason="the run stopped before this benchmark"
            )
            for s in chosen[i + 1 :]
        ]
        report = BenchReport(
            machine=machine,
            quick=quick,
            started_at=started_at,
            seconds=round(time.perf_counter() - started, 1),
            results=[*results, *pending],
        )
        write_report(report, out_dir)
    return report


# --------------------------------------------------------------------------- output


def bar_cell(row: Row) -> str:
    """A small text bar: how much of the bar's budget the figure uses (█ within, ▓ beyond)."""
    if row.ratio is None or not math.isfinite(row.ratio):
        return ""
    filled = max(0, min(BAR_WIDTH, round(min(row.ratio, 1.0) * BAR_WIDTH)))
    over = "▓" if row.ratio > 1.0 else ""
    return "█" * filled + "·" * (BAR_WIDTH - filled) + over + f" {row.ratio:.0%}"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _value(row: Row) -> str:
    if row.value is None:
        return "—"
    if isinstance(row.value, float) and row.value.is_integer() and abs(row.value) < 1e15:
        shown = f"{int(row.value):,}"
    elif isinstance(row.value, float):
        shown = f"{row.value:,.4g}" if abs(row.value) < 1e6 else f"{row.value:,.0f}"
    else:
        shown = str(row.value)
    return f"{shown} {row.unit}".strip()


def render_markdown(report: BenchReport) -> str:
    """One table (benchmark, figure, value, bar, budget used, result) plus the machine it ran on."""
    m = report.machine
    lines = [
        "# Effort Copilot benchmarks"
        + (" (quick sizes: a smoke test, not the Quality-bar figures)" if report.quick else ""),
        "",
        f"Machine: {m.get('cpu')}, {m.get('cores')} cores ({m.get('usable_cores')} usable), "
        f"{m.get('memory_gb')} GB RAM, Python {m.get('python')}, {m.get('os')}; run {m.get('date')}, "
        f"{report.seconds:g} s in all. Command: `effort bench all{' --quick' if report.quick else ''}`.",
        "",
        "| benchmark | figure | value | bar | budget used | result |",
        "|---|---|---|---|---|---|",
    ]
    for result in report.results:
        if result.status != "ran":
            lines.append(
                f"| {_cell(result.title)} | — | — | — | | **{result.status}**: {_cell(result.reason)} |"
            )
            continue
        for row in result.rows:
            status = {
                "pass": "pass",
                "miss": "**miss**",
                "info": "info",
                "not run": "not run",
                "error": "**error**",
            }[row.status]
            note = f" ({_cell(row.note)})" if row.note else ""
            lines.append(
                f"| {_cell(result.title)} | {_cell(row.figure)} | {_cell(_value(row))} | "
                f"{_cell(row.bar)} | {bar_cell(row)} | {status}{note} |"
            )
    counts = {s: sum(1 for r in report.rows if r.status == s) for s in ("pass", "miss", "info", "not run")}
    skipped = [r.name for r in report.results if r.status != "ran"]
    lines += [
        "",
        f"Bars met: {counts['pass']}, missed: {counts['miss']}, informational: {counts['info']}, "
        f"figures not reported: {counts['not run']}; benchmarks not run or failed: {skipped or 'none'}.",
    ]
    return "\n".join(lines) + "\n"


def write_report(report: BenchReport, out_dir: Path) -> tuple[Path, Path]:
    """Write bench.md and bench.json (secrets redacted from both: reasons can quote exceptions)."""
    redact = Redactor(v for k, v in os.environ.items() if k in {"ASANA_ACCESS_TOKEN", "OPENAI_API_KEY"})
    md = out_dir / "bench.md"
    js = out_dir / "bench.json"
    md.write_text(redact(render_markdown(report)), encoding="utf-8")
    js.write_text(redact(json.dumps(to_data(report), indent=2, default=str)), encoding="utf-8")
    return md, js


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/bench"))
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    args = parser.parse_args(argv)
    report = run_all(args.out, quick=args.quick, only=args.only)
    print(render_markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
