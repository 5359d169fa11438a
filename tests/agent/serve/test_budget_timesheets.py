"""`effort serve`'s budget alerts and weekly timesheet drafts, through the production wiring
(agent/serve/wiring.build_deps) over a sandbox: a threshold crossing is proposed once across restarts,
and the weekly drafts wait for their people without writing anything."""

from __future__ import annotations

from typing import Any

from agent.approvals_service import list_pending
from agent.checkpoint import open_checkpointer
from agent.serve.app import scheduled_jobs
from agent.serve.wiring import build_deps
from tests.fixtures.timesheets import WEEK, TimesheetEnv
from tools.config_types import BudgetConfig, ProjectBudgetConfig, TimesheetConfig
from tools.proposals import ProposalKind


def test_budget_crossings_are_proposed_once_across_restarts(ts_env: TimesheetEnv) -> None:
    # The sandbox's own Asana budgets plus one from the config; a 1% threshold is crossed by them all.
    project = ts_env.base.scope_project
    config = BudgetConfig(thresholds=[1], projects=[ProjectBudgetConfig(project=project, hours=5)])
    settings = ts_env.settings.model_copy(update={"budgets": config})
    sent: list[str] = []
    deps = build_deps(settings)
    deps.notify = lambda text: sent.append(text) or True
    try:
        first = scheduled_jobs(deps)["sync"]()["budget_alerts"]
    finally:
        deps.close()
    assert first["new"] >= 1 and first["proposed"] >= 1 and len(sent) == 1
    restarted = build_deps(settings)  # a new process: nothing in memory survives
    restarted.notify = lambda text: sent.append(text) or True
    try:
        again = scheduled_jobs(restarted)["sync"]()["budget_alerts"]
    finally:
        restarted.close()
    assert again["alerts"] == first["alerts"] and again["new"] == 0 and again["proposed"] == 0
    assert len(sent) == 1
    with open_checkpointer(settings) as saver:
        budget_threads = [p for p in list_pending(saver) if p.thread_id.startswith("budget-")]
    assert len(budget_threads) == first["proposed"]
    comments = [p for t in budget_threads for p in t.proposals]
    assert all(p.kind is ProposalKind.COMMENT and "Budget alert" in (p.text or "") for p in comments)
    assert len({p.project_gid for p in comments}) == len(comments)  # one comment per project
    assert all("1%" in p.evidence["thresholds"] for p in comments)


def test_weekly_drafts_wait_for_their_people_and_write_nothing(ts_env: TimesheetEnv) -> None:
    settings = ts_env.settings.model_copy(update={"timesheets": TimesheetConfig(deliver="slack")})
    before = ts_env.entries()
    messages: list[str] = []
    deps = build_deps(settings)
    deps.notify = lambda text: messages.append(text) or True
    try:
        summary: dict[str, Any] = deps.jobs["timesheets"]()
        again: dict[str, Any] = deps.jobs["timesheets"]()  # a re-fire finds the same drafts waiting
    finally:
        deps.close()
    assert summary["week"] == WEEK
    mine = [d for d in summary["drafted"] if d["person"] == ts_env.me["name"]]
    assert len(mine) == 1 and mine[0]["minutes"] > 0
    assert [d["thread"] for d in again["drafted"]] == [d["thread"] for d in summary["drafted"]]
    assert any(ts_env.me["name"] in m and "effort timesheet approve" in m for m in messages)
    assert ts_env.entries() == before
    with open_checkpointer(settings) as saver:
        drafts = [p for p in list_pending(saver) if p.thread_id.startswith("timesheet-")]
    assert len(drafts) == len(summary["drafted"])
    assert all(p.kind is ProposalKind.TIME_ENTRY for d in drafts for p in d.proposals)
