"""Webhooks: the X-Hook-Secret handshake on create, and signed deliveries from a background thread.

A delivery is `POST target` with body `{"events": [...]}` and `X-Hook-Signature` = lowercase hex
HMAC-SHA256(secret, raw body), as Asana does. Events are batched per webhook (whatever accumulated while
the previous delivery ran). Failed deliveries are retried a few times with a short backoff and recorded in
`last_failure_at` / `last_failure_content`; the sandbox never deletes a webhook on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx

from sandbox.errors import ApiError, bad_request
from sandbox.state import Obj, SandboxState, iso

log = logging.getLogger("sandbox.webhooks")
RETRY_DELAYS = (0.2, 1.0, 2.0)


def sign(secret: str, body: bytes) -> str:
    """The X-Hook-Signature value for a delivery body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    webhook_gid: str
    status: int  # 0 = connection failed
    events: int
    attempt: int


class WebhookManager:
    """Creates webhooks (with the handshake) and delivers matching events to their targets."""

    def __init__(self, state: SandboxState, timeout: float = 10.0) -> None:
        self.state = state
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[tuple[Obj, frozenset[str]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._stopped = threading.Event()
        self._client = httpx.Client(timeout=timeout, trust_env=False)
        state.subscribe(self._on_event)
        self._thread.start()

    # --------------------------------------------------------------------------------------------
    def create(self, data: Any, *, by: str | None) -> tuple[Obj, str]:
        """POST /webhooks: validate, run the handshake against `target`, store. Returns (webhook, secret)."""
        if not isinstance(data, dict):
            raise bad_request("data: Value must be an object")
        resource = str(data.get("resource") or "")
        target = data.get("target")
        if not resource:
            raise bad_request("resource: Missing input")
        if not isinstance(target, str) or not target:
            raise bad_request("target: Missing input")
        parsed = urlparse(target)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise bad_request("target: Invalid URL")
        kind = next(
            (
                k
                for k in ("task", "project", "portfolio", "workspace", "tag", "user")
                if resource in self.state.objects[k]
            ),
            None,
        )
        if kind is None:
            raise ApiError(404, f"resource: Unknown object: {resource}")
        filters = data.get("filters") or []
        if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
            raise bad_request("filters: Value must be an array of objects")
        if kind in ("workspace", "portfolio") and not filters:
            raise bad_request("filters: Webhooks on a workspace or portfolio must specify filters")
        for f in filters:
            if f.get("fields") and f.get("action") != "changed":
                raise bad_request("filters: fields is only valid with action 'changed'")
        secret = secrets.token_hex(16)
        try:
            resp = self._client.post(target, headers={"X-Hook-Secret": secret}, content=b"")
        except httpx.HTTPError as exc:
            raise bad_request(
                f"The remote server did not respond to the handshake request: {type(exc).__name__}"
            ) from None
        if resp.status_code not in (200, 204) or resp.headers.get("X-Hook-Secret") != secret:
            raise bad_request("The remote server did not respond with the handshake secret.")
        now = iso(self.state.clock())
        webhook: Obj = {
            "gid": self.state.new_gid(),
            "resource_type": "webhook",
            "active": True,
            "resource": resource,
            "target": target,
            "filters": [_clean_filter(f) for f in filters],
            "created_at": now,
            "last_success_at": now,
            "last_failure_at": None,
            "last_failure_content": "",
            "delivery_retry_count": 0,
            "_secret": secret,
            "_workspace": self.state.workspace_gid,
        }
        self.state.put_webhook(webhook)
        return webhook, secret

    # --------------------------------------------------------------------------------------------
    def _on_event(self, event: Obj, keys: frozenset[str]) -> None:
        self._queue.put((event, keys))

    def _run(self) -> None:
        while not self._stopped.is_set():
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            while True:  # batch whatever else is already queued
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._stopped.set()
                    break
                batch.append(nxt)
            try:
                self._deliver_batch(batch)
            except Exception:  # a bad target must never kill the deliverer
                log.exception("webhook delivery failed")
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _deliver_batch(self, batch: list[tuple[Obj, frozenset[str]]]) -> None:
        with self.state.lock:
            hooks = [h for h in self.state.objects["webhook"].values() if h.get("active")]
        for hook in hooks:
            events = [e for e, keys in batch if hook["resource"] in keys and _matches(hook["filters"], e)]
            if events:
                self._post(hook, events)

    def _post(self, hook: Obj, events: list[Obj]) -> None:
        body = json.dumps({"events": events}, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Hook-Signature": sign(hook["_secret"], body)}
        for attempt, delay in enumerate((0.0, *RETRY_DELAYS)):
            if delay and self._stopped.wait(delay):
                return
            status = 0
            content = ""
            try:
                resp = self._client.post(hook["target"], content=body, headers=headers)
                status = resp.status_code
                content = resp.text[:200]
            except httpx.HTTPError as exc:
                content = type(exc).__name__
            self.deliveries.append(Delivery(hook["gid"], status, len(events), attempt))
            with self.state.lock:
                if 200 <= status < 300:
                    hook["last_success_at"] = iso(self.state.clock())
                    hook["delivery_retry_count"] = 0
                    self.state.save("webhook", hook)
                    return
                hook["last_failure_at"] = iso(self.state.clock())
                hook["last_failure_content"] = content
                hook["delivery_retry_count"] = attempt + 1
                self.state.save("webhook", hook)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until every queued event was handled (for tests); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def stop(self) -> None:
        self.state.unsubscribe(self._on_event)
        self._stopped.set()
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._client.close()


def _clean_filter(f: Obj) -> Obj:
    out = {k: f[k] for k in ("resource_type", "resource_subtype", "action", "fields") if f.get(k) is not None}
    return out


def _matches(filters: list[Obj], event: Obj) -> bool:
    if not filters:
        return True
    res = event.get("resource") or {}
    for f in filters:
        if f.get("resource_type") and f["resource_type"] != res.get("resource_type"):
            continue
        if f.get("resource_subtype") and f["resource_subtype"] != res.get("resource_subtype"):
            continue
        if f.get("action") and f["action"] != event.get("action"):
            continue
        if f.get("fields") and (event.get("change") or {}).get("field") not in f["fields"]:
            continue
        return True
    return False
