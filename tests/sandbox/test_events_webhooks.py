"""Events with sync tokens (412 first, then data/sync/has_more) and webhooks (handshake, signatures)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asana
import pytest
from asana.rest import ApiException

from sandbox import Sandbox
from tests.fixtures.sandbox import SpecChecker, validating_client


def _sync_token(api: Any, resource: str) -> str:
    with pytest.raises(ApiException) as err:
        api.get_events(resource, {}, full_payload=True)
    assert err.value.status == 412
    body = json.loads(err.value.body)
    assert body["errors"][0]["message"] and body["sync"]
    return str(body["sync"])


def test_events_412_then_changes(sandbox: Sandbox, asana_spec: SpecChecker) -> None:
    client = validating_client(sandbox, asana_spec)
    ev = asana.EventsApi(client)
    project = next(iter(sandbox.truth.project_types))
    task = next(iter(sandbox.state.tasks_by_project[project]))
    sync = _sync_token(ev, project)
    empty = ev.get_events(project, {"sync": sync}, full_payload=True)
    assert empty["data"] == [] and empty["has_more"] is False and empty["sync"]
    est = sandbox.field_gid("Estimated Hours")
    sandbox.state.update_task(task, {"custom_fields": {est: 99.0}})
    sandbox.state.add_time_entry(task, 30, "2026-11-26", by=sandbox.me_gid)
    page = ev.get_events(project, {"sync": empty["sync"]}, full_payload=True)
    kinds = [(e["resource"]["resource_type"], e["action"]) for e in page["data"]]
    assert ("task", "changed") in kinds and ("time_tracking_entry", "added") in kinds
    changed = next(e for e in page["data"] if e["action"] == "changed" and e["resource"]["gid"] == task)
    assert changed["change"]["field"] == "custom_fields"
    again = ev.get_events(project, {"sync": page["sync"]}, full_payload=True)
    assert again["data"] == []  # each event once per token chain
    with pytest.raises(ApiException) as err:
        ev.get_events(project, {"sync": "bogus"}, full_payload=True)
    assert err.value.status == 412 and json.loads(err.value.body)["sync"]


def test_events_cap_100_per_call_and_1000_for_workspace(sandbox: Sandbox) -> None:
    client = sandbox.asana_client()
    ev, ws_api = asana.EventsApi(client), asana.WorkspacesApi(client)
    project = next(iter(sandbox.truth.project_types))
    sync = _sync_token(ev, project)
    with pytest.raises(ApiException) as err:
        ws_api.get_workspace_events(sandbox.workspace_gid, {}, full_payload=True)
    ws_sync = json.loads(err.value.body)["sync"]
    for i in range(150):
        sandbox.state.create_task({"name": f"burst {i}", "projects": [project]})
    first = ev.get_events(project, {"sync": sync}, full_payload=True)
    assert len(first["data"]) == 100 and first["has_more"] is True
    second = ev.get_events(project, {"sync": first["sync"]}, full_payload=True)
    assert len(second["data"]) == 50 and second["has_more"] is False
    names = [e["resource"]["name"] for e in first["data"] + second["data"]]
    assert names == [f"burst {i}" for i in range(150)]
    ws_page = ws_api.get_workspace_events(sandbox.workspace_gid, {"sync": ws_sync}, full_payload=True)
    assert len(ws_page["data"]) == 150 and ws_page["has_more"] is False


class _Receiver:
    """A loopback webhook target: answers the handshake and records signed deliveries."""

    def __init__(self, echo: bool = True) -> None:
        self.secret: str | None = None
        self.deliveries: list[tuple[bytes, str]] = []
        self.got = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                secret = self.headers.get("X-Hook-Secret")
                self.send_response(200)
                if secret is not None:
                    receiver.secret = secret
                    if echo:
                        self.send_header("X-Hook-Secret", secret)
                else:
                    receiver.deliveries.append((body, self.headers.get("X-Hook-Signature", "")))
                    receiver.got.set()
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # bound (ready) on construction
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver()
    yield r
    r.close()


def test_webhook_handshake_and_signed_delivery(
    sandbox: Sandbox, asana_spec: SpecChecker, receiver: _Receiver
) -> None:
    client = validating_client(sandbox, asana_spec)
    hooks = asana.WebhooksApi(client)
    project = next(iter(sandbox.truth.project_types))
    created = hooks.create_webhook(
        {
            "data": {
                "resource": project,
                "target": receiver.url,
                "filters": [
                    {"resource_type": "task", "action": "changed", "fields": ["custom_fields", "completed"]},
                    {"resource_type": "time_tracking_entry"},
                ],
            }
        },
        {},
    )
    assert receiver.secret and created["active"] is True and created["target"] == receiver.url
    listed = list(hooks.get_webhooks(sandbox.workspace_gid, {"resource": project}))
    assert [h["gid"] for h in listed] == [created["gid"]]
    task = next(iter(sandbox.state.tasks_by_project[project]))
    sandbox.state.update_task(task, {"name": "renamed"})  # filtered out: name is not a watched field
    sandbox.state.update_task(task, {"custom_fields": {sandbox.field_gid("Estimated Hours"): 7.0}})
    assert receiver.got.wait(10)
    assert sandbox.webhooks.wait_idle(10)
    body, signature = receiver.deliveries[0]
    expected = hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    events = [e for b, _ in receiver.deliveries for e in json.loads(b)["events"]]
    assert events and all(e["resource"]["resource_type"] == "task" for e in events)
    assert {e["change"]["field"] for e in events} == {"custom_fields"}
    hooks.delete_webhook(created["gid"])
    with pytest.raises(ApiException) as err:
        hooks.get_webhook(created["gid"], {})
    assert err.value.status == 404


def test_webhook_without_echo_is_refused(sandbox: Sandbox) -> None:
    bad = _Receiver(echo=False)
    try:
        with pytest.raises(ApiException) as err:
            asana.WebhooksApi(sandbox.asana_client()).create_webhook(
                {"data": {"resource": next(iter(sandbox.truth.project_types)), "target": bad.url}}, {}
            )
        assert err.value.status == 400
        assert bad.secret is not None  # the handshake was attempted
        assert not sandbox.state.objects["webhook"]
    finally:
        bad.close()
