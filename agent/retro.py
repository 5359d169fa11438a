"""The retrospective and weekly-summary graph: sync -> analyse -> propose -> approval -> apply.

One LangGraph run per scope and period, on a deterministic thread id (``thread_id_for``), so a re-run of
the same period lands on the same pending approval instead of proposing a duplicate batch. The numbers
come from the analytics; the narrative comes from the LLM when one is configured and from templates
otherwise, and an LLM narrative is only kept when every number in it is one the analytics produced.

Nodes hold one concern each. ``analyse`` writes the report files (a local, idempotent side effect);
nothing touches Asana before the shared approval node, and only the one writer (agent/writer.py)
writes after it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, ConfigDict

from agent.approval import ApplyWriter, apply_node, approval_node, route_pending
from agent.audit import AuditLog
from agent.config import Settings
from agent.estimate_feedback import estimate_feedback
from agent.reports.model import ReportData, SuggestedEstimate
from agent.reports.render import write_report
from agent.state import ChatState
from tools.analytics.estimator import Estimate, EstimateFeedback, fit_estimator
from tools.analytics.retro import RetroReport, retrospective
from tools.freshness import store_freshness
from tools.grounding import grounded
from tools.links import asana_web_root
from tools.proposals import Proposal, ProposalKind
from tools.records import Task, Workspace
from tools.store import Store

log = logging.getLogger(__name__)

RunKind = Literal["retro", "summary"]


class RunLimits(BaseModel):
    """How much one batch may propose: a lead reviews it in one sitting."""

    model_config = ConfigDict(frozen=True)

    estimate_tasks: int = 12  # open tasks that get AI estimate fields
    variance_tasks: int = 10  # completed tasks that get AI Schedule Variance %
    flags: int = 8  # tasks that get AI Review Flag + a comment to the lead
    flag_min_score: float = 0.6


LIMITS: dict[RunKind, RunLimits] = {
    "retro": RunLimits(),
    "summary": RunLimits(estimate_tasks=5, variance_tasks=0, flags=5),
}


class RetroState(ChatState, total=False):
    """State of a retrospective or summary run (approval keys come from ChatState)."""

    kind: RunKind
    scope: str
    project_gids: list[str]
    period_start: date
    period_end: date
    sync: dict[str, Any]
    analysis: dict[str, Any]  # the RetroReport as JSON (bounded: top-N lists), for CLI tables
    highlights: list[str]
    narrative: str
    report_paths: list[str]
    suggestions: list[dict[str, Any]]
    variances: list[dict[str, Any]]
    flags: list[dict[str, Any]]
    summary_text: str
    insight_only: bool  # phase insight: analyse and report, propose nothing


@dataclass
class RetroContext:
    """What the nodes need at run time: the graph's ``context_schema`` (never checkpointed). The
    approval and apply nodes read ``writer`` and ``approver`` from it like from every graph's context."""

    settings: Settings
    store: Store
    sync: Callable[[], dict[str, Any]] | None = None  # incremental sync, or None to use the store as is
    narrate: Callable[[list[str]], str] | None = None  # LLM narrative from the highlights
    as_of: datetime | None = None
    with_text: bool = True  # MiniLM similarity in the estimator
    report_dir: Path | None = None
    writer: ApplyWriter | None = None  # needed once the batch is decided (apply)
    approver: str = "retro"
    extra: dict[str, Any] = field(default_factory=dict)


# --- nodes ----------------------------------------------------------------------------------------
def sync_node(state: RetroState, runtime: Runtime[RetroContext]) -> dict[str, Any]:
    """Bring the store up to date (incremental sync) before analysing; skipped when no sync is wired
    (``--no-sync``: the caller decided, and the report states the data's date)."""
    ctx = runtime.context
    if ctx.sync is None:
        return {"sync": {"skipped": "analysing the local store as is (no sync requested)"}}
    return {"sync": ctx.sync()}


def analyse_node(state: RetroState, runtime: Runtime[RetroContext]) -> dict[str, Any]:
    """Run the analytics for the period, estimate open tasks, and write the Markdown and HTML report."""
    ctx = runtime.context
    kind = state.get("kind", "retro")
    workspace = ctx.store.workspace(project_gids=state.get("project_gids") or None, as_of=ctx.as_of)
    report = retrospective(
        workspace,
        state["period_start"],
        state["period_end"],
        capacity_config=ctx.settings.capacity,
        # Flags a lead dismissed or confirmed earlier raise or keep that person's thresholds.
        feedback=AuditLog(ctx.store.engine).detector_feedback(),
        include_billing=kind == "retro",
        budgets=ctx.settings.budgets,
    )
    limits = LIMITS[kind]
    # Leads' edits and rejections of earlier AI estimates shift the next ones for that person / kind.
    feedback = estimate_feedback(AuditLog(ctx.store.engine), workspace.tasks)
    estimates = _estimate_open_tasks(workspace, limits.estimate_tasks, ctx.with_text, ctx.settings, feedback)
    tasks = {t.gid: t for t in workspace.tasks}
    suggestions = [_suggestion(e, tasks[e.task_gid]) for e in estimates]
    narrative = _narrative(report.highlights, ctx.narrate)
    data = ReportData.from_retro(
        report,
        title=_title(kind, state),
        scope=_scope_label(state.get("scope")),
        workspace=workspace,
        suggestions=suggestions,
        notes=[] if ctx.narrate else ["Narrative from templates (no LLM configured)."],
        link_base=asana_web_root(ctx.settings.asana_base_url),
        data_freshness=store_freshness(ctx.store).describe(),
    )
    directory = ctx.report_dir or ctx.settings.data_dir / "reports"
    stem = f"{kind}-{state['period_start'].isoformat()}-{state['period_end'].isoformat()}"
    paths = write_report(data, directory, stem=stem)
    return {
        "analysis": report.model_dump(mode="json"),
        "highlights": report.highlights,
        "narrative": narrative,
        "report_paths": [str(p) for p in paths],
        "suggestions": [s.model_dump(mode="json") for s in suggestions],
        "variances": _largest_variances(report, limits.variance_tasks),
        "flags": _flagged_tasks(report, tasks, limits),
        "summary_text": _summary_text(kind, state, report, narrative),
    }


def period_was_empty(analysis: dict[str, Any] | None) -> bool:
    """Nothing happened in the period (no task created or completed, no time logged): a retrospective
    of it has nothing to say, and proposes nothing."""
    a = analysis or {}
    return not (
        a.get("tasks_completed") or a.get("tasks_created") or a.get("hours_logged") or a.get("entries")
    )


def propose_node(state: RetroState, runtime: Runtime[RetroContext]) -> dict[str, Any]:
    """Turn the analysis into one batch of proposals (fields, a summary task, comments to leads)."""
    ctx = runtime.context
    if state.get("insight_only") or period_was_empty(state.get("analysis")):
        return {"proposals": []}
    source = state.get("kind", "retro")
    projects = {p.gid: p for p in ctx.store.projects()}
    tasks = {t.gid: t for t in ctx.store.tasks()}
    proposals: list[Proposal] = []
    for s in state.get("suggestions", []):
        task = tasks.get(s["task_gid"])
        if task is None:
            continue
        evidence = {"basis": s["basis"], "human_estimate_hours": s["human_estimate_hours"]}
        inputs = {"estimate_hours": s["human_estimate_hours"]}  # a human change since makes it stale
        for field_name, value in (
            ("AI Estimated Hours", s["estimate_hours"]),
            ("AI Estimate P10", s["p10_hours"]),
            ("AI Estimate P90", s["p90_hours"]),
            # The field is a percentage (its plausible range is 0-100); the estimator's is a share.
            ("AI Forecast Confidence", round(100 * s["confidence"])),
        ):
            proposals.append(
                _field(
                    task,
                    field_name,
                    value,
                    f"{field_name} {value} for '{task.name}'",
                    evidence,
                    source,
                    inputs,
                )
            )
    for v in state.get("variances", []):
        task = tasks.get(v["task_gid"])
        if task is not None:
            text = f"AI Schedule Variance % {v['variance_pct']} for '{task.name}'"
            inputs = {"estimate_hours": v["estimate_hours"]}
            proposals.append(
                _field(task, "AI Schedule Variance %", v["variance_pct"], text, v, source, inputs)
            )
    for f in state.get("flags", []):
        task = tasks.get(f["task_gid"])
        if task is None:
            continue
        # evidence["anomaly"]: the writer turns the lead's decision into detector feedback (audit log).
        anomaly = {"person_gid": f.get("person_gid"), "kind": f["kind"], "task_gid": task.gid}
        flag_evidence = {**f, "anomaly": anomaly}
        proposals.append(
            _field(task, "AI Review Flag", "Review", f"Flag '{task.name}' for review", flag_evidence, source)
        )
        lead = projects.get(task.project_gid or "")
        lead_gid = lead.owner_gid if lead else None
        proposals.append(
            Proposal(
                kind=ProposalKind.COMMENT,
                target_gid=task.gid,
                project_gid=task.project_gid,
                text=_flag_comment(f, lead_gid),
                description=f"Ask the project lead to review time entries on '{task.name}'",
                evidence=f,
                source=source,
            )
        )
    retro_project = _project_named(projects.values(), ctx.settings.retro_project)
    if retro_project is not None:
        proposals.append(
            Proposal(
                kind=ProposalKind.SUMMARY_TASK,
                target_gid=retro_project,
                project_gid=retro_project,
                title=_title(source, state),
                text=state.get("summary_text", ""),
                description=f"Post the {source} summary to '{ctx.settings.retro_project}'",
                evidence={"highlights": state.get("highlights", [])},
                source=source,
            )
        )
    else:
        log.info("no project named %r: the summary task is not proposed", ctx.settings.retro_project)
    return {"proposals": proposals}


# --- routing --------------------------------------------------------------------------------------
def route_after_propose(state: RetroState) -> Literal["approval", "__end__"]:
    """Ask for approval only when the run proposed something."""
    return route_pending(state)


def build_retro_graph(
    checkpointer: BaseCheckpointSaver[Any] | None = None,
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """START -> sync -> analyse -> propose -> [approval -> apply] -> END; dependencies come from the
    run-time context (``context=RetroContext(...)``)."""
    graph = StateGraph(RetroState, context_schema=RetroContext)
    graph.add_node("sync", sync_node)
    graph.add_node("analyse", analyse_node)
    graph.add_node("propose", propose_node)
    graph.add_node("approval", approval_node)
    graph.add_node("apply", apply_node)
    graph.add_edge(START, "sync")
    graph.add_edge("sync", "analyse")
    graph.add_edge("analyse", "propose")
    graph.add_conditional_edges("propose", route_after_propose)
    graph.add_edge("approval", "apply")
    graph.add_edge("apply", END)
    return graph.compile(checkpointer=checkpointer)


def new_run_id(kind: str) -> str:
    return f"{kind}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


# --- helpers --------------------------------------------------------------------------------------
def _title(kind: str, state: RetroState) -> str:
    label = "Retrospective" if kind == "retro" else "Weekly summary"
    return f"{label} {state['period_start'].isoformat()} – {state['period_end'].isoformat()}"


def _scope_label(scope: str | None) -> str:
    return "all synced projects" if scope in (None, "", "all") else f"projects {scope}"


def _estimate_open_tasks(
    workspace: Workspace,
    limit: int,
    with_text: bool,
    settings: Settings,
    feedback: Sequence[EstimateFeedback] = (),
) -> list[Estimate]:
    """Estimates for the open tasks due soonest (those a lead plans next). The history's text vectors
    come from the similar-task index when it has them (only the open tasks are embedded then)."""
    if limit <= 0:
        return []
    as_of = workspace.as_of or datetime.now(UTC)
    history = [t for t in workspace.tasks if t.completed and t.actual_hours]
    open_tasks = [t for t in workspace.tasks if not t.completed and t.parent_gid is None]
    open_tasks.sort(key=lambda t: (t.due_on or date.max, t.gid))
    if not open_tasks or not history:
        return []
    vectors: dict[str, Any] = {}
    if with_text:
        from tools.index.store import TaskIndex

        index = TaskIndex.open_existing(settings.index, embedding="minilm")
        vectors = index.minilm_vectors([t.gid for t in history]) if index is not None else {}
    estimator = fit_estimator(history, as_of, with_text=with_text, vectors=vectors, feedback=feedback)
    return estimator.predict_many(open_tasks[:limit])


def _suggestion(estimate: Estimate, task: Task) -> SuggestedEstimate:
    if estimate.bias_applied is not None:
        basis = f"human estimate x{estimate.bias_applied:.2f} (track record)"
    else:
        basis = f"cold start from {len(estimate.evidence.similar)} similar tasks"
    return SuggestedEstimate(
        task_gid=task.gid,
        task_name=task.name,
        assignee=task.assignee_name,
        human_estimate_hours=task.estimate_hours,
        estimate_hours=round(estimate.hours, 1),
        p10_hours=round(estimate.p10_hours, 1),
        p90_hours=round(estimate.p90_hours, 1),
        confidence=round(estimate.confidence, 2),
        basis=basis,
    )


def _largest_variances(report: RetroReport, limit: int) -> list[dict[str, Any]]:
    """Completed-in-period tasks with the largest |schedule variance|, for AI Schedule Variance %."""
    rows = [*report.variance.top_overruns, *report.variance.top_underruns]
    rows.sort(key=lambda r: (-abs(r.variance_pct), r.task_gid))
    return [
        {
            "task_gid": r.task_gid,
            "variance_pct": round(r.variance_pct, 1),
            "estimate_hours": r.estimate_hours,
            "actual_hours": r.actual_hours,
        }
        for r in rows[: max(limit, 0)]
    ]


def _flagged_tasks(report: RetroReport, tasks: dict[str, Task], limits: RunLimits) -> list[dict[str, Any]]:
    """The highest-scoring anomaly per task, above the threshold."""
    best: dict[str, dict[str, Any]] = {}
    for flag in report.anomalies.top:
        if flag.task_gid is None or flag.task_gid not in tasks or flag.score < limits.flag_min_score:
            continue
        if flag.task_gid not in best or flag.score > best[flag.task_gid]["score"]:
            best[flag.task_gid] = {
                "task_gid": flag.task_gid,
                "person_gid": flag.person_gid,
                "kind": str(flag.kind),
                "score": round(flag.score, 2),
                "reason": flag.reason,
            }
    ranked = sorted(best.values(), key=lambda f: (-f["score"], f["task_gid"]))
    return ranked[: limits.flags]


def _flag_comment(flag: dict[str, Any], lead_gid: str | None) -> str:
    who = f"Project lead (user {lead_gid})" if lead_gid else "Project lead"
    return (
        f"{who}: please review the time entries on this task. "
        f"Effort Copilot flagged them ({flag['kind']}, score {flag['score']}): {flag['reason']}"
    )


def _project_named(projects: Any, name: str) -> str | None:
    wanted = name.strip().lower()
    return next((p.gid for p in projects if p.name.strip().lower() == wanted), None)


def _narrative(highlights: list[str], narrate: Callable[[list[str]], str] | None) -> str:
    """LLM prose when it only uses the analytics' numbers; the template otherwise."""
    template = " ".join(highlights) if highlights else "No completed or logged work in this period."
    if narrate is None or not highlights:
        return template
    try:
        text = narrate(highlights).strip()
    except Exception as exc:  # an LLM failure must not lose the run: fall back to the template
        log.warning("LLM narrative failed (%s); using the template", type(exc).__name__)
        return template
    if text and grounded(text, highlights):
        return text
    log.warning("LLM narrative cited numbers the analytics did not produce; using the template")
    return template


def _summary_text(kind: str, state: RetroState, report: RetroReport, narrative: str) -> str:
    lines = [
        _title(kind, state),
        "",
        narrative,
        "",
        f"Tasks completed: {report.tasks_completed}; created: {report.tasks_created}; "
        f"hours logged: {report.hours_logged}.",
    ]
    lines += [f"- {h}" for h in report.highlights]
    return "\n".join(lines)


def _field(
    task: Task,
    field_name: str,
    value: float | str | None,
    description: str,
    evidence: dict[str, Any],
    source: str,
    inputs: dict[str, float | None] | None = None,
) -> Proposal:
    return Proposal(
        kind=ProposalKind.SET_FIELD,
        inputs=inputs or {},
        target_gid=task.gid,
        project_gid=task.project_gid,
        field_name=field_name,
        value=value,
        description=description,
        evidence={**evidence, "before": task.ai_fields.get(field_name)},
        source=source,
    )
