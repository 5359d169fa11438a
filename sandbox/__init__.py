"""Asana-compatible sandbox: an HTTP server faithful to the official spec, plus a workspace generator.

Python API (tests, demo, benchmarks)::

    from sandbox import Sandbox
    with Sandbox.start(seed=1, tasks=200, faults=None, rate_limit=None, db_path=None) as sb:
        sb.base_url          # "http://127.0.0.1:PORT/api/1.0"  (set asana.Configuration().host to this)
        sb.token             # full-access bearer token; sb.readonly_token gets 403 on every write
        sb.workspace_gid     # the generated workspace; sb.me_gid is the token's user
        sb.truth             # generator ground truth (sandbox.generator.Truth): anomalies, biases, ...
        sb.state             # SandboxState: act as a user, e.g.
        sb.state.update_task(task_gid, {"custom_fields": {field_gid: 12.0}}, by=user_gid)
        sb.state.add_time_entry(task_gid, 90, "2026-11-20", by=user_gid)
        sb.state.delete_task(task_gid)       # all of these emit events and webhook deliveries
        sb.state.add_allocation(user_gid, project_gid, "2026-12-01", "2026-12-31", {"type": "hours", "value": 20})
        sb.state.add_ooo_entry(user_gid, "2026-12-07", "2026-12-11")   # (no events: Asana has none for these)
        sb.state.set_rate(project_gid, user_gid, 120.0); sb.state.set_budget(project_gid, "time", 6000)
        sb.state.set_timesheet_status(user_gid, "2026-11-16", "APPROVED")   # also sets its entries' status
        sb.requests          # list[RequestRecord(method, path, query, status, write, fault, at)]
        sb.write_count()     # write requests received (POST/PUT/DELETE), any status;
        sb.write_count(succeeded=True)       # only those answered 2xx
        sb.reset_log()       # forget the request log (e.g. after seeding via the API)
        sb.field_gid("Estimated Hours")      # custom field gids by name

Options: `faults="5xx=0.05,429=0.03,slow=0.02,drop=0.02,seed=7[,slow_s=0.4]"` (seeded per request,
injected before any state change), `rate_limit=1500` (requests/min per token, token bucket holding one
minute unless `rate_limit_burst=`; 429 + integer Retry-After >= 1), `db_path=` (SQLite; the workspace
survives a restart and is generated only when the file is new), `state=` (serve an existing
SandboxState), `premium=False` (402 on search, custom fields, workspace-wide entries, allocations),
`resourcing=False` (402 on `/allocations`, 403 on `/ooo_entries`: a plan or token without them),
`budgets=False` (402 on `/budgets` and `/rates`, 403 on time-tracking categories and timesheet approval
statuses: a plan or token without Timesheets & Budgets), `rate_limit_clock=` (the limiter's clock: tests
run "150 requests/min" in scaled time),
`lenient_opt_fields=True` (time-entry *lists* also return `task`/`billable_status`/`description`/
`created_at`/`approval_status` when asked; by default they follow the spec: asked for them, a list
silently leaves them out, so per-entry `task` comes from `/tasks/{gid}/time_tracking_entries` and the
details from the single GET).

Faithfulness notes: lists are compact unless `opt_fields`; single GETs and writes return full records;
`gid` and `resource_type` are always present; paging is `limit` 1-100 (else 400) + opaque `offset`
(stable under inserts: it encodes the last gid); `/events` answers 412 + `sync` first, then
`data/sync/has_more` (100 per call, 1,000 for workspace events; tokens die with the process); a null
event `parent` is omitted and story number values are integers when whole, because the spec types them
so. Served routes: the `ROUTES` of
`sandbox.routes`, `routes_activity`, `routes_resourcing` and `routes_budgets`.

Other modules: `sandbox.generator` (generate / populate / export_payloads), `sandbox.state`
(SandboxState), `sandbox.server` (HTTP layer), `sandbox.routes` (endpoints), `sandbox.webhooks`,
`sandbox.faults`. CLI: `effort sandbox serve --port PORT [--seed N] [--tasks N] [--faults SPEC]
[--rate-limit N] [--db PATH] [--token T] [--readonly-token T]`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import Any

from sandbox.faults import FaultSpec
from sandbox.generator import DEFAULT_AS_OF, Truth, populate
from sandbox.server import Api, RequestRecord, ServerThread, build_api
from sandbox.state import SandboxState
from sandbox.webhooks import WebhookManager

__all__ = ["FaultSpec", "RequestRecord", "Sandbox", "SandboxState", "Truth"]


@dataclass
class Sandbox:
    """A running sandbox server (see the module docstring). Use `Sandbox.start(...)` as a context manager."""

    state: SandboxState
    api: Api
    server: ServerThread
    webhooks: WebhookManager
    token: str = field(repr=False)  # kept out of reprs (test failure output, logs)
    readonly_token: str = field(repr=False)
    truth: Truth = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 0
    _closed: bool = field(default=False, repr=False)

    @classmethod
    def start(
        cls,
        seed: int = 1,
        tasks: int = 200,
        faults: str | FaultSpec | None = None,
        rate_limit: float | None = None,
        db_path: str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        readonly_token: str | None = None,
        entries_per_task: float = 10.0,
        as_of: date = DEFAULT_AS_OF,
        rate_limit_burst: float | None = None,
        premium: bool = True,
        lenient_opt_fields: bool = False,
        state: SandboxState | None = None,
        resourcing: bool = True,
        budgets: bool = True,
        rate_limit_clock: Callable[[], float] | None = None,
    ) -> Sandbox:
        """Generate (or reload from `db_path`) a workspace and serve it; returns once the port is bound.

        `state=` serves an existing SandboxState instead (e.g. one filled by `generator.populate` and
        then edited); it is generated into only when empty.
        """
        state = state if state is not None else SandboxState(db_path)
        if state.is_empty:
            ws = populate(state, seed=seed, tasks=tasks, entries_per_task=entries_per_task, as_of=as_of)
            truth = ws.truth
        elif "truth" in state.meta:
            truth = Truth.from_json(state.meta["truth"])
        else:  # a hand-built state: no generator truth
            truth = Truth(as_of=as_of.isoformat(), me=next(iter(state.objects["user"]), ""))
        me = str(state.meta.get("me") or truth.me)
        state.meta.setdefault("me", me)
        token = token or state.meta.get("token") or secrets.token_urlsafe(24)
        readonly_token = readonly_token or state.meta.get("readonly_token") or secrets.token_urlsafe(24)
        if db_path is not None:  # the same tokens keep working after a restart
            state.set_meta("token", token)
            state.set_meta("readonly_token", readonly_token)
        api = build_api(
            state,
            token,
            readonly_token,
            me,
            faults=faults,
            rate_limit=rate_limit,
            rate_limit_burst=rate_limit_burst,
            premium=premium,
            lenient_opt_fields=lenient_opt_fields,
            resourcing=resourcing,
            budgets=budgets,
            rate_limit_clock=rate_limit_clock,
        )
        webhooks = WebhookManager(state)
        api.webhooks = webhooks
        server = ServerThread(api, host=host, port=port)
        try:
            bound = server.start()
        except Exception:
            webhooks.stop()
            state.close()
            raise
        api.base_url = f"http://{host}:{bound}/api/1.0"
        return cls(
            state=state,
            api=api,
            server=server,
            webhooks=webhooks,
            token=token,
            readonly_token=readonly_token,
            truth=truth,
            host=host,
            port=bound,
        )

    # ------------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.api.base_url

    @property
    def workspace_gid(self) -> str:
        return self.state.workspace_gid

    @property
    def me_gid(self) -> str:
        return self.api.tokens[self.token][0]

    @property
    def requests(self) -> list[RequestRecord]:
        return self.api.requests

    def write_count(self, succeeded: bool = False) -> int:
        """Write requests (POST/PUT/DELETE) received; with succeeded=True only those answered 2xx."""
        return sum(1 for r in self.api.requests if r.write and (not succeeded or 200 <= r.status < 300))

    def reset_log(self) -> None:
        self.api.requests.clear()

    def field_gid(self, name: str) -> str:
        """Custom field gid by name (generated or created later)."""
        for f in self.state.objects["custom_field"].values():
            if f["name"] == name:
                return str(f["gid"])
        raise KeyError(name)

    def asana_client(self, readonly: bool = False) -> Any:
        """An `asana.ApiClient` configured for this sandbox (for tests and scripts)."""
        import asana

        cfg = asana.Configuration()
        cfg.host = self.base_url
        cfg.access_token = self.readonly_token if readonly else self.token
        return asana.ApiClient(cfg)

    def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.server.stop()
        self.webhooks.stop()
        self.state.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
