"""Resourcing endpoints: allocations and out-of-office entries (reads), as the official spec has them.

- ``GET /allocations?parent=&assignee=&workspace=`` (paged): at least one filter (400 otherwise), all
  given filters must match. Allocations are an Enterprise feature: the sandbox answers 402 when started
  with ``premium=False`` or ``resourcing=False``.
- ``GET /allocations/{gid}``: the full record.
- ``GET /ooo_entries?user=&workspace=[&start_date=&end_date=]`` (paged): ``user`` and ``workspace`` are
  required; ``start_date`` keeps entries ending on or after it, ``end_date`` entries starting on or
  before it (overlap). The spec declares no 402 here, so ``resourcing=False`` answers 403 (what a token
  without ``ooo_entries:read`` gets).
- ``GET /ooo_entries/{gid}``: the full record.

Handlers follow sandbox.routes: ``(api, ctx, **path_params) -> (status, body)``.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox.errors import ApiError, bad_request
from sandbox.route_params import date_param, param, sorted_gids, ws_of
from sandbox.server import Api, Ctx, Result


def _allocations_available(api: Api) -> None:
    if not api.premium or not api.resourcing:
        raise ApiError(402, "Allocations are only available to Enterprise and above customers.")


def _ooo_available(api: Api) -> None:
    if not api.resourcing:
        raise ApiError(403, "You do not have access to out-of-office entries (ooo_entries:read).")


def get_allocations(api: Api, ctx: Ctx) -> Result:
    parent, assignee, ws = param(ctx, "parent"), param(ctx, "assignee"), param(ctx, "workspace")
    if not any((parent, assignee, ws)):
        raise bad_request("Must specify at least one of parent, assignee or workspace")
    _allocations_available(api)
    st = api.state
    if ws:
        ws_of(api, ws)
    if parent:
        st.get("project", parent)
    user = st.resolve_user(assignee, ctx.user) if assignee else None
    allocations = st.objects["allocation"]
    projects = st.objects["project"]

    def build() -> list[str]:
        with st.lock:
            return sorted_gids(
                g
                for g, a in allocations.items()
                if (parent is None or a["parent"] == parent)
                and (user is None or a["assignee"] == user)
                and (ws is None or projects.get(a["parent"], {}).get("workspace") == ws)
            )

    return api.page("allocation", api.cached(("alloc", parent, user, ws), build), ctx)


def get_allocation(api: Api, ctx: Ctx, allocation_gid: str) -> Result:
    _allocations_available(api)
    return api.one("allocation", api.state.get("allocation", allocation_gid), ctx)


def get_ooo_entries(api: Api, ctx: Ctx) -> Result:
    user_ref = param(ctx, "user", required=True)
    ws = param(ctx, "workspace", required=True)
    assert user_ref is not None and ws is not None
    start, end = date_param(ctx, "start_date"), date_param(ctx, "end_date")
    _ooo_available(api)
    st = api.state
    ws_of(api, ws)
    user = st.resolve_user(user_ref, ctx.user)
    entries = st.objects["ooo_entry"]

    def build() -> list[str]:
        with st.lock:
            return sorted_gids(
                g
                for g, e in entries.items()
                if e["user"] == user
                and e.get("_workspace", ws) == ws
                and (start is None or e["end_date"] >= start)
                and (end is None or e["start_date"] <= end)
            )

    return api.page("ooo_entry", api.cached(("ooo", user, ws, start, end), build), ctx)


def get_ooo_entry(api: Api, ctx: Ctx, ooo_entry_gid: str) -> Result:
    _ooo_available(api)
    return api.one("ooo_entry", api.state.get("ooo_entry", ooo_entry_gid), ctx)


ROUTES: list[tuple[str, str, Callable[..., Result], bool]] = [
    ("GET", "/allocations", get_allocations, False),
    ("GET", "/allocations/{allocation_gid}", get_allocation, False),
    ("GET", "/ooo_entries", get_ooo_entries, False),
    ("GET", "/ooo_entries/{ooo_entry_gid}", get_ooo_entry, False),
]
