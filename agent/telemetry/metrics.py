"""``GET /metrics`` for `effort serve`: the process's counters (tools/telemetry.py) plus the approval
queue, counted from the checkpointer at scrape time (so every replica reports the shared queue).

Prometheus text format 0.0.4. The queue gauges are computed per scrape into a registry of their own;
when the checkpointer cannot be read, they are left out and ``effort_proposals_pending_error`` is 1,
rather than reporting an empty queue that is not known to be empty.
"""

from __future__ import annotations

import logging
from collections import Counter as Tally
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, Gauge, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from agent.config import Settings
from tools.telemetry import REGISTRY

log = logging.getLogger("effort.telemetry")


def queue_exposition(settings: Settings) -> bytes:
    """The approval-queue gauges, read now from the configured checkpointer."""
    registry = CollectorRegistry(auto_describe=True)
    error = Gauge(
        "effort_proposals_pending_error", "1 when the approval queue could not be read.", registry=registry
    )
    try:
        from agent.approvals_service import list_pending
        from agent.checkpoint import open_checkpointer

        with open_checkpointer(settings) as checkpointer:
            pending = list_pending(checkpointer)
    except Exception as exc:  # a scrape must answer; the error gauge says the queue is unknown
        log.warning("metrics: cannot read the approval queue (%s)", type(exc).__name__)
        error.set(1)
        return generate_latest(registry)
    proposals = Gauge(
        "effort_proposals_pending",
        "Proposals waiting for a human decision, by graph (approval, chat, retro).",
        ["graph"],
        registry=registry,
    )
    batches = Gauge(
        "effort_approvals_pending", "Approval batches (threads) waiting for a decision.", registry=registry
    )
    by_graph: Tally[str] = Tally()
    for batch in pending:
        by_graph[batch.graph] += len(batch.proposals)
    for graph in sorted({"approval", "chat", "retro", *by_graph}):
        proposals.labels(graph).set(by_graph.get(graph, 0))
    batches.set(len(pending))
    return generate_latest(registry)


def exposition(settings: Settings) -> bytes:
    """Everything ``/metrics`` shows."""
    return generate_latest(REGISTRY) + queue_exposition(settings)


def metrics_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint for ``/metrics``. Serving metrics means LLM latency and tool calls are
    wanted too, so the LangChain callbacks are installed here (idempotent)."""
    from agent.telemetry.callbacks import install_langchain_callbacks

    install_langchain_callbacks()

    async def metrics(_request: Request) -> Response:
        body = await run_in_threadpool(exposition, settings)
        return Response(body, media_type=CONTENT_TYPE_PLAIN_0_0_4)

    return metrics
