"""Secret redaction for logs, reports, audit rows and exception text."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._:/+=-]{6,}")
MASK = "***"


class Redactor:
    """Replaces known secret values (and any bearer token) with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4 and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return _BEARER.sub(lambda m: m.group(1) + MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that redacts the formatted message (args included) of every record."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redactor(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = self.redactor(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install_redaction(secrets: Iterable[str]) -> Redactor:
    """Attach a redacting filter to every handler of the root logger (and future records)."""
    redactor = Redactor(secrets)
    filt = RedactingFilter(redactor)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(filt)
    root.addFilter(filt)
    return redactor
