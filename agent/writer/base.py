"""The writer's parts wired together, and the steps every item shares: audit rows, the human's edit,
re-reading the target, and writing an ``AI …`` field (values compared first, inputs checked for
staleness, the field found by its recorded gid)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from pydantic import JsonValue, ValidationError

from agent.audit import AuditAction, AuditEntry, AuditLog, AuditStatus, feedback_from_decision
from agent.claims import Claims
from agent.config import Settings
from agent.writer.calls import read_failure, retrying, write_call
from agent.writer.create import MarkedCreates
from agent.writer.fields import FieldProvisioner
from agent.writer.guard import Guard
from agent.writer.rollback import Rollback, RollbackStep
from agent.writer.values import (
    ApplyResult,
    FieldValue,
    ItemCtx,
    Stop,
    clean_text,
    field_value,
    same,
    valid_value,
)
from tools.gateway import AsanaGateway, GatewayError
from tools.gateway import models as m
from tools.gateway.client import TASK_FIELDS
from tools.proposals import AI_FIELDS, Decision, DecisionType, Proposal, ProposalKind, is_agent_owned
from tools.redact import Redactor
from tools.store import Store
from tools.sync.mapping import FieldMappingRules, MappingContext, map_task
from tools.telemetry import counted_writes

READ_FIELDS = TASK_FIELDS + ",workspace"
_INPUT_LABELS = {"estimate_hours": "the estimate", "actual_hours": "the actual hours"}


class WriterBase:
    """Shared wiring of ``Writer``. ``hook(stage, proposal_id)`` is a test seam called at "approved"
    (after the approval row, before the write) and "written" (after the write, before the final row)."""

    def __init__(
        self,
        gateway: AsanaGateway,
        store: Store | None,
        settings: Settings,
        audit: AuditLog,
        *,
        post_attempts: int = 3,
        hook: Callable[[str, str], None] | None = None,
        claim_wait: float = 60.0,
        leads: Mapping[str, Iterable[str]] | None = None,
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
        self.claim_wait = claim_wait
        self.claims = Claims(audit.engine)
        self.guard = Guard(gateway, store, settings, audit, leads=leads)
        self.fields = FieldProvisioner(
            gateway,
            settings,
            audit,
            self.guard,
            self.claims,
            attempts=self.post_attempts,
            claim_wait=claim_wait,
            applied=self.applied,
        )
        self.creates = MarkedCreates(gateway, self.guard, self.redactor, attempts=self.post_attempts)
        self._rollback = Rollback(
            gateway,
            settings,
            audit,
            self.guard,
            self.fields,
            self.claims,
            attempts=self.post_attempts,
            claim_wait=claim_wait,
            read_task=self.read_task,
        )

    # --- rollback -----------------------------------------------------------------------------------
    def rollback_plan(self, run_id: str) -> list[RollbackStep]:
        """What ``rollback(run_id)`` would undo, newest first (nothing is read from Asana)."""
        return self._rollback.plan(run_id)

    @counted_writes
    def rollback(self, run_id: str, *, approver: str) -> list[ApplyResult]:
        """Undo a run (see agent/writer/rollback.py); items not yet restored are tried again."""
        return self._rollback.run(run_id, approver=approver)

    # --- audit rows ---------------------------------------------------------------------------------
    def final(
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
        )
        return ApplyResult.from_row(row)

    def applied(self, ctx: ItemCtx, action: AuditAction, **fields: JsonValue) -> AuditEntry:
        """An APPLIED row under the item's proposal, thread, run and approver (fields, attachments)."""
        return self.audit.record(
            action=action,
            status=AuditStatus.APPLIED,
            proposal_id=ctx.proposal_id,
            thread_id=ctx.thread_id,
            run_id=ctx.run_id,
            approver=ctx.approver,
            field_name=str(fields["field_name"]) if fields.get("field_name") else None,
            target_gid=str(fields["target_gid"]) if fields.get("target_gid") else None,
            after=fields.get("after"),
        )

    def record_decision(
        self, proposal: Proposal, decision: Decision, status: AuditStatus, thread_id: str, run_id: str
    ) -> AuditEntry:
        row = self.audit.record(
            action=AuditAction.DECISION,
            status=status,
            proposal=proposal,
            decision=decision,
            thread_id=thread_id,
            run_id=run_id,
        )
        feedback = feedback_from_decision(proposal, decision)
        if feedback is not None:
            self.audit.record_feedback(feedback)
        return row

    # --- the human's edit ---------------------------------------------------------------------------
    def effective(self, proposal: Proposal, decision: Decision | None) -> Proposal:
        """The proposal with the human's edit applied, validated again."""
        if decision is None or decision.type is not DecisionType.EDIT:
            return proposal
        if proposal.kind is ProposalKind.SET_FIELD:
            update: dict[str, object] = {"value": decision.edited_value}
        elif proposal.kind is ProposalKind.COMMENT:
            update = {"text": None if decision.edited_value is None else str(decision.edited_value)}
        else:
            raise Stop(AuditStatus.REFUSED, f"a {proposal.kind.value} proposal cannot be edited")
        try:
            return Proposal.model_validate({**proposal.model_dump(), **update})
        except ValidationError as exc:
            problems = "; ".join(e["msg"] for e in exc.errors())
            raise Stop(AuditStatus.REFUSED, f"edited value is invalid: {problems}") from None

    # --- the target ---------------------------------------------------------------------------------
    def load_target(self, ctx: ItemCtx) -> None:
        """Re-read the target task (not for summary tasks, whose target is a project)."""
        ctx.task = (
            None
            if ctx.proposal.kind is ProposalKind.SUMMARY_TASK
            else self.read_task(ctx.proposal.target_gid)
        )

    def read_task(self, gid: str) -> m.Task:
        try:
            raw = self.gateway.get_task_raw(gid, READ_FIELDS)
        except GatewayError as exc:
            raise read_failure(f"task {gid}", exc) from None
        try:
            return m.Task.model_validate(raw)
        except ValidationError:
            raise Stop(AuditStatus.FAILED, f"task {gid}: Asana's answer could not be read") from None

    def check_inputs(self, ctx: ItemCtx) -> None:
        """Stale unless the human values the proposal was computed from are still what they were."""
        if not ctx.proposal.inputs or ctx.task is None:
            return
        rules = FieldMappingRules.from_settings(self.settings.fields)
        live = map_task(ctx.task.model_dump(mode="json"), MappingContext(rules=rules))
        for key, then in sorted(ctx.proposal.inputs.items()):
            now = getattr(live, key, None) if live is not None else None
            unchanged = (now is None and then is None) or (
                now is not None and then is not None and math.isclose(float(now), float(then), abs_tol=1e-6)
            )
            if not unchanged:
                raise Stop(
                    AuditStatus.STALE,
                    f"{_INPUT_LABELS.get(key, key)} of task {ctx.proposal.target_gid} changed since the "
                    f"proposal ({then!r} -> {now!r}): not applied; the next run proposes again",
                )

    # --- fields -------------------------------------------------------------------------------------
    def set_field(self, ctx: ItemCtx) -> tuple[FieldValue, FieldValue, bool]:
        p = ctx.proposal
        name = p.field_name or ""
        if not is_agent_owned(name):
            raise Stop(AuditStatus.REFUSED, f"field {name!r} is not agent-owned")
        self.guard.check_scope(ctx)  # before any further read or the field lookup
        task = ctx.task
        entry = self.fields.entry_on(task, name) if task is not None else None
        current = field_value(entry) if entry is not None else None
        ftype = AI_FIELDS[name]
        target = valid_value(name, p.value)
        if isinstance(target, str) and ftype == "text":
            target = self.redactor(clean_text(target))
        if entry is not None and same(current, target):
            return current, target, False  # already there (a retry after a crash, or a no-op)
        before = p.evidence.get("before")
        if "before" in p.evidence and not same(
            current, before if isinstance(before, str | int | float) else None
        ):
            raise Stop(
                AuditStatus.STALE,
                f"{name} changed since the proposal (expected {before!r}, found {current!r})",
                before=current,
            )
        self.check_inputs(ctx)
        field_gid, options = self.fields.field_for(ctx, name, entry)
        value: FieldValue = target
        if ftype == "enum" and target is not None:
            value = options.get(str(target))
            if value is None:
                raise Stop(AuditStatus.REFUSED, f"{target!r} is not an option of {name} ({sorted(options)})")
        grant = self.guard.grant(ctx, AuditAction.WRITE, target_gid=p.target_gid, field_gid=field_gid)
        retrying(
            lambda: write_call(
                "PUT /tasks/{gid}",
                lambda: self.gateway.update_task_custom_fields(grant, p.target_gid, {field_gid: value}),
            ),
            attempts=self.post_attempts,
            check=None,
        )
        return current, target, True
