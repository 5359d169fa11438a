"""The serve store (secrets, handshake announcements, the de-duplicating inbox) on SQLite and PostgreSQL,
and webhook registration through a gateway."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.serve.register import register_webhooks, target_for
from agent.serve.store import ServeStore


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def serve_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServeStore]:
    if request.param == "sqlite":
        store = ServeStore.open(f"sqlite:///{tmp_path / 'serve.db'}")
    else:
        store = ServeStore.open(request.getfixturevalue("serve_pg_url"))
        with store.engine.begin() as conn:  # the session database is shared: start clean
            for table in ("serve_event_inbox", "serve_webhook_secrets", "serve_webhook_pending"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
    yield store
    store.close()


def test_store_contract(serve_store: ServeStore) -> None:
    s = serve_store
    assert s.ping()
    assert not s.handshake_allowed("p1")  # nothing announced
    assert s.handshake_allowed("p1", allow_first_use=True)  # the opt-in trust-on-first-use mode
    s.save_secret("p1", "sec-1")
    assert not s.handshake_allowed("p1", allow_first_use=True)
    assert not s.handshake_allowed("p1")  # a stored secret is not replaced unannounced
    s.expect_handshake("p1")
    assert s.handshake_allowed("p1")
    s.save_secret("p1", "sec-2")  # consumes the announcement
    assert not s.handshake_allowed("p1") and s.secret("p1") == "sec-2"
    s.expect_handshake("p2", ttl=timedelta(seconds=-1))  # an expired announcement does not count
    assert not s.handshake_allowed("p2")
    s.set_webhook_gid("p1", "w9")
    assert [h["webhook_gid"] for h in s.hooks()] == ["w9"]

    event = {"action": "added", "resource": {"gid": "1"}}
    assert s.enqueue("p1", "k1", event) is True
    assert s.enqueue("p1", "k1", event) is False  # redelivery
    (pending,) = s.pending()
    assert pending.event == event and pending.attempts == 0
    s.mark(["k1"], "pending", "boom")
    assert s.pending()[0].attempts == 1
    s.mark(["k1"], "done")
    assert s.pending() == [] and s.counts() == {"done": 1}
    assert s.prune(older_than=timedelta(seconds=-1)) == 1 and s.counts() == {}


class _FakeWebhooksApi:
    def __init__(self, fail_for: set[str]) -> None:
        self.fail_for = fail_for
        self.bodies: list[dict[str, Any]] = []

    def create_webhook(self, body: dict[str, Any], _opts: dict[str, Any]) -> dict[str, Any]:
        self.bodies.append(body)
        if body["data"]["resource"] in self.fail_for:
            raise RuntimeError("403 target host not allowed (token abc123)")
        return {"gid": "w-" + body["data"]["resource"], "active": True}


class _FakeGateway:
    """The gateway surface registration uses: ``call`` (counted, retried) over the SDK's ``_api``."""

    def __init__(self, fail_for: set[str]) -> None:
        self.webhooks = _FakeWebhooksApi(fail_for)
        self._api = self
        self.bodies = self.webhooks.bodies

    def call(self, label: str, fn: Any, *, idempotent: bool | None = None) -> Any:
        assert label == "POST /webhooks"
        return fn()

    def redact(self, text: str) -> str:
        return text.replace("abc123", "***")


def test_register_webhooks_announces_each_handshake_and_reports_failures(tmp_path: Path) -> None:
    store = ServeStore.open(f"sqlite:///{tmp_path / 'serve.db'}")
    store.save_secret("p2", "old")  # re-registration of an existing hook must be allowed
    gateway = _FakeGateway(fail_for={"p3"})
    results = register_webhooks(gateway, store, ["p1", "p2", "p3"], "https://example.test/webhooks/asana/")
    assert [r.webhook_gid for r in results] == ["w-p1", "w-p2", None]
    assert results[2].error == "403 target host not allowed (token ***)"
    assert gateway.bodies[0] == {
        "data": {"resource": "p1", "target": "https://example.test/webhooks/asana/p1"}
    }
    assert store.handshake_allowed("p2")  # announced before the create call
    assert target_for("https://h/webhooks/asana", "42") == "https://h/webhooks/asana/42"
