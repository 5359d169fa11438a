"""The Writer: decisions on record first, then each write claimed, guarded, idempotent and audited.

``apply`` records every decision of a batch before any write (a crash during the writes leaves the
batch approved, and ``resume`` finishes it). Each item's write is then claimed in the store (exactly one
process writes it; another one waits and reports "applied by another process"), re-reads its target (a
value or an input that moved since the proposal is ``stale``; a deleted task is ``skipped``; a 403 is a
clear ``refused``), passes the guard, writes idempotently (values compared first, posts marked), and
appends its final row in the same transaction that completes the claim.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import JsonValue, ValidationError

from agent.audit import APPROVAL_STATUSES, FINAL_STATUSES, AuditAction, AuditStatus
from agent.claims import Claim, ClaimState, Taken
from agent.writer.base import WriterBase
from agent.writer.values import SYSTEM_APPROVER, ApplyResult, ItemCtx, Stop, marker_for
from tools.proposals import Decision, DecisionType, Proposal, ProposalKind
from tools.telemetry import counted_writes, traced_write


def _same_decision(stored: dict[str, JsonValue] | None, decision: Decision) -> bool:
    """The stored decision row is this very decision (a re-run of the same apply after a crash)."""
    if not stored:
        return False
    mine = decision.model_dump(mode="json")
    return all(stored.get(k) == mine.get(k) for k in ("type", "approver", "decided_at", "edited_value"))


class Writer(WriterBase):
    """Applies approved proposals to Asana; every write goes through ``Guard.grant`` first."""

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

        Safe to call again with the same arguments (a re-run after a crash): a decision already on
        record is not recorded twice, and an item with a final row after its approval is reported."""
        self.guard.reset()
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
        planned: list[ApplyResult | ItemCtx] = []
        for pid, proposal in by_id.items():
            self._record_proposed(proposal, pid, thread_id=thread_id, run_id=run_id)
            decision = latest.get(pid)
            if decision is None:
                planned.append(
                    self.final(
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
        return results + [item if isinstance(item, ApplyResult) else self._execute(item) for item in planned]

    @counted_writes
    def resume(
        self, *, run_id: str | None = None, thread_id: str | None = None, approver: str | None = None
    ) -> list[ApplyResult]:
        """Finish approved-but-unapplied items (after a crash or a transient failure). Several
        processes may resume at once: each item is claimed, so it is written once."""
        self.guard.reset()
        results: list[ApplyResult] = []
        for entry in self.audit.unfinished(run_id=run_id, thread_id=thread_id):
            try:
                proposal = entry.proposal_model()
                decision = entry.decision_model()
            except ValidationError as exc:
                results.append(
                    self.final(
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
                effective = self.effective(proposal, decision)
            except Stop as stop:
                results.append(
                    self.final(
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
            who = entry.approver or approver or SYSTEM_APPROVER
            ctx = ItemCtx(effective, entry.proposal_id, entry.thread_id or "", entry.run_id or "", who, entry)
            results.append(self._execute(ctx))
        return results

    # --- decisions ----------------------------------------------------------------------------------
    def _record_proposed(self, proposal: Proposal, pid: str, *, thread_id: str, run_id: str) -> None:
        if self.audit.latest(pid, thread_id=thread_id) is None:
            self.audit.record(
                action=AuditAction.DECISION,
                status=AuditStatus.PROPOSED,
                proposal=proposal,
                proposal_id=pid,
                thread_id=thread_id,
                run_id=run_id,
            )

    def _refuse_unknown(self, d: Decision, *, thread_id: str, run_id: str) -> ApplyResult:
        return self.final(
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
    ) -> ApplyResult | ItemCtx:
        """Record one decision; return a final result, or the context of a write still to do. A newer
        decision supersedes an older one (a proposal rejected in one run may be approved in the next)."""
        previous = self.audit.latest(pid, thread_id=thread_id, action=AuditAction.DECISION)
        if previous is not None and _same_decision(previous.decision, decision):  # a re-run
            if previous.status not in APPROVAL_STATUSES:
                return ApplyResult.from_row(previous)
            done = self.audit.latest(pid, thread_id=thread_id, action=AuditAction.WRITE)
            if done is not None and done.status in FINAL_STATUSES and done.id > previous.id:
                return ApplyResult.from_row(done)
            try:
                return ItemCtx(
                    self.effective(proposal, decision), pid, thread_id, run_id, decision.approver, previous
                )
            except Stop as stop:
                return self.final(
                    proposal,
                    pid,
                    AuditAction.WRITE,
                    stop.status,
                    stop.message,
                    thread_id=thread_id,
                    run_id=run_id,
                    approver=decision.approver,
                )

        def refuse(shown: Proposal, status: AuditStatus, message: str) -> ApplyResult:
            return self.final(
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

        # model_construct() can smuggle a human field past the validator: validate again from plain data.
        try:
            checked = Proposal.model_validate(proposal.model_dump())
        except ValidationError as exc:
            return refuse(
                proposal,
                AuditStatus.REFUSED,
                "invalid proposal: " + "; ".join(e["msg"] for e in exc.errors()),
            )
        if checked.id != pid:
            return refuse(proposal, AuditStatus.REFUSED, "proposal content does not match its id")
        if decision.type in (DecisionType.IGNORE, DecisionType.RESPONSE):
            return ApplyResult.from_row(
                self.record_decision(checked, decision, AuditStatus.REJECTED, thread_id, run_id)
            )
        try:
            effective = self.effective(checked, decision)
        except Stop as stop:
            return refuse(checked, stop.status, stop.message)
        status = AuditStatus.EDITED if decision.type is DecisionType.EDIT else AuditStatus.APPROVED
        approval = self.record_decision(checked, decision, status, thread_id, run_id)
        return ItemCtx(effective, pid, thread_id, run_id, decision.approver, approval)

    # --- one item -----------------------------------------------------------------------------------
    @traced_write  # a span per approved proposal; its write requests nest under it
    def _execute(self, ctx: ItemCtx) -> ApplyResult:
        """Claim the item, then write it (or report what another process did with it)."""
        got = self.claims.claim(
            f"write:{ctx.thread_id}:{ctx.proposal_id}:{ctx.approval.id}", wait=self.claim_wait
        )
        if not isinstance(got, Claim):
            return self._handled_elsewhere(ctx, got)
        try:
            done = self.audit.latest(ctx.proposal_id, thread_id=ctx.thread_id, action=AuditAction.WRITE)
            if done is not None and done.status in FINAL_STATUSES and done.id > ctx.approval.id:
                self.claims.complete(got, f"{done.status.value} #{done.id}")  # finished before a crash
                return ApplyResult.from_row(done, note="applied by another process")
            return self._write(ctx, got)
        except BaseException:
            self.claims.release(got)
            raise

    def _handled_elsewhere(self, ctx: ItemCtx, taken: Taken) -> ApplyResult:
        if taken.state is ClaimState.DONE:
            row = self.audit.latest(ctx.proposal_id, thread_id=ctx.thread_id, action=AuditAction.WRITE)
            if row is not None:
                return ApplyResult.from_row(row, note=f"{row.status.value} by another process")
        return ApplyResult(
            proposal_id=ctx.proposal_id,
            status=AuditStatus.FAILED,
            target_gid=ctx.proposal.target_gid,
            field_name=ctx.proposal.field_name,
            note="another process is still writing this item; `effort approvals resume` finishes it if it stopped",
        )

    def _write(self, ctx: ItemCtx, claim: Claim) -> ApplyResult:
        p = ctx.proposal
        if self.hook is not None:
            self.hook("approved", ctx.proposal_id)
        before: JsonValue = None
        after: JsonValue = None
        wrote = False
        try:
            if self.settings.phase.writes is False:  # before any request, reads included
                raise Stop(AuditStatus.REFUSED, "phase is insight: no writes")
            self.load_target(ctx)
            if p.kind is ProposalKind.SET_FIELD:
                before, after, wrote = self.set_field(ctx)
            else:
                made, wrote = self.creates.find_or_create(ctx, marker_for(ctx.proposal_id), AuditAction.WRITE)
                after = made
        except Stop as stop:
            return self.end_item(ctx, claim, stop.status, error=stop.message, before=stop.before)
        if self.hook is not None:
            self.hook("written", ctx.proposal_id)
        return self.end_item(ctx, claim, AuditStatus.APPLIED, before=before, after=after, wrote=wrote)

    def end_item(
        self,
        ctx: ItemCtx,
        claim: Claim,
        status: AuditStatus,
        *,
        error: str | None = None,
        before: JsonValue = None,
        after: JsonValue = None,
        wrote: bool = False,
    ) -> ApplyResult:
        """The item's final row and the claim's end, in one transaction (a failed write releases the
        claim so that `resume` may try again)."""
        with self.audit.engine.begin() as conn:
            row = self.audit.record(
                action=AuditAction.WRITE,
                status=status,
                proposal=ctx.proposal,
                proposal_id=ctx.proposal_id,
                thread_id=ctx.thread_id,
                run_id=ctx.run_id,
                approver=ctx.approver,
                error=error,
                before=before,
                after=after,
                conn=conn,
            )
            if status in FINAL_STATUSES:
                self.claims.complete(claim, f"{status.value} #{row.id}", conn=conn)
        if status not in FINAL_STATUSES:
            self.claims.release(claim)
        return ApplyResult.from_row(row, wrote=wrote, note="; ".join(ctx.notes) or None)

    # --- the Asana approval subtask -----------------------------------------------------------------
    def request_asana_approval(
        self, proposal: Proposal, *, thread_id: str, run_id: str, assignee_gid: str | None
    ) -> ApplyResult:
        """Create (once) the Asana approval subtask for a significant proposal, assigned to the lead."""
        from agent.writer.requests import request_approval

        return request_approval(self, proposal, thread_id=thread_id, run_id=run_id, assignee_gid=assignee_gid)
