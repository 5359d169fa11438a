"""Request helpers shared by the sandbox's route modules: query parameters as the spec types them (a
malformed one is a 400 naming it), the premium gate (402), the write body, gid-sorted listings."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sandbox.errors import ApiError, bad_request
from sandbox.server import Api, Ctx
from sandbox.state import Obj, parse_dt


def param(ctx: Ctx, name: str, required: bool = False) -> str | None:
    value = ctx.query.get(name)
    if value is None or value == "":
        if required:
            raise bad_request(f"{name}: Missing input")
        return None
    return value


def dt_param(ctx: Ctx, name: str) -> datetime | None:
    raw = param(ctx, name)
    if raw is None:
        return None
    try:
        return parse_dt(raw)
    except ValueError:
        raise bad_request(f"{name}: Invalid date-time {raw!r}") from None


def date_param(ctx: Ctx, name: str) -> str | None:
    raw = param(ctx, name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise bad_request(f"{name}: Invalid date {raw!r}") from None


def bool_param(ctx: Ctx, name: str) -> bool | None:
    raw = param(ctx, name)
    if raw is None:
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise bad_request(f"{name}: Value must be a boolean")


def premium(api: Api, what: str) -> None:
    if not api.premium:
        raise ApiError(402, f"{what} is only available to premium users.")


def body_of(ctx: Ctx) -> Obj:
    if not isinstance(ctx.body, dict):
        raise bad_request("data: Missing input")
    return ctx.body


def sorted_gids(gids: Iterable[str]) -> list[str]:
    return sorted(gids, key=int)


def ws_of(api: Api, gid: str) -> Obj:
    return api.state.get("workspace", gid)
