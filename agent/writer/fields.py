"""Field provisioning: the agent's own ``AI …`` custom fields, found by the gid it recorded when it
created them (never by name alone), created on first use and attached to the task's project.

A field called "AI Estimated Hours" that a human made is not the agent's: on a task it is refused
(nothing is written to it), and in the workspace it blocks creating the agent's own (Asana names are
unique) with a message that says what to do. Creating a field and attaching it are claimed in the store
first, so two processes provisioning the same field at once make one field and one attachment.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import JsonValue

from agent.audit import AuditAction, AuditLog, AuditStatus
from agent.claims import Claim, Claims
from agent.config import Settings
from agent.writer.calls import retrying, write_call
from agent.writer.guard import Guard
from agent.writer.values import ItemCtx, Stop
from tools.gateway import AsanaGateway, GatewayError
from tools.gateway import models as m
from tools.proposals import AI_FIELDS, AI_NUMBER_PRECISION, AI_REVIEW_FLAG_OPTIONS

FIELD_DESCRIPTION = "Written by Effort Copilot after human approval. Agent-owned."


class Applied(Protocol):
    """``Writer.applied``: records an APPLIED row under the item (a field created, attached)."""

    def __call__(self, ctx: ItemCtx, action: AuditAction, **fields: JsonValue) -> object: ...


class FieldProvisioner:
    """Finds, creates and attaches the agent's fields for one writer."""

    def __init__(
        self,
        gateway: AsanaGateway,
        settings: Settings,
        audit: AuditLog,
        guard: Guard,
        claims: Claims,
        *,
        attempts: int,
        claim_wait: float,
        applied: Applied,
    ) -> None:
        self.gateway = gateway
        self.settings = settings
        self.audit = audit
        self.guard = guard
        self.claims = claims
        self.attempts = attempts
        self.claim_wait = claim_wait
        self._applied = applied  # Writer.applied: records an APPLIED row for the item

    # --- on the task --------------------------------------------------------------------------------
    def entry_on(self, task: m.Task, name: str) -> m.CustomField | None:
        """The agent's field ``name`` on the task, or None when it is not attached. A same-named field
        the agent did not create is refused: its value is a human's."""
        named = [cf for cf in task.custom_fields if cf.name == name]
        owned = self.guard.owned(name)
        mine = next((cf for cf in named if cf.gid in owned), None)
        if mine is None and named and self._refresh_owned(name, {cf.gid for cf in named}):
            mine = next((cf for cf in named if cf.gid in self.guard.owned(name)), None)
        if mine is None and named:
            raise Stop(
                AuditStatus.REFUSED,
                f"the field {name!r} on task {task.gid} (gid {named[0].gid}) was not created by Effort "
                "Copilot: the agent does not write fields it does not own",
            )
        return mine

    def _refresh_owned(self, name: str, gids: set[str]) -> bool:
        """Another process may have created the field since ownership was read: read it again."""
        self.guard.forget_ownership()
        return bool(self.guard.owned(name) & gids)

    def field_for(self, ctx: ItemCtx, name: str, entry: m.CustomField | None) -> tuple[str, dict[str, str]]:
        """The field's gid (and enum option gids by name); create it and attach it when missing."""
        ftype = AI_FIELDS[name]
        if entry is not None:
            return entry.gid, self.enum_options(entry.gid) if ftype == "enum" else {}
        task = ctx.task
        workspace = (task.workspace.gid if task and task.workspace else None) or self.settings.workspace
        if not workspace:
            raise Stop(AuditStatus.REFUSED, f"cannot provide {name}: the task's workspace is unknown")
        gid = self._owned_in_workspace(name, workspace) or self._create(ctx, name, ftype, workspace)
        self._attach(ctx, name, gid)
        return gid, self.enum_options(gid) if ftype == "enum" else {}

    def _owned_in_workspace(self, name: str, workspace: str) -> str | None:
        """The agent's field ``name`` in the workspace; a same-named field that is not its own is refused."""
        found = self._workspace_fields(name, workspace)
        mine = [gid for gid in found if gid in self.guard.owned(name)]
        if mine:
            return mine[0]
        if found:
            self.guard.forget_ownership()
            mine = [gid for gid in found if gid in self.guard.owned(name)]
            if mine:
                return mine[0]
            raise Stop(
                AuditStatus.REFUSED,
                f"a custom field named {name!r} (gid {found[0]}) already exists in the workspace but was "
                "not created by Effort Copilot; rename or remove it so the agent can create its own",
            )
        return None

    def _workspace_fields(self, name: str, workspace: str) -> list[str]:
        try:
            return [
                str(cf["gid"]) for cf in self.gateway.iter_custom_fields(workspace) if cf.get("name") == name
            ]
        except GatewayError as exc:
            raise Stop(AuditStatus.FAILED, f"could not list the workspace's custom fields: {exc}") from None

    def enum_options(self, field_gid: str) -> dict[str, str]:
        try:
            definition = self.gateway.custom_field(field_gid)
        except GatewayError as exc:
            raise Stop(AuditStatus.FAILED, f"could not read field {field_gid}: {exc}") from None
        return {o.name: o.gid for o in definition.enum_options if o.name and o.enabled is not False}

    # --- creating and attaching (claimed) -----------------------------------------------------------
    # The claim is a mutex here: both steps look again under it (the field exists? it is attached?),
    # so the claim is released afterwards rather than kept as "done".
    def _claim(self, key: str) -> Claim:
        got = self.claims.claim(key, wait=self.claim_wait)
        if isinstance(got, Claim):
            return got
        raise Stop(AuditStatus.FAILED, f"another process is still working on {key}; try again later")

    def _create(self, ctx: ItemCtx, name: str, ftype: str, workspace: str) -> str:
        claim = self._claim(f"create_field:{workspace}:{name}")
        try:
            self.guard.forget_ownership()
            existing = self._owned_in_workspace(name, workspace)  # created by another process meanwhile
            if existing is not None:
                return existing
            grant = self.guard.grant(ctx, AuditAction.CREATE_FIELD, target_gid=workspace, field_name=name)
            spec: dict[str, object] = {
                "name": name,
                "resource_subtype": ftype,
                "description": FIELD_DESCRIPTION,
            }
            if ftype == "number":
                spec["precision"] = AI_NUMBER_PRECISION
            if ftype == "enum":
                spec["enum_options"] = [{"name": option} for option in AI_REVIEW_FLAG_OPTIONS]
            created_gid = retrying(
                lambda: str(
                    write_call(
                        "POST /custom_fields",
                        lambda: self.gateway.create_custom_field(grant, workspace, spec),
                    ).gid
                ),
                attempts=self.attempts,
                check=lambda: next(iter(self._workspace_fields(name, workspace)), None),  # a dropped POST
            )
            self._applied(
                ctx,
                AuditAction.CREATE_FIELD,
                field_name=name,
                target_gid=workspace,
                after={"field_gid": created_gid, "type": ftype},
            )
        finally:
            self.claims.release(claim)
        self.guard.forget_ownership()
        return created_gid

    def _attach(self, ctx: ItemCtx, name: str, field_gid: str) -> None:
        task = ctx.task
        projects = sorted(self.guard.projects_of(task)) if task is not None else []
        rule = self.guard.scope()
        project = next((g for g in projects if rule.allows([g])), projects[0] if projects else None)
        if project is None:
            raise Stop(
                AuditStatus.REFUSED, f"task {ctx.proposal.target_gid} is in no project: cannot attach {name}"
            )
        if self._attached(project, field_gid):
            return
        claim = self._claim(f"attach_field:{project}:{field_gid}")
        try:
            if self._attached(project, field_gid):
                return
            grant = self.guard.grant(
                ctx, AuditAction.ATTACH_FIELD, target_gid=project, field_name=name, field_gid=field_gid
            )
            try:
                retrying(
                    lambda: write_call(
                        "POST /projects/{gid}/addCustomFieldSetting",
                        lambda: self.gateway.add_custom_field_to_project(grant, project, field_gid),
                    ),
                    attempts=self.attempts,
                    check=lambda: True if self._attached(project, field_gid) else None,
                )
            except Stop:
                if not self._attached(project, field_gid):  # "already on the project" counts as done
                    raise
            self._applied(
                ctx,
                AuditAction.ATTACH_FIELD,
                field_name=name,
                target_gid=project,
                after={"field_gid": field_gid, "project_gid": project},
            )
        finally:
            self.claims.release(claim)

    def _attached(self, project: str, field_gid: str) -> bool:
        try:
            settings = self.gateway.custom_field_settings(project)
        except GatewayError:
            return False
        return any(s.custom_field is not None and s.custom_field.gid == field_gid for s in settings)
