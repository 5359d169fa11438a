"""The one writer: the only module that calls Asana's write endpoints, and the only one that creates
``WriteGrant``s.

Before every write call it checks, in order: the rollout phase (``insight`` refuses everything before
any request), an approval record in the audit log for that exact proposal id (recorded BEFORE the
write), field ownership (only ``AI …`` fields), the scope allowlist (the task's live projects), and in
``optimize`` a completed Asana approval subtask for significant changes. It re-reads the target first
(a value that moved since the proposal is ``stale``; a deleted task is ``skipped``; a 403 is a clear
``refused``), writes idempotently (field writes compare first; comments, subtasks and summary tasks
carry a ``[effort:<proposal id>]`` marker that is looked for before every POST and after a dropped
one), and appends ``applied`` with before/after, approver, thread and run.

Crash safety: ``approved`` is appended before the write and ``applied`` after it, so after a crash
``Writer.resume()`` finds approved-but-unfinished items and finishes them; the markers and the
value comparison make the retry a no-op when the first attempt had landed.

Scope: a task is writable when one of its live projects is in ``scope.projects``, in a portfolio of
``scope.portfolios``, or the task carries a tag of ``scope.tags`` (gid or name). With all three lists
empty, the scope is the set of projects the store has synced (what the agent reads is what it may
annotate). Summary tasks may also go to the configured ``retro_project`` (found by name).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from agent.audit import (
    APPROVAL_STATUSES,
    FINAL_STATUSES,
    AuditAction,
    AuditEntry,
    AuditLog,
    AuditStatus,
    feedback_from_decision,
)
from agent.config import Phase, Settings
from tools.gateway.errors import AuthError, GatewayError, NotFoundError, TransientError, TransientWriteError
from tools.gateway.writes import WriteGrant
from tools.proposals import (
    AI_FIELDS,
    AI_NUMBER_PRECISION,
    AI_REVIEW_FLAG_OPTIONS,
    Decision,
    DecisionType,
    Proposal,
    ProposalKind,
    check_ai_value,
    is_agent_owned,
)
from tools.records import Project
from tools.redact import Redactor
from tools.scope import ScopeRule, portfolio_members
from tools.scope import key as scope_key
from tools.telemetry import counted_writes, traced_write

_TASK_FIELDS = (
    "name,notes,completed,parent,workspace,projects.name,tags.name,"
    "custom_fields.name,custom_fields.resource_subtype,custom_fields.type,custom_fields.precision,"
    "custom_fields.number_value,custom_fields.text_value,custom_fields.display_value,"
    "custom_fields.enum_value.name,custom_fields.enabled"
)
_MAX_TEXT = 10_000  # characters of a comment, subtask or summary task body
SYSTEM_APPROVER = "effort:approval-gate"


def marker_for(proposal_id: str) -> str:
    """The idempotency marker embedded in every comment / subtask / task the writer posts."""
    return f"[effort:{proposal_id}]"


def approval_marker_for(proposal_id: str) -> str:
    """The marker of the Asana approval subtask that asks a lead to approve a proposal."""
    return f"[effort-approval:{proposal_id}]"


class ApplyResult(BaseModel):
    """What the writer did with one proposal (or one rollback item)."""

    model_config = ConfigDict(frozen=True)

    proposal_id: str
    status: AuditStatus
    action: AuditAction = AuditAction.WRITE
    target_gid: str | None = None
    field_name: str | None = None
    before: Any = None
    after: Any = None
    error: str | None = None
    wrote: bool = False  # True when this call made a write request that succeeded

    def summary(self) -> dict[str, Any]:
        """A compact dict for graph state and CLI output."""
        return {
            "proposal_id": self.proposal_id,
            "status": self.status.value,
            "action": self.action.value,
            "target_gid": self.target_gid,
            "field_name": self.field_name,
            "before": self.before,
            "after": self.after,
            "error": self.error,
        }


class _Stop(Exception):
    """Ends one item early with a final status (refused / stale / skipped / failed)."""

    def __init__(self, status: AuditStatus, message: str, before: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.before = before


@dataclass
class _Ctx:
    """Per-item state shared by the guard and the write helpers."""

    proposal: Proposal
    proposal_id: str
    thread_id: str
    run_id: str
    approver: str
    approval: AuditEntry
    task: dict[str, Any] | None = None
    creates: list[ApplyResult] = field(default_factory=list)


def _field_value(cf: dict[str, Any]) -> float | str | None:
    subtype = cf.get("resource_subtype") or cf.get("type")
    if subtype == "number":
        value = cf.get("number_value")
        return float(value) if isinstance(value, int | float) else value
    if subtype == "text":
        return cf.get("text_value")
    if subtype == "enum":
        enum_value = cf.get("enum_value")
        return enum_value.get("name") if isinstance(enum_value, dict) else None
    return cf.get("display_value")


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=10 ** -(AI_NUMBER_PRECISION + 1))
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-3)
    except (TypeError, ValueError):
        return str(a).strip() == str(b).strip()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean_text(text: str) -> str:
    """Drop control characters (NUL, ESC, ...) that hostile task text could carry into Asana."""
    return _CONTROL.sub("", text)


def _valid_value(field_name: str, value: Any) -> float | str | None:
    """The value rule (``check_ai_value``, shared with the propose tools and approvers' edits), as a
    refusal: a value that reaches the writer out of range is refused, never clamped."""
    try:
        return check_ai_value(field_name, value)
    except ValueError as exc:
        raise _Stop(AuditStatus.REFUSED, str(exc)) from None


class Writer:
    """Applies approved proposals to Asana; every path goes through ``_guard`` before a write call.

    ``gateway``: ``tools.gateway.AsanaGateway``; ``store``: ``tools.store.Store`` (or None);
    ``hook(stage, proposal_id)`` is a test seam called at "approved" (after the approval row, before
    the write) and "written" (after the write, before the applied row) to simulate crashes.
    """

    def __init__(
        self,
        gateway: Any,
        store: Any,
        settings: Settings,
        audit: AuditLog,
        *,
        post_attempts: int = 3,
        hook: Callable[[str, str], None] | None = None,
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.settings = settings
        self.audit = audit
        self.redactor = Redactor(settings.secrets())
        for secret in settings.secrets():
            audit.redactor.add(secret)
        self.post_attempts = max(1, post_attempts)
        self.hook = hook
        self._scope_rule: ScopeRule | None = None
        self._retro_project_gid: str | None = None

    # ================================================================================================
    # public API
    # ================================================================================================
    @counted_writes  # /metrics: writes by final status (applied, refused, ...)
    def apply(
        self,
        proposals: Sequence[Proposal],
        decisions: Sequence[Decision],
        *,
        thread_id: str,
        run_id: str,
        approver: str,
    ) -> list[ApplyResult]:
        """Record the decisions, then write every accepted / edited proposal that passes the checks.

        Safe to call again with the same arguments (a re-run after a crash): items with a final row in
        this thread are reported, not re-written.
        """
        self._scope_rule = None
        by_id: dict[str, Proposal] = {}
        for p in proposals:
            by_id.setdefault(p.id, p)
        latest: dict[str, Decision] = {}
        results: list[ApplyResult] = []
        for d in decisions:
            if d.proposal_id not in by_id:
                results.append(self._refuse_unknown(d, thread_id=thread_id, run_id=run_id))
                continue
            latest[d.proposal_id] = d
        # Phase 1: every decision goes on record before any write, so a crash during the writes
        # leaves the whole batch approved (and `resume` finishes it).
        planned: list[ApplyResult | _Ctx] = []
        for pid, proposal in by_id.items():
            self._record_proposed(proposal, pid, thread_id=thread_id, run_id=run_id)
            decision = latest.get(pid)
            if decision is None:
                planned.append(
                    self._final(
                        proposal,
                        pid,
                        AuditAction.DECISION,
                        AuditStatus.SKIPPED,
                        "no decision",
                        thread_id=thread_id,
                        run_id=run_id,
                        approver=approver,
                    )
                )
                continue
            planned.append(self._decide(proposal, pid, decision, thread_id=thread_id, run_id=run_id))
        # Phase 2: the writes, each behind the guard.
        results += [item if isinstance(item, ApplyResult) else self._execute(item) for item in planned]
        return results

    def resume(
        self, *, run_id: str | None = None, thread_id: str | None = None, approver: str | None = None
    ) -> list[ApplyResult]:
        """Finish approved-but-unapplied items (after a crash or a transient failure).

        The approval rows already exist; the idempotency checks make a write that had landed a no-op.
        """
        self._scope_rule = None
        results: list[ApplyResult] = []
        for entry in self.audit.unfinished(run_id=run_id, thread_id=thread_id):
            try:
                proposal = entry.proposal_model()
                decision = entry.decision_model()
            except ValidationError as exc:
                results.append(
                    self._final(
                        None,
                        entry.proposal_id or "?",
                        AuditAction.WRITE,
                        AuditStatus.REFUSED,
                        f"stored proposal is invalid: {exc.error_count()} error(s)",
                        thread_id=entry.thread_id,
                        run_id=entry.run_id,
                        approver=approver,
                    )
                )
                continue
            if proposal is None or entry.proposal_id is None:
                continue
            try:
                effective = self._effective(proposal, decision)
            except _Stop as stop:
                results.append(
                    self._final(
                        proposal,
                        entry.proposal_id,
                        AuditAction.WRITE,
                        stop.status,
                        stop.message,
                        thread_id=entry.thread_id,
                        run_id=entry.run_id,
                        approver=approver,
                    )
                )
                continue
            ctx = _Ctx(
                proposal=effective,
                proposal_id=entry.proposal_id,
                thread_id=entry.thread_id or "",
                run_id=entry.run_id or "",
                approver=entry.approver or approver or SYSTEM_APPROVER,
                approval=entry,
            )
            results.append(self._execute(ctx))
        return results

    @counted_writes
    def rollback(self, run_id: str, *, approver: str) -> list[ApplyResult]:
        """Undo a run: restore every field's before value, delete the tasks/subtasks and comments it
        created. Goes through the same checks; the rollback command itself is the approval record.

        A field a human changed after the run is left alone (``stale``). AI custom fields created on
        first use stay (they are empty and shared by other runs). Running it twice is a no-op.
        """
        self._scope_rule = None
        results: list[ApplyResult] = []
        rows = self.audit.entries(run_id=run_id)
        rolled = {
            r.proposal_id for r in rows if r.action is AuditAction.ROLLBACK and r.status in FINAL_STATUSES
        }
        applied = [r for r in rows if r.action is AuditAction.WRITE and r.status is AuditStatus.APPLIED]
        for row in reversed(applied):
            if row.proposal_id is None or row.proposal_id in rolled:
                continue
            rolled.add(row.proposal_id)
            results.append(self._rollback_one(row, approver=approver))
        return results

    def request_asana_approval(
        self, proposal: Proposal, *, thread_id: str, run_id: str, assignee_gid: str | None
    ) -> ApplyResult:
        """Create (once) the Asana approval subtask for a significant proposal, assigned to the lead.

        The subtask is agent-owned and marked; its creation is audited and approved by the gate itself
        (it asks for approval, it changes nothing of the human's).
        """
        pid = proposal.id
        notes = (
            f"Effort Copilot asks for your approval.\n\n{proposal.description}\n\n"
            f"Proposal: {proposal.model_dump_json(exclude={'evidence'})}\n\nEvidence: "
            f"{_short_json(proposal.evidence)}\n\nComplete this task to approve. "
            f"Comment 'reject' to reject.\n\n{approval_marker_for(pid)}"
        )
        request = Proposal(
            kind=ProposalKind.SUBTASK
            if proposal.kind is not ProposalKind.SUMMARY_TASK
            else ProposalKind.SUMMARY_TASK,
            target_gid=proposal.target_gid,
            project_gid=proposal.project_gid,
            title=f"Approve: {(proposal.description or proposal.kind.value)[:200]}",
            text=notes,
            assignee_gid=assignee_gid,
            description="Asana approval request",
            source=proposal.source,
        )
        existing = self.audit.latest(pid, thread_id=thread_id, action=AuditAction.APPROVAL_REQUEST)
        if existing is not None and existing.status is AuditStatus.APPLIED:
            return self._result_from(existing)
        approval = self.audit.record(
            action=AuditAction.APPROVAL_REQUEST,
            status=AuditStatus.APPROVED,
            proposal=request,
            proposal_id=pid,
            thread_id=thread_id,
            run_id=run_id,
            approver=SYSTEM_APPROVER,
        )
        ctx = _Ctx(request, pid, thread_id, run_id, SYSTEM_APPROVER, approval)
        try:
            if self.settings.phase is Phase.INSIGHT:
                raise _Stop(AuditStatus.REFUSED, "phase is insight: no writes")
            self._load_target(ctx)
            marker = approval_marker_for(pid)
            wrote = False
            after = self._find_marked(ctx, marker)  # asked before (another thread): ask once
            if after is None:
                after = self._create_marked(ctx, marker, AuditAction.APPROVAL_REQUEST)
                wrote = True
        except _Stop as stop:
            return self._final(
                request,
                pid,
                AuditAction.APPROVAL_REQUEST,
                stop.status,
                stop.message,
                thread_id=thread_id,
                run_id=run_id,
                approver=SYSTEM_APPROVER,
            )
        row = self.audit.record(
            action=AuditAction.APPROVAL_REQUEST,
            status=AuditStatus.APPLIED,
            proposal=request,
            proposal_id=pid,
            thread_id=thread_id,
            run_id=run_id,
            approver=SYSTEM_APPROVER,
            after=after,
        )
        return self._result_from(row, wrote=wrote)

    # ================================================================================================
    # decisions
    # ================================================================================================
    def _record_proposed(self, proposal: Proposal, pid: str, *, thread_id: str, run_id: str) -> None:
        if self.audit.latest(pid, thread_id=thread_id) is None:
            self.audit.record(
                action=AuditAction.DECISION,
                status=AuditStatus.PROPOSED,
                proposal=_safe_for_audit(proposal),
                proposal_id=pid,
                thread_id=thread_id,
                run_id=run_id,
            )

    def _refuse_unknown(self, d: Decision, *, thread_id: str, run_id: str) -> ApplyResult:
        return self._final(
            None,
            d.proposal_id,
            AuditAction.DECISION,
            AuditStatus.REFUSED,
            "decision for a proposal that is not pending in this batch",
            thread_id=thread_id,
            run_id=run_id,
            approver=d.approver,
            decision=d,
        )

    def _decide(
        self, proposal: Proposal, pid: str, decision: Decision, *, thread_id: str, run_id: str
    ) -> ApplyResult | _Ctx:
        """Record one decision; return a final result, or the context of a write still to do."""
        done = self.audit.latest(pid, thread_id=thread_id, action=AuditAction.WRITE)
        if done is not None and done.status in FINAL_STATUSES:
            return self._result_from(done)  # a re-run of the same batch: already handled
        previous = self.audit.latest(pid, thread_id=thread_id, action=AuditAction.DECISION)
        if previous is not None and previous.status in (
            AuditStatus.REJECTED,
            AuditStatus.REFUSED,
            AuditStatus.SKIPPED,
        ):
            return self._result_from(previous)

        def refuse(shown: Proposal, status: AuditStatus, message: str) -> ApplyResult:
            return self._final(
                shown,
                pid,
                AuditAction.DECISION,
                status,
                message,
                thread_id=thread_id,
                run_id=run_id,
                approver=decision.approver,
                decision=decision,
            )

        # A proposal must be a valid Proposal: model_construct() can smuggle a human field past the
        # pydantic validator, so validate again from plain data.
        try:
            checked = Proposal.model_validate(proposal.model_dump())
        except ValidationError as exc:
            msg = "; ".join(e["msg"] for e in exc.errors())
            return refuse(_safe_for_audit(proposal), AuditStatus.REFUSED, f"invalid proposal: {msg}")
        if checked.id != pid:
            return refuse(
                _safe_for_audit(proposal), AuditStatus.REFUSED, "proposal content does not match its id"
            )
        feedback = feedback_from_decision(checked, decision)

        def record_decision(status: AuditStatus) -> AuditEntry:
            row = self.audit.record(
                action=AuditAction.DECISION,
                status=status,
                proposal=checked,
                decision=decision,
                thread_id=thread_id,
                run_id=run_id,
            )
            if feedback is not None:
                self.audit.record_feedback(feedback)
            return row

        if decision.type in (DecisionType.IGNORE, DecisionType.RESPONSE):
            return self._result_from(record_decision(AuditStatus.REJECTED))
        try:
            effective = self._effective(checked, decision)
        except _Stop as stop:
            return refuse(checked, stop.status, stop.message)
        if previous is not None and previous.status in APPROVAL_STATUSES:
            approval = previous  # re-run after a crash: the approval is already on record
        else:
            approval = record_decision(
                AuditStatus.EDITED if decision.type is DecisionType.EDIT else AuditStatus.APPROVED
            )
        return _Ctx(effective, pid, thread_id, run_id, decision.approver, approval)

    def _effective(self, proposal: Proposal, decision: Decision | None) -> Proposal:
        """The proposal with the human's edit applied, validated again."""
        if decision is None or decision.type is not DecisionType.EDIT:
            return proposal
        if proposal.kind is ProposalKind.SET_FIELD:
            update: dict[str, Any] = {"value": decision.edited_value}
        elif proposal.kind is ProposalKind.COMMENT:
            update = {"text": None if decision.edited_value is None else str(decision.edited_value)}
        else:
            raise _Stop(AuditStatus.REFUSED, f"a {proposal.kind.value} proposal cannot be edited")
        try:
            return Proposal.model_validate({**proposal.model_dump(), **update})
        except ValidationError as exc:
            raise _Stop(
                AuditStatus.REFUSED, "edited value is invalid: " + "; ".join(e["msg"] for e in exc.errors())
            ) from None

    # ================================================================================================
    # the guard: checked before EVERY write call
    # ================================================================================================
    def _guard(self, ctx: _Ctx, action: AuditAction, *, field_name: str | None = None) -> WriteGrant:
        """Raise ``_Stop(refused)`` unless this write may happen; return the grant for it."""
        if self.settings.phase is Phase.INSIGHT:
            raise _Stop(AuditStatus.REFUSED, "phase is insight: no writes")
        record = self._approval_on_record(ctx, action)
        if record is None:
            raise _Stop(AuditStatus.REFUSED, "no approval record for this proposal")
        p = ctx.proposal
        name = field_name if field_name is not None else p.field_name
        if (
            p.kind is ProposalKind.SET_FIELD or action in (AuditAction.CREATE_FIELD, AuditAction.ATTACH_FIELD)
        ) and (not name or not is_agent_owned(name)):
            raise _Stop(AuditStatus.REFUSED, f"field {name!r} is not agent-owned")
        self._check_scope(ctx)
        if (
            self.settings.phase is Phase.OPTIMIZE
            and p.significant
            and action not in (AuditAction.APPROVAL_REQUEST, AuditAction.ROLLBACK)
            and not self._asana_approved(ctx)
        ):
            raise _Stop(
                AuditStatus.REFUSED,
                "significant change in the optimize phase: the Asana approval subtask is not completed",
            )
        return WriteGrant(approval_id=str(record.id), run_id=ctx.run_id or "run", proposal_id=ctx.proposal_id)

    def _approval_on_record(self, ctx: _Ctx, action: AuditAction) -> AuditEntry | None:
        """Re-read the approval from the log (the in-memory one is not trusted on its own)."""
        if action is AuditAction.APPROVAL_REQUEST or ctx.approval.action is AuditAction.APPROVAL_REQUEST:
            row = self.audit.latest(
                ctx.proposal_id, thread_id=ctx.thread_id, action=AuditAction.APPROVAL_REQUEST
            )
            return row if row is not None and row.id == ctx.approval.id else None
        if ctx.approval.action is AuditAction.ROLLBACK:
            rows = self.audit.entries(
                run_id=ctx.run_id, proposal_id=ctx.proposal_id, actions=[AuditAction.ROLLBACK]
            )
            return next(
                (r for r in rows if r.id == ctx.approval.id and r.status is AuditStatus.APPROVED), None
            )
        return self.audit.approval_record(ctx.proposal_id, thread_id=ctx.thread_id)

    def _scope(self) -> ScopeRule:
        """The scope rule (tools/scope.py) resolved against the synced projects and, for listed
        portfolios, their live items (the store's portfolio links apply when Asana cannot be read)."""
        if self._scope_rule is not None:
            return self._scope_rule
        config = self.settings.scope
        projects = self._store_projects()
        members = portfolio_members(projects)
        names: dict[str, str] = {}
        if config.portfolios:
            with contextlib.suppress(GatewayError):
                workspace = self.settings.workspace
                if workspace and any(not ref.isdigit() for ref in config.portfolios):
                    names = {
                        str(p["gid"]): str(p.get("name") or "")
                        for p in self.gateway.iter_portfolios(workspace)
                    }
            wanted = {ref for ref in config.portfolios if ref.isdigit()}
            wanted |= {
                gid
                for gid, name in names.items()
                if scope_key(name) in {scope_key(r) for r in config.portfolios}
            }
            for portfolio in wanted:
                with contextlib.suppress(GatewayError):
                    items = self.gateway.iter_portfolio_items(portfolio)
                    members.setdefault(portfolio, set()).update(str(item["gid"]) for item in items)
        self._scope_rule = ScopeRule.resolve(
            config,
            [(p.gid, p.name) for p in projects],
            portfolio_projects=members,
            portfolio_names=names,
        )
        return self._scope_rule

    def _store_projects(self) -> list[Project]:
        if self.store is None:
            return []
        return list(self.store.projects())

    def _check_scope(self, ctx: _Ctx) -> None:
        p = ctx.proposal
        rule = self._scope()
        if not rule.configured:
            raise _Stop(AuditStatus.REFUSED, rule.refusal())
        if p.kind is ProposalKind.SUMMARY_TASK and ctx.task is None:
            if rule.allows_project(p.target_gid) or p.target_gid == self._retro_project():
                return
            raise _Stop(AuditStatus.REFUSED, f"project {p.target_gid} is outside the configured scope")
        task = ctx.task or {}
        tags = [
            str(v)
            for ref in task.get("tags") or []
            if isinstance(ref, dict)
            for v in (ref.get("gid"), ref.get("name"))
            if v
        ]
        if rule.allows(self._projects_of(task), tags):
            return
        raise _Stop(AuditStatus.REFUSED, f"task {p.target_gid} is outside the configured scope")

    def _projects_of(self, task: dict[str, Any], depth: int = 0) -> set[str]:
        """The task's live projects; a subtask outside any project inherits its parent's (3 levels)."""
        projects = {str(ref.get("gid")) for ref in task.get("projects") or [] if isinstance(ref, dict)}
        parent = task.get("parent")
        if projects or depth >= 3 or not isinstance(parent, dict) or not parent.get("gid"):
            return projects
        try:
            parent_task = self.gateway.get_task_raw(str(parent["gid"]), "projects,parent")
        except GatewayError:
            return set()
        return self._projects_of(parent_task if isinstance(parent_task, dict) else {}, depth + 1)

    def _retro_project(self) -> str | None:
        if self._retro_project_gid is None:
            name = self.settings.retro_project.strip().lower()
            match = next((p for p in self._store_projects() if str(p.name).strip().lower() == name), None)
            self._retro_project_gid = match.gid if match is not None else ""
        return self._retro_project_gid or None

    def _asana_approved(self, ctx: _Ctx) -> bool:
        from agent.asana_approvals import find_approval_task, verdict

        task = find_approval_task(self.gateway, ctx.proposal, ctx.proposal_id)
        return task is not None and verdict(self.gateway, task) == "approved"

    # ================================================================================================
    # execution
    # ================================================================================================
    @traced_write  # a span per approved proposal; its write requests nest under it
    def _execute(self, ctx: _Ctx) -> ApplyResult:
        p = ctx.proposal
        if self.hook is not None:
            self.hook("approved", ctx.proposal_id)
        try:
            if self.settings.phase is Phase.INSIGHT:  # before any request, reads included
                raise _Stop(AuditStatus.REFUSED, "phase is insight: no writes")
            self._load_target(ctx)
            if p.kind is ProposalKind.SET_FIELD:
                before, after, wrote = self._set_field(ctx)
            else:
                before, wrote = None, False
                existing = self._find_marked(ctx, marker_for(ctx.proposal_id))
                if existing is not None:
                    after = existing
                else:
                    after = self._create_marked(ctx, marker_for(ctx.proposal_id), AuditAction.WRITE)
                    wrote = True
        except _Stop as stop:
            return self._final(
                p,
                ctx.proposal_id,
                AuditAction.WRITE,
                stop.status,
                stop.message,
                thread_id=ctx.thread_id,
                run_id=ctx.run_id,
                approver=ctx.approver,
                before=stop.before,
            )
        if self.hook is not None:
            self.hook("written", ctx.proposal_id)
        row = self._applied(ctx, AuditAction.WRITE, proposal=p, before=before, after=after)
        return self._result_from(row, wrote=wrote)

    def _load_target(self, ctx: _Ctx) -> None:
        """Re-read the target task (not for summary tasks, whose target is a project)."""
        if ctx.proposal.kind is ProposalKind.SUMMARY_TASK:
            ctx.task = None
            return
        ctx.task = self._read_task(ctx.proposal.target_gid)

    def _read_task(self, gid: str) -> dict[str, Any]:
        try:
            task = self.gateway.get_task_raw(gid, _TASK_FIELDS)
        except NotFoundError:
            raise _Stop(AuditStatus.SKIPPED, f"task {gid} no longer exists (404)") from None
        except AuthError as exc:
            raise _Stop(
                AuditStatus.REFUSED,
                f"no access to task {gid} (HTTP {exc.status}): check the token's permissions",
            ) from None
        except TransientError as exc:
            raise _Stop(AuditStatus.FAILED, f"could not re-read task {gid}: {exc}") from None
        except GatewayError as exc:
            raise _Stop(AuditStatus.FAILED, f"could not re-read task {gid}: {exc}") from None
        return task if isinstance(task, dict) else {}

    def _write_call(self, label: str, fn: Callable[[], Any]) -> Any:
        """Run one write request, mapping gateway errors to final statuses."""
        try:
            return fn()
        except NotFoundError:
            raise _Stop(AuditStatus.SKIPPED, f"{label}: the target no longer exists (404)") from None
        except AuthError as exc:
            raise _Stop(
                AuditStatus.REFUSED,
                f"{label}: Asana refused the write (HTTP {exc.status}); the token may be read-only or lack access",
            ) from None
        except TransientError:
            raise
        except GatewayError as exc:
            raise _Stop(AuditStatus.REFUSED, f"{label}: {exc}") from None

    # --- fields -------------------------------------------------------------------------------------
    def _set_field(self, ctx: _Ctx) -> tuple[Any, Any, bool]:
        p = ctx.proposal
        name = p.field_name or ""
        if not is_agent_owned(name):
            raise _Stop(AuditStatus.REFUSED, f"field {name!r} is not agent-owned")
        self._check_scope(ctx)  # before any further read or the field lookup
        task = ctx.task or {}
        entry = next(
            (cf for cf in task.get("custom_fields") or [] if isinstance(cf, dict) and cf.get("name") == name),
            None,
        )
        current = _field_value(entry) if entry is not None else None
        ftype = AI_FIELDS[name]
        target = _valid_value(name, p.value)
        if isinstance(target, str) and ftype == "text":
            target = self.redactor(_clean_text(target))
        if entry is not None and _same(current, target):
            return current, target, False  # already there (a retry after a crash, or a no-op)
        if "before" in p.evidence and not _same(current, p.evidence.get("before")):
            raise _Stop(
                AuditStatus.STALE,
                f"{name} changed since the proposal (expected {p.evidence.get('before')!r}, found {current!r})",
                before=current,
            )
        field_gid, enum_options = self._field_for(ctx, name, ftype, attached=entry is not None)
        value: Any = target
        if ftype == "enum" and target is not None:
            value = enum_options.get(str(target))
            if value is None:
                raise _Stop(
                    AuditStatus.REFUSED, f"{target!r} is not an option of {name} ({sorted(enum_options)})"
                )
        grant = self._guard(ctx, AuditAction.WRITE)
        self._retrying(
            lambda: self._write_call(
                "PUT /tasks/{gid}",
                lambda: self.gateway.update_task_custom_fields(grant, p.target_gid, {field_gid: value}),
            ),
            check=None,
        )
        return current, target, True

    def _field_for(self, ctx: _Ctx, name: str, ftype: str, *, attached: bool) -> tuple[str, dict[str, str]]:
        """The field's gid (and enum option gids by name); create it and attach it when missing."""
        task = ctx.task or {}
        if attached:
            entry = next(
                cf
                for cf in task.get("custom_fields") or []
                if isinstance(cf, dict) and cf.get("name") == name
            )
            gid = str(entry["gid"])
            return gid, self._enum_options(gid) if ftype == "enum" else {}
        ws_ref = task.get("workspace")
        workspace: str | None = str(ws_ref["gid"]) if isinstance(ws_ref, dict) and ws_ref.get("gid") else None
        workspace = workspace or self.settings.workspace
        known = self._known_field_gid(name, workspace)
        if known is None:
            if not workspace:
                raise _Stop(AuditStatus.REFUSED, f"cannot create {name}: the task's workspace is unknown")
            known = self._create_field(ctx, name, ftype, workspace)
        gid = known
        self._attach_field(ctx, name, gid)
        return gid, self._enum_options(gid) if ftype == "enum" else {}

    def _known_field_gid(self, name: str, workspace: str | None) -> str | None:
        if self.store is not None and hasattr(self.store, "custom_field_by_name"):
            found = self.store.custom_field_by_name(name)
            if found is not None and found.name == name:
                return str(found.gid)
        return self._workspace_field_gid(name, workspace) if workspace else None

    def _attached(self, project: str, field_gid: str) -> bool:
        try:
            settings = self.gateway.custom_field_settings(project)
        except GatewayError:
            return False
        return any(s.custom_field is not None and s.custom_field.gid == field_gid for s in settings)

    def _workspace_field_gid(self, name: str, workspace: str) -> str | None:
        try:
            for cf in self.gateway.iter_custom_fields(workspace):
                if cf.get("name") == name:
                    return str(cf["gid"])
        except GatewayError:
            return None
        return None

    def _enum_options(self, field_gid: str) -> dict[str, str]:
        try:
            definition = self.gateway.custom_field(field_gid)
        except GatewayError as exc:
            raise _Stop(AuditStatus.FAILED, f"could not read field {field_gid}: {exc}") from None
        return {o.name: o.gid for o in definition.enum_options if o.name and o.enabled is not False}

    def _create_field(self, ctx: _Ctx, name: str, ftype: str, workspace: str) -> str:
        grant = self._guard(ctx, AuditAction.CREATE_FIELD, field_name=name)
        spec: dict[str, Any] = {
            "name": name,
            "resource_subtype": ftype,
            "description": "Written by Effort Copilot after human approval. Agent-owned.",
        }
        if ftype == "number":
            spec["precision"] = AI_NUMBER_PRECISION
        if ftype == "enum":
            spec["enum_options"] = [{"name": option} for option in AI_REVIEW_FLAG_OPTIONS]

        def created_meanwhile() -> str | None:  # a dropped POST may have created it
            return self._workspace_field_gid(name, workspace)

        created_gid = self._retrying(
            lambda: str(
                self._write_call(
                    "POST /custom_fields", lambda: self.gateway.create_custom_field(grant, workspace, spec)
                ).gid
            ),
            check=created_meanwhile,
        )
        self._applied(
            ctx,
            AuditAction.CREATE_FIELD,
            field_name=name,
            target_gid=workspace,
            after={"field_gid": created_gid, "type": ftype},
        )
        return created_gid

    def _attach_field(self, ctx: _Ctx, name: str, field_gid: str) -> None:
        task = ctx.task or {}
        rule = self._scope()
        projects = sorted(self._projects_of(task))
        project = next((g for g in projects if rule.allows([g])), projects[0] if projects else None)
        if project is None:
            raise _Stop(
                AuditStatus.REFUSED, f"task {ctx.proposal.target_gid} is in no project: cannot attach {name}"
            )
        if self._attached(project, field_gid):
            return
        grant = self._guard(ctx, AuditAction.ATTACH_FIELD, field_name=name)

        def attached_meanwhile() -> bool | None:  # a dropped POST may have attached it
            return True if self._attached(project, field_gid) else None

        self._retrying(
            lambda: self._write_call(
                "POST /projects/{gid}/addCustomFieldSetting",
                lambda: self.gateway.add_custom_field_to_project(grant, project, field_gid),
            ),
            check=attached_meanwhile,
        )
        self._applied(
            ctx,
            AuditAction.ATTACH_FIELD,
            field_name=name,
            target_gid=project,
            after={"field_gid": field_gid, "project_gid": project},
        )

    # --- comments, subtasks, summary tasks ----------------------------------------------------------
    def _find_marked(self, ctx: _Ctx, marker: str) -> dict[str, Any] | None:
        """Look for an earlier post carrying ``marker`` (idempotency: never post twice)."""
        p = ctx.proposal
        try:
            if p.kind is ProposalKind.COMMENT:
                for story in self.gateway.iter_stories(p.target_gid, "text,resource_subtype"):
                    if marker in str(story.get("text") or ""):
                        return {"story_gid": str(story["gid"])}
                return None
            if p.kind is ProposalKind.SUBTASK:
                items = self.gateway.iter_subtasks(p.target_gid, "name,notes,completed")
            else:
                items = self.gateway.iter_tasks_for_project(p.target_gid, "name,notes,completed")
            for item in items:
                if marker in str(item.get("notes") or ""):
                    return {"task_gid": str(item["gid"])}
        except NotFoundError:
            raise _Stop(AuditStatus.SKIPPED, f"{p.target_gid} no longer exists (404)") from None
        except AuthError as exc:
            raise _Stop(AuditStatus.REFUSED, f"no access to {p.target_gid} (HTTP {exc.status})") from None
        except GatewayError as exc:
            raise _Stop(AuditStatus.FAILED, f"could not check for an earlier post: {exc}") from None
        return None

    def _create_marked(self, ctx: _Ctx, marker: str, action: AuditAction) -> dict[str, Any]:
        """POST a comment / subtask / task carrying ``marker``; after a dropped POST, look before retrying."""
        p = ctx.proposal
        body = self.redactor(_clean_text(p.text or "").strip())
        if len(body) > _MAX_TEXT:
            body = body[:_MAX_TEXT] + " …"
        text = f"{body}\n\n{marker}" if body else marker
        if p.kind is ProposalKind.SUMMARY_TASK:
            self._check_scope(ctx)

        def post() -> dict[str, Any]:
            grant = self._guard(ctx, action)
            if p.kind is ProposalKind.COMMENT:
                story = self._write_call(
                    "POST /tasks/{gid}/stories",
                    lambda: self.gateway.create_comment(grant, p.target_gid, text=text),
                )
                return {"story_gid": str(story.gid)}
            fields: dict[str, Any] = {
                "name": self.redactor(_clean_text(p.title or "Effort Copilot"))[:250],
                "notes": text,
            }
            if p.assignee_gid:
                fields["assignee"] = p.assignee_gid
            if p.kind is ProposalKind.SUBTASK:
                task = self._write_call(
                    "POST /tasks/{gid}/subtasks",
                    lambda: self.gateway.create_subtask(grant, p.target_gid, fields),
                )
            else:
                task = self._write_call(
                    "POST /tasks",
                    lambda: self.gateway.create_task(grant, {**fields, "projects": [p.target_gid]}),
                )
            return {"task_gid": str(task.gid)}

        return self._retrying(post, check=lambda: self._find_marked(ctx, marker))

    def _retrying(self, fn: Callable[[], Any], *, check: Callable[[], Any] | None) -> Any:
        """Retry a write after a transient failure; before each retry of a POST, ``check`` whether the
        dropped attempt actually landed (then its result is returned instead of posting again)."""
        first = True
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.post_attempts),
                wait=wait_exponential(multiplier=0.05, max=1.0),
                retry=retry_if_exception_type(TransientError),
                reraise=True,
            ):
                with attempt:
                    if not first and check is not None:
                        found = check()
                        if found is not None:
                            return found
                    first = False
                    return fn()
        except TransientWriteError as exc:
            found = check() if check is not None else None
            if found is not None:
                return found
            raise _Stop(AuditStatus.FAILED, f"write not confirmed after retries: {exc}") from None
        except TransientError as exc:
            raise _Stop(AuditStatus.FAILED, f"write failed after retries: {exc}") from None
        raise _Stop(AuditStatus.FAILED, "write not attempted")  # pragma: no cover

    # --- rollback -----------------------------------------------------------------------------------
    def _rollback_one(self, row: AuditEntry, *, approver: str) -> ApplyResult:
        pid = row.proposal_id or "?"
        try:
            proposal = row.proposal_model()
        except ValidationError:
            proposal = None
        if proposal is None:
            return self._final(
                None,
                pid,
                AuditAction.ROLLBACK,
                AuditStatus.REFUSED,
                "stored proposal is invalid",
                thread_id=row.thread_id,
                run_id=row.run_id,
                approver=approver,
            )
        approval = self.audit.record(
            action=AuditAction.ROLLBACK,
            status=AuditStatus.APPROVED,
            proposal=proposal,
            proposal_id=pid,
            thread_id=row.thread_id,
            run_id=row.run_id,
            approver=approver,
            before=row.after,
            after=row.before,
        )
        ctx = _Ctx(proposal, pid, row.thread_id or "", row.run_id or "", approver, approval)
        try:
            if self.settings.phase is Phase.INSIGHT:
                raise _Stop(AuditStatus.REFUSED, "phase is insight: no writes")
            if proposal.kind is ProposalKind.SET_FIELD:
                before, after = self._restore_field(ctx, row)
            else:
                before, after = self._delete_created(ctx, row)
        except _Stop as stop:
            return self._final(
                proposal,
                pid,
                AuditAction.ROLLBACK,
                stop.status,
                stop.message,
                thread_id=row.thread_id,
                run_id=row.run_id,
                approver=approver,
                before=stop.before,
            )
        done = self.audit.record(
            action=AuditAction.ROLLBACK,
            status=AuditStatus.ROLLED_BACK,
            proposal=proposal,
            proposal_id=pid,
            thread_id=row.thread_id,
            run_id=row.run_id,
            approver=approver,
            before=before,
            after=after,
        )
        return self._result_from(done, wrote=True)

    def _restore_field(self, ctx: _Ctx, row: AuditEntry) -> tuple[Any, Any]:
        name = ctx.proposal.field_name or ""
        if not is_agent_owned(name):
            raise _Stop(AuditStatus.REFUSED, f"field {name!r} is not agent-owned")
        ctx.task = self._read_task(ctx.proposal.target_gid)
        entry = next(
            (
                cf
                for cf in ctx.task.get("custom_fields") or []
                if isinstance(cf, dict) and cf.get("name") == name
            ),
            None,
        )
        if entry is None:
            raise _Stop(AuditStatus.SKIPPED, f"{name} is no longer on task {ctx.proposal.target_gid}")
        current = _field_value(entry)
        restore = row.before
        if _same(current, restore):
            return current, restore
        if not _same(current, row.after):
            raise _Stop(
                AuditStatus.STALE,
                f"{name} changed after the run (now {current!r}, the run wrote {row.after!r}): left as is",
                before=current,
            )
        value: Any = _valid_value(name, restore)
        ftype = AI_FIELDS[name]
        if ftype == "enum" and restore is not None:
            value = self._enum_options(str(entry["gid"])).get(str(restore))
            if value is None:
                raise _Stop(AuditStatus.REFUSED, f"{restore!r} is no longer an option of {name}")
        grant = self._guard(ctx, AuditAction.ROLLBACK)
        field_gid = str(entry["gid"])
        self._retrying(
            lambda: self._write_call(
                "PUT /tasks/{gid}",
                lambda: self.gateway.update_task_custom_fields(
                    grant, ctx.proposal.target_gid, {field_gid: value}
                ),
            ),
            check=None,
        )
        return current, restore

    def _delete_created(self, ctx: _Ctx, row: AuditEntry) -> tuple[Any, Any]:
        after = row.after if isinstance(row.after, dict) else {}
        if ctx.proposal.kind is ProposalKind.SUMMARY_TASK:
            ctx.task = None
        else:
            ctx.task = self._read_task(ctx.proposal.target_gid)
        grant = self._guard(ctx, AuditAction.ROLLBACK)
        if "task_gid" in after:
            gid = str(after["task_gid"])
            try:
                self._write_call("DELETE /tasks/{gid}", lambda: self.gateway.delete_task(grant, gid))
            except _Stop as stop:
                if stop.status is not AuditStatus.SKIPPED:  # 404: already gone is fine
                    raise
            return after, {"deleted": gid}
        if "story_gid" in after:
            gid = str(after["story_gid"])
            with contextlib.suppress(_Stop):  # 404 = already gone (or no delete route): checked below
                # The gateway has no story delete; the SDK call goes through its request primitive.
                self._write_call(
                    "DELETE /stories/{gid}",
                    lambda: self.gateway.call(
                        "DELETE /stories/{gid}", lambda: self.gateway.api.stories.delete_story(gid)
                    ),
                )
            try:
                self.gateway.call(
                    "GET /stories/{gid}",
                    lambda: self.gateway.api.stories.get_story(gid, {"opt_fields": "text"}),
                )
            except NotFoundError:
                return after, {"deleted": gid}
            except GatewayError:
                pass
            raise _Stop(AuditStatus.SKIPPED, f"comment {gid} left in place: Asana did not delete it")
        raise _Stop(AuditStatus.SKIPPED, "nothing recorded to undo")

    # ================================================================================================
    # audit helpers
    # ================================================================================================
    def _final(
        self,
        proposal: Proposal | None,
        pid: str,
        action: AuditAction,
        status: AuditStatus,
        error: str | None,
        *,
        thread_id: str | None,
        run_id: str | None,
        approver: str | None,
        decision: Decision | None = None,
        before: Any = None,
    ) -> ApplyResult:
        row = self.audit.record(
            action=action,
            status=status,
            proposal=proposal,
            proposal_id=pid,
            decision=decision,
            thread_id=thread_id,
            run_id=run_id,
            approver=approver,
            error=error,
            before=before,
        )
        return self._result_from(row)

    def _applied(self, ctx: _Ctx, action: AuditAction, **fields: Any) -> AuditEntry:
        """Record an APPLIED row under the item's proposal, thread, run and approver."""
        return self.audit.record(
            action=action,
            status=AuditStatus.APPLIED,
            proposal_id=ctx.proposal_id,
            thread_id=ctx.thread_id,
            run_id=ctx.run_id,
            approver=ctx.approver,
            **fields,
        )

    @staticmethod
    def _result_from(row: AuditEntry, *, wrote: bool = False) -> ApplyResult:
        return ApplyResult(
            proposal_id=row.proposal_id or "?",
            status=row.status,
            action=row.action,
            target_gid=row.target_gid,
            field_name=row.field_name,
            before=row.before,
            after=row.after,
            error=row.error,
            wrote=wrote,
        )


def _safe_for_audit(proposal: Proposal) -> Proposal:
    """A proposal as data for the audit row, even if it was built with ``model_construct``."""
    return proposal


def _short_json(value: Any, limit: int = 1500) -> str:
    import json

    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[:limit] + " …"


def writer_from_settings(settings: Settings, *, store: Any = None, gateway: Any = None) -> Writer:
    """A Writer over the configured Asana, store and audit log (the CLI and the graphs use this)."""
    from tools.gateway.client import AsanaGateway
    from tools.store import Store

    store = store if store is not None else Store.open(settings.database_url)
    gateway = gateway if gateway is not None else AsanaGateway.from_settings(settings)
    audit = AuditLog(store.engine, Redactor(settings.secrets()))
    return Writer(gateway, store, settings, audit)


def iter_ids(results: Iterable[ApplyResult]) -> list[str]:
    return [r.proposal_id for r in results]
