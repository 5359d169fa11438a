"""Data without events: resourcing (allocations, out-of-office) and Timesheets & Budgets (time-tracking
categories, rates, budgets, weekly timesheet approvals).

Asana's event streams carry none of these, so a full sync reads them and an incremental one re-reads
them when the last read is older than ``REFRESH`` (a nightly sync refreshes them; a five-minute one does
not pay one request per project every time). Request plan: ``/allocations?workspace=`` (pages),
``/ooo_entries`` per person (the API lists them per user only), ``/time_tracking_categories`` (pages),
``/rates`` (pages; per project where a server wants a parent), ``/budgets?parent=`` per scope project
(at most one each, no paging), ``/timesheet_approval_statuses?workspace=`` for the detail window.

A 402 (not in the plan), 403 (no scope) or 404 (not offered) is a logged skip with one line in
``effort sync``'s summary; what was stored before stays, and analyses say the data is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from tools.gateway.errors import AuthError, BadRequestError, NotFoundError, PaymentRequiredError
from tools.store import SyncState
from tools.sync.job import SyncJob
from tools.sync.mapping_extra import (
    map_allocation,
    map_budget,
    map_category,
    map_ooo_entry,
    map_rate,
    map_timesheet,
)

REFRESH = timedelta(hours=20)
OOO_LOOKBACK = timedelta(days=366)  # past OOO only matters for recent weeks; a year bounds the read
_UNAVAILABLE = (PaymentRequiredError, AuthError, NotFoundError)


def refresh_extras(job: SyncJob, ws: str, *, force: bool) -> None:
    """Resourcing and Timesheets & Budgets, when due (``force``: a full sync)."""
    state = job.store.sync_state("resourcing")
    last = state.last_sync_at if state is not None else None
    if not force and last is not None and job.started - last < REFRESH:
        for feature, line in (state.data.get("features") or {}).items() if state else ():
            job.features.setdefault(feature, line)
        return
    outcome: dict[str, str] = {}
    _resourcing(job, ws, outcome)
    _timesheets_and_budgets(job, ws, outcome)
    features = {k: v for k, v in job.features.items() if k in outcome}
    job.store.set_sync_state(
        SyncState(
            scope="resourcing", last_sync_at=job.started, data={"outcome": outcome, "features": features}
        )
    )


def _read(
    job: SyncJob,
    outcome: dict[str, str],
    feature: str,
    consequence: str,
    kind: str,
    fetch: Callable[[], Iterable[Any]],
    upsert: Callable[[list[Any]], int],
    listed: Callable[[Any], bool] | None = None,
) -> None:
    """Fetch one kind and make the store hold exactly it (``listed``: only stored records it selects
    were asked for; others stay); a missing feature is a skip."""
    job.progress(feature, 0, None)
    try:
        records = [r for r in fetch() if r is not None]
    except _UNAVAILABLE as exc:
        job.feature_skip(feature, exc, consequence)
        outcome[feature] = f"skipped ({exc.status})"
        return
    if listed is None:
        job.replace(kind, records, upsert)
    else:
        job.diff_write(kind, records, upsert)
        new = {r.gid for r in records}
        job.delete(
            kind,
            [r.gid for r in job.store.records(kind) if listed(r) and r.gid not in new],
            lambda g: job.store.delete_kind(kind, g),
        )
    job.features[feature] = "ok"
    outcome[feature] = "ok"


def _resourcing(job: SyncJob, ws: str, outcome: dict[str, str]) -> None:
    gw, store = job.gw, job.store
    ctx = job.mapping()
    _read(
        job,
        outcome,
        "allocations",
        "capacity counts planned work from the config only",
        "allocations",
        lambda: (map_allocation(a, ctx) for a in gw.iter_allocations(workspace=ws)),
        store.upsert_allocations,
    )
    people = [p.gid for p in store.people()]
    since = (job.started - OOO_LOOKBACK).date().isoformat()

    def one(user: str) -> list[Any]:
        try:
            return [map_ooo_entry(r, ctx, user) for r in gw.iter_ooo_entries(user, ws, start_date=since)]
        except NotFoundError:  # the user left the workspace meanwhile
            return []

    def fetch() -> list[Any]:
        # The first person alone: a token without the scope then costs one 403, not one per person.
        first = one(people[0]) if people else []
        return first + [o for items in gw.imap(one, people[1:]) for o in items]

    _read(
        job,
        outcome,
        "out-of-office",
        "capacity uses the configured time off only",
        "ooo_entries",
        fetch,
        store.upsert_ooo_entries,
    )


def _timesheets_and_budgets(job: SyncJob, ws: str, outcome: dict[str, str]) -> None:
    gw, store = job.gw, job.store
    ctx = job.mapping()
    _read(
        job,
        outcome,
        "time-tracking categories",
        "entries keep their category names; archived ones are not listed",
        "time_categories",
        lambda: (
            [map_category(c, ctx) for c in gw.iter_time_categories(ws)]
            + [map_category(c, ctx) for c in gw.iter_time_categories(ws, archived=True)]
        ),
        store.upsert_time_categories,
    )
    projects = [p.gid for p in store.projects()]
    _read(
        job,
        outcome,
        "rates",
        "billing uses the projects' hourly-rate field",
        "rates",
        lambda: _rates(job, projects),
        store.upsert_rates,
    )

    def budgets() -> list[Any]:
        first = [map_budget(b, ctx, projects[0]) for b in gw.budgets(projects[0])] if projects else []
        rest = gw.imap(lambda p: [map_budget(b, ctx, p) for b in gw.budgets(p)], projects[1:])
        return first + [b for items in rest for b in items]

    _read(
        job, outcome, "budgets", "no budget reconciliation or burn", "budgets", budgets, store.upsert_budgets
    )
    since = job.options.window_start()
    _read(
        job,
        outcome,
        "timesheet approvals",
        "entries keep the approval status read with their details",
        "timesheet_approvals",
        lambda: [map_timesheet(t, ctx) for t in gw.iter_timesheet_approvals(ws, from_date=since.isoformat())],
        store.upsert_timesheet_approvals,
        listed=lambda t: t.end_on >= since,  # weeks before the window were not asked for: they stay
    )


def _rates(job: SyncJob, projects: Sequence[str]) -> list[Any]:
    """All rates in one paged list where the server allows it (remembered), else per project."""
    ctx = job.mapping()
    if job.capability("rates_without_parent") is not False:
        try:
            items = [map_rate(r, ctx) for r in job.gw.iter_rates()]
            job.set_capability("rates_without_parent", True)
            wanted = set(projects)
            return [r for r in items if r is None or r.project_gid in wanted]
        except BadRequestError as exc:
            if isinstance(exc, PaymentRequiredError):
                raise
            job.set_capability("rates_without_parent", False)
    first = [map_rate(r, ctx) for r in job.gw.iter_rates(parent=projects[0])] if projects else []
    rest = job.gw.imap(lambda p: [map_rate(r, ctx) for r in job.gw.iter_rates(parent=p)], projects[1:])
    return first + [r for items in rest for r in items]


__all__ = ["REFRESH", "refresh_extras"]
