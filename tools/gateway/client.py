"""AsanaGateway: the one typed client over the official ``asana`` SDK v5.

Why hand paging: every list call uses ``full_payload=True`` and follows ``next_page.offset`` itself, so a
retry repeats one page (not the whole lazy iterator) and ``stats`` counts real HTTP requests.
Why our own retries: the SDK's urllib3 ``Retry`` is set to ``total=0`` so it never sleeps or raises
``MaxRetryError`` on its own; tenacity then decides (5xx and dropped connections back off only for
idempotent calls, a POST 5xx raises ``TransientWriteError``). A 429 is not a failure but a signal to
wait: it is retried on every method (Asana never processed it) and does not use up the attempt budget;
the shared ``RateBudget`` (tools/gateway/ratelimit.py) paces every thread so 429s stop coming.

Reads are in tools/gateway/reads.py, writes in tools/gateway/writes.py (each needs a ``WriteGrant``).
"""

from __future__ import annotations

import contextvars
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import asana
import urllib3
from asana.rest import ApiException
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception
from urllib3.util.retry import Retry

from tools.config_types import SyncConfig
from tools.gateway.apis import Apis
from tools.gateway.errors import (
    AuthError,
    BadRequestError,
    ConnectionFailed,
    GatewayError,
    NotFoundError,
    PaymentRequiredError,
    RateLimitedError,
    ServerError,
    SyncTokenExpired,
    TransientWriteError,
)
from tools.gateway.fields import (  # re-exported: older imports name them here
    PROJECT_FIELDS,
    TASK_FIELDS,
    TIME_ENTRY_FIELDS,
)
from tools.gateway.ratelimit import RateBudget
from tools.gateway.reads import ReadMethods
from tools.gateway.writes import WriteMethods
from tools.redact import Redactor
from tools.telemetry import count_gateway_event, traced_asana_attempt

T = TypeVar("T")
R = TypeVar("R")
_Apis = Apis  # the name writes.py imports for its annotation

PAGE_LIMIT = 100
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})

__all__ = [
    "PROJECT_FIELDS",
    "TASK_FIELDS",
    "TIME_ENTRY_FIELDS",
    "AsanaGateway",
    "GatewaySettings",
    "GatewayStats",
    "RetryPolicy",
]


@dataclass(frozen=True)
class RetryPolicy:
    """Retry budget. Defaults suit real Asana; tests pass tiny backoffs."""

    max_attempts: int = 6  # tries per call for 5xx / dropped connections (429s do not count)
    backoff_initial: float = 0.5  # seconds, doubled per attempt, with full jitter
    backoff_max: float = 16.0
    max_retry_after: float = 120.0  # never pause longer than this on one Retry-After
    max_rate_limited: int = 30  # 429s in a row for one call before it gives up (the budget paces first)
    request_timeout: float = 60.0


class GatewaySettings(Protocol):
    """What :meth:`AsanaGateway.from_settings` reads (``agent.config.Settings`` satisfies it)."""

    @property
    def asana_access_token(self) -> SecretStr | None: ...

    @property
    def asana_base_url(self) -> str: ...

    @property
    def max_concurrency(self) -> int: ...

    @property
    def sync(self) -> SyncConfig: ...


@dataclass
class GatewayStats:
    """Thread-safe request counters. ``requests`` counts HTTP attempts (retries included) by label."""

    requests: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    connection_errors: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    def by_method(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        for label, n in self.requests.items():
            out[label.split(" ", 1)[0]] += n
        return dict(out)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "by_method": self.by_method(),
                "by_endpoint": dict(self.requests),
                "retries": self.retries,
                "rate_limited": self.rate_limited,
                "server_errors": self.server_errors,
                "connection_errors": self.connection_errors,
                "peak_in_flight": self.peak_in_flight,
            }

    def _bump(self, attr: str, n: int = 1) -> None:
        with self._lock:
            setattr(self, attr, getattr(self, attr) + n)
        count_gateway_event(attr, n)  # /metrics: retries and 429s


class AsanaGateway(ReadMethods, WriteMethods):
    """Typed, counted, retried, rate-budgeted, concurrency-capped access to Asana (real or the sandbox).

    Build with :meth:`from_settings` or directly; use as a context manager (closes the connections).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        max_concurrency: int = 8,
        retry: RetryPolicy | None = None,
        requests_per_minute: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not token:
            raise AuthError("no Asana access token: set ASANA_ACCESS_TOKEN")
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.stats = GatewayStats()
        self.max_concurrency = max(1, max_concurrency)
        self.budget = RateBudget(requests_per_minute, clock=clock, sleep=sleep)
        self._redact = Redactor([token])
        self._sleep = sleep
        self._sem = threading.BoundedSemaphore(self.max_concurrency)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._local = threading.local()

        cfg = asana.Configuration()
        cfg.host = self.base_url
        cfg.access_token = token
        # A fresh Retry object (Configuration copies share one): no urllib3-level retries at all.
        cfg.retry_strategy = Retry(total=0, connect=0, read=0, status=0, redirect=0, raise_on_status=False)
        cfg.connection_pool_maxsize = self.max_concurrency + 2
        self._client = asana.ApiClient(cfg)
        # The SDK starts a multiprocessing ThreadPool per client for async_req, which we never use;
        # left open, its threads outlive us and its __del__ fails at exit ("Bad file descriptor").
        pool = getattr(self._client, "pool", None)
        if pool is not None:
            pool.close()
            pool.join()
            del self._client.pool
        self._api = Apis(self._client)

    @classmethod
    def from_settings(cls, settings: GatewaySettings, **kwargs: Any) -> AsanaGateway:
        """Build from ``agent.config.Settings`` (token, base URL, concurrency, a known rate limit)."""
        token = settings.asana_access_token
        secret = token.get_secret_value() if token is not None else ""
        kwargs.setdefault("requests_per_minute", settings.sync.requests_per_minute)
        return cls(settings.asana_base_url, secret, max_concurrency=settings.max_concurrency, **kwargs)

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._client.rest_client.pool_manager.clear()
        # The SDK's ApiClient starts a ThreadPool it only closes in __del__; left to interpreter
        # shutdown, that close prints "Exception ignored ... Bad file descriptor" on stderr.
        sdk_pool = self._client.__dict__.pop("pool", None)
        if sdk_pool is not None:
            sdk_pool.close()
            sdk_pool.join()

    def __enter__(self) -> AsanaGateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def redact(self, text: str) -> str:
        """Mask the token (and any bearer string) in ``text``."""
        return self._redact(text)

    # -- concurrency -------------------------------------------------------------------------------
    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run ``fn`` over ``items`` on the gateway's thread pool (at most ``max_concurrency`` at once);
        results keep input order; the first exception is raised after all work finished."""
        return list(self.imap(fn, items))

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """Like :meth:`map`, yielding results in input order as they complete, so the caller can store
        them as it goes (an interruption then loses only what was in flight). Every item that
        succeeded is yielded; the first exception is raised once every submitted item finished."""
        work = list(items)
        # Nested use (fn itself calling map) would wait on its own pool: run those inline instead.
        if len(work) <= 1 or self.max_concurrency == 1 or getattr(self._local, "in_pool", False):
            for x in work:
                yield fn(x)
            return

        def run(x: T) -> R:
            self._local.in_pool = True
            return fn(x)

        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="asana")
            pool = self._pool
        # Each task runs in a copy of the caller's context, so spans made in the pool nest under its span.
        futures = [pool.submit(contextvars.copy_context().run, run, x) for x in work]
        first: BaseException | None = None
        try:
            for fut in futures:
                try:
                    result = fut.result()
                except BaseException as exc:
                    first = first or exc
                    continue
                yield result
        finally:
            for fut in futures:
                fut.cancel()
        if first is not None:
            raise first

    # -- the request primitive -------------------------------------------------------------------
    def call(self, label: str, fn: Callable[[], T], *, idempotent: bool | None = None) -> T:
        """Run one SDK call (one HTTP request per attempt) under the retry, rate and concurrency rules.

        ``label`` is "METHOD /path/{template}" and keys ``stats.requests``.
        """
        method = label.split(" ", 1)[0].upper()
        safe = method in _IDEMPOTENT if idempotent is None else idempotent
        tries = {"failed": 0, "limited": 0}

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, RateLimitedError):
                tries["limited"] += 1  # a 429 was never processed: safe to retry on every method
                return tries["limited"] < self.retry.max_rate_limited
            if safe and isinstance(exc, ServerError | ConnectionFailed):
                tries["failed"] += 1
                return tries["failed"] < self.retry.max_attempts
            return False

        retrying = Retrying(
            wait=self._wait,
            retry=retry_if_exception(should_retry),
            sleep=self._sleep,
            before_sleep=lambda _state: self.stats._bump("retries"),
            reraise=True,
        )
        try:
            return retrying(self._attempt, label, fn)
        except (ServerError, ConnectionFailed) as exc:
            if safe:
                raise
            raise TransientWriteError(
                f"{label}: the write may or may not have been applied ({exc}); re-read before retrying",
                status=exc.status,
                endpoint=label,
            ) from None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitedError):
            return 0.0  # the rate budget holds every thread until the Retry-After has passed
        cap = min(self.retry.backoff_max, self.retry.backoff_initial * 2 ** (state.attempt_number - 1))
        return random.uniform(cap / 2, cap)  # jitter so parallel retries do not stampede

    @traced_asana_attempt  # a span per HTTP attempt; /metrics request counts
    def _attempt(self, label: str, fn: Callable[[], T]) -> T:
        with self._sem:
            sent_at = self.budget.acquire()
            with self.stats._lock:
                self.stats.requests[label] += 1
                self.stats.in_flight += 1
                self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
            try:
                result = fn()
            except ApiException as exc:
                raise self._from_api_exception(label, exc, sent_at) from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                self.stats._bump("connection_errors")
                raise ConnectionFailed(
                    f"{label}: cannot reach {self._host()} ({type(exc).__name__})", endpoint=label
                ) from None
            finally:
                self.stats._bump("in_flight", -1)
            self.budget.succeeded(sent_at)
            return result

    def _host(self) -> str:
        return self._redact(self.base_url.split("//", 1)[-1].split("/", 1)[0])

    def _from_api_exception(self, label: str, exc: ApiException, sent_at: float) -> GatewayError:
        status = int(exc.status or 0)
        body: dict[str, Any] = {}
        if exc.body:
            try:
                raw = exc.body.decode() if isinstance(exc.body, bytes) else str(exc.body)
                parsed = json.loads(raw)
                body = parsed if isinstance(parsed, dict) else {}
            except (ValueError, UnicodeDecodeError):
                body = {}
        errors = body.get("errors") or []
        detail = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict)) or str(
            exc.reason or ""
        )
        msg = self._redact(f"{label}: HTTP {status}: {detail}".strip())
        if status == 0:
            self.stats._bump("connection_errors")
            return ConnectionFailed(f"{label}: cannot reach {self._host()}", endpoint=label)
        if status == 429:
            self.stats._bump("rate_limited")
            retry_after = _retry_after(exc.headers)
            self.budget.rate_limited(retry_after, sent_at, self.retry.max_retry_after)
            return RateLimitedError(msg, retry_after=retry_after, endpoint=label)
        if status >= 500:
            self.stats._bump("server_errors")
            return ServerError(msg, status=status, endpoint=label)
        if status in (401, 403):
            return AuthError(msg, status=status, endpoint=label)
        if status == 404:
            return NotFoundError(msg, status=status, endpoint=label)
        if status == 402:
            return PaymentRequiredError(msg, status=status, endpoint=label)
        if status == 412:
            token = body.get("sync")
            return SyncTokenExpired(msg, new_token=str(token) if token else None, endpoint=label)
        return BadRequestError(msg, status=status, endpoint=label)

    # -- paging ----------------------------------------------------------------------------------
    def paginate(
        self,
        label: str,
        fn: Callable[[dict[str, Any]], dict[str, Any]],
        opts: dict[str, Any] | None = None,
        *,
        limit: int = PAGE_LIMIT,
    ) -> Iterator[dict[str, Any]]:
        """Yield every item of a list endpoint. ``fn(opts)`` must call the SDK with ``full_payload=True``.
        One request per page; a failed page is retried on its own."""
        offset: str | None = None
        while True:
            page_opts = {k: v for k, v in (opts or {}).items() if v is not None}
            page_opts["limit"] = limit
            if offset:
                page_opts["offset"] = offset
            payload = self.call(label, lambda po=page_opts: fn(dict(po)))  # type: ignore[misc]
            yield from payload.get("data") or []
            next_page = payload.get("next_page")
            offset = next_page.get("offset") if isinstance(next_page, dict) else None
            if not offset:
                return


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None
