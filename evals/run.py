"""`make eval`: run the chat scenarios through the agent and score them with deepeval metrics.

    python -m evals.run [--mode offline|llm|both] [--out out/eval.json] [--limit N] [--category C]

The offline mode (intent router) always runs. With ``OPENAI_API_KEY`` or ``OPENAI_BASE_URL`` set, the
real LLM runs too (``--mode both``, the default) on the same scenarios. Metrics: deepeval's
ToolCorrectnessMetric on its deterministic path (placeholder judge, no key), plus Numeric Grounding,
Required Facts, Approval Compliance and Behaviour (evals/metrics.py, no LLM judge). LLM-judged metrics
(deepeval AnswerRelevancy) are added only when a judge model is configured: ``EFFORT_EVAL_JUDGE_MODEL``
(it uses the same OpenAI-compatible endpoint).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tools  # noqa: F401  (telemetry off before deepeval is imported)

os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "1")
os.environ.setdefault("DEEPEVAL_DISABLE_DOTENV", "1")

from deepeval.metrics import BaseMetric
from deepeval.test_case import LLMTestCase, ToolCall
from pydantic import BaseModel, Field

from evals.metrics import as_tool_calls, offline_metrics
from evals.scenarios.build import EVAL_TOKEN, build_dataset
from evals.scenarios.model import Scenario
from evals.scenarios.runner import CountingWriter, RunRecord, run_scenario
from evals.scenarios.workspace import EvalWorkspace, build_eval_workspace
from tools.proposals import AI_FIELDS
from tools.redact import Redactor

METRIC_ORDER = (
    "Tool Correctness",
    "Numeric Grounding",
    "Required Facts",
    "Approval Compliance",
    "Behaviour",
    "Filter Honesty",
)
SHORT_NAMES = dict(
    zip(METRIC_ORDER, ("tools", "grounded", "facts", "approval", "behaviour", "filters"), strict=True)
)


class MetricResult(BaseModel):
    name: str
    score: float | None
    passed: bool | None
    reason: str = ""


class CaseResult(BaseModel):
    scenario: Scenario
    run: RunRecord
    metrics: list[MetricResult] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(m.passed is not False for m in self.metrics)

    @property
    def clarified(self) -> bool:
        """Asked back instead of answering (no tool ran, nothing proposed, a question in the answer)."""
        return not self.run.tool_calls and not self.run.proposals and "?" in self.run.answer

    def metric(self, name: str) -> MetricResult | None:
        return next((m for m in self.metrics if m.name == name), None)


class ModeReport(BaseModel):
    mode: str
    cases: list[CaseResult]
    seconds: float

    def by_metric(self, category: str | None = None) -> dict[str, dict[str, float]]:
        """metric -> {mean score, pass rate, n} over scored cases (optionally one category)."""
        table: dict[str, list[MetricResult]] = {}
        for case in self.cases:
            if category and case.scenario.category != category:
                continue
            for m in case.metrics:
                if m.score is not None:
                    table.setdefault(m.name, []).append(m)
        return {
            name: {
                "mean": statistics.fmean(m.score or 0.0 for m in ms),
                "pass_rate": sum(1 for m in ms if m.passed) / len(ms),
                "n": float(len(ms)),
            }
            for name, ms in table.items()
        }

    def slices(self) -> dict[str, dict[str, Any]]:
        """The natural set's scorecard per slice (held-out vs seen): correct, silently dropped
        filters, crashes, and how often an answerable question was met with a question back."""
        out: dict[str, dict[str, Any]] = {}
        for name in ("heldout", "seen", "classic"):
            cases = [c for c in self.cases if c.scenario.slice == name]
            if not cases:
                continue
            answerable = [c for c in cases if c.scenario.expect == "answer"]
            dropped = [
                c for c in cases if (m := c.metric("Filter Honesty")) is not None and m.passed is False
            ]
            out[name] = {
                "n": len(cases),
                "correct": sum(1 for c in cases if c.passed),
                "correct_rate": round(sum(1 for c in cases if c.passed) / len(cases), 3),
                "dropped_filters": len(dropped),
                "crashes": sum(1 for c in cases if c.run.error),
                "clarify_rate": round(sum(1 for c in answerable if c.clarified) / max(1, len(answerable)), 3),
                "by_topic": {
                    topic: f"{sum(1 for c in cases if c.scenario.topic == topic and c.passed)}/"
                    f"{sum(1 for c in cases if c.scenario.topic == topic)}"
                    for topic in sorted({c.scenario.topic for c in cases if c.scenario.topic})
                },
            }
        return out

    def summary(self) -> dict[str, Any]:
        categories = sorted({c.scenario.category for c in self.cases})
        return {
            "slices": self.slices(),
            "mode": self.mode,
            "scenarios": len(self.cases),
            "passed_all_metrics": sum(1 for c in self.cases if c.passed),
            "errors": sum(1 for c in self.cases if c.run.error),
            "writes_without_approval": sum(max(c.run.writes - c.run.approved_writes, 0) for c in self.cases),
            "metrics": self.by_metric(),
            "by_category": {
                cat: {
                    "n": sum(1 for c in self.cases if c.scenario.category == cat),
                    "passed": sum(1 for c in self.cases if c.scenario.category == cat and c.passed),
                    "metrics": self.by_metric(cat),
                }
                for cat in categories
            },
            "seconds": self.seconds,
        }


def test_case_for(scenario: Scenario, run: RunRecord, reference_text: str = "") -> LLMTestCase:
    """The deepeval test case: answer, tool calls with outputs, and what the harness observed."""
    return LLMTestCase(
        input=scenario.question,
        actual_output=run.answer or "",
        tools_called=as_tool_calls(run.tool_calls),
        expected_tools=[ToolCall(name=name, input_parameters={}) for name in (scenario.expected_tools or [])],
        name=scenario.id,
        tags=[scenario.category],
        metadata={
            "expect": scenario.expect,
            "required_facts": [f.model_dump() for f in scenario.facts],
            "proposals": run.proposals,
            "interrupted": run.interrupted,
            "writes": run.writes,
            "approved_writes": run.approved_writes,
            "non_ai_writes": run.non_ai_writes,
            "out_of_scope_writes": run.out_of_scope_writes,
            "expected_targets": scenario.expected_targets,
            "forbidden_fields": scenario.forbidden_fields,
            "forbidden_text": scenario.forbidden_text,
            "allowed_projects": scenario.allowed_projects,
            "must_explain": scenario.must_explain,
            "filters": scenario.filters,
            "error": run.error,
            "reference_text": reference_text,
        },
    )


def score(
    scenario: Scenario, run: RunRecord, extra: Sequence[BaseMetric] = (), reference_text: str = ""
) -> list[MetricResult]:
    """Measure every metric on one run; a metric that raises is recorded as failed with its error."""
    case = test_case_for(scenario, run, reference_text)
    results: list[MetricResult] = []
    for metric in [*offline_metrics(), *extra]:
        name = str(metric.__name__)
        if name == "Tool Correctness" and scenario.expected_tools is None:
            results.append(
                MetricResult(name=name, score=None, passed=None, reason="not scored for this scenario")
            )
            continue
        try:
            metric.measure(case)
            results.append(
                MetricResult(
                    name=name,
                    score=metric.score,
                    passed=bool(metric.is_successful()),
                    reason=" ".join(str(metric.reason or "").split())[:400],
                )
            )
        except Exception as exc:  # a judge outage must not hide the deterministic figures
            results.append(
                MetricResult(
                    name=name,
                    score=0.0,
                    passed=False,
                    reason=f"metric error: {exc.__class__.__name__}: {str(exc)[:200]}",
                )
            )
    return results


def eval_settings(ew: EvalWorkspace, **overrides: Any) -> Any:
    """Settings for the eval context: scope = the active projects, a fake token (must never be echoed);
    against the synced sandbox, its URL, token and store."""
    from agent.config import ScopeConfig, Settings

    scope = ScopeConfig(projects=sorted(p.gid for p in ew.workspace.projects if not p.archived))
    values: dict[str, Any] = {"ASANA_ACCESS_TOKEN": EVAL_TOKEN, "EFFORT_PHASE": "suggest", "scope": scope}
    if ew.settings is not None:
        values.update(
            ASANA_ACCESS_TOKEN=ew.settings.asana_access_token.get_secret_value(),
            EFFORT_ASANA_BASE_URL=ew.settings.asana_base_url,
            EFFORT_DATABASE_URL=ew.settings.database_url,
            EFFORT_DATA_DIR=ew.settings.data_dir,
        )
    values.update(overrides)
    return Settings(**values)


def judge_metrics() -> list[BaseMetric]:
    """LLM-judged metrics, only when a judge model is configured (EFFORT_EVAL_JUDGE_MODEL)."""
    model = os.environ.get("EFFORT_EVAL_JUDGE_MODEL")
    if not model:
        return []
    from deepeval.metrics import AnswerRelevancyMetric
    from deepeval.models import OpenAIModel

    judge = OpenAIModel(
        model=model,
        base_url=os.environ.get("OPENAI_BASE_URL"),
        api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
    )
    return [AnswerRelevancyMetric(threshold=0.5, model=judge, async_mode=False)]


def run_mode(mode: str, scenarios: Sequence[Scenario], ew: EvalWorkspace, settings: Any) -> ModeReport:
    """Build the graph for ``mode`` and run + score every scenario."""
    from langgraph.checkpoint.memory import InMemorySaver

    from agent.context import AgentContext
    from agent.graph import build_chat_graph

    llm = None
    extra: list[BaseMetric] = []
    if mode == "llm":
        from agent.llm import make_llm

        llm = make_llm(settings, streaming=False)
        extra = judge_metrics()
    graph = build_chat_graph(llm, checkpointer=InMemorySaver())
    context = AgentContext.for_workspace(ew.workspace, settings)
    scope = list(settings.scope.projects)
    ws = ew.workspace
    # Numbers inside names ("Data Pipeline v2", "Customer Support 2026") are not claims.
    reference = " | ".join(
        [
            *(p.name for p in ws.projects),
            *(p.name for p in ws.people),
            *sorted({p.client for p in ws.projects if p.client}),
        ]
    )
    writer_factory: Any = CountingWriter
    counter = None
    if ew.sandbox is not None:  # synced: a real writer against the sandbox, writes counted there
        from agent.writer import writer_from_settings

        def writer_factory() -> CountingWriter:
            return CountingWriter(writer_from_settings(settings))

        counter = ew.sandbox.write_count
    started = time.perf_counter()
    cases = []
    for scenario in scenarios:
        run = run_scenario(
            scenario,
            graph,
            context,
            mode=mode,
            writer_factory=writer_factory,
            ai_fields=list(AI_FIELDS),
            scope_projects=scope,
            write_counter=counter,
        )
        cases.append(CaseResult(scenario=scenario, run=run, metrics=score(scenario, run, extra, reference)))
    return ModeReport(mode=mode, cases=cases, seconds=round(time.perf_counter() - started, 2))


def print_scorecard(reports: Sequence[ModeReport], ew: EvalWorkspace) -> None:
    """A rich table per mode: rows = categories (+ all), columns = metric mean score / pass rate."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 120))
    ws = ew.workspace
    console.print(
        f"[bold]Eval workspace[/]: {ew.source}, {len(ws.tasks)} tasks, {len(ws.entries)} entries, "
        f"{len(ws.projects)} projects, as of {ws.as_of:%Y-%m-%d}"
        if ws.as_of
        else ""
    )
    for report in reports:
        summary = report.summary()
        table = Table(
            title=f"Eval scorecard: {report.mode} ({summary['scenarios']} scenarios, "
            f"{summary['passed_all_metrics']} passed every metric, {report.seconds} s)"
        )
        table.add_column("category")
        table.add_column("n", justify="right")
        table.add_column("passed", justify="right")
        for name in METRIC_ORDER:
            table.add_column(SHORT_NAMES[name], justify="right")
        rows = [(cat, data) for cat, data in summary["by_category"].items()]
        rows.append(
            (
                "all",
                {
                    "n": summary["scenarios"],
                    "passed": summary["passed_all_metrics"],
                    "metrics": summary["metrics"],
                },
            )
        )
        for cat, data in rows:
            cells = []
            for name in METRIC_ORDER:
                m = data["metrics"].get(name)
                cells.append("—" if m is None else f"{m['mean']:.2f} ({m['pass_rate']:.0%})")
            table.add_row(cat, str(data["n"]), str(data["passed"]), *cells)
        console.print(table)
        console.print(
            "cells: mean score (share of scenarios passing); tools = deepeval ToolCorrectnessMetric"
        )
        failing = [c for c in report.cases if not c.passed]
        if failing:
            console.print(
                f"[yellow]{len(failing)} scenario(s) failed at least one metric[/] (details in the JSON):"
            )
            for case in failing[:15]:
                bad = "; ".join(f"{m.name}: {m.reason[:90]}" for m in case.metrics if m.passed is False)
                console.print(f"  - {case.scenario.id}: {bad}")
        console.print(
            f"writes without approval: {summary['writes_without_approval']}; run errors: {summary['errors']}"
        )
        for name, data in summary["slices"].items():
            console.print(
                f"[bold]{name}[/]: {data['correct']}/{data['n']} correct ({data['correct_rate']:.0%}); "
                f"silently dropped filters {data['dropped_filters']}; crashes {data['crashes']}; "
                f"clarifying questions on answerable ones {data['clarify_rate']:.0%}"
            )
            if name != "classic":
                console.print("  by topic: " + ", ".join(f"{k} {v}" for k, v in data["by_topic"].items()))


def write_json(reports: Sequence[ModeReport], ew: EvalWorkspace, path: Path, secrets: Sequence[str]) -> None:
    redact = Redactor(secrets)
    payload = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "workspace": {
            "source": ew.source,
            "tasks": len(ew.workspace.tasks),
            "entries": len(ew.workspace.entries),
            "as_of": str(ew.workspace.as_of),
            "injected_task": ew.injected_gid,
            "mapping_skips": len(ew.skips),
        },
        "summaries": [r.summary() for r in reports],
        "cases": {r.mode: [c.model_dump(mode="json") for c in r.cases] for r in reports},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(redact(json.dumps(payload, indent=2, default=str)), encoding="utf-8")


def run_eval(
    mode: str = "both",
    out: Path | None = None,
    *,
    limit: int | None = None,
    categories: Sequence[str] = (),
    ids: Sequence[str] = (),
    quiet: bool = False,
    ew: EvalWorkspace | None = None,
    source: str = "mapped",
    slices: Sequence[str] = (),
    second: bool = True,
) -> list[ModeReport]:
    """Programmatic entry (tests use a slice): returns one report per mode that ran.

    ``source="synced"`` serves the workspace from the sandbox, syncs it, and counts writes there.
    """
    if ew is None and source == "synced":
        from evals.scenarios.workspace import synced_eval_workspace

        with synced_eval_workspace() as synced:
            return run_eval(
                mode, out, limit=limit, categories=categories, ids=ids, quiet=quiet, ew=synced, slices=slices
            )
    ew = ew or build_eval_workspace()
    scenarios = build_dataset(ew)
    if categories:
        scenarios = [s for s in scenarios if s.category in categories]
    if ids:
        scenarios = [s for s in scenarios if s.id in ids]
    if slices:
        scenarios = [s for s in scenarios if s.slice in slices]
    if limit:
        scenarios = scenarios[:limit]
    settings = eval_settings(ew)
    llm_ready = bool(os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"))
    modes = ["offline"]
    if mode in ("llm", "both") and llm_ready:
        modes.append("llm")
    elif mode in ("llm", "both") and not quiet:
        print(
            "eval: no OPENAI_API_KEY / OPENAI_BASE_URL: the LLM mode is not run (offline only)",
            file=sys.stderr,
        )
    if mode == "llm" and llm_ready:
        modes = ["llm"]
    llm_settings = (
        eval_settings(
            ew,
            OPENAI_API_KEY=os.environ.get("OPENAI_API_KEY"),
            OPENAI_BASE_URL=os.environ.get("OPENAI_BASE_URL"),
            EFFORT_LLM_MODEL=os.environ.get("EFFORT_LLM_MODEL", settings.llm_model),
        )
        if llm_ready
        else settings
    )
    reports = [run_mode(m, scenarios, ew, llm_settings if m == "llm" else settings) for m in modes]
    if second and not ids and not categories:
        reports = [_with_second_workspace(r, limit, slices) for r in reports]
    if not quiet:
        print_scorecard(reports, ew)
    if out is not None:
        write_json(reports, ew, out, [EVAL_TOKEN, *settings.secrets(), *llm_settings.secrets()])
        if not quiet:
            print(f"wrote {out}")
    return reports


def _with_second_workspace(report: ModeReport, limit: int | None, slices: Sequence[str]) -> ModeReport:
    """The natural questions asked again about a second generated workspace (offline mode only: the
    LLM mode's cost is kept to one workspace)."""
    if report.mode != "offline":
        return report
    from evals.scenarios.natural import natural_scenarios
    from evals.scenarios.workspace import SECOND_SEED, SECOND_TASKS

    ew2 = build_eval_workspace(SECOND_SEED, SECOND_TASKS)
    scenarios = [s for s in natural_scenarios(ew2, prefix="w2-") if not slices or s.slice in slices]
    extra = run_mode("offline", scenarios[:limit] if limit else scenarios, ew2, eval_settings(ew2))
    return ModeReport(
        mode=report.mode, cases=[*report.cases, *extra.cases], seconds=report.seconds + extra.seconds
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the chat eval (deepeval metrics, offline by default).")
    parser.add_argument("--mode", choices=("offline", "llm", "both"), default="both")
    parser.add_argument("--out", type=Path, default=Path("out/eval.json"))
    parser.add_argument("--limit", type=int, default=None, help="only the first N scenarios")
    parser.add_argument("--category", action="append", default=[], help="only this category (repeatable)")
    parser.add_argument(
        "--slice", action="append", default=[], help="only this slice: heldout, seen, classic"
    )
    parser.add_argument("--id", action="append", default=[], help="only this scenario id (repeatable)")
    parser.add_argument(
        "--source",
        choices=("mapped", "synced"),
        default="mapped",
        help="mapped: generator records mapped directly (fast); synced: served by the sandbox, "
        "synced into a temp store, writes counted at the sandbox",
    )
    args = parser.parse_args(argv)
    run_eval(
        args.mode,
        args.out,
        limit=args.limit,
        categories=args.category,
        ids=args.id,
        source=args.source,
        slices=args.slice,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
