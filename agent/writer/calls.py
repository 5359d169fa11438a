"""How one write request ends: gateway errors mapped to an item's final status, and the retry of a
write after a transient failure (a POST is retried only after looking whether the first one landed)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from agent.audit import AuditStatus
from agent.writer.values import Stop
from tools.gateway.errors import AuthError, GatewayError, NotFoundError, TransientError, TransientWriteError

T = TypeVar("T")


def write_call(label: str, fn: Callable[[], T]) -> T:
    """Run one write request, mapping gateway errors to final statuses (transient ones propagate to
    ``retrying``)."""
    try:
        return fn()
    except NotFoundError:
        raise Stop(AuditStatus.SKIPPED, f"{label}: the target no longer exists (404)") from None
    except AuthError as exc:
        raise Stop(
            AuditStatus.REFUSED,
            f"{label}: Asana refused the write (HTTP {exc.status}); the token may be read-only or lack access",
        ) from None
    except TransientError:
        raise
    except GatewayError as exc:
        raise Stop(AuditStatus.REFUSED, f"{label}: {exc}") from None


def retrying(fn: Callable[[], T], *, attempts: int, check: Callable[[], T | None] | None) -> T:
    """Retry a write after a transient failure; before each retry of a POST, ``check`` whether the
    dropped attempt actually landed (then its result is returned instead of posting again)."""
    first = True
    try:
        for attempt in Retrying(
            stop=stop_after_attempt(max(1, attempts)),
            wait=wait_exponential(multiplier=0.05, max=1.0),
            retry=retry_if_exception_type(TransientError),
            reraise=True,
        ):
            with attempt:
                if not first and check is not None:
                    found = check()
                    if found is not None:
                        return found
                first = False
                return fn()
    except TransientWriteError as exc:
        landed = check() if check is not None else None
        if landed is not None:
            return landed
        raise Stop(AuditStatus.FAILED, f"write not confirmed after retries: {exc}") from None
    except TransientError as exc:
        raise Stop(AuditStatus.FAILED, f"write failed after retries: {exc}") from None
    raise Stop(AuditStatus.FAILED, "write not attempted")  # pragma: no cover


def read_failure(gid: str, exc: GatewayError) -> Stop:
    """A failed re-read of the target, as the item's final status."""
    if isinstance(exc, NotFoundError):
        return Stop(AuditStatus.SKIPPED, f"{gid} no longer exists (404)")
    if isinstance(exc, AuthError):
        return Stop(
            AuditStatus.REFUSED, f"no access to {gid} (HTTP {exc.status}): check the token's permissions"
        )
    return Stop(AuditStatus.FAILED, f"could not re-read {gid}: {exc}")
