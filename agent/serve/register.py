"""Create and delete Asana webhooks for the scope's projects, pointed at a running `effort serve`.

A webhook changes no task data, but creating or deleting one is still a write call: it goes through the
writer's guard (``Guard.operator_grant``: refused in phase insight; the operator's command is the
approval record in the audit log) and a grant-checked gateway method. The handshake arrives at the
server while `POST /webhooks` is still open, so the server must already be running; the handshake is
announced in the shared store for exactly the duration of that call and withdrawn afterwards, whatever
happened, so nobody can plant a secret later.

Registering is idempotent: a webhook that already points at the same target, and whose secret this
server holds, is kept; one whose secret is lost is replaced (deleted, then created), never duplicated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel

from agent.audit import AuditAction, AuditStatus
from agent.serve.store import ServeStore
from agent.writer import Writer
from agent.writer.values import Stop
from tools.gateway import GatewayError
from tools.gateway import models as m

log = logging.getLogger("effort.serve.register")


class Registration(BaseModel):
    resource_gid: str
    target: str
    webhook_gid: str | None = None
    active: bool | None = None
    error: str | None = None
    kept: bool = False  # it existed already (same target, secret held): nothing was created


def target_for(base: str, resource_gid: str) -> str:
    """`https://host/webhooks/asana` + `/<resource gid>`: one secret per webhook."""
    return f"{base.rstrip('/')}/{resource_gid}"


def _run_id() -> str:
    return f"webhooks-{datetime.now(UTC):%Y%m%dT%H%M%S}"


def existing_webhooks(writer: Writer) -> list[m.Webhook]:
    """The workspace's webhooks (Asana lists them per workspace)."""
    workspace = writer.settings.workspace or writer.gateway.workspaces()[0].gid
    return writer.gateway.webhooks(workspace)


def _delete(writer: Writer, store: ServeStore, hook: m.Webhook, *, approver: str, run_id: str) -> None:
    grant, _row = writer.guard.operator_grant(
        action=AuditAction.WEBHOOK,
        target_gid=hook.gid,
        approver=approver,
        run_id=run_id,
        what={"delete": hook.gid, "resource": hook.resource.gid if hook.resource else None},
    )
    writer.gateway.delete_webhook(grant, hook.gid)
    writer.audit.record(
        action=AuditAction.WEBHOOK,
        status=AuditStatus.APPLIED,
        proposal_id=f"webhook:{hook.gid}",
        run_id=run_id,
        approver=approver,
        target_gid=hook.gid,
        after={"deleted": hook.gid},
    )
    if hook.resource is not None:
        store.forget(hook.resource.gid)


def register_webhooks(
    writer: Writer,
    store: ServeStore,
    resource_gids: Sequence[str],
    target_base: str,
    *,
    approver: str,
    filters: list[dict[str, str]] | None = None,
) -> list[Registration]:
    """One webhook per resource; a failure is reported for that resource and the others go on."""
    run_id = _run_id()
    try:
        current = existing_webhooks(writer)
    except GatewayError as exc:
        message = writer.redactor(str(exc))
        return [
            Registration(resource_gid=g, target=target_for(target_base, g), error=message)
            for g in resource_gids
        ]
    results: list[Registration] = []
    for gid in resource_gids:
        target = target_for(target_base, gid)
        same = [h for h in current if h.resource is not None and h.resource.gid == gid and h.target == target]
        if same and store.secret(gid) is not None:
            results.append(
                Registration(
                    resource_gid=gid, target=target, webhook_gid=same[0].gid, active=same[0].active, kept=True
                )
            )
            continue
        store.expect_handshake(gid)
        try:
            for stale in same:  # its secret is lost: replace it rather than add a duplicate
                _delete(writer, store, stale, approver=approver, run_id=run_id)
            grant, _row = writer.guard.operator_grant(
                action=AuditAction.WEBHOOK,
                target_gid=gid,
                approver=approver,
                run_id=run_id,
                what={"register": target},
            )
            created = writer.gateway.create_webhook(grant, gid, target, filters)
        except (Stop, GatewayError) as exc:
            message = writer.redactor(exc.message if isinstance(exc, Stop) else str(exc))
            log.error("webhook for %s -> %s not created: %s", gid, target, message)
            results.append(Registration(resource_gid=gid, target=target, error=message))
            continue
        finally:
            store.cancel_handshake(gid)  # used by the handshake, or no longer expected: never left open
        store.set_webhook_gid(gid, created.gid)
        writer.audit.record(
            action=AuditAction.WEBHOOK,
            status=AuditStatus.APPLIED,
            proposal_id=f"webhook:{gid}",
            run_id=run_id,
            approver=approver,
            target_gid=gid,
            after={"webhook_gid": created.gid, "target": target},
        )
        log.info("webhook %s created for resource %s -> %s", created.gid, gid, target)
        results.append(
            Registration(resource_gid=gid, target=target, webhook_gid=created.gid, active=created.active)
        )
    return results


def delete_webhooks(
    writer: Writer, store: ServeStore, selectors: Sequence[str], *, approver: str
) -> list[str]:
    """Delete the webhooks named by webhook gid or resource gid; returns the deleted webhook gids.
    An empty selection deletes nothing."""
    wanted = {s.strip() for s in selectors if s.strip()}
    if not wanted:
        return []
    run_id = _run_id()
    deleted: list[str] = []
    for hook in existing_webhooks(writer):
        resource = hook.resource.gid if hook.resource is not None else None
        if hook.gid in wanted or resource in wanted:
            _delete(writer, store, hook, approver=approver, run_id=run_id)
            deleted.append(hook.gid)
    return deleted
