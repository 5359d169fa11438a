"""OpenTelemetry tracing: a tracer provider exporting over OTLP/HTTP, behind a redacting exporter.

Installed once per process, and only when asked for (``OTEL_EXPORTER_OTLP_ENDPOINT``, or an exporter
handed in by a test). Every span leaves the process through ``RedactingExporter``: known secrets and
any bearer token are replaced in span names, attribute values, event attributes and status messages,
whoever made the span (our code records no message text, but the SDKs we use may).

With a provider installed, the LangChain callback handler (agent/telemetry/callbacks.py) is registered
too, so each LLM call and each tool call of the chat and retro graphs gets its own span.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import Status

from agent.config import Settings
from agent.telemetry.secrets import remember_secrets
from agent.version import product_version
from tools.redact import Redactor

SERVICE_NAME = "effort-copilot"


def _redact_value(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor(value)
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return tuple(redactor(v) if isinstance(v, str) else v for v in value)
    return value


def _redact_attributes(attributes: Mapping[str, Any] | None, redactor: Redactor) -> dict[str, Any]:
    return {key: _redact_value(value, redactor) for key, value in (attributes or {}).items()}


def redacted_span(span: ReadableSpan, redactor: Redactor) -> ReadableSpan:
    """A copy of ``span`` with every string it carries passed through ``redactor``."""
    status = span.status
    if status.description:
        status = Status(status.status_code, redactor(status.description))
    return ReadableSpan(
        name=redactor(span.name),
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_redact_attributes(span.attributes, redactor),
        events=[
            Event(redactor(e.name), _redact_attributes(e.attributes, redactor), e.timestamp)
            for e in span.events
        ],
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingExporter(SpanExporter):
    """Scrubs every span, then hands it to the real exporter."""

    def __init__(self, inner: SpanExporter, redactor: Redactor) -> None:
        self.inner = inner
        self.redactor = redactor

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([redacted_span(s, self.redactor) for s in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def otlp_traces_url(endpoint: str) -> str:
    """OTLP/HTTP's traces path under a collector base URL (as the SDK does for the generic variable)."""
    base = endpoint.rstrip("/")
    return base if base.endswith("/v1/traces") else f"{base}/v1/traces"


def _resource() -> Resource:
    resource = Resource.create(
        {"service.version": product_version()}
    )  # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES apply
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    return resource


def _processor(exporter: SpanExporter, synchronous: bool) -> SimpleSpanProcessor | BatchSpanProcessor:
    return SimpleSpanProcessor(exporter) if synchronous else BatchSpanProcessor(exporter)


def install_tracing(
    settings: Settings, exporter: SpanExporter | None = None, *, synchronous: bool = False
) -> TracerProvider | None:
    """Install the process's tracer provider (once; later calls only teach it new secrets).

    ``exporter`` defaults to OTLP/HTTP at ``settings.otlp_endpoint`` (headers from
    ``OTEL_EXPORTER_OTLP_HEADERS``, read by the exporter); without either, nothing is installed and
    spans stay no-ops. ``synchronous`` exports each span as it ends (tests), else in batches."""
    redactor = remember_secrets(settings)
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        if exporter is not None:  # one more destination on the installed provider
            current.add_span_processor(_processor(RedactingExporter(exporter, redactor), synchronous))
        return current
    if exporter is None:
        if not settings.otlp_endpoint:
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=otlp_traces_url(settings.otlp_endpoint))
    provider = TracerProvider(resource=_resource())
    provider.add_span_processor(_processor(RedactingExporter(exporter, redactor), synchronous))
    trace.set_tracer_provider(provider)
    from agent.telemetry.callbacks import install_langchain_callbacks

    install_langchain_callbacks()
    return provider
