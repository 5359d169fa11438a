"""Adversarial: the one writer against a live sandbox. Every bad path (no approval, rejected, forged
decision, human field, outside scope, insight phase, read-only token, task deleted, poisoned edit) gets a
clear status and makes no successful write. At the end, governance counters taken AT THE SANDBOX:
zero writes without approval, zero to non-AI fields, zero outside scope, zero in phase insight."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import agent.writer as writer_mod
import sandbox as sandbox_mod
import tools.gateway
import tools.store  # noqa: F401
from agent.audit import AuditLog, AuditStatus
from agent.config import Phase, ScopeConfig, Settings
from tests.fixtures.approval import forged_field_proposal
from tools.proposals import AI_FIELDS, Decision, DecisionType, Proposal, ProposalKind


@dataclass
class World:
    sb: Any
    tmp: Path
    in_scope: str  # project gid the settings allow
    out_scope: str  # another project
    before: dict[str, dict[str, Any]]  # task gid -> deep copy at start
    ledger: list[dict[str, Any]] = field(default_factory=list)  # per case: approved?, phase, writes
    used: set[str] = field(default_factory=set)

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "ASANA_ACCESS_TOKEN": self.sb.token,
            "EFFORT_ASANA_BASE_URL": self.sb.base_url,
            "EFFORT_DATABASE_URL": f"sqlite:///{self.tmp / 'effort.db'}",
            "EFFORT_PHASE": "suggest",
            "scope": ScopeConfig(projects=[self.in_scope]),
        }
        values.update(overrides)
        return Settings(**values)

    def task(self, project: str) -> str:
        """A fresh open top-level task of ``project`` (each case gets its own)."""
        for gid, task in sorted(self.sb.state.objects["task"].items()):
            if project in task.get("projects", []) and not task.get("parent") and gid not in self.used:
                self.used.add(gid)
                return gid
        raise AssertionError("no task left")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sandbox_mod.Sandbox.start(seed=3, tasks=120) as sb:
        projects = sorted(p["gid"] for p in sb.state.objects["project"].values() if not p.get("archived"))
        tasks = copy.deepcopy(sb.state.objects["task"])
        w = World(
            sb=sb,
            tmp=tmp_path_factory.mktemp("writer"),
            in_scope=projects[0],
            out_scope=projects[1],
            before=tasks,
        )
        yield w


def make_writer(w: World, settings: Settings) -> Any:
    from tools.gateway import AsanaGateway
    from tools.store import Store

    store = Store.open(settings.database_url)
    gateway = AsanaGateway.from_settings(settings)
    return writer_mod.Writer(gateway, store, settings, AuditLog(store.engine))


def ai_estimate(task_gid: str, project: str, value: float = 7.5) -> Proposal:
    return Proposal(
        kind=ProposalKind.SET_FIELD,
        target_gid=task_gid,
        project_gid=project,
        field_name="AI Estimated Hours",
        value=value,
        description="eval",
    )


def decide(p: Proposal, kind: DecisionType = DecisionType.ACCEPT, edited: Any = None) -> Decision:
    return Decision(proposal_id=p.id, type=kind, edited_value=edited, approver="tester", via="test")


def run_case(
    w: World,
    name: str,
    proposals: list[Proposal],
    decisions: list[Decision],
    *,
    approved: bool,
    settings: Settings | None = None,
    before_apply: Callable[[], None] | None = None,
) -> list[Any]:
    settings = settings or w.settings()
    writer = make_writer(w, settings)
    if before_apply is not None:
        before_apply()
    start_all, start_ok = w.sb.write_count(), w.sb.write_count(succeeded=True)
    results = writer.apply(proposals, decisions, thread_id=f"t-{name}", run_id=f"r-{name}", approver="tester")
    w.ledger.append(
        {
            "case": name,
            "approved": approved,
            "phase": settings.phase,
            "attempts": w.sb.write_count() - start_all,
            "writes": w.sb.write_count(succeeded=True) - start_ok,
        }
    )
    return results


def test_no_decision_no_write(world: World) -> None:
    p = ai_estimate(world.task(world.in_scope), world.in_scope)
    results = run_case(world, "no-decision", [p], [], approved=False)
    assert [r.status for r in results] == [AuditStatus.SKIPPED]


def test_rejected_no_write(world: World) -> None:
    p = ai_estimate(world.task(world.in_scope), world.in_scope)
    results = run_case(world, "rejected", [p], [decide(p, DecisionType.IGNORE)], approved=False)
    assert results[0].status is AuditStatus.REJECTED and not results[0].wrote


def test_forged_decision_for_unknown_proposal(world: World) -> None:
    p = ai_estimate(world.task(world.in_scope), world.in_scope)
    forged = Decision(proposal_id="p_" + "0" * 16, type=DecisionType.ACCEPT, approver="mallory")
    results = run_case(world, "forged-decision", [p], [forged], approved=False)
    statuses = {r.proposal_id: r.status for r in results}
    assert statuses["p_" + "0" * 16] is AuditStatus.REFUSED
    assert statuses[p.id] is AuditStatus.SKIPPED


@pytest.mark.parametrize("human_field", ["Estimated Hours", "Actual Hours", "Priority"])
def test_human_field_cannot_be_proposed_or_written(world: World, human_field: str) -> None:
    gid = world.task(world.in_scope)
    with pytest.raises(ValueError, match="not agent-owned"):
        Proposal(kind=ProposalKind.SET_FIELD, target_gid=gid, field_name=human_field, value=0.0)
    # A proposal forged past validation must still be refused by the writer's own check.
    forged = forged_field_proposal(gid, human_field, 0.0, project_gid=world.in_scope, description="forged")
    results = run_case(world, f"human-field-{human_field}", [forged], [decide(forged)], approved=True)
    assert results[0].status is AuditStatus.REFUSED and not results[0].wrote


def test_out_of_scope_refused(world: World) -> None:
    p = ai_estimate(world.task(world.out_scope), world.out_scope)
    results = run_case(world, "out-of-scope", [p], [decide(p)], approved=True)
    assert results[0].status is AuditStatus.REFUSED and "scope" in (results[0].error or "").lower()


def test_out_of_scope_task_claiming_in_scope_project(world: World) -> None:
    """The proposal says in-scope, the task lives elsewhere: the writer trusts Asana, not the proposal."""
    p = ai_estimate(world.task(world.out_scope), world.in_scope)
    results = run_case(world, "scope-lie", [p], [decide(p)], approved=True)
    assert results[0].status is AuditStatus.REFUSED


def test_insight_phase_writes_nothing(world: World) -> None:
    p = ai_estimate(world.task(world.in_scope), world.in_scope)
    settings = world.settings(EFFORT_PHASE="insight")
    results = run_case(world, "insight", [p], [decide(p)], approved=True, settings=settings)
    assert results[0].status is AuditStatus.REFUSED
    assert world.ledger[-1]["attempts"] == 0  # not a single write request reached the sandbox


def test_read_only_token_is_a_clear_refusal(world: World) -> None:
    p = ai_estimate(world.task(world.in_scope), world.in_scope)
    settings = world.settings(ASANA_ACCESS_TOKEN=world.sb.readonly_token)
    results = run_case(world, "read-only-token", [p], [decide(p)], approved=True, settings=settings)
    assert results[0].status is AuditStatus.REFUSED
    assert "403" in (results[0].error or "") or "forbidden" in (results[0].error or "").lower()
    assert world.sb.readonly_token not in (results[0].error or "")


def test_task_deleted_between_proposal_and_apply(world: World) -> None:
    gid = world.task(world.in_scope)
    p = ai_estimate(gid, world.in_scope)
    results = run_case(
        world,
        "deleted-task",
        [p],
        [decide(p)],
        approved=True,
        before_apply=lambda: world.sb.state.delete_task(gid),
    )
    assert results[0].status in (AuditStatus.SKIPPED, AuditStatus.REFUSED)
    assert results[0].error and (
        "404" in results[0].error
        or "not found" in results[0].error.lower()
        or "deleted" in results[0].error.lower()
    )


POISONED = [("nan", float("nan")), ("inf", float("inf")), ("huge", 1e308), ("text", "lots")]


@pytest.mark.parametrize("edited", [v for _, v in POISONED], ids=[i for i, _ in POISONED])
def test_poisoned_edit_is_refused(world: World, edited: Any) -> None:
    p = ai_estimate(world.task(world.in_scope), world.in_scope)
    results = run_case(
        world, f"poisoned-{edited!r}", [p], [decide(p, DecisionType.EDIT, edited)], approved=True
    )
    assert results[0].status in (AuditStatus.REFUSED, AuditStatus.FAILED)
    assert not results[0].wrote and results[0].error


def test_negative_edit_is_refused(world: World) -> None:
    p = ai_estimate(world.task(world.in_scope), world.in_scope)
    results = run_case(world, "negative-edit", [p], [decide(p, DecisionType.EDIT, -5.0)], approved=True)
    assert results[0].status in (AuditStatus.REFUSED, AuditStatus.FAILED) and not results[0].wrote


def test_approved_control_write_lands(world: World) -> None:
    """The gate is not just closed: an approved in-scope AI-field change is written."""
    gid = world.task(world.in_scope)
    p = ai_estimate(gid, world.in_scope, 6.5)
    results = run_case(world, "approved-control", [p], [decide(p)], approved=True)
    assert results[0].status is AuditStatus.APPLIED and results[0].wrote
    assert world.ledger[-1]["writes"] >= 1


def test_governance_counters_at_the_sandbox(world: World) -> None:
    """Runs last in this module: counts over every case above, from the sandbox's side."""
    ledger = {row["case"]: row for row in world.ledger}
    assert "approved-control" in ledger, "the control case must run first"
    without_approval = sum(row["writes"] for row in world.ledger if not row["approved"])
    in_insight = sum(row["attempts"] for row in world.ledger if row["phase"] is Phase.INSIGHT)
    refused_cases = sum(row["writes"] for name, row in ledger.items() if name != "approved-control")
    ai_field_gids = {world.sb.field_gid(name) for name in AI_FIELDS if _field_exists(world, name)}
    non_ai_changes = []
    out_of_scope_changes = []
    after = world.sb.state.objects["task"]
    for gid, old in world.before.items():
        new = after.get(gid)
        if new is None:
            continue  # deleted by the test itself (the "deleted task" case)
        old_values = {k: v for k, v in old.get("custom_field_values", {}).items() if k not in ai_field_gids}
        new_values = {k: v for k, v in new.get("custom_field_values", {}).items() if k not in ai_field_gids}
        if old_values != new_values:
            non_ai_changes.append(gid)
        if world.in_scope not in old.get("projects", []) and new != old:
            out_of_scope_changes.append(gid)
    counters = {
        "writes without approval": without_approval,
        "writes in phase insight": in_insight,
        "writes to non-AI fields": len(non_ai_changes),
        "writes outside scope": len(out_of_scope_changes),
        "successful writes in refused cases": refused_cases,
    }
    assert counters == dict.fromkeys(counters, 0), counters


def _field_exists(world: World, name: str) -> bool:
    try:
        return bool(world.sb.field_gid(name))
    except (KeyError, LookupError, ValueError):
        return False
