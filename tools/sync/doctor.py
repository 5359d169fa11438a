"""What the token can read, and what the store knows: the checks behind ``effort doctor``.

Asana does not tell a token its scopes or the workspace's plan, so each check makes the one cheapest
request that needs them and reports what came back: ok, or missing with the HTTP status and what it
costs the product. About 13 requests in all. The store side needs no request: coverage per field, and
the last sync of each kind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tools.gateway import AsanaGateway
from tools.gateway.errors import GatewayError, SyncTokenExpired
from tools.gateway.fields import TIME_ENTRY_FULL_FIELDS
from tools.store import Store
from tools.sync.options import SyncOptions
from tools.sync.summary import CoverageLine, coverage_lines


class Check(BaseModel):
    """One capability: ``ok``, or missing (``status`` the HTTP status) and what that costs."""

    name: str
    needs: str  # the scope, token kind or plan it takes
    ok: bool
    detail: str = ""
    status: int | None = None


class LastSync(BaseModel):
    kind: str
    at: datetime | None
    status: str
    note: str = ""


class StoreReport(BaseModel):
    url: str
    counts: dict[str, int]
    coverage: list[CoverageLine]
    last: list[LastSync]
    rate_limit: str = ""


def _check(name: str, needs: str, fn: Callable[[], str], missing: str) -> Check:
    try:
        return Check(name=name, needs=needs, ok=True, detail=fn())
    except SyncTokenExpired:  # the events endpoint answers a first call with 412 + a token: it works
        return Check(name=name, needs=needs, ok=True, detail="readable")
    except GatewayError as exc:
        if exc.status == 401:
            raise
        return Check(
            name=name, needs=needs, ok=False, status=exc.status, detail=f"HTTP {exc.status}: {missing}"
        )


def probe_token(
    gw: AsanaGateway, ws: str, *, task_gid: str | None, project_gid: str | None, user_gid: str
) -> list[Check]:
    """One request per capability the product uses (see the module docstring)."""
    first: dict[str, Any] = {}

    def entries() -> str:
        items = gw.time_entries_page(TIME_ENTRY_FULL_FIELDS, workspace=ws, entered_on_start_date="1970-01-01")
        if items:
            first["entry"] = str(items[0]["gid"])
        has_details = bool(items) and all("billable_status" in e for e in items)
        return (
            "lists return details"
            if has_details
            else "lists return compact records (details: one read per entry)"
        )

    checks = [
        _check("time entries (workspace-wide list)", "time_tracking_entries:read + a paid plan", entries,
               "entries are listed per task instead (more requests)"),
    ]  # fmt: skip
    entry = first.get("entry")
    if entry:
        checks.append(
            _check(
                "time entry details",
                "time_tracking_entries:read",
                lambda: (
                    "billable status, note, creation time readable" if gw.get_time_entry_raw(entry) else ""
                ),
                "billing falls back to a rule; duplicates lack evidence",
            )
        )
    checks += [
        _check("events", "a full-access token", lambda: str(gw.workspace_events(ws, None)[1] and "readable"),
               "every sync is a full crawl"),
        _check("search", "a premium workspace", lambda: f"{len(gw.search_tasks(ws, {'limit': 1}))} task read",
               "changed tasks are read one by one"),
        _check("custom fields", "custom_fields:read + a premium workspace",
               lambda: f"{sum(1 for _ in gw.iter_custom_fields(ws))} fields", "field mapping sees task values only"),
        _check("stories", "stories:read",
               lambda: f"{sum(1 for _ in gw.iter_stories(task_gid))} stories on one task" if task_gid else "no task to try",
               "no estimate history: 'estimates raised' unknown"),
        _check("allocations", "a full-access token + Enterprise",
               lambda: f"{sum(1 for _ in gw.iter_allocations(workspace=ws))} allocations", "capacity from config only"),
        _check("out-of-office", "ooo_entries:read",
               lambda: f"{sum(1 for _ in gw.iter_ooo_entries(user_gid, ws))} entries of yours",
               "time off from config only"),
        _check("budgets", "a full-access token + Timesheets & Budgets",
               lambda: f"{len(gw.budgets(project_gid))} on one project" if project_gid else "no project to try",
               "no budget burn or reconciliation"),
        _check("rates", "a full-access token + Timesheets & Budgets",
               lambda: f"{sum(1 for _ in gw.iter_rates(parent=project_gid))} on one project",
               "billing uses the hourly-rate field"),
        _check("time-tracking categories", "time_tracking_categories:read",
               lambda: f"{sum(1 for _ in gw.iter_time_categories(ws))} categories", "categories by name only"),
        _check("timesheet approvals", "timesheet_approval_statuses:read",
               lambda: f"{sum(1 for _ in gw.iter_timesheet_approvals(ws))} person-weeks",
               "approval status from entry details only"),
    ]  # fmt: skip
    return checks


def store_report(store: Store, options: SyncOptions, url: str) -> StoreReport:
    """Counts, per-field coverage, and the last sync of each kind."""
    cov = store.coverage(options.window_start(), options.window_since())
    runs = store.sync_runs(limit=200)
    last: list[LastSync] = []
    for kind, pick in (
        ("full sync", lambda r: r.full or str(r.summary.get("mode", "")).startswith("full")),
        ("incremental sync", lambda r: str(r.summary.get("mode", "")).startswith("incremental")),
        ("entry details read", lambda r: int(r.summary.get("details_read") or 0) > 0),
        ("stories read", lambda r: int(r.summary.get("stories_read") or 0) > 0),
    ):
        run = next((r for r in runs if r.status == "ok" and pick(r)), None)
        last.append(LastSync(kind=kind, at=run.finished_at if run else None, status="ok" if run else "never"))
    resourcing = store.sync_state("resourcing")
    last.append(
        LastSync(
            kind="budgets, rates, allocations, time off",
            at=resourcing.last_sync_at if resourcing else None,
            status="ok" if resourcing else "never",
            note=", ".join(
                f"{k}: {v}" for k, v in (resourcing.data.get("outcome") or {}).items() if v != "ok"
            )
            if resourcing
            else "",
        )
    )
    broken = [r for r in runs[:20] if r.status in ("failed", "interrupted")]
    if broken:
        last.append(LastSync(kind="last unfinished run", at=broken[0].started_at, status=broken[0].status))
    rate = next((str(r.summary.get("rate_limit")) for r in runs if r.summary.get("rate_limit")), "")
    return StoreReport(
        url=url, counts=store.counts(), coverage=coverage_lines(cov), last=last, rate_limit=rate
    )
