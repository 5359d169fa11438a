"""Gateway exceptions. Messages are built by us from status + Asana's error message, and redacted:
no header, URL credential or token ever reaches ``str(exc)``."""

from __future__ import annotations


class GatewayError(Exception):
    """Base class for every failure the gateway reports."""

    def __init__(self, message: str, *, status: int | None = None, endpoint: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.endpoint = endpoint


class AuthError(GatewayError):
    """401 (token missing or invalid) or 403 (no access to the object or field)."""


class NotFoundError(GatewayError):
    """404: unknown route or object."""


class BadRequestError(GatewayError):
    """400 and other 4xx the caller must fix (402 premium-only is ``PaymentRequiredError``)."""


class PaymentRequiredError(BadRequestError):
    """402: a premium feature (search, custom fields, workspace-wide time entries) from a free context."""


class SyncTokenExpired(GatewayError):
    """412 from /events: the sync token is missing or too old. ``new_token`` is the fresh one."""

    def __init__(self, message: str, *, new_token: str | None, endpoint: str | None = None) -> None:
        super().__init__(message, status=412, endpoint=endpoint)
        self.new_token = new_token


class TransientError(GatewayError):
    """A failure that may succeed later (429, 5xx, dropped connection) after our retries ran out."""


class RateLimitedError(TransientError):
    """429 kept coming back after the retry budget; ``retry_after`` is the last advised wait in seconds."""

    def __init__(self, message: str, *, retry_after: float | None, endpoint: str | None = None) -> None:
        super().__init__(message, status=429, endpoint=endpoint)
        self.retry_after = retry_after


class ServerError(TransientError):
    """5xx after the retry budget ran out."""


class ConnectionFailed(TransientError):
    """The server could not be reached or dropped the connection (urllib3 errors, status 0)."""


class TransientWriteError(TransientError):
    """A POST got a 5xx or a dropped connection: it MAY have been applied. Never retried automatically;
    the writer must re-read (check) and then retry idempotently."""
