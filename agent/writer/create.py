"""Idempotent creation: comments, subtasks, summary tasks and time entries carry a marker
(``[effort:<proposal id>]``) that is looked for before every POST and after a dropped one, so a retry,
a resume after a crash or a second process never posts the same thing twice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import JsonValue

from agent.audit import AuditAction
from agent.writer.calls import read_failure, retrying, write_call
from agent.writer.guard import Guard
from agent.writer.values import MAX_TEXT, ItemCtx, clean_text
from tools.gateway import AsanaGateway, GatewayError
from tools.proposals import ProposalKind
from tools.redact import Redactor

Created = dict[str, JsonValue]  # {"story_gid": ...} | {"task_gid": ...} | {"time_entry_gid": ...}


def _with_marker(rows: Iterable[Mapping[str, object]], key: str, marker: str) -> str | None:
    return next((str(r["gid"]) for r in rows if marker in str(r.get(key) or "")), None)


class MarkedCreates:
    """Find-or-create of the agent's marked posts for one writer."""

    def __init__(self, gateway: AsanaGateway, guard: Guard, redactor: Redactor, *, attempts: int) -> None:
        self.gateway = gateway
        self.guard = guard
        self.redactor = redactor
        self.attempts = attempts

    def find(self, ctx: ItemCtx, marker: str) -> Created | None:
        """An earlier post carrying ``marker``, or None."""
        p = ctx.proposal
        try:
            if p.kind is ProposalKind.COMMENT:
                gid = _with_marker(
                    self.gateway.iter_stories(p.target_gid, "text,resource_subtype"), "text", marker
                )
                return None if gid is None else {"story_gid": gid}
            if p.kind is ProposalKind.TIME_ENTRY:
                gid = self._find_entry(ctx, marker)
                return None if gid is None else {"time_entry_gid": gid}
            if p.kind is ProposalKind.SUBTASK:
                items = self.gateway.iter_subtasks(p.target_gid, "name,notes,completed")
            else:
                items = self.gateway.iter_tasks_for_project(p.target_gid, "name,notes,completed")
            gid = _with_marker(items, "notes", marker)
            return None if gid is None else {"task_gid": gid}
        except GatewayError as exc:
            raise read_failure(p.target_gid, exc) from None

    def _find_entry(self, ctx: ItemCtx, marker: str) -> str | None:
        """Lists carry only compact entries (no description): read the candidates (same day and
        duration) one by one for the marker."""
        entry = ctx.proposal.entry
        if entry is None:
            return None
        for row in self.gateway.iter_time_entries_for_task(ctx.proposal.target_gid):
            if str(row.get("entered_on")) != entry.entered_on.isoformat():
                continue
            if row.get("duration_minutes") != entry.duration_minutes:
                continue
            full = self.gateway.time_entry(str(row["gid"]))
            if marker in (full.description or ""):
                return full.gid
        return None

    def create(self, ctx: ItemCtx, marker: str, action: AuditAction) -> Created:
        """POST the marked item; after a dropped POST, look before retrying."""
        p = ctx.proposal
        body = self.redactor(clean_text(p.text or "").strip())
        if len(body) > MAX_TEXT:
            body = body[:MAX_TEXT] + " …"
        text = f"{body}\n\n{marker}" if body else marker
        if p.kind is ProposalKind.SUMMARY_TASK:
            self.guard.check_scope(ctx)

        def post() -> Created:
            grant = self.guard.grant(ctx, action, target_gid=p.target_gid)
            if p.kind is ProposalKind.COMMENT:
                story = write_call(
                    "POST /tasks/{gid}/stories",
                    lambda: self.gateway.create_comment(grant, p.target_gid, text=text),
                )
                return {"story_gid": story.gid}
            if p.kind is ProposalKind.TIME_ENTRY and p.entry is not None:
                fields: dict[str, object] = {
                    "duration_minutes": p.entry.duration_minutes,
                    "entered_on": p.entry.entered_on.isoformat(),
                    "description": text,
                }
                if p.entry.attributable_to:
                    fields["attributable_to"] = p.entry.attributable_to
                made = write_call(
                    "POST /tasks/{gid}/time_tracking_entries",
                    lambda: self.gateway.create_time_entry(grant, p.target_gid, fields),
                )
                return {"time_entry_gid": made.gid}
            task_fields: dict[str, object] = {
                "name": self.redactor(clean_text(p.title or "Effort Copilot"))[:250],
                "notes": text,
            }
            if p.assignee_gid:
                task_fields["assignee"] = p.assignee_gid
            if p.kind is ProposalKind.SUBTASK:
                task = write_call(
                    "POST /tasks/{gid}/subtasks",
                    lambda: self.gateway.create_subtask(grant, p.target_gid, task_fields),
                )
            else:
                task = write_call(
                    "POST /tasks",
                    lambda: self.gateway.create_task(grant, {**task_fields, "projects": [p.target_gid]}),
                )
            return {"task_gid": task.gid}

        return retrying(post, attempts=self.attempts, check=lambda: self.find(ctx, marker))

    def find_or_create(self, ctx: ItemCtx, marker: str, action: AuditAction) -> tuple[Created, bool]:
        """(what exists now, whether this call posted it)."""
        existing = self.find(ctx, marker)
        if existing is not None:
            return existing, False
        return self.create(ctx, marker, action), True
