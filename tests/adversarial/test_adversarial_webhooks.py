"""Adversarial: forged, replayed, oversized and malformed webhook deliveries get a clear 4xx (or are
counted as duplicates/skips), never a crash and never an accepted event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

import agent.serve.store as serve_store
from agent.serve import webhooks

SECRET = "hook-secret-0123456789abcdef"
MAX_BYTES = 4096
EVENT = {
    "action": "changed",
    "resource": {"gid": "1208000000000100", "resource_type": "task"},
    "user": {"gid": "1208000000000002"},
    "created_at": "2026-11-27T10:00:00.000Z",
    "change": {"field": "custom_fields"},
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Any, list[int]]]:
    store = serve_store.ServeStore.open(f"sqlite:///{tmp_path / 'serve.db'}")
    store.save_secret(webhooks.DEFAULT_HOOK_KEY, SECRET)
    store.save_secret("1208000000000049", SECRET)
    woken: list[int] = []
    receiver = webhooks.WebhookReceiver(store, max_bytes=MAX_BYTES, on_events=lambda: woken.append(1))
    app = Starlette(
        routes=[
            Route("/webhooks/asana", receiver.handle, methods=["POST"]),
            Route("/webhooks/asana/{hook_key}", receiver.handle, methods=["POST"]),
        ]
    )
    with TestClient(app) as test_client:
        yield test_client, store, woken
    store.close()


def post(
    client: TestClient,
    body: bytes,
    signature: str | None,
    path: str = "/webhooks/asana",
    headers: dict[str, str] | None = None,
) -> Any:
    sent = {"Content-Type": "application/json", **(headers or {})}
    if signature is not None:
        sent["X-Hook-Signature"] = signature
    return client.post(path, content=body, headers=sent)


def signed(body: bytes, secret: str = SECRET) -> str:
    return webhooks.sign(secret, body)


GOOD = json.dumps({"events": [EVENT]}).encode()

BAD_DELIVERIES: list[tuple[str, bytes, str | None, str, int]] = [
    ("no-signature", GOOD, None, "/webhooks/asana", 401),
    ("forged-wrong-secret", GOOD, signed(GOOD, "attacker-secret"), "/webhooks/asana", 401),
    ("signature-of-other-body", GOOD, signed(b'{"events": []}'), "/webhooks/asana", 401),
    ("signature-garbage", GOOD, "zz" * 40 + "%%;drop", "/webhooks/asana", 401),
    ("tampered-body", GOOD.replace(b"changed", b"deleted"), signed(GOOD), "/webhooks/asana", 401),
    (
        "oversized",
        json.dumps({"events": [EVENT], "pad": "x" * MAX_BYTES}).encode(),
        None,
        "/webhooks/asana",
        413,
    ),
    ("signed-not-json", b"\xff\xfenot json", signed(b"\xff\xfenot json"), "/webhooks/asana", 400),
    ("signed-no-events", b'{"data": 1}', signed(b'{"data": 1}'), "/webhooks/asana", 400),
    ("signed-events-not-list", b'{"events": "all"}', signed(b'{"events": "all"}'), "/webhooks/asana", 400),
    ("bad-hook-key", GOOD, signed(GOOD), "/webhooks/asana/..%2F..%2Fetc", 404),
    ("hook-key-too-long", GOOD, signed(GOOD), "/webhooks/asana/" + "k" * 80, 404),
    ("unknown-hook-key", GOOD, signed(GOOD), "/webhooks/asana/999", 401),
]


@pytest.mark.parametrize(
    ("body", "signature", "path", "status"),
    [(b, s, p, st) for _, b, s, p, st in BAD_DELIVERIES],
    ids=[i for i, *_ in BAD_DELIVERIES],
)
def test_bad_delivery_refused(
    client: tuple[TestClient, Any, list[int]], body: bytes, signature: str | None, path: str, status: int
) -> None:
    test_client, store, woken = client
    response = post(test_client, body, signature, path)
    assert response.status_code == status, response.text
    if response.headers.get("content-type", "").startswith("application/json"):
        assert "error" in response.json()
    assert store.pending() == [] and woken == []


def test_declared_oversize_refused_before_reading(client: tuple[TestClient, Any, list[int]]) -> None:
    test_client, store, _ = client
    response = post(test_client, GOOD, signed(GOOD), headers={"Content-Length": str(10**9)})
    assert response.status_code in (400, 413)
    assert store.pending() == []


def test_replayed_delivery_is_deduplicated(client: tuple[TestClient, Any, list[int]]) -> None:
    test_client, store, woken = client
    first = post(test_client, GOOD, signed(GOOD))
    again = post(test_client, GOOD, signed(GOOD))
    assert first.status_code == again.status_code == 200
    assert first.json()["accepted"] == 1
    assert again.json() == {"accepted": 0, "duplicates": 1, "skipped": 0}
    assert len(store.pending()) == 1 and woken == [1]


def test_malformed_events_are_skipped_not_fatal(client: tuple[TestClient, Any, list[int]]) -> None:
    test_client, _store, _ = client
    body = json.dumps({"events": [None, 3, "x", [], EVENT]}).encode()
    response = post(test_client, body, signed(body))
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "skipped": 4}


def test_unannounced_handshake_cannot_replace_secret(client: tuple[TestClient, Any, list[int]]) -> None:
    test_client, store, _ = client
    response = test_client.post("/webhooks/asana", content=b"", headers={"X-Hook-Secret": "attacker"})
    assert response.status_code == 403
    assert store.secret(webhooks.DEFAULT_HOOK_KEY) == SECRET
    bad = test_client.post(
        "/webhooks/asana/1208000000000777", content=b"", headers={"X-Hook-Secret": "bad\x07secret"}
    )
    assert bad.status_code == 400
