"""One log format for every entry point: ``time level logger: message`` on stderr, or one JSON object
per line (``EFFORT_LOG_FORMAT=json``) with the trace and span ids of the current span, so logs and
traces join up. Every line goes through the secret redactor first.

The handler looks ``sys.stderr`` up on every record instead of holding the stream it was created with:
tests (and tools such as click's runner) swap stderr, and a handler bound to a closed stream fails.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from agent.config import Settings
from tools.redact import RedactingFilter, Redactor

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_MARK = "_effort_handler"  # our handler, replaced (not stacked) when logging is configured again


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler on whatever ``sys.stderr`` is when a record is emitted."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:  # StreamHandler.__init__ assigns it; the lookup wins
        return None


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, logger, message, and trace_id/span_id inside a span."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        payload.update(_trace_ids())
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            payload["exc"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False, default=str)


def _trace_ids() -> dict[str, str]:
    if "opentelemetry.trace" not in sys.modules:  # nothing traced in this process: skip the import
        return {}
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def configure_logging(settings: Settings, *, default_level: str = "WARNING") -> logging.Handler:
    """Install (or replace) this process's log handler on the root logger.

    The level is ``EFFORT_LOG_LEVEL`` or ``default_level``; the root logger is only ever made more
    verbose here, so a caller that asked for more (a test's log capture) keeps it."""
    level = logging.getLevelName(settings.log_level or default_level)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(old)
    handler = StderrHandler()
    setattr(handler, _MARK, True)
    handler.setLevel(level)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RedactingFilter(Redactor(settings.secrets())))
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > level:
        root.setLevel(level)
    return handler
