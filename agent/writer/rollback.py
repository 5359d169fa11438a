"""Rollback of a run: restore each field's before value, delete what the run created (tasks, subtasks,
comments, time entries), newest first, through the same guard; the rollback command is the approval.

Only what the agent provably made is touched: a field by its recorded gid, a created item only while it
still carries the run's marker. A field a human changed after the run is left alone (``stale``). An
item whose rollback was refused or failed (insight phase, a read-only token, Asana down) is tried again
by the next rollback: only ``rolled_back`` and ``skipped`` (already gone) end an item. Each item is
claimed in the store first, so two rollbacks at once undo it once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import JsonValue, ValidationError

from agent.audit import AuditAction, AuditEntry, AuditLog, AuditStatus
from agent.claims import Claim, Claims, ClaimState
from agent.config import Phase, Settings
from agent.writer.calls import read_failure, retrying, write_call
from agent.writer.fields import FieldProvisioner
from agent.writer.guard import Guard
from agent.writer.values import (
    ApplyResult,
    FieldValue,
    ItemCtx,
    Stop,
    field_value,
    marker_for,
    same,
    valid_value,
)
from tools.gateway import AsanaGateway, GatewayError, NotFoundError
from tools.gateway import models as m
from tools.proposals import AI_FIELDS, Proposal, ProposalKind

ROLLBACK_DONE = frozenset({AuditStatus.ROLLED_BACK, AuditStatus.SKIPPED})


@dataclass(frozen=True)
class RollbackStep:
    """One applied write of a run and what undoing it means (the preview shows these)."""

    row: AuditEntry
    proposal: Proposal

    def describe(self) -> str:
        p, after = self.proposal, self.row.after if isinstance(self.row.after, dict) else {}
        if p.kind is ProposalKind.SET_FIELD:
            now, then = (("empty" if v is None else repr(v)) for v in (self.row.after, self.row.before))
            return f"restore {p.field_name} on task {p.target_gid}: {now} -> {then}"
        if "story_gid" in after:
            return f"delete comment {after['story_gid']} on task {p.target_gid}"
        if "time_entry_gid" in after:
            return f"delete time entry {after['time_entry_gid']} on task {p.target_gid}"
        if "task_gid" in after:
            where = "project" if p.kind is ProposalKind.SUMMARY_TASK else "task"
            return f"delete {p.kind.value.replace('_', ' ')} {after['task_gid']} ('{p.title}') in {where} {p.target_gid}"
        return f"nothing recorded to undo for {p.kind.value} on {p.target_gid}"


def plan_rollback(audit: AuditLog, run_id: str) -> list[RollbackStep]:
    """The run's applied writes that are not yet undone, newest first (read from the audit log only)."""
    rows = audit.entries(run_id=run_id)
    undone = {r.proposal_id for r in rows if r.action is AuditAction.ROLLBACK and r.status in ROLLBACK_DONE}
    steps: list[RollbackStep] = []
    seen: set[str] = set()
    for row in reversed(
        [r for r in rows if r.action is AuditAction.WRITE and r.status is AuditStatus.APPLIED]
    ):
        pid = row.proposal_id
        if pid is None or pid in undone or pid in seen:
            continue
        seen.add(pid)
        try:
            proposal = row.proposal_model()
        except ValidationError:
            proposal = None
        if proposal is None:
            proposal = Proposal(kind=ProposalKind.COMMENT, target_gid=row.target_gid or "?", text="?")
        steps.append(RollbackStep(row, proposal))
    return steps


class Rollback:
    """Undo a run's writes for one writer."""

    def __init__(
        self,
        gateway: AsanaGateway,
        settings: Settings,
        audit: AuditLog,
        guard: Guard,
        fields: FieldProvisioner,
        claims: Claims,
        *,
        attempts: int,
        claim_wait: float,
        read_task: Callable[[str], m.Task],
    ) -> None:
        self.gateway = gateway
        self.settings = settings
        self.audit = audit
        self.guard = guard
        self.fields = fields
        self.claims = claims
        self.attempts = attempts
        self.claim_wait = claim_wait
        self.read_task = read_task

    def plan(self, run_id: str) -> list[RollbackStep]:
        return plan_rollback(self.audit, run_id)

    def run(self, run_id: str, *, approver: str) -> list[ApplyResult]:
        self.guard.reset()
        return [self._one(step, approver=approver) for step in self.plan(run_id)]

    def _one(self, step: RollbackStep, *, approver: str) -> ApplyResult:
        row, proposal = step.row, step.proposal
        pid = row.proposal_id or "?"
        got = self.claims.claim(f"rollback:{row.run_id}:{pid}:{row.id}", wait=self.claim_wait)
        if not isinstance(got, Claim):
            done = got.state is ClaimState.DONE
            return ApplyResult(
                proposal_id=pid,
                status=AuditStatus.ROLLED_BACK if done else AuditStatus.FAILED,
                action=AuditAction.ROLLBACK,
                target_gid=row.target_gid,
                field_name=row.field_name,
                note="rolled back by another process" if done else "another process is rolling this back",
            )
        if row.proposal is None:
            return self._end(got, proposal, row, approver, AuditStatus.REFUSED, "stored proposal is invalid")
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
        ctx = ItemCtx(proposal, pid, row.thread_id or "", row.run_id or "", approver, approval)
        try:
            if self.settings.phase is Phase.INSIGHT:
                raise Stop(AuditStatus.REFUSED, "phase is insight: no writes")
            if proposal.kind is ProposalKind.SET_FIELD:
                before, after = self._restore_field(ctx, row)
            else:
                before, after = self._delete_created(ctx, row)
        except Stop as stop:
            return self._end(got, proposal, row, approver, stop.status, stop.message, before=stop.before)
        except BaseException:
            self.claims.release(got)
            raise
        return self._end(
            got, proposal, row, approver, AuditStatus.ROLLED_BACK, None, before=before, after=after
        )

    def _end(
        self,
        claim: Claim,
        proposal: Proposal,
        row: AuditEntry,
        approver: str,
        status: AuditStatus,
        error: str | None,
        *,
        before: JsonValue = None,
        after: JsonValue = None,
    ) -> ApplyResult:
        with self.audit.engine.begin() as conn:
            done = self.audit.record(
                action=AuditAction.ROLLBACK,
                status=status,
                proposal=proposal if row.proposal is not None else None,
                proposal_id=row.proposal_id,
                thread_id=row.thread_id,
                run_id=row.run_id,
                approver=approver,
                error=error,
                before=before,
                after=after,
                conn=conn,
            )
            if status in ROLLBACK_DONE:
                self.claims.complete(claim, f"{status.value} #{done.id}", conn=conn)
        if status not in ROLLBACK_DONE:
            self.claims.release(claim)  # refused / stale / failed: the next rollback tries again
        return ApplyResult.from_row(done, wrote=status is AuditStatus.ROLLED_BACK)

    def _restore_field(self, ctx: ItemCtx, row: AuditEntry) -> tuple[JsonValue, JsonValue]:
        name = ctx.proposal.field_name or ""
        ctx.task = self.read_task(ctx.proposal.target_gid)
        entry = self.fields.entry_on(ctx.task, name)
        if entry is None:
            raise Stop(AuditStatus.SKIPPED, f"{name} is no longer on task {ctx.proposal.target_gid}")
        current = field_value(entry)
        restore: JsonValue = row.before
        if same(current, restore):
            return current, restore
        if not same(current, row.after):
            raise Stop(
                AuditStatus.STALE,
                f"{name} changed after the run (now {current!r}, the run wrote {row.after!r}): left as is",
                before=current,
            )
        value: FieldValue = valid_value(name, restore)
        if AI_FIELDS[name] == "enum" and restore is not None:
            value = self.fields.enum_options(entry.gid).get(str(restore))
            if value is None:
                raise Stop(AuditStatus.REFUSED, f"{restore!r} is no longer an option of {name}")
        target = ctx.proposal.target_gid
        grant = self.guard.grant(ctx, AuditAction.ROLLBACK, target_gid=target, field_gid=entry.gid)
        retrying(
            lambda: write_call(
                "PUT /tasks/{gid}",
                lambda: self.gateway.update_task_custom_fields(grant, target, {entry.gid: value}),
            ),
            attempts=self.attempts,
            check=None,
        )
        return current, restore

    def _delete_created(self, ctx: ItemCtx, row: AuditEntry) -> tuple[JsonValue, JsonValue]:
        after = row.after if isinstance(row.after, dict) else {}
        p = ctx.proposal
        ctx.task = None if p.kind is ProposalKind.SUMMARY_TASK else self.read_task(p.target_gid)
        marker = marker_for(ctx.proposal_id)
        if "task_gid" in after:
            gid = str(after["task_gid"])
            if not self._still_marked(lambda: str(self.read_task(gid).notes or ""), marker, gid):
                return after, {"deleted": gid, "already": True}
            grant = self.guard.grant(ctx, AuditAction.ROLLBACK, target_gid=gid)
            self._delete("DELETE /tasks/{gid}", lambda: self.gateway.delete_task(grant, gid))
        elif "story_gid" in after:
            gid = str(after["story_gid"])
            if not self._still_marked(lambda: self._story_text(p.target_gid, gid), marker, gid):
                return after, {"deleted": gid, "already": True}
            grant = self.guard.grant(ctx, AuditAction.ROLLBACK, target_gid=gid)
            self._delete("DELETE /stories/{gid}", lambda: self.gateway.delete_story(grant, gid))
        elif "time_entry_gid" in after:
            gid = str(after["time_entry_gid"])
            if not self._still_marked(lambda: self.gateway.time_entry(gid).description or "", marker, gid):
                return after, {"deleted": gid, "already": True}
            grant = self.guard.grant(ctx, AuditAction.ROLLBACK, target_gid=gid)
            self._delete(
                "DELETE /time_tracking_entries/{gid}", lambda: self.gateway.delete_time_entry(grant, gid)
            )
        else:
            raise Stop(AuditStatus.SKIPPED, "nothing recorded to undo")
        return after, {"deleted": gid}

    def _story_text(self, task_gid: str, story_gid: str) -> str:
        for story in self.gateway.iter_stories(task_gid, "text"):
            if str(story.get("gid")) == story_gid:
                return str(story.get("text") or "")
        raise NotFoundError(f"story {story_gid} is gone", status=404)

    @staticmethod
    def _still_marked(read: Callable[[], str], marker: str, gid: str) -> bool:
        """True when the item exists and carries the run's marker; False when it is gone already. An
        item without the marker was not made by this run: it is never deleted."""
        try:
            text = read()
        except NotFoundError:
            return False
        except GatewayError as exc:
            raise read_failure(gid, exc) from None
        if marker not in text:
            raise Stop(
                AuditStatus.REFUSED,
                f"{gid} no longer carries {marker}: not deleting what the agent did not make",
            )
        return True

    def _delete(self, label: str, fn: Callable[[], None]) -> None:
        try:
            retrying(lambda: write_call(label, fn), attempts=self.attempts, check=None)
        except Stop as stop:
            if stop.status is not AuditStatus.SKIPPED:  # 404: gone meanwhile is fine
                raise
