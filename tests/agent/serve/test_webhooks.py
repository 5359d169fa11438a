"""The webhook receiver: handshake, HMAC on the raw body, size limit, heartbeats, de-duplication."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from agent.config import Settings
from agent.serve.app import create_app
from agent.serve.deps import Finding, ServeDeps
from agent.serve.store import ServeStore
from agent.serve.webhooks import event_key, sign, verify_signature
from tests.fixtures.serve import FakeChecker, FakeGate

SECRET = "a1b2c3d4e5f6-hook-secret"
PROJECT = "1200"


def _entry_event(entry: str = "9001", task: str = "7001", created: str = "2026-11-27T10:00:00.000Z") -> dict:
    return {
        "user": {"gid": "42", "resource_type": "user"},
        "created_at": created,
        "action": "added",
        "resource": {"gid": entry, "resource_type": "time_tracking_entry"},
        "parent": {"gid": task, "resource_type": "task"},
    }


def _signed(events: list[dict], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"events": events}).encode()
    return body, {"X-Hook-Signature": sign(secret, body), "Content-Type": "application/json"}


@pytest.fixture
def client(serve_settings: Settings, serve_deps: ServeDeps) -> Iterator[TestClient]:
    app = create_app(serve_settings, serve_deps, start_scheduler=False)
    with TestClient(app) as c:
        yield c


def _handshake(client: TestClient, key: str = PROJECT, secret: str = SECRET, announce: bool = True) -> int:
    if announce:  # as `effort webhooks register` does right before it creates the webhook
        client.app.state.runtime.store.expect_handshake(key)  # type: ignore[attr-defined]
    return client.post(f"/webhooks/asana/{key}", headers={"X-Hook-Secret": secret}).status_code


def test_signature_helpers_match_asana_definition() -> None:
    body = b'{"events":[]}'
    # Known-answer: hex HMAC-SHA256 of the raw body keyed with the secret (computed independently).
    import hashlib
    import hmac

    expected = hmac.new(b"k", body, hashlib.sha256).hexdigest()
    assert sign("k", body) == expected
    assert verify_signature("k", body, expected.upper())  # hex case is not significant
    assert not verify_signature("k", body + b" ", expected)
    assert not verify_signature("k", body, None)
    assert event_key(_entry_event()) == event_key(json.loads(json.dumps(_entry_event())))
    assert event_key(_entry_event()) != event_key(_entry_event(entry="9002"))


def test_handshake_echoes_secret_and_persists_it(client: TestClient, serve_settings: Settings) -> None:
    client.app.state.runtime.store.expect_handshake(PROJECT)  # type: ignore[attr-defined]
    response = client.post(f"/webhooks/asana/{PROJECT}", headers={"X-Hook-Secret": SECRET})
    assert response.status_code == 200
    assert response.headers["X-Hook-Secret"] == SECRET
    # Persisted: a fresh store over the same file (another process, a restart) sees it.
    assert ServeStore.for_settings(serve_settings).secret(PROJECT) == SECRET


def test_unannounced_handshake_cannot_replace_a_secret(client: TestClient, serve_settings: Settings) -> None:
    assert _handshake(client, key="555", announce=False) == 403  # never announced: refused
    assert _handshake(client) == 200
    assert _handshake(client, secret="attacker-secret", announce=False) == 403
    store = ServeStore.for_settings(serve_settings)
    assert store.secret(PROJECT) == SECRET and store.secret("555") is None
    assert _handshake(client, secret="rotated-secret") == 200  # announced re-registration
    assert store.secret(PROJECT) == "rotated-secret"


def test_forged_or_missing_signature_is_401_and_nothing_queued(
    client: TestClient, serve_settings: Settings, fake_checker: FakeChecker
) -> None:
    assert _handshake(client) == 200
    body, headers = _signed([_entry_event()], secret="not-the-secret")
    assert client.post(f"/webhooks/asana/{PROJECT}", content=body, headers=headers).status_code == 401
    assert client.post(f"/webhooks/asana/{PROJECT}", content=body).status_code == 401
    # A valid signature over a different body (tampered payload) fails too.
    good_body, good_headers = _signed([_entry_event()])
    tampered = good_body.replace(b"7001", b"7002")
    assert (
        client.post(f"/webhooks/asana/{PROJECT}", content=tampered, headers=good_headers).status_code == 401
    )
    # Unknown hook key: no secret at all.
    assert client.post("/webhooks/asana/999", content=good_body, headers=good_headers).status_code == 401
    assert ServeStore.for_settings(serve_settings).counts() == {}
    assert fake_checker.calls == []


def test_oversized_body_is_413(client: TestClient, serve_settings: Settings) -> None:
    assert _handshake(client) == 200
    big = [_entry_event(entry=str(10_000 + i)) for i in range(60)]
    body, headers = _signed(big)
    assert len(body) > serve_settings.max_webhook_bytes
    response = client.post(f"/webhooks/asana/{PROJECT}", content=body, headers=headers)
    assert response.status_code == 413
    assert ServeStore.for_settings(serve_settings).counts() == {}


def test_heartbeat_is_answered(client: TestClient) -> None:
    assert _handshake(client) == 200
    body, headers = _signed([])
    response = client.post(f"/webhooks/asana/{PROJECT}", content=body, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"heartbeat": True}
    health = client.get("/healthz").json()
    assert health["webhooks"]["heartbeats"] == 1


def test_malformed_bodies_get_clear_errors(client: TestClient) -> None:
    assert _handshake(client) == 200
    for raw in (b"not json", b'{"no_events": 1}', b'["events"]'):
        response = client.post(
            f"/webhooks/asana/{PROJECT}", content=raw, headers={"X-Hook-Signature": sign(SECRET, raw)}
        )
        assert response.status_code == 400, raw
    assert client.post("/webhooks/asana/bad%20key!", headers={"X-Hook-Secret": "x"}).status_code == 404


def test_replayed_event_is_processed_once(
    serve_settings: Settings, fake_gate: FakeGate, fake_checker: FakeChecker
) -> None:
    fake_checker.findings["7001"] = [
        Finding(task_gid="7001", score=0.95, reason="16.0 h in one day", kind="pace")
    ]
    deps = ServeDeps(propose=fake_gate, check_task=fake_checker, anomaly_threshold=0.7)
    app = create_app(serve_settings, deps, start_scheduler=False)
    runtime = app.state.runtime
    with TestClient(app) as client:
        assert _handshake(client) == 200
        body, headers = _signed([_entry_event()])
        first = client.post(f"/webhooks/asana/{PROJECT}", content=body, headers=headers)
        assert first.json() == {"accepted": 1, "duplicates": 0, "skipped": 0}
        assert runtime.reactor.wait_for(lambda recs: len(recs) >= 1, timeout=10)
        again = client.post(f"/webhooks/asana/{PROJECT}", content=body, headers=headers)
        assert again.status_code == 200
        assert again.json() == {"accepted": 0, "duplicates": 1, "skipped": 0}
    assert fake_checker.calls == ["7001"]
    assert len(fake_gate.calls) == 1
    assert runtime.store.counts() == {"done": 1}

    # A restart over the same store still knows the event (the de-duplication record is persistent).
    app2 = create_app(serve_settings, deps, start_scheduler=False)
    with TestClient(app2) as client2:
        again = client2.post(f"/webhooks/asana/{PROJECT}", content=body, headers=headers)
        assert again.json()["duplicates"] == 1
    assert fake_checker.calls == ["7001"]


def test_bare_target_uses_only_its_own_secret(client: TestClient) -> None:
    assert _handshake(client) == 200  # a project's webhook: its secret is for /webhooks/asana/1200 only
    body, headers = _signed([_entry_event()])
    assert client.post("/webhooks/asana", content=body, headers=headers).status_code == 401
    client.app.state.runtime.store.expect_handshake("default")  # type: ignore[attr-defined]
    assert client.post("/webhooks/asana", headers={"X-Hook-Secret": "bare-secret"}).status_code == 200
    body, headers = _signed([_entry_event()], secret="bare-secret")
    assert client.post("/webhooks/asana", content=body, headers=headers).json()["accepted"] == 1


def test_a_failed_registration_leaves_no_handshake_to_plant_a_secret(client: TestClient) -> None:
    store = client.app.state.runtime.store  # type: ignore[attr-defined]
    store.expect_handshake("555")  # `effort webhooks register` announces, then Asana's call fails
    store.cancel_handshake("555")  # ... and register withdraws it whatever happened
    assert _handshake(client, key="555", secret="planted", announce=False) == 403
    body, headers = _signed([_entry_event()], secret="planted")
    assert client.post("/webhooks/asana/555", content=body, headers=headers).status_code == 401


def test_a_deeply_nested_signed_body_is_a_400(serve_settings: Settings, serve_deps: ServeDeps) -> None:
    settings = serve_settings.model_copy(update={"max_webhook_bytes": 200_000})
    with TestClient(create_app(settings, serve_deps, start_scheduler=False)) as client:
        assert _handshake(client) == 200
        body = b'{"events": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
        headers = {"X-Hook-Signature": sign(SECRET, body)}
        response = client.post(f"/webhooks/asana/{PROJECT}", content=body, headers=headers)
        assert response.status_code == 400 and "nested" in response.json()["error"]  # never a 500
