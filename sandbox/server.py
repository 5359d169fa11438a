"""The sandbox's HTTP layer: Asana's `/api/1.0` on Starlette, served by uvicorn in a background thread.

Why Starlette + uvicorn: it is the project's standard serving stack, fast enough for the sync benchmarks
(thousands of requests/s on one core), and uvicorn keeps each connection's transport reachable through
its server state, which is what the `drop` fault needs: we close the client's socket before any response
byte is written, so the client sees a real dropped connection (RemoteDisconnected), not a 500.

Every request passes, in order: request log -> bearer auth (401) -> rate limit (429 + Retry-After) ->
seeded faults (5xx / 429 / drop / slow, all before any state change) -> read-only token on a write (403)
-> body and parameter checks (400) -> the handler (sandbox.routes). `ApiError`s become Asana error
bodies; anything else becomes a 500 with a `phrase`.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.errors import ApiError, bad_request
from sandbox.faults import FaultInjector, FaultSpec, RateLimiter
from sandbox.render import Renderer, Tree, compact_tree, full_tree, parse_opt_fields
from sandbox.state import Obj, SandboxState

log = logging.getLogger("sandbox.server")
API_PREFIX = "/api/1.0"
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})
PHRASES = ("6 sad squid snuggle softly", "3 tired turtles tango twice", "9 purple penguins ponder politely")
# List endpoints whose opt_fields the spec restricts to the compact fields (see API_NOTES §5.5).
ENTRY_LIST_FIELDS = frozenset(
    {"attributable_to", "categories", "created_by", "duration_minutes", "entered_on"}
)


# resource_type -> collection path, for the Location header of a 201
_COLLECTIONS = {
    "task": "tasks",
    "project": "projects",
    "section": "sections",
    "story": "stories",
    "time_tracking_entry": "time_tracking_entries",
    "custom_field": "custom_fields",
    "webhook": "webhooks",
    "enum_option": "enum_options",
}


@dataclass(frozen=True)
class RequestRecord:
    """One logged request (tests count these)."""

    method: str
    path: str  # without /api/1.0
    query: str
    status: int  # 0 = connection dropped without a response
    write: bool
    fault: str | None
    at: float


@dataclass
class Ctx:
    """What a handler gets: the parsed request and the caller."""

    request: Request
    query: QueryParams
    body: Any
    user: str
    opt_fields: Tree | None
    limit: int | None
    offset: str | None
    path: str


Result = tuple[int, Any] | Response
Handler = Callable[..., Result]


@dataclass
class Api:
    """Shared server objects: state, renderer, options, request log."""

    state: SandboxState
    tokens: dict[str, tuple[str, bool]] = field(repr=False)  # token -> (user gid, read-only); not in reprs
    base_url: str = "http://127.0.0.1/api/1.0"
    faults: FaultInjector | None = None
    limiter: RateLimiter | None = None
    premium: bool = True
    resourcing: bool = True  # False: /allocations 402, /ooo_entries 403 (sandbox.routes_resourcing)
    budgets: bool = True  # False: /budgets and /rates 402, categories and timesheets 403 (routes_budgets)
    lenient_opt_fields: bool = False
    webhooks: Any = None  # sandbox.webhooks.WebhookManager
    requests: list[RequestRecord] = field(default_factory=list, repr=False)
    uvicorn_server: uvicorn.Server | None = None
    _cache: dict[Any, tuple[int, list[str]]] = field(default_factory=dict)

    @property
    def renderer(self) -> Renderer:
        return Renderer(self.state, self.base_url)

    # ---------------------------------------------------------------------------------------------
    # responses
    def one(self, kind: str, obj: Obj, ctx: Ctx, status: int = 200) -> Result:
        tree = ctx.opt_fields if ctx.opt_fields is not None else full_tree(kind)
        with self.state.lock:
            return status, {"data": self.renderer.render(kind, obj, tree)}

    def cached(self, key: Any, build: Callable[[], list[str]]) -> list[str]:
        """A filtered, gid-sorted list, rebuilt only when the state changed (keeps deep paging O(page))."""
        version = self.state.version
        hit = self._cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        items = build()
        if len(self._cache) > 256:
            self._cache.clear()
        self._cache[key] = (version, items)
        return items

    def page(self, kind: str, gids: Sequence[str], ctx: Ctx, *, paginate: bool = True) -> Result:
        """A list response: compact records (or opt_fields), `limit`/`offset` paging over gid order."""
        tree = ctx.opt_fields if ctx.opt_fields is not None else compact_tree(kind)
        if kind == "time_tracking_entry" and not self.lenient_opt_fields:
            tree = {k: v for k, v in tree.items() if k in ENTRY_LIST_FIELDS}
        start = 0
        if ctx.offset is not None and paginate:
            after = decode_offset(ctx.offset)
            start = bisect.bisect_right(gids, int(after), key=int)
        if ctx.limit is None or not paginate:
            chosen = gids[start:] if paginate else gids
            next_page = None
            has_limit = False
        else:
            chosen = gids[start : start + ctx.limit]
            has_limit = True
            next_page = None
            if start + ctx.limit < len(gids):
                tok = encode_offset(chosen[-1])
                params = [(k, v) for k, v in ctx.query.multi_items() if k != "offset"] + [("offset", tok)]
                path = f"{ctx.path}?{urlencode(params)}"
                next_page = {"offset": tok, "path": path, "uri": self.base_url + path}
        objects = self.state.objects[kind]
        r = self.renderer
        with self.state.lock:
            data = [r.render(kind, objects[g], tree) for g in chosen if g in objects]
        body: Obj = {"data": data}
        if has_limit:
            body["next_page"] = next_page
        return 200, body


def encode_offset(last_gid: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"a": last_gid, "v": 1}).encode()).decode().rstrip("=")


def decode_offset(token: str) -> str:
    try:
        pad = "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(token + pad))
        gid = str(data["a"])
        int(gid)
        return gid
    except Exception:
        raise bad_request(
            "offset: Your pagination token is invalid. Pass only offsets the API returned."
        ) from None


def error_response(
    status: int,
    message: str,
    help_text: str | None = None,
    *,
    retry_after: int | None = None,
    extra: Obj | None = None,
) -> JSONResponse:
    """Asana's error body `{"errors":[{"message","help"(,"phrase" on 500)}]}` (+ extra top-level keys)."""
    err: Obj = {"message": message}
    err["help"] = help_text or (
        "For more information on API status codes and how to handle them, read the docs on errors: "
        "https://developers.asana.com/docs/errors"
    )
    if status == 500:
        err["phrase"] = secrets.choice(PHRASES)
    body: Obj = {"errors": [err], **(extra or {})}
    headers = {"Retry-After": str(max(1, int(retry_after or 1)))} if status == 429 else {}
    return JSONResponse(body, status_code=status, headers=headers)


# -------------------------------------------------------------------------------------------------
# the ASGI app
def build_app(api: Api) -> Starlette:
    """The Starlette app: every route from sandbox.routes wrapped in auth/limits/faults/logging."""
    from sandbox import routes, routes_activity, routes_budgets, routes_resourcing

    starlette_routes = []
    every = routes.ROUTES + routes_activity.ROUTES + routes_resourcing.ROUTES + routes_budgets.ROUTES
    for method, path, handler, blocking in every:
        starlette_routes.append(
            Route(
                API_PREFIX + path,
                _endpoint(api, method, handler, blocking),
                methods=[method],
                name=f"{method} {path}",
            )
        )
    starlette_routes.append(Route("/sandbox/files/{gid}/{name}", _file_endpoint(api), methods=["GET"]))
    starlette_routes.append(Route("/sandbox/health", _health, methods=["GET"]))
    starlette_routes.append(
        Route("/{rest:path}", _not_found(api), methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    )
    return Starlette(routes=starlette_routes)


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True})


def _file_endpoint(api: Api) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        gid = request.path_params["gid"]
        content = api.state.files.get(gid)
        if content is None:
            return error_response(404, f"attachment: Unknown object: {gid}")
        return Response(content, media_type="text/csv")

    return endpoint


def _not_found(api: Api) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        path = request.url.path
        rel = path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path
        api.requests.append(
            RequestRecord(
                request.method,
                rel,
                request.url.query,
                404,
                request.method in WRITE_METHODS,
                None,
                time.time(),
            )
        )
        return error_response(404, "No matching route for request")

    return endpoint


def _auth(api: Api, request: Request) -> tuple[str, str, bool] | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or token.strip() not in api.tokens:
        return None
    token = token.strip()
    user, readonly = api.tokens[token]
    return token, user, readonly


def _endpoint(api: Api, method: str, handler: Handler, blocking: bool) -> Callable[[Request], Any]:
    is_write = method in WRITE_METHODS

    async def endpoint(request: Request) -> Response:
        rel = request.url.path[len(API_PREFIX) :]
        query = request.url.query
        fault: str | None = None

        def record(status: int) -> None:
            api.requests.append(RequestRecord(method, rel, query, status, is_write, fault, time.time()))

        auth = _auth(api, request)
        if auth is None:
            record(401)
            return error_response(401, "Not Authorized")
        token, user, readonly = auth
        if api.limiter is not None:
            wait = api.limiter.acquire(token)
            if wait:
                record(429)
                return error_response(
                    429, "You have made too many requests recently. Please, be chill.", retry_after=wait
                )
        if api.faults is not None:
            fault = api.faults.decide(method, rel, query)
            if fault == "5xx":
                record(500)
                return error_response(500, "Server Error (injected by the sandbox)")
            if fault == "429":
                record(429)
                return error_response(
                    429, "You have made too many requests recently. Please, be chill.", retry_after=1
                )
            if fault == "drop":
                record(0)
                await _drop_connection(api, request)
                return Response(status_code=500)  # never reaches the client: the socket is gone
            if fault == "slow":
                await asyncio.sleep(api.faults.spec.slow_seconds)
        if readonly and is_write:
            record(403)
            return error_response(
                403, "Forbidden: this token does not have the scopes required for this request (read-only)."
            )
        try:
            ctx = await _context(request, user, rel, is_write)
            if blocking:
                result = await run_in_threadpool(handler, api, ctx, **request.path_params)
            else:
                # One lock around read + render: test threads mutate the same dicts concurrently.
                with api.state.lock:
                    result = handler(api, ctx, **request.path_params)
        except ApiError as exc:
            record(exc.status)
            return error_response(exc.status, exc.message, exc.help, extra=exc.extra)
        except Exception:
            log.exception("sandbox handler failed: %s %s", method, rel)
            record(500)
            return error_response(500, "Server Error")
        if isinstance(result, Response):
            record(result.status_code)
            return result
        status, body = result
        record(status)
        headers = {}
        if status == 201 and isinstance(body, dict) and isinstance(body.get("data"), dict):
            created = body["data"]
            collection = _COLLECTIONS.get(str(created.get("resource_type")), rel.strip("/").split("/")[0])
            headers["Location"] = f"{api.base_url}/{collection}/{created.get('gid', '')}"
        if request.query_params.get("opt_pretty") is not None:
            return Response(
                json.dumps(body, indent=2), status_code=status, media_type="application/json", headers=headers
            )
        return JSONResponse(body, status_code=status, headers=headers)

    return endpoint


async def _context(request: Request, user: str, rel: str, is_write: bool) -> Ctx:
    q = request.query_params
    body: Any = None
    body_fields: str | None = None
    if is_write and request.method != "DELETE":
        raw = await request.body()
        if raw.strip():
            try:
                parsed = json.loads(raw)
            except ValueError:
                raise bad_request("Invalid Request: Could not parse request data, invalid JSON") from None
            if not isinstance(parsed, dict) or "data" not in parsed:
                raise bad_request("data: Missing input")
            body = parsed["data"]
            options = parsed.get("options")
            if isinstance(options, dict) and isinstance(options.get("fields"), list):
                body_fields = ",".join(str(f) for f in options["fields"])  # the body form of opt_fields
        else:
            body = None
    limit: int | None = None
    if "limit" in q:
        try:
            limit = int(q["limit"])
        except ValueError:
            raise bad_request("limit: Value must be an integer between 1 and 100") from None
        if not 1 <= limit <= 100:
            raise bad_request("limit: Value must be an integer between 1 and 100")
    raw_fields = q.get("opt_fields", body_fields)
    return Ctx(
        request=request,
        query=q,
        body=body,
        user=user,
        opt_fields=parse_opt_fields(raw_fields),
        limit=limit,
        offset=q.get("offset"),
        path=rel,
    )


async def _drop_connection(api: Api, request: Request) -> None:
    """Close the client's TCP connection without writing a response (the `drop` fault)."""
    client = request.scope.get("client")
    server = api.uvicorn_server
    if server is None or client is None:
        raise ConnectionAbortedError("drop")
    peer = (client[0], client[1])
    for conn in list(server.server_state.connections):
        if getattr(conn, "client", None) == peer:
            transport = getattr(conn, "transport", None)
            if transport is not None:
                transport.close()
    # Let uvicorn notice the lost connection so it does not try to answer on a dead socket.
    for _ in range(3):
        await asyncio.sleep(0)


# -------------------------------------------------------------------------------------------------
# running uvicorn in a background thread
class ServerThread:
    """uvicorn in a daemon thread, bound to host:port (0 = any free port); `start()` waits until ready."""

    def __init__(self, api: Api, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self.host = host
        config = uvicorn.Config(
            build_app(api),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
        )
        self.server = uvicorn.Server(config)
        # uvicorn only installs signal handlers on the main thread; here it runs in a worker thread.
        api.uvicorn_server = self.server
        self._thread = threading.Thread(target=self.server.run, name="sandbox-uvicorn", daemon=True)
        self.port = 0

    def start(self, timeout: float = 15.0) -> int:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("sandbox server failed to start (port in use?)")
            if time.monotonic() > deadline:
                raise RuntimeError("sandbox server did not start in time")
            time.sleep(0.005)  # waiting on uvicorn's own readiness flag, not a fixed sleep
        sockets = [s for srv in (self.server.servers or []) for s in (srv.sockets or [])]
        self.port = int(sockets[0].getsockname()[1])
        return self.port

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)


def build_api(
    state: SandboxState,
    token: str,
    readonly_token: str,
    user_gid: str,
    faults: str | FaultSpec | None = None,
    rate_limit: float | None = None,
    rate_limit_burst: float | None = None,
    premium: bool = True,
    lenient_opt_fields: bool = False,
    resourcing: bool = True,
    budgets: bool = True,
    rate_limit_clock: Callable[[], float] | None = None,
) -> Api:
    spec = FaultSpec.parse(faults) if isinstance(faults, str) else faults
    limiter = None
    if rate_limit:
        limiter = RateLimiter(rate_limit, rate_limit_burst, clock=rate_limit_clock or time.monotonic)
    return Api(
        state=state,
        tokens={token: (user_gid, False), readonly_token: (user_gid, True)},
        faults=FaultInjector(spec) if spec is not None else None,
        limiter=limiter,
        premium=premium,
        lenient_opt_fields=lenient_opt_fields,
        resourcing=resourcing,
        budgets=budgets,
    )
