"""Timesheets & Budgets endpoints (reads), as the official spec has them.

- ``GET /budgets?parent=<project>``: at most one budget per project, full records, no paging and no
  ``opt_fields`` in the spec; ``actual`` is computed from the project's entries (see
  ``SandboxState.budget_actual``). ``GET /budgets/{gid}``.
- ``GET /rates[?parent=&resource=]`` (paged): compact records carry ``rate`` and ``currency_code``;
  ``resource`` is a user or a placeholder. ``GET /rates/{gid}``.
- ``GET /time_tracking_categories?workspace=[&is_archived=]`` (paged; active ones by default).
- ``GET /timesheet_approval_statuses?workspace=[&user=&from_date=&to_date=&approval_statuses=]`` (paged;
  a week is kept when it overlaps the dates).

Budgets and rates are a paid feature: with ``premium=False`` or ``budgets=False`` the sandbox answers
402 (the spec declares it there). Categories and timesheet approvals declare no 402: ``budgets=False``
answers 403 there, what a token without their read scopes gets.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox.errors import ApiError, bad_request
from sandbox.route_params import bool_param, date_param, param, sorted_gids, ws_of
from sandbox.server import Api, Ctx, Result
from sandbox.shapes import full_tree


def _paid(api: Api, what: str) -> None:
    if not api.premium or not api.budgets:
        raise ApiError(402, f"{what} are only available with Timesheets & Budgets.")


def _scope(api: Api, scope: str) -> None:
    if not api.budgets:
        raise ApiError(403, f"You do not have access to this resource ({scope}).")


def get_budgets(api: Api, ctx: Ctx) -> Result:
    parent = param(ctx, "parent", required=True)
    assert parent is not None
    _paid(api, "Budgets")
    api.state.get("project", parent)
    budgets = api.state.objects["budget"]
    if ctx.opt_fields is None:  # the spec lists full BudgetResponse records here
        ctx.opt_fields = full_tree("budget")
    ctx.limit = None  # no paging: at most one budget per parent
    return api.page(
        "budget", sorted_gids(g for g, b in budgets.items() if b["parent"] == parent), ctx, paginate=False
    )


def get_budget(api: Api, ctx: Ctx, budget_gid: str) -> Result:
    _paid(api, "Budgets")
    return api.one("budget", api.state.get("budget", budget_gid), ctx)


def get_rates(api: Api, ctx: Ctx) -> Result:
    parent, resource = param(ctx, "parent"), param(ctx, "resource")
    _paid(api, "Rates")
    st = api.state
    if parent:
        st.get("project", parent)
    rates = st.objects["rate"]

    def build() -> list[str]:
        with st.lock:
            return sorted_gids(
                g
                for g, r in rates.items()
                if (parent is None or r["parent"] == parent)
                and (resource is None or r["resource"] == resource)
            )

    return api.page("rate", api.cached(("rates", parent, resource), build), ctx)


def get_rate(api: Api, ctx: Ctx, rate_gid: str) -> Result:
    _paid(api, "Rates")
    return api.one("rate", api.state.get("rate", rate_gid), ctx)


def get_time_categories(api: Api, ctx: Ctx) -> Result:
    ws = param(ctx, "workspace", required=True)
    assert ws is not None
    archived = bool_param(ctx, "is_archived")
    _scope(api, "time_tracking_categories:read")
    ws_of(api, ws)
    cats = api.state.objects["time_tracking_category"]
    want = bool(archived)  # not given: the active ones, as the API does
    gids = sorted_gids(
        g for g, c in cats.items() if c.get("_workspace", ws) == ws and bool(c["is_archived"]) == want
    )
    return api.page("time_tracking_category", gids, ctx)


def get_time_category(api: Api, ctx: Ctx, time_tracking_category_gid: str) -> Result:
    _scope(api, "time_tracking_categories:read")
    return api.one(
        "time_tracking_category", api.state.get("time_tracking_category", time_tracking_category_gid), ctx
    )


_STATUSES = {"draft": "DRAFT", "submitted": "SUBMITTED", "approved": "APPROVED", "rejected": "REJECTED"}


def get_timesheet_approvals(api: Api, ctx: Ctx) -> Result:
    ws = param(ctx, "workspace", required=True)
    assert ws is not None
    user_ref = param(ctx, "user")
    start, end = date_param(ctx, "from_date"), date_param(ctx, "to_date")
    raw_statuses = param(ctx, "approval_statuses")
    wanted: set[str] | None = None
    if raw_statuses:
        names = [s.strip().lower() for s in raw_statuses.split(",") if s.strip()]
        unknown = [n for n in names if n not in _STATUSES]
        if unknown:
            raise bad_request(f"approval_statuses: unknown value {unknown[0]!r}")
        wanted = {_STATUSES[n] for n in names}
    _scope(api, "timesheet_approval_statuses:read")
    st = api.state
    ws_of(api, ws)
    user = st.resolve_user(user_ref, ctx.user) if user_ref else None
    sheets = st.objects["timesheet_approval_status"]

    def build() -> list[str]:
        with st.lock:
            return sorted_gids(
                g
                for g, t in sheets.items()
                if t["workspace"] == ws
                and (user is None or t["user"] == user)
                and (start is None or t["end_date"] >= start)
                and (end is None or t["start_date"] <= end)
                and (wanted is None or t["approval_status"] in wanted)
            )

    key = ("timesheets", ws, user, start, end, tuple(sorted(wanted)) if wanted else None)
    return api.page("timesheet_approval_status", api.cached(key, build), ctx)


def get_timesheet_approval(api: Api, ctx: Ctx, timesheet_approval_status_gid: str) -> Result:
    _scope(api, "timesheet_approval_statuses:read")
    sheet = api.state.get("timesheet_approval_status", timesheet_approval_status_gid)
    return api.one("timesheet_approval_status", sheet, ctx)


ROUTES: list[tuple[str, str, Callable[..., Result], bool]] = [
    ("GET", "/budgets", get_budgets, False),
    ("GET", "/budgets/{budget_gid}", get_budget, False),
    ("GET", "/rates", get_rates, False),
    ("GET", "/rates/{rate_gid}", get_rate, False),
    ("GET", "/time_tracking_categories", get_time_categories, False),
    ("GET", "/time_tracking_categories/{time_tracking_category_gid}", get_time_category, False),
    ("GET", "/timesheet_approval_statuses", get_timesheet_approvals, False),
    ("GET", "/timesheet_approval_statuses/{timesheet_approval_status_gid}", get_timesheet_approval, False),
]
