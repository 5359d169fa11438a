"""The Asana webhook receiver: handshake, signature check on the raw body, size limit, de-duplication.

Protocol (API_NOTES §5.9): while `POST /webhooks` is open, Asana POSTs the target with `X-Hook-Secret`;
we store it and echo it. Deliveries carry `X-Hook-Signature` = hex HMAC-SHA256(secret, raw body); we
check it in constant time before parsing anything, answer fast (events are queued in the inbox, the
reaction runs on a worker), and answer heartbeats (`{"events": []}`) with 200.

Targets may end in `/{hook_key}` (the resource gid, as `effort webhooks register` builds them), so each
webhook has its own secret; a bare `/webhooks/asana` uses the key ``default``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from agent.serve.store import ServeStore

log = logging.getLogger("effort.serve.webhooks")

DEFAULT_HOOK_KEY = "default"
_HOOK_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MAX_SECRET = 512


def sign(secret: str, body: bytes) -> str:
    """Asana's signature: lowercase hex HMAC-SHA256 of the raw body keyed with the hook secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, signature: str | None) -> bool:
    """Constant-time comparison of the expected and the received signature."""
    if not signature:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), signature.strip().lower().encode())


def event_key(event: dict[str, Any]) -> str:
    """A stable key for an event: redeliveries carry byte-identical events, so their canonical JSON
    matches; two real changes differ in resource, change, user or time."""
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The raw body, or None as soon as it exceeds ``limit`` bytes (declared or actually streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class WebhookReceiver:
    """The starlette endpoint for `/webhooks/asana[/{hook_key}]`."""

    def __init__(
        self,
        store: ServeStore,
        *,
        max_bytes: int,
        on_events: Callable[[], None],
        allow_first_use: bool = False,
    ) -> None:
        self.store = store
        self.allow_first_use = allow_first_use  # accept unannounced handshakes for keys without a secret
        self.max_bytes = max_bytes
        self.on_events = on_events  # wakes the reaction worker
        self.heartbeats = 0
        self.oversized = 0  # deliveries refused by the size limit: their events are lost (health says so)

    async def handle(self, request: Request) -> Response:
        hook_key = request.path_params.get("hook_key", DEFAULT_HOOK_KEY)
        if not _HOOK_KEY.match(hook_key):
            return JSONResponse({"error": "unknown webhook"}, status_code=404)
        body = await read_limited(request, self.max_bytes)
        if body is None:
            self.oversized += 1
            log.warning(
                "webhook %s: body over %d bytes refused (max_webhook_bytes)", hook_key, self.max_bytes
            )
            return JSONResponse({"error": f"body exceeds {self.max_bytes} bytes"}, status_code=413)
        handshake = request.headers.get("x-hook-secret")
        if handshake is not None:
            return await self._handshake(hook_key, handshake)
        return await self._delivery(hook_key, body, request.headers.get("x-hook-signature"))

    async def _handshake(self, hook_key: str, secret: str) -> Response:
        if not secret or len(secret) > _MAX_SECRET or not secret.isprintable():
            return JSONResponse({"error": "invalid X-Hook-Secret"}, status_code=400)
        if not await run_in_threadpool(
            lambda: self.store.handshake_allowed(hook_key, allow_first_use=self.allow_first_use)
        ):
            log.warning(
                "webhook %s: unannounced handshake refused (use `effort webhooks register`)", hook_key
            )
            return JSONResponse({"error": "handshake not expected for this webhook"}, status_code=403)
        await run_in_threadpool(self.store.save_secret, hook_key, secret)
        log.info("webhook %s: handshake accepted, secret stored", hook_key)
        return Response(status_code=200, headers={"X-Hook-Secret": secret})

    def _secrets_for(self, hook_key: str) -> list[str]:
        """Only the secret stored for this very key (a bare target uses the key ``default``): a secret
        set for one webhook never validates deliveries addressed to another."""
        secret = self.store.secret(hook_key)
        return [secret] if secret is not None else []

    async def _delivery(self, hook_key: str, body: bytes, signature: str | None) -> Response:
        secrets = await run_in_threadpool(self._secrets_for, hook_key)
        # Check every candidate (no early exit) so timing does not reveal which one matched.
        valid = False
        for secret in secrets:
            valid = verify_signature(secret, body, signature) or valid
        if not valid:
            log.warning("webhook %s: missing or invalid X-Hook-Signature, delivery refused", hook_key)
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        except RecursionError:
            return JSONResponse({"error": "body is nested too deeply"}, status_code=400)
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            return JSONResponse({"error": "body has no 'events' list"}, status_code=400)
        if not events:
            self.heartbeats += 1
            return JSONResponse({"heartbeat": True})
        accepted = duplicates = skipped = 0
        for event in events:
            if not isinstance(event, dict):
                skipped += 1
                continue
            try:
                key = event_key(event)
            except (RecursionError, ValueError):
                skipped += 1  # an event nested too deeply to store or compare: not an Asana event
                continue
            if await run_in_threadpool(self.store.enqueue, hook_key, key, event):
                accepted += 1
            else:
                duplicates += 1
        if skipped:
            log.warning("webhook %s: %d malformed event(s) skipped", hook_key, skipped)
        if accepted:
            self.on_events()
        return JSONResponse({"accepted": accepted, "duplicates": duplicates, "skipped": skipped})
