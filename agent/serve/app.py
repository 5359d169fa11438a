"""The `effort serve` application: webhook receiver, reaction worker, schedules and health, one process.

    app = create_app(settings, deps)             # starlette app; run it with uvicorn
    runtime = app.state.runtime                  # ServeRuntime: store, reactor, schedules

Routes:
- ``POST /webhooks/asana`` and ``POST /webhooks/asana/{hook_key}``: Asana webhooks (see webhooks.py)
- ``GET /healthz``: scheduler running, last job results, database reachable, inbox counts (503 if not ok)
- ``GET /metrics``: Prometheus metrics (agent/telemetry/metrics.py)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent.config import Settings
from agent.serve.alerts import run_capacity_alerts
from agent.serve.deps import ServeDeps
from agent.serve.reactions import Reactor
from agent.serve.scheduler import Schedules
from agent.serve.store import ServeStore
from agent.serve.webhooks import WebhookReceiver
from agent.telemetry.metrics import metrics_endpoint
from tools.redact import Redactor

log = logging.getLogger("effort.serve")


@dataclass
class ServeRuntime:
    settings: Settings
    deps: ServeDeps
    store: ServeStore
    reactor: Reactor
    schedules: Schedules
    receiver: WebhookReceiver
    start_scheduler: bool

    def health(self) -> tuple[bool, dict[str, Any]]:
        db_ok = self.store.ping()
        scheduler_ok = self.schedules.running or not self.start_scheduler or not self.schedules.triggers
        body: dict[str, Any] = {
            "status": "ok",
            "db": {"reachable": db_ok},
            "scheduler": {"running": self.schedules.running, "jobs": self.schedules.snapshot()},
            "reactions": {
                "worker_running": self.reactor.running,
                "inbox": self.store.counts() if db_ok else {},
                "recent": [
                    {"task_gid": r.task_gid, "action": r.action, "outcome": r.outcome, "at": r.at.isoformat()}
                    for r in list(self.reactor.records)[-5:]
                ],
            },
            "webhooks": {
                "hooks": len(self.store.hooks()) if db_ok else None,
                "heartbeats": self.receiver.heartbeats,
                "max_bytes": self.receiver.max_bytes,
                "oversized_refused": self.receiver.oversized,
            },
        }
        ok = db_ok and scheduler_ok and self.reactor.running
        if self.receiver.oversized:
            # Asana does not shrink a refused delivery: those events are lost until the limit is raised.
            body["webhooks"]["problem"] = (
                f"{self.receiver.oversized} delivery(ies) exceeded max_webhook_bytes={self.receiver.max_bytes} "
                "and were refused: raise max_webhook_bytes"
            )
            ok = False
        if not ok:
            body["status"] = "degraded"
        return ok, body


def scheduled_jobs(deps: ServeDeps) -> dict[str, Callable[[], Any]]:
    """The configured jobs; the nightly sync is followed by the capacity and budget alert checks."""
    jobs = dict(deps.jobs)
    sync = jobs.get("sync")
    if deps.capacity_overloads is not None or deps.budget_alerts is not None:

        def sync_then_alerts() -> dict[str, Any]:
            result: dict[str, Any] = {"sync": sync() if sync is not None else None}
            if deps.capacity_overloads is not None:
                result["capacity_alerts"] = run_capacity_alerts(deps)
            if deps.budget_alerts is not None:
                result["budget_alerts"] = deps.budget_alerts()
            return result

        jobs["sync"] = sync_then_alerts
    return jobs


def create_app(
    settings: Settings,
    deps: ServeDeps,
    *,
    store: ServeStore | None = None,
    start_scheduler: bool = True,
    retry_interval: float = 30.0,
    allow_first_use_handshake: bool = False,
) -> Starlette:
    """Build the app; the worker and the scheduler start in the lifespan (i.e. when uvicorn starts)."""
    redactor = Redactor(settings.secrets())
    store = store or ServeStore.for_settings(settings)
    reactor = Reactor(store, deps, retry_interval=retry_interval, redact=redactor)
    schedules = Schedules(settings.schedules, scheduled_jobs(deps), redact=redactor)
    receiver = WebhookReceiver(
        store,
        max_bytes=settings.max_webhook_bytes,
        on_events=reactor.wake,
        allow_first_use=allow_first_use_handshake,
    )
    runtime = ServeRuntime(settings, deps, store, reactor, schedules, receiver, start_scheduler)

    async def healthz(_request: Request) -> JSONResponse:
        ok, body = await run_in_threadpool(runtime.health)
        return JSONResponse(body, status_code=200 if ok else 503)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        pruned = await run_in_threadpool(store.prune)  # forget processed events past the redelivery window
        if pruned:
            log.info("effort serve: pruned %d processed webhook events", pruned)
        reactor.start()
        if start_scheduler:
            schedules.start()
        log.info("effort serve: started (%d scheduled jobs)", len(schedules.triggers))
        try:
            yield
        finally:
            schedules.shutdown()
            reactor.stop()
            deps.close()

    app = Starlette(
        routes=[
            Route("/webhooks/asana", receiver.handle, methods=["POST"]),
            Route("/webhooks/asana/{hook_key}", receiver.handle, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics_endpoint(settings), methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    return app
