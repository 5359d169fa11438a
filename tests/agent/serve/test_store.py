"""The serve store (secrets, handshake announcements, the de-duplicating inbox) on SQLite and PostgreSQL,
and webhook registration through a gateway."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.config import Phase
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


def test_register_webhooks_is_idempotent_guarded_and_leaves_no_handshake_open(
    tmp_path: Path, sandbox_factory: Any, run_server: Any, serve_deps: Any
) -> None:
    """Against the sandbox and a running `effort serve`: registering twice keeps one webhook per
    project; a failed registration leaves no handshake to hijack; delete removes it and its secret;
    in phase insight nothing reaches Asana (issues 15 and 17.8)."""
    from agent.audit import AuditAction, AuditLog
    from agent.serve.app import create_app
    from agent.serve.register import delete_webhooks, existing_webhooks
    from agent.writer import writer_from_settings
    from tests.fixtures.store import sync_settings
    from tools.store import Store

    sb = sandbox_factory(seed=4, tasks=10)
    settings = sync_settings(
        sb,
        EFFORT_DATABASE_URL=f"sqlite:///{tmp_path / 'effort.db'}",
        webhook_secret_store=tmp_path / "webhooks.db",
    )
    project = next(iter(sb.state.objects["project"]))
    app = create_app(settings, serve_deps, start_scheduler=False)
    server = run_server(app)
    store = app.state.runtime.store
    base = f"{server.base_url}/webhooks/asana"
    writer = writer_from_settings(settings)
    try:
        [first] = register_webhooks(writer, store, [project], base, approver="ops")
        assert first.error is None and first.webhook_gid and store.secret(project)
        [again] = register_webhooks(writer, store, [project], base, approver="ops")
        assert again.kept and again.webhook_gid == first.webhook_gid
        assert len([h for h in existing_webhooks(writer) if h.resource and h.resource.gid == project]) == 1

        dead = "http://127.0.0.1:9/webhooks/asana"  # nothing listens: the handshake cannot succeed
        [failed] = register_webhooks(writer, store, ["777"], dead, approver="ops")
        assert failed.error and not store.handshake_allowed("777")  # no window left for a planted secret

        assert delete_webhooks(writer, store, [project], approver="ops") == [first.webhook_gid]
        assert existing_webhooks(writer) == [] and store.secret(project) is None
        assert delete_webhooks(writer, store, ["", " "], approver="ops") == []  # empty selects nothing
        rows = AuditLog(Store.open(settings.database_url).engine).entries(actions=[AuditAction.WEBHOOK])
        assert {r.approver for r in rows} == {"ops"}  # the operator's command is on record
    finally:
        writer.gateway.close()
    insight = writer_from_settings(settings.model_copy(update={"phase": Phase.INSIGHT}))
    before = sb.write_count()
    [refused] = register_webhooks(insight, store, [project], base, approver="ops")
    assert "insight" in (refused.error or "") and sb.write_count() == before
    insight.gateway.close()
    assert target_for("https://h/webhooks/asana", "42") == "https://h/webhooks/asana/42"
