"""`make eval-llm`: the chat eval in LLM mode against a real model, and a latency run on 10k tasks.

    OPENAI_BASE_URL=http://127.0.0.1:8777/v1 EFFORT_LLM_MODEL=qwen2.5-coder-1.5b-instruct \\
        python -m evals.llm_eval [--sample N] [--category C] [--skip-latency] [--out out/eval-llm]

Not part of `make test` or CI: it needs a model server and takes minutes to an hour. Two parts:

1. Scenarios (evals/scenarios, the same as `make eval`) through the chat graph in LLM mode, scored by
   the same metrics (evals/metrics.py), plus what the LLM node recorded per turn (agent/llm_node.TurnInfo):
   whether the router answered (refusals, questions it must ask back), tool calls read from text,
   corrective retries, fallbacks to the router's answer and why, and seconds per scenario.
2. Latency on a 10k-task synthetic workspace: a few typical questions asked twice through the chat
   session (`effort ask --synthetic-tasks 10000` does the same); the first pass fills the server's
   prompt cache, the second is what a person sees once the prompt prefix is cached.

Writes ``scorecard.json`` and ``scorecard.md`` under ``--out`` and prints the Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evals.run import CaseResult, ModeReport, eval_settings, score
from evals.scenarios.build import EVAL_TOKEN, build_dataset
from evals.scenarios.model import Scenario
from evals.scenarios.runner import CountingWriter, run_scenario
from evals.scenarios.workspace import EvalWorkspace, build_eval_workspace
from tools.proposals import AI_FIELDS
from tools.redact import Redactor

LATENCY_TASKS = 10_000
LATENCY_QUESTIONS = (
    "Which task types overran last quarter?",
    "Who is over capacity in the next 3 weeks?",
    "When will Website Redesign finish?",
    "Estimate for task 10000003",
    "Any suspicious time entries last month?",
    "Show the estimation bias by assignee",
)
TURN_BAR_SECONDS = 30.0


class RecordingGraph:
    """The compiled graph, keeping the last ``invoke`` output (the LLM node's record is in it)."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph
        self.last: dict[str, Any] = {}

    def invoke(self, *args: Any, **kwargs: Any) -> Any:
        self.last = {}
        out = self.graph.invoke(*args, **kwargs)
        self.last = dict(out) if isinstance(out, dict) else {}
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.graph, name)


class LatencyTurn(BaseModel):
    question: str
    cold_seconds: float
    warm_seconds: float
    tools: list[str] = Field(default_factory=list)
    fallback: str | None = None
    answer: str = ""


def stratified(scenarios: Sequence[Scenario], n: int) -> list[Scenario]:
    """About ``n`` scenarios spread evenly over categories (deterministic: every k-th of each)."""
    if n <= 0 or n >= len(scenarios):
        return list(scenarios)
    by_cat: dict[str, list[Scenario]] = {}
    for s in scenarios:
        by_cat.setdefault(s.category, []).append(s)
    out: list[Scenario] = []
    for items in by_cat.values():
        share = max(1, round(n * len(items) / len(scenarios)))
        step = len(items) / share
        out += [items[int(i * step)] for i in range(share)]
    return out


def run_scenarios(
    scenarios: Sequence[Scenario], ew: EvalWorkspace, settings: Any
) -> tuple[ModeReport, list[dict[str, Any]]]:
    """Every scenario through the LLM graph; the report (as `make eval`) and the LLM node's records."""
    from langgraph.checkpoint.memory import InMemorySaver

    from agent.context import AgentContext
    from agent.graph import build_chat_graph
    from agent.llm import make_llm

    graph = RecordingGraph(build_chat_graph(make_llm(settings, streaming=True), checkpointer=InMemorySaver()))
    context = AgentContext.for_workspace(ew.workspace, settings)
    ws = ew.workspace
    reference = " | ".join(
        [
            *(p.name for p in ws.projects),
            *(p.name for p in ws.people),
            *sorted({p.client for p in ws.projects if p.client}),
        ]
    )
    cases: list[CaseResult] = []
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    for i, scenario in enumerate(scenarios, start=1):
        run = run_scenario(
            scenario,
            graph,
            context,
            mode="llm",
            writer_factory=CountingWriter,
            ai_fields=list(AI_FIELDS),
            scope_projects=list(settings.scope.projects),
        )
        case = CaseResult(scenario=scenario, run=run, metrics=score(scenario, run, (), reference))
        cases.append(case)
        turn = dict(graph.last.get("llm_turn") or {})
        records.append({"id": scenario.id, "seconds": run.seconds, "passed": case.passed, **turn})
        print(
            f"[{i}/{len(scenarios)}] {scenario.id}: {run.seconds:.1f} s, passed={case.passed}, "
            f"fallback={turn.get('fallback')!r}",
            file=sys.stderr,
            flush=True,
        )
    return ModeReport(mode="llm", cases=cases, seconds=round(time.perf_counter() - started, 2)), records


def run_latency(settings: Any, questions: Sequence[str] = LATENCY_QUESTIONS) -> list[LatencyTurn]:
    """Each question twice on a 10k-task synthetic workspace, through the chat session (`effort ask`)."""
    from agent.cli.chat_cmd import open_session, run_turn

    out: list[LatencyTurn] = []
    with open_session(settings, synthetic_tasks=LATENCY_TASKS) as session:
        _ = session.ctx.workspace
        for question in questions:
            timings = []
            result = None
            for _pass in range(2):
                session.thread_id = f"latency-{time.monotonic_ns()}"
                result = run_turn(session, question)
                timings.append(result.seconds)
                print(f"latency: {question!r} {result.seconds:.1f} s", file=sys.stderr, flush=True)
            assert result is not None
            out.append(
                LatencyTurn(
                    question=question,
                    cold_seconds=timings[0],
                    warm_seconds=timings[1],
                    tools=[c["name"] for c in result.tool_calls],
                    fallback=result.llm.get("fallback"),
                    answer=result.answer[:600],
                )
            )
    return out


def _share(n: int, d: int) -> str:
    return f"{n}/{d} ({n / d:.0%})" if d else "0/0"


def summarize(
    report: ModeReport, records: list[dict[str, Any]], latency: list[LatencyTurn]
) -> dict[str, Any]:
    """The scorecard: the eval's metrics plus what the LLM node did and how long turns took."""
    summary = report.summary()
    scored = [c for c in report.cases if c.scenario.expected_tools is not None]
    tool_pass = sum(1 for c in scored for m in c.metrics if m.name == "Tool Correctness" and m.passed)
    # The same, counting only scenarios whose tool calls were all the model's (the router made none).
    by_id = {r["id"]: r for r in records}
    own = [
        c
        for c in scored
        if by_id.get(c.scenario.id, {}).get("fallback_at") is None
        and by_id.get(c.scenario.id, {}).get("fallback") != ""
    ]
    own_pass = sum(1 for c in own for m in c.metrics if m.name == "Tool Correctness" and m.passed)
    by_model = [r for r in records if r.get("fallback") != ""]  # "" = the router answered by design
    fallbacks = Counter(
        str(r["fallback"]).split(" (")[0] for r in records if r.get("fallback") not in (None, "")
    )
    seconds = [float(r["seconds"]) for r in by_model] or [0.0]
    return {
        "scenarios": summary["scenarios"],
        "passed_all_metrics": summary["passed_all_metrics"],
        "tool_correctness": {"passed": tool_pass, "scored": len(scored)},
        "tool_correctness_model_only": {"passed": own_pass, "scored": len(scored)},
        "writes_without_approval": summary["writes_without_approval"],
        "errors": summary["errors"],
        "metrics": summary["metrics"],
        "by_category": summary["by_category"],
        "llm": {
            "answered_by_router_by_design": sum(1 for r in records if r.get("fallback") == ""),
            "turns_with_model": len(by_model),
            "model_answer_kept": sum(1 for r in by_model if r.get("fallback") is None),
            "fallbacks": dict(fallbacks),
            "turns_with_text_tool_calls": sum(1 for r in records if r.get("text_calls")),
            "turns_with_a_retry": sum(1 for r in records if r.get("retries")),
            "llm_errors": sum(1 for r in records if r.get("llm_error")),
            "seconds_p50": round(statistics.median(seconds), 1),
            "seconds_max": round(max(seconds), 1),
        },
        "latency_10k": [t.model_dump() for t in latency],
    }


def markdown(card: dict[str, Any], meta: dict[str, Any]) -> str:
    llm = card["llm"]
    tc = card["tool_correctness"]
    lines = [
        f"# LLM eval scorecard ({meta['model']} at {meta['endpoint']})",
        "",
        f"{meta['generated_at']}, {card['scenarios']} scenarios on the eval workspace ({meta['workspace']}); "
        f"load average at start {meta['load_average']}.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| tool correctness (scenarios whose tool choice is scored) | {_share(tc['passed'], tc['scored'])} |",
        f"| the same, only where the model made every call (no router calls) | "
        f"{_share(card['tool_correctness_model_only']['passed'], card['tool_correctness_model_only']['scored'])} |",
        f"| passed every metric | {_share(card['passed_all_metrics'], card['scenarios'])} |",
        f"| writes without approval | {card['writes_without_approval']} |",
        f"| run errors | {card['errors']} |",
        f"| answered by the router by design (refusals, ask-backs) | {llm['answered_by_router_by_design']} |",
        f"| turns with the model: model answer kept | {_share(llm['model_answer_kept'], llm['turns_with_model'])} |",
        f"| turns with tool calls written as text | {llm['turns_with_text_tool_calls']} |",
        f"| turns with a corrective retry | {llm['turns_with_a_retry']} |",
        f"| model failures (unreachable, timeout, HTTP) | {llm['llm_errors']} |",
        f"| seconds per scenario with the model, median / max | {llm['seconds_p50']} / {llm['seconds_max']} |",
        "",
        "Fallbacks to the router's answer, by reason: "
        + (", ".join(f"{k}: {v}" for k, v in sorted(llm["fallbacks"].items())) or "none"),
        "",
        "| metric | mean | pass rate | n |",
        "| --- | --- | --- | --- |",
    ]
    for name, m in card["metrics"].items():
        lines.append(f"| {name} | {m['mean']:.2f} | {m['pass_rate']:.0%} | {int(m['n'])} |")
    if card["latency_10k"]:
        lines += [
            "",
            f"Latency on a {LATENCY_TASKS:,}-task workspace (seconds per turn; second pass = prompt prefix cached):",
            "",
            "| question | first pass | second pass | tools | fallback |",
            "| --- | --- | --- | --- | --- |",
        ]
        for t in card["latency_10k"]:
            lines.append(
                f"| {t['question']} | {t['cold_seconds']:.1f} | {t['warm_seconds']:.1f} | "
                f"{', '.join(t['tools']) or '-'} | {t['fallback'] or '-'} |"
            )
        warm = [t["warm_seconds"] for t in card["latency_10k"]]
        over = sum(1 for w in warm if w > TURN_BAR_SECONDS)
        lines.append("")
        lines.append(f"Second pass: max {max(warm):.1f} s; {over} turn(s) over {TURN_BAR_SECONDS:.0f} s.")
    return "\n".join(lines) + "\n"


def _model_settings(ew: EvalWorkspace, db: Path) -> Any:
    return eval_settings(
        ew,
        OPENAI_API_KEY=os.environ.get("OPENAI_API_KEY"),
        OPENAI_BASE_URL=os.environ.get("OPENAI_BASE_URL"),
        EFFORT_LLM_MODEL=os.environ.get("EFFORT_LLM_MODEL", "gpt-4o-mini"),
        EFFORT_DATABASE_URL=f"sqlite:///{db}",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The chat eval in LLM mode against OPENAI_BASE_URL.")
    parser.add_argument("--out", type=Path, default=Path("out/eval-llm"))
    parser.add_argument("--sample", type=int, default=0, help="about N scenarios, spread over categories")
    parser.add_argument("--category", action="append", default=[], help="only this category (repeatable)")
    parser.add_argument("--id", action="append", default=[], help="only this scenario id (repeatable)")
    parser.add_argument("--skip-latency", action="store_true", help="no 10k-task latency run")
    parser.add_argument("--latency-only", action="store_true", help="only the 10k-task latency run")
    parser.add_argument("--from-json", type=Path, help="rebuild the scorecard from a saved scorecard.json")
    args = parser.parse_args(argv)
    if args.from_json:
        saved = json.loads(args.from_json.read_text(encoding="utf-8"))
        report = ModeReport(
            mode="llm", cases=[CaseResult.model_validate(c) for c in saved["cases"]], seconds=0.0
        )
        latency = [LatencyTurn.model_validate(t) for t in saved["scorecard"].get("latency_10k", [])]
        card = summarize(report, saved["turns"], latency)
        print(markdown(card, saved["meta"]))
        return 0
    if not (os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY")):
        print(
            "eval-llm: set OPENAI_BASE_URL (and OPENAI_API_KEY for hosted models); for the local model see "
            "README 'LLM mode with a local model'",
            file=sys.stderr,
        )
        return 2
    from agent.llm import describe_endpoint, endpoint_url, probe_llm

    ew = build_eval_workspace()
    with tempfile.TemporaryDirectory(prefix="effort-eval-llm-") as tmp:
        settings = _model_settings(ew, Path(tmp) / "effort.db")
        if problem := probe_llm(settings):
            print(f"eval-llm: {problem}", file=sys.stderr)
            return 2
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        scenarios = build_dataset(ew)
        if args.category:
            scenarios = [s for s in scenarios if s.category in args.category]
        if args.id:
            scenarios = [s for s in scenarios if s.id in args.id]
        scenarios = stratified(scenarios, args.sample)
        report = ModeReport(mode="llm", cases=[], seconds=0.0)
        records: list[dict[str, Any]] = []
        if not args.latency_only:
            report, records = run_scenarios(scenarios, ew, settings)
        latency = [] if args.skip_latency else run_latency(settings)
        card = summarize(report, records, latency)
        meta = {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "model": settings.llm_model,
            "endpoint": endpoint_url(settings),
            "described": describe_endpoint(settings),
            "workspace": f"{len(ew.workspace.tasks)} tasks, as of {ew.workspace.as_of:%Y-%m-%d}"
            if ew.workspace.as_of
            else f"{len(ew.workspace.tasks)} tasks",
            "load_average": load,
        }
        redact = Redactor([EVAL_TOKEN, *settings.secrets()])
        args.out.mkdir(parents=True, exist_ok=True)
        payload = {
            "meta": meta,
            "scorecard": card,
            "turns": records,
            "cases": [c.model_dump(mode="json") for c in report.cases],
        }
        (args.out / "scorecard.json").write_text(
            redact(json.dumps(payload, indent=2, default=str)), encoding="utf-8"
        )
        text = markdown(card, meta) if report.cases else markdown({**card, "metrics": {}}, meta)
        (args.out / "scorecard.md").write_text(redact(text), encoding="utf-8")
        print(redact(text))
        print(f"wrote {args.out / 'scorecard.json'} and {args.out / 'scorecard.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
