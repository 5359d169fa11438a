"""The guard: the one place that decides whether a write may happen, and the only constructor of
``WriteGrant`` in the product (tests/agent/writer/test_package.py proves it by reading every module).

Checked before EVERY write call, in order: the rollout phase (``insight`` refuses everything), an
approval record in the audit log for that exact proposal (re-read, never trusted from memory), field
ownership (only ``AI …`` fields, and for an existing field only a gid the agent recorded when it
created it), the scope allowlist (the task's live projects and tags), in ``optimize`` a completed Asana
approval subtask for a significant change, and for a time entry that the approver is the person the
entry is for (or their lead). A grant names the one object it is for.

Operator commands that change no task data (``effort webhooks register|delete``) get a grant from
``operator_grant``: the command itself is the approval record, written to the audit log first.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

from pydantic import JsonValue

from agent.asana_approvals import needs_asana_approval
from agent.audit import AuditAction, AuditEntry, AuditLog, AuditStatus
from agent.config import Phase, Settings
from agent.writer.values import ItemCtx, Stop
from tools.gateway import AsanaGateway, GatewayError
from tools.gateway import models as m
from tools.gateway.writes import WriteGrant
from tools.proposals import ProposalKind, is_agent_owned
from tools.records import Project
from tools.scope import ScopeRule, portfolio_members
from tools.scope import key as scope_key
from tools.store import Store

_FIELD_ACTIONS = frozenset({AuditAction.CREATE_FIELD, AuditAction.ATTACH_FIELD})


def _identity(text: str) -> str:
    return text.strip().casefold()


class Guard:
    """Phase, approval, ownership, scope, significance and approver checks; issues ``WriteGrant``s."""

    def __init__(
        self,
        gateway: AsanaGateway,
        store: Store | None,
        settings: Settings,
        audit: AuditLog,
        *,
        leads: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.gateway = gateway
        self.store = store
        self.settings = settings
        self.audit = audit
        # person gid -> identities of the lead(s) who may approve that person's time entries
        self.leads = {gid: {_identity(x) for x in who} for gid, who in (leads or {}).items()}
        self._rule: ScopeRule | None = None
        self._owned: dict[str, set[str]] | None = None
        self._retro_project_gid: str | None = None

    def reset(self) -> None:
        """A new batch: resolve the scope and re-read field ownership again."""
        self._rule = None
        self._owned = None

    # --- the grant ----------------------------------------------------------------------------------
    def grant(
        self,
        ctx: ItemCtx,
        action: AuditAction,
        *,
        target_gid: str,
        field_name: str | None = None,
        field_gid: str | None = None,
    ) -> WriteGrant:
        """Raise ``Stop(refused)`` unless this write may happen; return the grant for ``target_gid``."""
        if self.settings.phase is Phase.INSIGHT:
            raise Stop(AuditStatus.REFUSED, "phase is insight: no writes")
        record = self._approval_on_record(ctx, action)
        if record is None:
            raise Stop(AuditStatus.REFUSED, "no approval record for this proposal")
        p = ctx.proposal
        name = field_name if field_name is not None else p.field_name
        if p.kind is ProposalKind.SET_FIELD or action in _FIELD_ACTIONS:
            if not name or not is_agent_owned(name):
                raise Stop(AuditStatus.REFUSED, f"field {name!r} is not agent-owned")
            if action is not AuditAction.CREATE_FIELD and field_gid not in self.owned(name):
                raise Stop(
                    AuditStatus.REFUSED,
                    f"field {name!r} ({field_gid}) was not created by Effort Copilot: it is not the agent's",
                )
        self.check_scope(ctx)
        if (
            action not in (AuditAction.APPROVAL_REQUEST, AuditAction.ROLLBACK)
            and needs_asana_approval(p, self.settings)
            and not self._asana_approved(ctx)
        ):
            raise Stop(
                AuditStatus.REFUSED,
                "significant change in the optimize phase: the Asana approval subtask is not completed",
            )
        if p.kind is ProposalKind.TIME_ENTRY and action is AuditAction.WRITE:
            self._check_entry_approver(ctx, record)
        return WriteGrant(
            approval_id=str(record.id),
            run_id=ctx.run_id or "run",
            proposal_id=ctx.proposal_id,
            target_gid=target_gid,
        )

    def operator_grant(
        self, *, action: AuditAction, target_gid: str, approver: str, run_id: str, what: JsonValue
    ) -> tuple[WriteGrant, AuditEntry]:
        """A grant for an operator command that changes no task data (webhooks); the approval record is
        the command itself, appended to the audit log before the request."""
        if self.settings.phase is Phase.INSIGHT:
            raise Stop(AuditStatus.REFUSED, "phase is insight: no write calls reach Asana")
        row = self.audit.record(
            action=action,
            status=AuditStatus.APPROVED,
            proposal_id=f"{action.value}:{target_gid}",
            run_id=run_id,
            approver=approver,
            target_gid=target_gid,
            after=what,
        )
        grant = WriteGrant(
            approval_id=str(row.id), run_id=run_id, proposal_id=row.proposal_id or "?", target_gid=target_gid
        )
        return grant, row

    def _approval_on_record(self, ctx: ItemCtx, action: AuditAction) -> AuditEntry | None:
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

    # --- ownership ----------------------------------------------------------------------------------
    def owned(self, name: str) -> set[str]:
        """Gids of the fields called ``name`` that the agent created (recorded at creation)."""
        if self._owned is None:
            self._owned = self.audit.owned_fields()
        return self._owned.get(name, set())

    def forget_ownership(self) -> None:
        """Re-read ownership (after this process, or another, created a field)."""
        self._owned = None

    # --- approver identity --------------------------------------------------------------------------
    def _check_entry_approver(self, ctx: ItemCtx, record: AuditEntry) -> None:
        entry = ctx.proposal.entry
        if entry is None:
            raise Stop(AuditStatus.REFUSED, "a time entry proposal without its entry")
        allowed = {_identity(entry.person_gid)} | self.leads.get(entry.person_gid, set())
        person = next((p for p in self._people() if p.gid == entry.person_gid), None)
        if person is not None:
            allowed |= {_identity(v) for v in (person.email, person.name) if v}
        who = record.approver or ""
        if _identity(who) not in allowed:
            raise Stop(
                AuditStatus.REFUSED,
                f"a time entry for {person.name if person else entry.person_gid} must be approved by that "
                f"person (or their lead), not by {who or 'nobody'}",
            )

    def _people(self) -> list[m.User]:
        if self.store is None:
            return []
        return [m.User(gid=p.gid, name=p.name, email=p.email) for p in self.store.people()]

    # --- scope --------------------------------------------------------------------------------------
    def scope(self) -> ScopeRule:
        """The scope rule (tools/scope.py) resolved against the synced projects and, for listed
        portfolios, their live items (the store's portfolio links apply when Asana cannot be read)."""
        if self._rule is not None:
            return self._rule
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
            keys = {scope_key(r) for r in config.portfolios}
            wanted |= {gid for gid, name in names.items() if scope_key(name) in keys}
            for portfolio in wanted:
                with contextlib.suppress(GatewayError):
                    items = self.gateway.iter_portfolio_items(portfolio)
                    members.setdefault(portfolio, set()).update(str(item["gid"]) for item in items)
        self._rule = ScopeRule.resolve(
            config, [(p.gid, p.name) for p in projects], portfolio_projects=members, portfolio_names=names
        )
        return self._rule

    def _store_projects(self) -> list[Project]:
        return [] if self.store is None else list(self.store.projects())

    def check_scope(self, ctx: ItemCtx) -> None:
        p = ctx.proposal
        rule = self.scope()
        if not rule.configured:
            raise Stop(AuditStatus.REFUSED, rule.refusal())
        if p.kind is ProposalKind.SUMMARY_TASK and ctx.task is None:
            if rule.allows_project(p.target_gid) or p.target_gid == self.retro_project():
                return
            raise Stop(AuditStatus.REFUSED, f"project {p.target_gid} is outside the configured scope")
        task = ctx.task
        tags = [v for ref in (task.tags if task else []) for v in (ref.gid, ref.name) if v]
        if task is not None and rule.allows(self.projects_of(task), tags):
            return
        raise Stop(AuditStatus.REFUSED, f"task {p.target_gid} is outside the configured scope")

    def projects_of(self, task: m.Task, depth: int = 0) -> set[str]:
        """The task's live projects; a subtask outside any project inherits its parent's (3 levels)."""
        projects = {ref.gid for ref in task.projects}
        if projects or depth >= 3 or task.parent is None:
            return projects
        try:
            parent = m.Task.model_validate(self.gateway.get_task_raw(task.parent.gid, "projects,parent"))
        except (GatewayError, ValueError):
            return set()
        return self.projects_of(parent, depth + 1)

    def retro_project(self) -> str | None:
        if self._retro_project_gid is None:
            name = self.settings.retro_project.strip().lower()
            match = next((p for p in self._store_projects() if str(p.name).strip().lower() == name), None)
            self._retro_project_gid = match.gid if match is not None else ""
        return self._retro_project_gid or None

    def _asana_approved(self, ctx: ItemCtx) -> bool:
        from agent.asana_approvals import find_approval_task, verdict

        task = find_approval_task(self.gateway, ctx.proposal, ctx.proposal_id)
        return task is not None and verdict(self.gateway, task) == "approved"
