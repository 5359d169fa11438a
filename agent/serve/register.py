"""Create Asana webhooks for the scope's projects, pointed at a running `effort serve`.

Registering a webhook changes no task data, so it needs no approval, but it still goes through the
gateway (counted, retried on 429, token-safe errors) and every registration is logged. The handshake
arrives at the server while `POST /webhooks` is still open, so the server must already be running;
announcing the handshake in the shared store first lets the server accept it even when a secret for
that project already exists (re-registration).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from agent.serve.store import ServeStore

log = logging.getLogger("effort.serve.register")


class Registration(BaseModel):
    resource_gid: str
    target: str
    webhook_gid: str | None = None
    active: bool | None = None
    error: str | None = None


def target_for(base: str, resource_gid: str) -> str:
    """`https://host/webhooks/asana` + `/<resource gid>`: one secret per webhook."""
    return f"{base.rstrip('/')}/{resource_gid}"


def _create(gateway: Any, body: dict[str, Any]) -> dict[str, Any]:
    create = getattr(gateway, "create_webhook", None)
    if callable(create):  # the gateway's own method, when it has one
        result = create(body["data"]["resource"], body["data"]["target"], body["data"].get("filters"))
        return result if isinstance(result, dict) else dict(getattr(result, "model_dump", lambda: {})())
    # Not a task write, so no WriteGrant: a plain gateway call (POST is never retried on 5xx there).
    return dict(gateway.call("POST /webhooks", lambda: gateway._api.webhooks.create_webhook(body, {})))


def register_webhooks(
    gateway: Any,
    store: ServeStore,
    resource_gids: Sequence[str],
    target_base: str,
    *,
    filters: list[dict[str, Any]] | None = None,
) -> list[Registration]:
    """One webhook per resource; a failure is reported for that resource and the others go on."""
    results: list[Registration] = []
    for gid in resource_gids:
        target = target_for(target_base, gid)
        store.expect_handshake(gid)
        data: dict[str, Any] = {"resource": gid, "target": target}
        if filters:
            data["filters"] = filters
        try:
            created = _create(gateway, {"data": data})
        except Exception as exc:
            message = gateway.redact(str(exc)) if hasattr(gateway, "redact") else type(exc).__name__
            log.error("webhook for %s -> %s not created: %s", gid, target, message)
            results.append(Registration(resource_gid=gid, target=target, error=message))
            continue
        webhook_gid = str(created.get("gid") or "") or None
        if webhook_gid:
            store.set_webhook_gid(gid, webhook_gid)
        log.info("webhook %s created for resource %s -> %s", webhook_gid, gid, target)
        results.append(
            Registration(
                resource_gid=gid, target=target, webhook_gid=webhook_gid, active=created.get("active")
            )
        )
    return results
