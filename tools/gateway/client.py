"""AsanaGateway: the one typed client over the official ``asana`` SDK v5.

Why hand paging: every list call uses ``full_payload=True`` and follows ``next_page.offset`` itself, so a
retry repeats one page (not the whole lazy iterator) and ``stats`` counts real HTTP requests.
Why our own retries: the SDK's urllib3 ``Retry`` is set to ``total=0`` so it never sleeps or raises
``MaxRetryError`` on its own; tenacity then decides (429 honours ``Retry-After`` on every method, 5xx and
dropped connections back off only for idempotent calls, a POST 5xx raises ``TransientWriteError``).
"""

from __future__ import annotations

import contextvars
import json
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asana
import urllib3
from asana.rest import ApiException
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from urllib3.util.retry import Retry

from tools.gateway import models as m
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
from tools.gateway.writes import WriteMethods
from tools.redact import Redactor
from tools.telemetry import count_gateway_event, traced_asana_attempt

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")

PAGE_LIMIT = 100
_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class RetryPolicy:
    """Retry budget. Defaults suit real Asana; tests pass tiny backoffs."""

    max_attempts: int = 6
    backoff_initial: float = 0.5  # seconds, doubled per attempt, with full jitter
    backoff_max: float = 16.0
    max_retry_after: float = 120.0  # never sleep longer than this on one Retry-After
    request_timeout: float = 60.0


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


def _csv(fields: Iterable[str] | str | None) -> str | None:
    if fields is None:
        return None
    return fields if isinstance(fields, str) else ",".join(fields)


class AsanaGateway(WriteMethods):
    """Typed, counted, retried, concurrency-capped access to Asana (real or the sandbox).

    Build with :meth:`from_settings` or directly; use as a context manager (closes the thread pool).
    Read methods return pydantic models (``tools.gateway.models``); ``iter_*`` methods yield raw dicts
    (sync maps raw payloads so one bad value skips a field, not a whole page).
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
    ) -> None:
        if not token:
            raise AuthError("no Asana access token: set ASANA_ACCESS_TOKEN")
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.stats = GatewayStats()
        self.max_concurrency = max(1, max_concurrency)
        self._redact = Redactor([token])
        self._sleep = sleep
        self._sem = threading.BoundedSemaphore(self.max_concurrency)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._local = threading.local()
        # Shared pacing: a 429 pauses every thread (the quota is per token), and an optional client-side
        # rate spaces requests so a known limit is not hit at all.
        self._gate_lock = threading.Lock()
        self._cooldown_until = 0.0
        self._interval = 60.0 / requests_per_minute if requests_per_minute else 0.0
        self._next_slot = 0.0

        cfg = asana.Configuration()
        cfg.host = self.base_url
        cfg.access_token = token
        # A fresh Retry object (Configuration copies share one): no urllib3-level retries at all.
        cfg.retry_strategy = Retry(total=0, connect=0, read=0, status=0, redirect=0, raise_on_status=False)
        cfg.connection_pool_maxsize = self.max_concurrency + 2
        self._client = asana.ApiClient(cfg)
        self.api = _Apis(self._client)

    @classmethod
    def from_settings(cls, settings: Any, **kwargs: Any) -> AsanaGateway:
        """Build from ``agent.config.Settings`` (token, base URL, concurrency)."""
        token = settings.asana_access_token.get_secret_value() if settings.asana_access_token else ""
        return cls(settings.asana_base_url, token, max_concurrency=settings.max_concurrency, **kwargs)

    # -- lifecycle -------------------------------------------------------------------------------
    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self._client.rest_client.pool_manager.clear()

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
        work = list(items)
        # Nested map (fn itself calling map) would wait on its own pool: run those inline instead.
        if len(work) <= 1 or self.max_concurrency == 1 or getattr(self._local, "in_pool", False):
            return [fn(x) for x in work]

        def run(x: T) -> R:
            self._local.in_pool = True
            return fn(x)

        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="asana")
            pool = self._pool
        # Each task runs in a copy of the caller's context, so spans made in the pool nest under its span.
        futures = [pool.submit(contextvars.copy_context().run, run, x) for x in work]
        results: list[R] = []
        first: BaseException | None = None
        for fut in futures:
            try:
                results.append(fut.result())
            except BaseException as exc:
                first = first or exc
        if first is not None:
            raise first
        return results

    # -- the request primitive -------------------------------------------------------------------
    def call(self, label: str, fn: Callable[[], T], *, idempotent: bool | None = None) -> T:
        """Run one SDK call (one HTTP request per attempt) under the retry, pacing and concurrency rules.

        ``label`` is "METHOD /path/{template}" and keys ``stats.requests``.
        """
        method = label.split(" ", 1)[0].upper()
        safe = method in _IDEMPOTENT if idempotent is None else idempotent

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, RateLimitedError):
                return True  # a 429 was never processed: safe to retry on every method
            return safe and isinstance(exc, ServerError | ConnectionFailed)

        retrying = Retrying(
            stop=stop_after_attempt(self.retry.max_attempts),
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
        if isinstance(exc, RateLimitedError) and exc.retry_after:
            return min(exc.retry_after, self.retry.max_retry_after)
        cap = min(self.retry.backoff_max, self.retry.backoff_initial * 2 ** (state.attempt_number - 1))
        return random.uniform(cap / 2, cap)  # jitter so parallel retries do not stampede

    def _pace(self) -> None:
        with self._gate_lock:
            now = time.monotonic()
            start = max(now, self._cooldown_until, self._next_slot)
            if self._interval:
                self._next_slot = start + self._interval
        if start > now:
            self._sleep(start - now)

    @traced_asana_attempt  # a span per HTTP attempt; /metrics request counts
    def _attempt(self, label: str, fn: Callable[[], T]) -> T:
        with self._sem:
            self._pace()
            with self.stats._lock:
                self.stats.requests[label] += 1
                self.stats.in_flight += 1
                self.stats.peak_in_flight = max(self.stats.peak_in_flight, self.stats.in_flight)
            try:
                return fn()
            except ApiException as exc:
                raise self._from_api_exception(label, exc) from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                self.stats._bump("connection_errors")
                raise ConnectionFailed(
                    f"{label}: cannot reach {self._host()} ({type(exc).__name__})", endpoint=label
                ) from None
            finally:
                self.stats._bump("in_flight", -1)

    def _host(self) -> str:
        return self._redact(self.base_url.split("//", 1)[-1].split("/", 1)[0])

    def _from_api_exception(self, label: str, exc: ApiException) -> GatewayError:
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
            with self._gate_lock:
                pause = min(retry_after or 1.0, self.retry.max_retry_after)
                self._cooldown_until = max(self._cooldown_until, time.monotonic() + pause)
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

    # -- reads: raw iterators (used by sync) -----------------------------------------------------
    def iter_users(
        self, workspace_gid: str, opt_fields: Iterable[str] | str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /users",
            lambda o: self.api.users.get_users(o, full_payload=True),
            {"workspace": workspace_gid, "opt_fields": _csv(opt_fields or "name,email")},
        )

    def iter_projects(
        self, workspace_gid: str, opt_fields: Iterable[str] | str | None = None, archived: bool | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /projects",
            lambda o: self.api.projects.get_projects(o, full_payload=True),
            {"workspace": workspace_gid, "archived": archived, "opt_fields": _csv(opt_fields)},
        )

    def iter_portfolio_items(self, portfolio_gid: str) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /portfolios/{gid}/items",
            lambda o: self.api.portfolios.get_items_for_portfolio(portfolio_gid, o, full_payload=True),
            {"opt_fields": "name,resource_type"},
        )

    def iter_portfolios(self, workspace_gid: str) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /portfolios",
            lambda o: self.api.portfolios.get_portfolios(workspace_gid, o, full_payload=True),
            {"opt_fields": "name"},
        )

    def iter_tags(self, workspace_gid: str) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /workspaces/{gid}/tags",
            lambda o: self.api.tags.get_tags_for_workspace(workspace_gid, o, full_payload=True),
            {"opt_fields": "name"},
        )

    def iter_tasks_for_tag(
        self, tag_gid: str, opt_fields: Iterable[str] | str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /tags/{gid}/tasks",
            lambda o: self.api.tasks.get_tasks_for_tag(tag_gid, o, full_payload=True),
            {"opt_fields": _csv(opt_fields)},
        )

    def iter_sections(self, project_gid: str) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /projects/{gid}/sections",
            lambda o: self.api.sections.get_sections_for_project(project_gid, o, full_payload=True),
            {"opt_fields": "name"},
        )

    def iter_tasks_for_project(
        self,
        project_gid: str,
        opt_fields: Iterable[str] | str | None = None,
        completed_since: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /projects/{gid}/tasks",
            lambda o: self.api.tasks.get_tasks_for_project(project_gid, o, full_payload=True),
            {"opt_fields": _csv(opt_fields), "completed_since": completed_since},
        )

    def iter_tasks(
        self,
        *,
        project: str | None = None,
        modified_since: str | None = None,
        opt_fields: Iterable[str] | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``GET /tasks?project=&modified_since=`` (the per-project incremental fallback)."""
        return self.paginate(
            "GET /tasks",
            lambda o: self.api.tasks.get_tasks(o, full_payload=True),
            {"project": project, "modified_since": modified_since, "opt_fields": _csv(opt_fields)},
        )

    def iter_subtasks(
        self, task_gid: str, opt_fields: Iterable[str] | str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /tasks/{gid}/subtasks",
            lambda o: self.api.tasks.get_subtasks_for_task(task_gid, o, full_payload=True),
            {"opt_fields": _csv(opt_fields)},
        )

    def search_tasks(self, workspace_gid: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """One page (<= 100) of ``/workspaces/{gid}/tasks/search``; the caller pages by ``modified_at``."""
        opts = {k: v for k, v in params.items() if v is not None}
        opts.setdefault("limit", PAGE_LIMIT)
        payload = self.call(
            "GET /workspaces/{gid}/tasks/search",
            lambda: self.api.tasks.search_tasks_for_workspace(workspace_gid, dict(opts), full_payload=True),
        )
        return list(payload.get("data") or [])

    def get_task_raw(self, task_gid: str, opt_fields: Iterable[str] | str | None = None) -> dict[str, Any]:
        opts = {"opt_fields": _csv(opt_fields)} if opt_fields else {}
        return self.call("GET /tasks/{gid}", lambda: self.api.tasks.get_task(task_gid, dict(opts)))

    def iter_custom_field_settings(self, project_gid: str) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /projects/{gid}/custom_field_settings",
            lambda o: self.api.custom_field_settings.get_custom_field_settings_for_project(
                project_gid, o, full_payload=True
            ),
            {"opt_fields": CUSTOM_FIELD_SETTING_FIELDS},
        )

    def iter_custom_fields(self, workspace_gid: str) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /workspaces/{gid}/custom_fields",
            lambda o: self.api.custom_fields.get_custom_fields_for_workspace(
                workspace_gid, o, full_payload=True
            ),
            {"opt_fields": CUSTOM_FIELD_FIELDS},
        )

    def iter_time_entries_for_task(
        self, task_gid: str, opt_fields: Iterable[str] | str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /tasks/{gid}/time_tracking_entries",
            lambda o: self.api.time_entries.get_time_tracking_entries_for_task(
                task_gid, o, full_payload=True
            ),
            {"opt_fields": _csv(opt_fields or TIME_ENTRY_FIELDS)},
        )

    def iter_time_entries(
        self, opt_fields: Iterable[str] | str | None = None, **filters: str | None
    ) -> Iterator[dict[str, Any]]:
        """``GET /time_tracking_entries`` with filters (task, attributable_to, portfolio, user, workspace,
        entered_on_start_date, entered_on_end_date)."""
        return self.paginate(
            "GET /time_tracking_entries",
            lambda o: self.api.time_entries.get_time_tracking_entries(o, full_payload=True),
            {**filters, "opt_fields": _csv(opt_fields or TIME_ENTRY_FIELDS)},
        )

    def iter_allocations(
        self,
        *,
        parent: str | None = None,
        assignee: str | None = None,
        workspace: str | None = None,
        opt_fields: Iterable[str] | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``GET /allocations`` filtered by project (``parent``), ``assignee`` and/or ``workspace``.
        An Enterprise feature: raises ``PaymentRequiredError`` (402) on the first page where absent."""
        return self.paginate(
            "GET /allocations",
            lambda o: self.api.allocations.get_allocations(o, full_payload=True),
            {
                "parent": parent,
                "assignee": assignee,
                "workspace": workspace,
                "opt_fields": _csv(opt_fields or ALLOCATION_FIELDS),
            },
        )

    def iter_ooo_entries(
        self,
        user_gid: str,
        workspace_gid: str,
        *,
        start_date: str | None = None,
        end_date: str | None = None,
        opt_fields: Iterable[str] | str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """``GET /ooo_entries`` for one user (the API has no workspace-wide listing); ``start_date`` /
        ``end_date`` keep entries overlapping that window. A token without ``ooo_entries:read`` gets
        ``AuthError`` (403)."""
        return self.paginate(
            "GET /ooo_entries",
            lambda o: self.api.ooo_entries.get_ooo_entries(user_gid, workspace_gid, o, full_payload=True),
            {"start_date": start_date, "end_date": end_date, "opt_fields": _csv(opt_fields or OOO_FIELDS)},
        )

    def iter_stories(
        self, task_gid: str, opt_fields: Iterable[str] | str | None = None
    ) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /tasks/{gid}/stories",
            lambda o: self.api.stories.get_stories_for_task(task_gid, o, full_payload=True),
            {"opt_fields": _csv(opt_fields or STORY_FIELDS)},
        )

    def iter_attachments(self, parent_gid: str) -> Iterator[dict[str, Any]]:
        return self.paginate(
            "GET /attachments",
            lambda o: self.api.attachments.get_attachments_for_object(parent_gid, o, full_payload=True),
            {"opt_fields": "name,resource_subtype,host,size,download_url,permanent_url,view_url,created_at"},
        )

    # -- events (by hand: the SDK's EventIterator loops forever, API_NOTES §7) ----------------------
    def events(self, resource_gid: str, sync: str | None) -> tuple[list[dict[str, Any]], str, bool]:
        """One page of ``/events``: ``(events, next_sync_token, has_more)``.

        With ``sync=None`` (first call) or an expired token, raises ``SyncTokenExpired`` whose
        ``new_token`` starts a fresh stream (the caller must re-crawl for anything before it).
        """
        opts: dict[str, Any] = {"sync": sync} if sync else {}
        payload = self.call(
            "GET /events", lambda: self.api.events.get_events(resource_gid, dict(opts), full_payload=True)
        )
        return (
            list(payload.get("data") or []),
            str(payload.get("sync") or sync or ""),
            bool(payload.get("has_more")),
        )

    def workspace_events(
        self, workspace_gid: str, sync: str | None
    ) -> tuple[list[dict[str, Any]], str, bool]:
        """Like :meth:`events` for ``/workspaces/{gid}/events`` (up to 1,000 events per call)."""
        opts: dict[str, Any] = {"sync": sync} if sync else {}
        payload = self.call(
            "GET /workspaces/{gid}/events",
            lambda: self.api.workspaces.get_workspace_events(workspace_gid, dict(opts), full_payload=True),
        )
        return (
            list(payload.get("data") or []),
            str(payload.get("sync") or sync or ""),
            bool(payload.get("has_more")),
        )

    # -- reads: typed --------------------------------------------------------------------------------
    def me(self) -> m.User:
        return m.User.model_validate(
            self.call(
                "GET /users/{gid}",
                lambda: self.api.users.get_user("me", {"opt_fields": "name,email,workspaces.name"}),
            )
        )

    def workspaces(self) -> list[m.Workspace]:
        items = self.paginate(
            "GET /workspaces",
            lambda o: self.api.workspaces.get_workspaces(o, full_payload=True),
            {"opt_fields": "name,is_organization"},
        )
        return [m.Workspace.model_validate(w) for w in items]

    def users(self, workspace_gid: str) -> list[m.User]:
        return [m.User.model_validate(u) for u in self.iter_users(workspace_gid)]

    def projects(self, workspace_gid: str, opt_fields: Iterable[str] | str | None = None) -> list[m.Project]:
        return [
            m.Project.model_validate(p)
            for p in self.iter_projects(workspace_gid, opt_fields or PROJECT_FIELDS)
        ]

    def project(self, project_gid: str, opt_fields: Iterable[str] | str | None = None) -> m.Project:
        opts = {"opt_fields": _csv(opt_fields or PROJECT_FIELDS)}
        return m.Project.model_validate(
            self.call("GET /projects/{gid}", lambda: self.api.projects.get_project(project_gid, dict(opts)))
        )

    def portfolios(self, workspace_gid: str) -> list[m.Portfolio]:
        return [m.Portfolio.model_validate(p) for p in self.iter_portfolios(workspace_gid)]

    def sections(self, project_gid: str) -> list[m.Section]:
        return [m.Section.model_validate(s) for s in self.iter_sections(project_gid)]

    def tags(self, workspace_gid: str) -> list[m.Tag]:
        return [m.Tag.model_validate(t) for t in self.iter_tags(workspace_gid)]

    def task(self, task_gid: str, opt_fields: Iterable[str] | str | None = None) -> m.Task:
        return m.Task.model_validate(self.get_task_raw(task_gid, opt_fields or TASK_FIELDS))

    def tasks_for_project(
        self, project_gid: str, opt_fields: Iterable[str] | str | None = None
    ) -> list[m.Task]:
        return [
            m.Task.model_validate(t)
            for t in self.iter_tasks_for_project(project_gid, opt_fields or TASK_FIELDS)
        ]

    def subtasks(self, task_gid: str) -> list[m.Task]:
        return [m.Task.model_validate(t) for t in self.iter_subtasks(task_gid, TASK_FIELDS)]

    def custom_field_settings(self, project_gid: str) -> list[m.CustomFieldSetting]:
        return [m.CustomFieldSetting.model_validate(s) for s in self.iter_custom_field_settings(project_gid)]

    def custom_fields(self, workspace_gid: str) -> list[m.CustomField]:
        return [m.CustomField.model_validate(c) for c in self.iter_custom_fields(workspace_gid)]

    def custom_field(self, field_gid: str) -> m.CustomField:
        opts = {"opt_fields": CUSTOM_FIELD_FIELDS}
        return m.CustomField.model_validate(
            self.call(
                "GET /custom_fields/{gid}",
                lambda: self.api.custom_fields.get_custom_field(field_gid, dict(opts)),
            )
        )

    def time_entries_for_task(self, task_gid: str) -> list[m.TimeTrackingEntry]:
        return [m.TimeTrackingEntry.model_validate(e) for e in self.iter_time_entries_for_task(task_gid)]

    def time_entry(self, entry_gid: str) -> m.TimeTrackingEntry:
        return m.TimeTrackingEntry.model_validate(
            self.call(
                "GET /time_tracking_entries/{gid}",
                lambda: self.api.time_entries.get_time_tracking_entry(entry_gid, {}),
            )
        )

    def allocations(
        self, *, parent: str | None = None, assignee: str | None = None, workspace: str | None = None
    ) -> list[m.Allocation]:
        items = self.iter_allocations(parent=parent, assignee=assignee, workspace=workspace)
        return [m.Allocation.model_validate(a) for a in items]

    def ooo_entries(
        self,
        user_gid: str,
        workspace_gid: str,
        *,
        start_date: str | None = None,
        end_date: str | None = None,
    ) -> list[m.OooEntry]:
        items = self.iter_ooo_entries(user_gid, workspace_gid, start_date=start_date, end_date=end_date)
        return [m.OooEntry.model_validate(e) for e in items]

    def stories(self, task_gid: str) -> list[m.Story]:
        return [m.Story.model_validate(s) for s in self.iter_stories(task_gid)]

    def attachments(self, parent_gid: str) -> list[m.Attachment]:
        return [m.Attachment.model_validate(a) for a in self.iter_attachments(parent_gid)]

    def download_attachment(self, url: str, *, max_bytes: int = 5_000_000) -> bytes:
        """Fetch an attachment's ``download_url`` (a pre-signed URL: no token is sent), at most
        ``max_bytes``; retried like any idempotent GET and counted as ``GET attachment download``."""
        import httpx

        def fetch() -> bytes:
            try:
                with httpx.stream("GET", url, timeout=self.retry.request_timeout) as resp:
                    if resp.status_code >= 500:
                        raise ServerError(
                            f"attachment download: HTTP {resp.status_code}", status=resp.status_code
                        )
                    if resp.status_code == 404:
                        raise NotFoundError("attachment download: HTTP 404", status=404)
                    if resp.status_code >= 400:
                        raise BadRequestError(
                            f"attachment download: HTTP {resp.status_code}", status=resp.status_code
                        )
                    data = bytearray()
                    for chunk in resp.iter_bytes():
                        data += chunk
                        if len(data) > max_bytes:
                            raise BadRequestError(f"attachment is larger than {max_bytes} bytes")
                    return bytes(data)
            except httpx.TransportError as exc:
                raise urllib3.exceptions.ProtocolError(type(exc).__name__) from None

        return self.call("GET attachment download", fetch)

    def webhooks(self, workspace_gid: str) -> list[m.Webhook]:
        items = self.paginate(
            "GET /webhooks",
            lambda o: self.api.webhooks.get_webhooks(workspace_gid, o, full_payload=True),
            {
                "opt_fields": "active,resource,resource.name,target,filters,created_at,last_success_at,last_failure_at"
            },
        )
        return [m.Webhook.model_validate(w) for w in items]


class _Apis:
    """The SDK API objects, built once per client."""

    def __init__(self, client: asana.ApiClient) -> None:
        self.users = asana.UsersApi(client)
        self.workspaces = asana.WorkspacesApi(client)
        self.projects = asana.ProjectsApi(client)
        self.portfolios = asana.PortfoliosApi(client)
        self.sections = asana.SectionsApi(client)
        self.tags = asana.TagsApi(client)
        self.tasks = asana.TasksApi(client)
        self.custom_fields = asana.CustomFieldsApi(client)
        self.custom_field_settings = asana.CustomFieldSettingsApi(client)
        self.time_entries = asana.TimeTrackingEntriesApi(client)
        self.stories = asana.StoriesApi(client)
        self.attachments = asana.AttachmentsApi(client)
        self.events = asana.EventsApi(client)
        self.webhooks = asana.WebhooksApi(client)
        self.allocations = asana.AllocationsApi(client)
        self.ooo_entries = asana.OooEntriesApi(client)


def _retry_after(headers: Any) -> float | None:
    if not headers:
        return None
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


CUSTOM_FIELD_FIELDS = (
    "name,resource_subtype,type,format,precision,custom_label,custom_label_position,currency_code,"
    "enum_options.name,enum_options.enabled,enum_options.color,is_formula_field,is_value_read_only,description"
)
CUSTOM_FIELD_SETTING_FIELDS = ",".join(
    ["is_important", "project", "parent"] + [f"custom_field.{f}" for f in CUSTOM_FIELD_FIELDS.split(",")]
)
_CF_VALUE = (
    "name,resource_subtype,type,format,precision,custom_label,custom_label_position,number_value,text_value,"
    "display_value,enum_value.name,enabled"
)
TASK_FIELDS = ",".join(
    [
        "name",
        "notes",
        "resource_subtype",
        "completed",
        "completed_at",
        "created_at",
        "modified_at",
        "start_on",
        "start_at",
        "due_on",
        "due_at",
        "assignee.name",
        "parent",
        "projects.name",
        "memberships.project.name",
        "memberships.section.name",
        "tags.name",
        "permalink_url",
        "actual_time_minutes",
        "num_subtasks",
    ]
    + [f"custom_fields.{f}" for f in _CF_VALUE.split(",")]
)
PROJECT_FIELDS = (
    "name,archived,completed,created_at,modified_at,start_on,due_on,owner.name,team.name,permalink_url,"
    "custom_fields.name,custom_fields.resource_subtype,custom_fields.type,custom_fields.format,"
    "custom_fields.number_value,custom_fields.text_value,custom_fields.display_value,custom_fields.enum_value.name,"
    "custom_fields.currency_code,custom_fields.precision"
)
TIME_ENTRY_FIELDS = "duration_minutes,entered_on,attributable_to,created_by"
ALLOCATION_FIELDS = (
    "start_date,end_date,effort,effort.type,effort.value,assignee,assignee.name,parent,parent.name,"
    "created_by,resource_subtype"
)
OOO_FIELDS = "start_date,end_date,user,user.name,created_by"
STORY_FIELDS = (
    "created_at,created_by,created_by.name,resource_subtype,text,type,custom_field.name,custom_field.resource_subtype,"
    "old_number_value,new_number_value,old_text_value,new_text_value"
)
