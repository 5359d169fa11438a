"""The secrets every exported span is scrubbed of, for this process.

Spans are exported from a background thread long after the code that made them returned, and a
process may load several settings (a test session, a server that reloads); so the exporter holds one
redactor that learns every secret the process's settings have held. Process-wide on purpose, like the
tracer provider it serves.
"""

from __future__ import annotations

from agent.config import Settings
from tools.redact import Redactor

TELEMETRY_REDACTOR = Redactor()


def remember_secrets(settings: Settings) -> Redactor:
    """Teach the span redactor this settings' secrets; returns it."""
    for secret in settings.secrets():
        TELEMETRY_REDACTOR.add(secret)
    return TELEMETRY_REDACTOR
