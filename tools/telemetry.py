"""Spans and metrics: one place for what every layer reports about itself (gateway, sync, writer, tools).

Tracing uses the OpenTelemetry API only: without a configured tracer provider (the default) every span
is a no-op, so the product pays nothing until someone asks for traces (``agent/telemetry`` installs the
provider, an OTLP exporter and the secret-redacting wrapper). Metrics use ``prometheus_client`` and are
served by ``effort serve`` at ``/metrics``.

Both are process-wide by nature (one tracer provider, one scrape per process), so the metric objects
live in this module, in a registry of their own (``REGISTRY``) rather than the library's default one,
so that what ``/metrics`` shows is exactly the list below plus the process collector.

What goes into a span attribute or a metric label is chosen here, never passed through: endpoint
templates ("GET /tasks/{gid}"), methods, statuses, tool and model names, counts and durations.
Never a request body, a task name, an argument value or an exception message (they can hold a token or
someone's private text): an error is recorded by its type name only.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar, cast

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector

P = ParamSpec("P")
R = TypeVar("R")
AttrValue = str | bool | int | float
TRACER_NAME = "effort-copilot"
MAX_ATTR_CHARS = 200  # attribute strings are labels and names, never documents

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)

ASANA_REQUESTS = Counter(
    "effort_asana_requests",
    "HTTP requests to Asana (each attempt, retries included), by method and outcome "
    "(ok, 429, 5xx, 4xx, connection_error).",
    ["method", "outcome"],
    registry=REGISTRY,
)
ASANA_RETRIES = Counter(
    "effort_asana_retries", "Retried Asana requests (429, 5xx, dropped connections).", registry=REGISTRY
)
ASANA_RATE_LIMITED = Counter(
    "effort_asana_rate_limited", "Asana 429 (rate limited) answers.", registry=REGISTRY
)
SYNC_SECONDS = Histogram(
    "effort_sync_duration_seconds",
    "Duration of one sync run, by mode (full, incremental) and outcome (ok, error).",
    ["mode", "outcome"],
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 3600),
    registry=REGISTRY,
)
WRITES = Counter(
    "effort_writes",
    "Proposals the one writer finished, by final status (applied, refused, stale, skipped, failed, "
    "rejected, rolled_back).",
    ["status"],
    registry=REGISTRY,
)
LLM_SECONDS = Histogram(
    "effort_llm_latency_seconds",
    "Latency of one LLM call, by model and outcome (ok, error).",
    ["model", "outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
    registry=REGISTRY,
)
TOOL_CALLS = Counter(
    "effort_tool_calls",
    "Tool calls, by tool, surface (chat, mcp) and outcome (ok, refused, error).",
    ["tool", "via", "outcome"],
    registry=REGISTRY,
)


# --- spans --------------------------------------------------------------------------------------------
def clean_attributes(attributes: Mapping[str, Any] | None) -> dict[str, AttrValue]:
    """Only scalar values, strings cut to ``MAX_ATTR_CHARS``; ``None`` dropped."""
    out: dict[str, AttrValue] = {}
    for key, value in (attributes or {}).items():
        if value is None:
            continue
        if isinstance(value, bool | int | float):
            out[key] = value
        else:
            out[key] = str(value)[:MAX_ATTR_CHARS]
    return out


def mark_error(sp: Span, exc: BaseException) -> None:
    """An error on a span by its type only (the message may hold a secret or private text)."""
    name = type(exc).__name__
    sp.set_attribute("error.type", name)
    sp.set_status(Status(StatusCode.ERROR, name))


@contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
    """A span around a block, current for the spans started inside it."""
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name, attributes=clean_attributes(attributes), record_exception=False, set_status_on_exception=False
    ) as sp:
        try:
            yield sp
        except BaseException as exc:
            mark_error(sp, exc)
            raise


# --- hooks for the layers ---------------------------------------------------------------------------
def _outcome_of(exc: BaseException) -> str:
    """A bounded label for a failed Asana request, from the gateway's error classes (by name, so
    that this module does not import the gateway it instruments)."""
    kind = type(exc).__name__
    if kind == "RateLimitedError":
        return "429"
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status >= 500:
        return "5xx"
    if isinstance(status, int) and status >= 400:
        return "4xx"
    return "connection_error" if kind == "ConnectionFailed" else "error"


def traced_asana_attempt(fn: Callable[..., R]) -> Callable[..., R]:
    """For the gateway's one-request primitive ``_attempt(self, label, fn)``: a span per HTTP attempt
    and the request counter. ``label`` is the endpoint template ("GET /tasks/{gid}")."""

    @functools.wraps(fn)
    def wrapper(self: Any, label: str, *args: Any, **kwargs: Any) -> R:
        method = label.split(" ", 1)[0].upper()
        with span(f"asana {label}", {"http.request.method": method, "asana.endpoint": label}) as sp:
            try:
                result = fn(self, label, *args, **kwargs)
            except Exception as exc:
                outcome = _outcome_of(exc)
                sp.set_attribute("asana.outcome", outcome)
                ASANA_REQUESTS.labels(method, outcome).inc()
                raise
            ASANA_REQUESTS.labels(method, "ok").inc()
            return result

    return wrapper


def count_gateway_event(event: str, n: int = 1) -> None:
    """The gateway's own counters, mirrored: retries and 429s (other events are not exported)."""
    if n <= 0:
        return
    if event == "retries":
        ASANA_RETRIES.inc(n)
    elif event == "rate_limited":
        ASANA_RATE_LIMITED.inc(n)


def traced_sync(fn: Callable[P, R]) -> Callable[P, R]:
    """For the sync entry point: one span per run and its duration by mode (full / incremental, as the
    returned summary says: an incremental run may fall back to a full one)."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        bound = signature.bind_partial(*args, **kwargs)
        requested = "full" if bound.arguments.get("full") else "incremental"
        start = time.perf_counter()
        with span("effort.sync", {"effort.sync.requested": requested}) as sp:
            try:
                summary = fn(*args, **kwargs)
            except Exception:
                SYNC_SECONDS.labels(requested, "error").observe(time.perf_counter() - start)
                raise
            mode = str(getattr(summary, "mode", requested) or requested)
            sp.set_attributes(clean_attributes({"effort.sync.mode": mode}))
            SYNC_SECONDS.labels(mode, "ok").observe(time.perf_counter() - start)
            return summary

    return wrapper


def _status_of(result: Any) -> str:
    status = getattr(result, "status", None)
    return str(getattr(status, "value", status) or "unknown")


def traced_write(fn: Callable[..., R]) -> Callable[..., R]:
    """For the writer's per-proposal step ``_execute(self, ctx)``: one span per approved proposal (the
    write requests it makes nest under it)."""

    @functools.wraps(fn)
    def wrapper(self: Any, ctx: Any, *args: Any, **kwargs: Any) -> R:
        proposal = getattr(ctx, "proposal", None)
        attrs = {
            "effort.proposal.kind": getattr(getattr(proposal, "kind", None), "value", None),
            "effort.proposal.field": getattr(proposal, "field_name", None),
        }
        with span("effort.write", attrs) as sp:
            result = fn(self, ctx, *args, **kwargs)
            sp.set_attribute("effort.write.status", _status_of(result))
            return result

    return wrapper


def counted_writes(fn: Callable[P, R]) -> Callable[P, R]:
    """For the writer's ``apply`` / ``rollback`` (which return a list of results): count every result
    by its final status."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        results = fn(*args, **kwargs)
        for result in cast(Iterable[Any], results):
            WRITES.labels(_status_of(result)).inc()
        return results

    return wrapper


def record_tool_call(tool: str, via: str, outcome: str) -> None:
    TOOL_CALLS.labels(tool, via, outcome).inc()


def record_llm_call(model: str, outcome: str, seconds: float) -> None:
    LLM_SECONDS.labels(model[:MAX_ATTR_CHARS], outcome).observe(max(0.0, seconds))
