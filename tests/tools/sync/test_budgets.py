"""Timesheets & Budgets: the sandbox serves budgets, rates, categories and timesheet approvals faithful
to the spec (through the real SDK, every response validated); sync stores them; a plan or token without
them is a logged skip with one summary line; odd values are skips or notes, never a crash."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import asana
import pytest
from asana.rest import ApiException

from tests.fixtures.sandbox import SpecChecker, validating_client
from tests.fixtures.store import fast_gateway, sync_settings
from tests.tools.sync.test_engine import FAST
from tools.analytics.billing import RATE_ASANA, RATE_FIELD, billing_draft
from tools.records import BudgetType
from tools.store import Store
from tools.sync import MappingContext, sync_workspace
from tools.sync.mapping_extra import map_budget, map_rate


@pytest.fixture(scope="module")
def sb() -> Any:
    from sandbox import Sandbox

    with Sandbox.start(seed=51, tasks=200) as s:
        yield s


def _project_with_budget(sb: Any) -> str:
    return str(next(iter(sb.state.objects["budget"].values()))["parent"])


def test_the_sdk_reads_them_and_every_answer_matches_the_spec(sb: Any, asana_spec: SpecChecker) -> None:
    client = validating_client(sb, asana_spec)
    before = asana_spec.checked
    project = _project_with_budget(sb)
    budgets = asana.BudgetsApi(client).get_budgets(project, full_payload=True)["data"]
    assert len(budgets) == 1 and budgets[0]["parent"]["gid"] == project
    budget = asana.BudgetsApi(client).get_budget(budgets[0]["gid"], {})
    assert budget["actual"]["value"] == sb.state.budget_actual(sb.state.objects["budget"][budget["gid"]])
    assert budget["total"]["units"] == ("minutes" if budget["budget_type"] == "time" else "EUR")
    rates = list(asana.RatesApi(client).get_rates({"parent": project}))
    assert rates and all(r["currency_code"] == "EUR" and r["rate"] > 0 for r in rates)
    assert {r["resource"]["resource_type"] for r in rates} == {"user", "placeholder"}
    assert asana.RatesApi(client).get_rate(rates[0]["gid"], {})["gid"] == rates[0]["gid"]
    cats_api = asana.TimeTrackingCategoriesApi(client)
    active = list(cats_api.get_time_tracking_categories(sb.workspace_gid, {}))
    archived = list(cats_api.get_time_tracking_categories(sb.workspace_gid, {"is_archived": True}))
    assert len(active) == 6 and [c["name"] for c in archived] == ["Legacy billing code"]
    assert cats_api.get_time_tracking_category(active[0]["gid"], {})["is_archived"] is False
    sheets_api = asana.TimesheetApprovalStatusesApi(client)
    sheets = list(
        sheets_api.get_timesheet_approval_statuses(
            sb.workspace_gid, {"from_date": "2026-10-01", "approval_statuses": "approved,submitted"}
        )
    )
    assert sheets and {s["approval_status"] for s in sheets} <= {"APPROVED", "SUBMITTED"}
    assert all(s["end_date"] >= "2026-10-01" for s in sheets)
    one = sheets_api.get_timesheet_approval_status(sheets[0]["gid"], {})
    assert date.fromisoformat(one["start_date"]).weekday() == 0
    entry = next(e for e in sb.state.objects["time_tracking_entry"].values() if e["categories"])
    full = asana.TimeTrackingEntriesApi(client).get_time_tracking_entry(entry["gid"], {})
    assert full["categories"][0]["name"] and full["approval_status"] in (
        "APPROVED",
        "SUBMITTED",
        "DRAFT",
        "REJECTED",
    )
    assert asana_spec.checked - before >= 10


def test_a_plan_without_them_answers_402_and_403_by_the_spec(
    sandbox_factory: Any, asana_spec: SpecChecker
) -> None:
    sb = sandbox_factory(seed=52, tasks=20, budgets=False)
    client = validating_client(sb, asana_spec)
    project = next(iter(sb.state.objects["project"]))
    for call, status in (
        (lambda: asana.BudgetsApi(client).get_budgets(project, full_payload=True), 402),
        (lambda: list(asana.RatesApi(client).get_rates({})), 402),
        (
            lambda: list(
                asana.TimeTrackingCategoriesApi(client).get_time_tracking_categories(sb.workspace_gid, {})
            ),
            403,
        ),
        (
            lambda: list(
                asana.TimesheetApprovalStatusesApi(client).get_timesheet_approval_statuses(
                    sb.workspace_gid, {}
                )
            ),
            403,
        ),
    ):
        with pytest.raises(ApiException) as exc:
            call()
        assert exc.value.status == status


def test_sync_stores_them(tmp_path: Path, sb: Any) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    with fast_gateway(sb, retry=FAST) as gw:
        summary = sync_workspace(gw, store, sync_settings(sb), full=True)
    _check_stored(sb, store, summary)


@pytest.mark.postgres
def test_sync_stores_them_in_postgres(pg_server_url: str, sb: Any) -> None:
    from tests.fixtures.store import throwaway_pg_database

    with throwaway_pg_database("budgets") as url:
        store = Store.open(url)
        try:
            with fast_gateway(sb, retry=FAST) as gw:
                summary = sync_workspace(gw, store, sync_settings(sb), full=True)
            _check_stored(sb, store, summary)
        finally:
            store.close()


def _check_stored(sb: Any, store: Store, summary: Any) -> None:
    assert all(
        summary.features[f] == "ok"
        for f in ("budgets", "rates", "time-tracking categories", "timesheet approvals")
    )
    ws = store.workspace()
    truth = sb.state.objects
    assert {b.gid: b.actual for b in ws.budgets} == {
        g: sb.state.budget_actual(b) for g, b in truth["budget"].items()
    }
    assert {b.gid: b.budget_type for b in ws.budgets} == {
        g: BudgetType(b["budget_type"]) for g, b in truth["budget"].items()
    }
    assert {r.gid: (r.project_gid, r.resource_gid, r.rate, r.placeholder) for r in ws.rates} == {
        g: (r["parent"], r["resource"], r["rate"], r["resource"] in truth["placeholder"])
        for g, r in truth["rate"].items()
    }
    assert {c.name: c.archived for c in ws.categories} == {
        c["name"]: c["is_archived"] for c in truth["time_tracking_category"].values()
    }
    since = summary.window_start.isoformat()
    in_window = {g for g, t in truth["timesheet_approval_status"].items() if t["end_date"] >= since}
    assert {t.gid for t in ws.timesheet_approvals} == in_window
    assert all(
        t.status.value.upper() == truth["timesheet_approval_status"][t.gid]["approval_status"]
        for t in ws.timesheet_approvals
    )


def test_a_plan_without_them_is_a_logged_skip_with_one_line(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=53, tasks=40, budgets=False)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    with fast_gateway(sb, retry=FAST) as gw:
        summary = sync_workspace(gw, store, sync_settings(sb), full=True)
    assert summary.status == "ok" and summary.counts["tasks"].created == 40
    assert summary.features["budgets"].startswith("not available (HTTP 402: not in this plan)")
    assert summary.features["rates"].startswith("not available (HTTP 402")
    assert summary.features["timesheet approvals"].startswith("not available (HTTP 403")
    assert summary.requests_by_endpoint["GET /budgets"] == 1  # the first project's 402 stops the reads
    ws = store.workspace()
    assert ws.budgets == () and ws.rates == ()
    draft = billing_draft(ws, date(2026, 10, 1), date(2026, 10, 31))
    assert all(ln.rate_source != RATE_ASANA for ln in draft.lines)  # the hourly-rate field, said so
    assert not draft.lines or any("hourly-rate field" in w or "no hourly rate" in w for w in draft.warnings)


def test_odd_budgets_and_rates_are_skips_or_notes(tmp_path: Path, sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=54, tasks=120)
    st = sb.state
    billed = next(g for g, b in st.objects["budget"].items() if b["budget_type"] == "time")
    project = st.objects["budget"][billed]["parent"]
    person = next(
        r["resource"]
        for r in st.objects["rate"].values()
        if r["parent"] == project and r["resource"] in st.objects["user"]
    )
    st.set_rate(project, person, 99.0, currency="USD")  # a rate in another currency
    bare = next(
        p
        for p in st.objects["project"]
        if p != project and any(r["parent"] == p for r in st.objects["rate"].values())
    )
    for gid in [g for g, r in st.objects["rate"].items() if r["parent"] == bare]:
        del st.objects["rate"][gid]  # a time-only project: nobody has a rate on it...
    st.set_budget(bare, "cost", 5000.0)  # ...and its budget is in money
    ctx = MappingContext()
    odd = {"gid": "1", "budget_type": "time", "total": {"value": 10, "units": "EUR"}}
    assert map_budget(odd, ctx, "P") is None and "time budget in 'EUR'" in ctx.skips.items[-1].reason
    assert (
        map_rate({"gid": "2", "rate": -5}, ctx) is None
        and map_rate({"gid": "3", "rate": float("nan")}, ctx) is None
    )
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    with fast_gateway(sb, retry=FAST) as gw:
        summary = sync_workspace(gw, store, sync_settings(sb), full=True)
    assert summary.status == "ok"
    ws = store.workspace()
    usd = [r for r in ws.rates if r.currency == "USD"]
    assert len(usd) == 1 and usd[0].rate == 99.0
    entries = [
        e
        for e in ws.entries
        if e.project_gid == project and e.user_gid == person and e.billable_status == "billable"
    ]
    assert entries
    draft = billing_draft(ws, date(2020, 1, 1), date(2027, 1, 1))
    assert "USD" in draft.amount_by_currency and any("several currencies" in w for w in draft.warnings)
    assert all(isinstance(v, Decimal) for v in draft.amount_by_currency.values())
    checks = {c.project_gid: c for c in draft.budget_checks}
    assert checks[bare].status == "not reconciled" and "no rates are stored" in checks[bare].note
    assert any(w.startswith("budget ") and "no rates are stored" in w for w in draft.warnings)
    assert {ln.rate_source for ln in draft.lines if ln.project_gid == bare} == {RATE_FIELD}
    assert any(ln.rate_source == RATE_ASANA for ln in draft.lines)
