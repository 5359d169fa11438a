"""One owner per rule: sync, the propose tools, an approver's edit and the writer ask the same scope rule
(tools/scope.py) and the same value rule (``check_ai_value``), so they cannot disagree.

Each case here is one where the old copies did disagree: a tag matched by sync but refused by the writer,
a value accepted by the propose tool and by an approver, then refused by the writer after approval.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from langgraph.graph import START, StateGraph
from langgraph.prebuilt import ToolNode

from agent.approval import ApprovalResumeError, parse_resume
from agent.audit import AuditAction, AuditEntry, AuditLog, AuditStatus
from agent.config import ScopeConfig, Settings
from agent.context import AgentContext
from agent.state import ChatState
from agent.writer import Writer
from agent.writer.values import ItemCtx, Stop
from tools.agent_tools.propose import propose_tools
from tools.gateway import models as m
from tools.proposals import Proposal, ProposalKind, check_ai_value
from tools.records import Project, Task, Workspace
from tools.scope import ScopeRule

PROJECTS = [
    Project(gid="100", name="Website Redesign", portfolio_gids=("900",)),
    Project(gid="200", name="Billing Platform"),
    Project(gid="300", name="Internal"),
]
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def _task(gid: str, project: str, tags: tuple[str, ...] = ()) -> Task:
    return Task(gid=gid, name=f"task {gid}", project_gid=project, tags=tags, created_at=NOW)


WORKSPACE = Workspace(
    projects=tuple(PROJECTS),
    tasks=(_task("1", "100"), _task("2", "300", ("billing",)), _task("3", "300"), _task("4", "200")),
)


# --- the rule itself --------------------------------------------------------------------------------
def _rule(**scope: list[str]) -> ScopeRule:
    return ScopeRule.resolve(
        ScopeConfig(**scope), [(p.gid, p.name) for p in PROJECTS], portfolio_projects={"900": {"100"}}
    )


def test_names_and_tags_match_case_insensitively() -> None:
    rule = _rule(projects=["  website REDESIGN "], tags=["Billing"])
    assert rule.allows(["100"]) and not rule.allows(["300"])
    assert rule.allows(["300"], ["billing"])  # the tag, whatever its case
    assert rule.allows(["300"], ["BILLING"])


def test_an_empty_allowlist_reads_everything_and_writes_nothing() -> None:
    rule = _rule()
    assert not rule.configured and rule.reads(["300"]) and not rule.allows(["300"])
    assert 'projects = ["*"]' in rule.refusal()
    everything = _rule(projects=["*"])
    assert everything.allows(["300"]) and everything.allows(["999"])  # a project synced later too
    assert not everything.allows([])  # a task in no project is not "everything"


def test_portfolios_by_gid_and_unknown_names_are_reported() -> None:
    rule = _rule(portfolios=["900"], projects=["Nope"])
    assert rule.allows(["100"]) and not rule.allows(["200"])
    assert rule.unresolved == ("project 'Nope'",)


# --- the writer and the propose tools ask the same rule ---------------------------------------------
class _Store:
    def projects(self) -> list[Project]:
        return list(PROJECTS)


class _Gateway:
    """Live portfolio items, as the writer re-reads them before a write."""

    def iter_portfolio_items(self, portfolio: str) -> list[dict[str, str]]:
        return [{"gid": "100"}] if portfolio == "900" else []


def _writer(scope: ScopeConfig) -> Writer:
    settings = Settings(scope=scope, EFFORT_WORKSPACE=None)
    return Writer(gateway=_Gateway(), store=_Store(), settings=settings, audit=AuditLog.open("sqlite://"))


def _writer_allows(scope: ScopeConfig, task: dict[str, Any]) -> bool:
    writer = _writer(scope)
    proposal = Proposal(kind=ProposalKind.COMMENT, target_gid=str(task["gid"]), text="hi")
    approval = AuditEntry.model_construct(id=1, action=AuditAction.DECISION, status=AuditStatus.APPROVED)
    ctx = ItemCtx(proposal, proposal.id, "t", "r", "lead", approval, task=m.Task.model_validate(task))
    try:
        writer.guard.check_scope(ctx)
    except Stop:
        return False
    return True


def _propose_allows(scope: ScopeConfig, task_gid: str) -> bool:
    ctx = AgentContext.for_workspace(WORKSPACE, Settings(scope=scope))
    graph = StateGraph(ChatState, context_schema=AgentContext)
    graph.add_node("tools", ToolNode(propose_tools()))
    graph.add_edge(START, "tools")
    from langchain_core.messages import AIMessage

    call = {"name": "propose_comment", "args": {"task_gid": task_gid, "text": "please log"}, "id": "c1"}
    out = graph.compile().invoke({"messages": [AIMessage("", tool_calls=[call])]}, context=ctx)
    return bool(out.get("proposals"))


def _sync_reads(scope: ScopeConfig, task: Task, tags: list[dict[str, str]]) -> bool:
    from tools.sync.apply import in_scope
    from tools.sync.job import SyncJob
    from tools.sync.options import SyncOptions

    job = SyncJob.__new__(SyncJob)
    job.options = SyncOptions(scope=scope)
    job.store = _Store()  # type: ignore[assignment]
    job.rule = None
    payload = {"memberships": [{"project": {"gid": task.project_gid}}], "tags": tags}
    rule = _rule(**scope.model_dump())
    scope_projects = None if not rule.configured or rule.all_projects else set(rule.project_gids)
    return in_scope(job, task, payload, scope_projects)


@pytest.mark.parametrize(
    ("scope", "task", "expected"),
    [
        # a task tagged "billing" in an unlisted project, scope lists the tag "Billing"
        (ScopeConfig(tags=["Billing"]), "2", True),
        (ScopeConfig(tags=["Billing"]), "3", False),
        # a project listed by name in another case
        (ScopeConfig(projects=["website redesign"]), "1", True),
        # a project reached through its portfolio (the propose tools used to ignore portfolios)
        (ScopeConfig(portfolios=["900"]), "1", True),
        (ScopeConfig(portfolios=["900"]), "4", False),
        # an empty allowlist writes nothing, "*" writes to every synced project
        (ScopeConfig(), "1", False),
        (ScopeConfig(projects=["*"]), "4", True),
    ],
)
def test_sync_propose_and_writer_agree(scope: ScopeConfig, task: str, expected: bool) -> None:
    record = next(t for t in WORKSPACE.tasks if t.gid == task)
    tags = [{"gid": f"7{i}", "name": name} for i, name in enumerate(record.tags)]
    raw = {"gid": record.gid, "projects": [{"gid": record.project_gid}], "tags": tags}
    assert _writer_allows(scope, raw) is expected
    assert _propose_allows(scope, task) is expected
    if not scope.is_empty:  # an empty allowlist reads everything (and writes nothing)
        assert _sync_reads(scope, record, tags) is expected


# --- one value rule ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("AI Forecast Confidence", 500),
        ("AI Estimated Hours", -1),
        ("AI Estimated Hours", float("inf")),
        ("AI Estimated Hours", True),
        ("AI Review Flag", "Maybe"),
        ("AI Projection", "x" * 2_001),
    ],
)
def test_a_value_the_writer_refuses_cannot_be_proposed_or_approved(field: str, value: object) -> None:
    with pytest.raises(ValueError):
        check_ai_value(field, value)
    with pytest.raises(ValueError):  # the propose tools build a Proposal: refused there
        Proposal(kind=ProposalKind.SET_FIELD, target_gid="1", field_name=field, value=value)  # type: ignore[arg-type]
    valid = {"AI Review Flag": "Review", "AI Projection": "on track"}.get(field, 10.0)
    proposal = Proposal(kind=ProposalKind.SET_FIELD, target_gid="1", field_name=field, value=valid)
    answer = {"decisions": [{"proposal_id": proposal.id, "type": "edit", "edited_value": value}]}
    with pytest.raises(ApprovalResumeError):  # an approver's edit to that value: refused before resume
        parse_resume(answer, [proposal], approver="lead")


def test_numbers_are_normalised_once() -> None:
    assert check_ai_value("AI Estimated Hours", "19.834") == 19.83
    proposal = Proposal(
        kind=ProposalKind.SET_FIELD, target_gid="1", field_name="AI Estimated Hours", value="7"
    )
    assert proposal.value == 7.0 and Proposal.model_validate(proposal.model_dump()).id == proposal.id
