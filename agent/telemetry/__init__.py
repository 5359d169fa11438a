"""Logs, traces and metrics for every entry point: one log format (JSON optional), OpenTelemetry spans
when an OTLP endpoint is configured, Prometheus metrics served by ``effort serve``.

    setup_telemetry(settings)                  # every command, after loading the settings
    setup_telemetry(settings, default_level="INFO")   # long-running servers (serve, mcp)

Off by default and cheap when off: without ``OTEL_EXPORTER_OTLP_ENDPOINT`` no tracer provider is
installed (every span is the API's no-op) and no LangChain callback is added. LangSmith tracing is
LangChain's own and switched by its own variables (``LANGSMITH_TRACING=true`` + ``LANGSMITH_API_KEY``).
The span and metric primitives the lower layers call live in ``tools/telemetry.py``.
"""

from __future__ import annotations

from agent.config import Settings
from agent.telemetry.logs import configure_logging
from agent.telemetry.secrets import remember_secrets


def setup_telemetry(settings: Settings, *, default_level: str = "WARNING") -> None:
    """Configure logging for this process and, when an OTLP endpoint is configured, tracing."""
    configure_logging(settings, default_level=default_level)
    remember_secrets(settings)  # spans exported from here on are scrubbed of these too
    if settings.otlp_endpoint:
        from agent.telemetry.tracing import install_tracing

        install_tracing(settings)


__all__ = ["configure_logging", "setup_telemetry"]
