"""Asana allocations and out-of-office entries, end to end: sandbox (spec-validated) -> SDK/gateway ->
sync -> store (SQLite and PostgreSQL) -> capacity; 402/403 are logged skips."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asana
import pytest
from asana.rest import ApiException

from agent.config import CapacityConfig, TimeOff
from sandbox import Sandbox
from tests.fixtures.analytics import make_task
from tests.fixtures.sandbox import SpecChecker, validating_client
from tests.fixtures.store import fast_gateway, sync_settings, throwaway_pg_database
from tools.analytics.capacity import capacity_report
from tools.gateway import AuthError, PaymentRequiredError
from tools.records import Allocation, EffortUnit, OutOfOffice, Person, Project, Workspace
from tools.store import Store
from tools.sync import sync_workspace
from tools.sync.extras import OOO_LOOKBACK


@pytest.fixture(scope="module")
def sb() -> Any:
    with Sandbox.start(seed=3, tasks=150) as s:
        yield s


# ---------------------------------------------------------------------------------------------------
# sandbox through the official SDK, every response checked against the spec


def test_allocations_filters_and_paging(sb: Sandbox, asana_spec: SpecChecker) -> None:
    api = asana.AllocationsApi(validating_client(sb, asana_spec))
    fields = (
        "start_date,end_date,effort,assignee,assignee.name,parent,parent.name,created_by,resource_subtype"
    )
    before = len(sb.requests)
    listed = list(api.get_allocations({"workspace": sb.workspace_gid, "limit": 3, "opt_fields": fields}))
    truth = sb.truth.allocations
    assert len(truth) >= 5 and sorted(a["gid"] for a in listed) == sorted(truth)
    assert len(sb.requests) - before == -(-len(truth) // 3)  # one request per page of 3
    for a in listed:
        t = truth[a["gid"]]
        assert (a["assignee"]["gid"], a["parent"]["gid"]) == (t["person"], t["project"])
        assert (a["start_date"], a["end_date"]) == (t["start"], t["end"])
        assert a["effort"] == {"type": t["type"], "value": t["value"]}
        assert a["assignee"]["name"] == sb.truth.person_names[t["person"]]
    one = listed[0]
    by_parent = list(api.get_allocations({"parent": one["parent"]["gid"]}))
    assert {a["gid"] for a in by_parent} == {
        g for g, t in truth.items() if t["project"] == one["parent"]["gid"]
    }
    assert set(by_parent[0]) == {"gid", "resource_type", "start_date", "end_date"}  # compact by default
    both = list(api.get_allocations({"parent": one["parent"]["gid"], "assignee": one["assignee"]["gid"]}))
    assert one["gid"] in {a["gid"] for a in both} and all(
        truth[a["gid"]]["person"] == one["assignee"]["gid"] for a in both
    )
    full = api.get_allocation(one["gid"], {})
    assert full["resource_subtype"] == "project_allocation" and full["created_by"]["gid"]
    with pytest.raises(ApiException) as exc:
        list(api.get_allocations({}))
    assert exc.value.status == 400


def test_ooo_entries_date_window(sb: Sandbox, asana_spec: SpecChecker) -> None:
    api = asana.OooEntriesApi(validating_client(sb, asana_spec))
    person, ranges = max(sb.truth.ooo.items(), key=lambda kv: len(kv[1]))
    got = list(api.get_ooo_entries(person, sb.workspace_gid, {"opt_fields": "start_date,end_date,user.name"}))
    assert sorted([o["start_date"], o["end_date"]] for o in got) == sorted(ranges)
    assert all(
        o["user"] == {"gid": person, "resource_type": "user", "name": sb.truth.person_names[person]}
        for o in got
    )
    # start_date keeps entries ending on/after it, end_date those starting on/before it (overlap).
    first = min(ranges)
    window = list(
        api.get_ooo_entries(person, sb.workspace_gid, {"start_date": first[1], "end_date": first[1]})
    )
    assert [o["start_date"] for o in window] == [first[0]]
    after = (date.fromisoformat(max(r[1] for r in ranges)) + timedelta(days=1)).isoformat()
    assert list(api.get_ooo_entries(person, sb.workspace_gid, {"start_date": after})) == []
    assert api.get_ooo_entry(got[0]["gid"], {})["user"]["gid"] == person
    with pytest.raises(ApiException) as exc:
        list(api.get_ooo_entries(person, sb.workspace_gid, {"start_date": "not-a-date"}))
    assert exc.value.status == 400


def test_not_offered_gives_402_and_403(sandbox_factory: Any, asana_spec: SpecChecker) -> None:
    sb = sandbox_factory(resourcing=False)
    client = validating_client(sb, asana_spec)
    with pytest.raises(ApiException) as exc:
        list(asana.AllocationsApi(client).get_allocations({"workspace": sb.workspace_gid}))
    assert exc.value.status == 402
    with pytest.raises(ApiException) as exc:
        list(asana.OooEntriesApi(client).get_ooo_entries(sb.me_gid, sb.workspace_gid, {}))
    assert exc.value.status == 403
    free = sandbox_factory(premium=False)  # allocations are a paid feature; OOO entries are not
    with pytest.raises(ApiException) as exc:
        list(asana.AllocationsApi(free.asana_client()).get_allocations({"workspace": free.workspace_gid}))
    assert exc.value.status == 402
    assert list(asana.OooEntriesApi(free.asana_client()).get_ooo_entries(free.me_gid, free.workspace_gid, {}))


def test_gateway_typed_reads(sb: Sandbox) -> None:
    with fast_gateway(sb) as gw:
        allocations = gw.allocations(workspace=sb.workspace_gid)
        person = next(iter(sb.truth.ooo))
        ooo = gw.ooo_entries(person, sb.workspace_gid)
    assert {a.gid for a in allocations} == set(sb.truth.allocations)
    a = allocations[0]
    assert a.effort is not None and a.effort.type in ("hours", "percent") and a.parent and a.assignee
    assert sorted([o.start_date, o.end_date] for o in ooo) == sorted(sb.truth.ooo[person])
    assert all(o.user is not None and o.user.gid == person for o in ooo)


def test_gateway_raises_typed_errors_when_not_offered(sandbox_factory: Any) -> None:
    sb = sandbox_factory(resourcing=False)
    with fast_gateway(sb) as gw:
        with pytest.raises(PaymentRequiredError):
            gw.allocations(workspace=sb.workspace_gid)
        with pytest.raises(AuthError):
            gw.ooo_entries(sb.me_gid, sb.workspace_gid)


# ---------------------------------------------------------------------------------------------------
# sync and store


def _expected_ooo(sb: Sandbox) -> set[tuple[str, str, str]]:
    since = (datetime.now(UTC) - OOO_LOOKBACK).date().isoformat()
    return {(p, s, e) for p, ranges in sb.truth.ooo.items() for s, e in ranges if e >= since}


def _sync_and_check(sb: Sandbox, store: Store) -> None:
    with fast_gateway(sb) as gw:
        full = sync_workspace(gw, store, sync_settings(sb), full=True)
        assert full.counts["allocations"].created == len(sb.truth.allocations)
        assert full.requests_by_endpoint["GET /ooo_entries"] == len(sb.truth.person_names)
        stored = {a.gid: a for a in store.allocations()}
        assert set(stored) == set(sb.truth.allocations)
        for gid, t in sb.truth.allocations.items():
            a = stored[gid]
            assert (a.person_gid, a.project_gid, a.start_on.isoformat(), a.end_on.isoformat()) == (
                t["person"],
                t["project"],
                t["start"],
                t["end"],
            )
            assert (a.effort_unit, a.effort_value) == (EffortUnit(t["type"]), t["value"])
        got = {(o.person_gid, o.start_on.isoformat(), o.end_on.isoformat()) for o in store.out_of_office()}
        assert got == _expected_ooo(sb)
        ws = store.workspace()
        assert len(ws.allocations) == len(stored) and len(ws.out_of_office) == len(got)
        # An incremental sync soon after does not re-read them (no events cover them) ...
        inc = sync_workspace(gw, store, sync_settings(sb))
        assert "GET /allocations" not in inc.requests_by_endpoint and inc.requests <= 2
        # ... a full one re-reads them and sees a deleted allocation go.
        gone = next(iter(sb.truth.allocations))
        with sb.state.lock:
            del sb.state.objects["allocation"][gone]
            sb.state.version += 1
        again = sync_workspace(gw, store, sync_settings(sb), full=True)
    assert again.counts["allocations"].deleted == 1 and gone not in {a.gid for a in store.allocations()}
    assert again.counts["ooo_entries"].unchanged == len(got)


def test_sync_stores_allocations_and_ooo_sqlite(sandbox_factory: Any, tmp_path: Path) -> None:
    sb = sandbox_factory(seed=3, tasks=80)
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        _sync_and_check(sb, store)
    finally:
        store.close()


def test_sync_stores_allocations_and_ooo_postgres(sandbox_factory: Any) -> None:
    with throwaway_pg_database("resourcing") as url:
        sb = sandbox_factory(seed=3, tasks=80)
        store = Store.open(url)
        try:
            _sync_and_check(sb, store)
        finally:
            store.close()


def test_sync_skips_402_and_403_and_capacity_falls_back(
    sandbox_factory: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sb = sandbox_factory(resourcing=False)
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    with fast_gateway(sb) as gw:
        summary = sync_workspace(gw, store, sync_settings(sb), full=True)
    assert summary.status == "ok" and summary.counts["tasks"].created > 0
    assert summary.features["allocations"].startswith("not available (HTTP 402")
    assert summary.features["out-of-office"].startswith("not available (HTTP 403")
    assert {s["kind"] for s in summary.skips} >= {"allocations", "out-of-office"}
    assert summary.requests_by_endpoint["GET /ooo_entries"] == 1  # stops at the first 403
    assert "not available" in caplog.text
    ws = store.workspace()
    assert ws.allocations == () and ws.out_of_office == ()
    report = capacity_report(ws, weeks=3)  # config only, no crash
    assert report.people and all(w.allocated_hours == 0 for p in report.people for w in p.weeks)
    store.close()


def test_mapping_skips_bad_values() -> None:
    from tools.sync.mapping import MappingContext
    from tools.sync.mapping_extra import map_allocation, map_ooo_entry

    ctx = MappingContext()
    base = {"gid": "1", "start_date": "2026-12-01", "end_date": "2026-12-05", "assignee": {"gid": "u"}}
    assert map_allocation({**base, "effort": {"type": "hours", "value": 8}}, ctx) is not None
    assert map_allocation({**base, "effort": None}, ctx).effort_unit is None  # type: ignore[union-attr]
    for bad in (
        {**base, "effort": {"type": "days", "value": 2}},
        {**base, "effort": {"type": "hours", "value": float("nan")}},
        {**base, "effort": {"type": "percent", "value": -5}},
        {**base, "effort": {"type": "hours", "value": "lots"}},
        {**base, "end_date": "2026-11-01"},
        {**base, "start_date": None},
    ):
        assert map_allocation(bad, ctx) is None
    assert (
        map_ooo_entry({"gid": "2", "start_date": "2026-12-01", "end_date": "2026-12-02"}, ctx, "u").person_gid
        == "u"
    )  # type: ignore[union-attr]
    assert map_ooo_entry({"gid": "3", "start_date": "x", "end_date": "2026-12-02"}, ctx, "u") is None
    assert len(ctx.skips) == 7


# ---------------------------------------------------------------------------------------------------
# capacity: golden cases

MONDAY = datetime(2026, 11, 2, 8, tzinfo=UTC)  # as_of: a Monday, so week 0 is whole


def _ws(**kw: Any) -> Workspace:
    people = (Person(gid="u1", name="Ana"), Person(gid="u2", name="Ben"))
    projects = (Project(gid="p1", name="Build"), Project(gid="p2", name="Care"))
    return Workspace(people=people, projects=projects, as_of=MONDAY, **kw)


def test_ooo_week_reduces_capacity_and_raises_utilisation() -> None:
    # 32 h due Friday of week 0: without OOO, 6.4 h/day on 5 days -> 32 of 40 h (0.8).
    tasks = (
        make_task("t1", assignee_gid="u1", project_gid="p1", estimate_hours=32, due_on=date(2026, 11, 6)),
    )
    base = capacity_report(_ws(tasks=tasks), config=CapacityConfig(), weeks=2, apply_bias=False)
    w0 = next(p for p in base.people if p.person_gid == "u1").weeks[0]
    assert (w0.capacity_hours, w0.planned_hours, w0.utilisation, w0.status) == (40.0, 32.0, 0.8, "ok")
    # OOO Tue-Wed in Asana, config time off Wed-Thu: the union is 3 days (Wednesday counted once).
    ooo = (OutOfOffice(gid="o1", person_gid="u1", start_on=date(2026, 11, 3), end_on=date(2026, 11, 4)),)
    config = CapacityConfig(time_off=[TimeOff(person="Ana", start=date(2026, 11, 4), end=date(2026, 11, 5))])
    report = capacity_report(_ws(tasks=tasks, out_of_office=ooo), config=config, weeks=2, apply_bias=False)
    ana = next(p for p in report.people if p.person_gid == "u1")
    w0, w1 = ana.weeks
    assert w0.out_of_office_days == 3 and w0.capacity_hours == 16.0  # 2 working days x 8 h
    assert w0.planned_hours == 32.0 and w0.utilisation == 2.0 and w0.status == "over"  # Mon + Fri only
    assert (w1.capacity_hours, w1.out_of_office_days) == (40.0, 0)
    assert ("Ana", date(2026, 11, 2), 2.0) in report.over_allocated


def test_allocations_combine_with_estimates_per_project() -> None:
    tasks = (
        # Ana: 8 h of estimates on p1 this week, allocated 20 h/week on p1 -> the allocation holds 20 h.
        make_task("a", assignee_gid="u1", project_gid="p1", estimate_hours=8, due_on=date(2026, 11, 6)),
        # Ben: 30 h of estimates on p1 this week, allocated 20 h/week on p1 -> the estimates win (30 h).
        make_task("b", assignee_gid="u2", project_gid="p1", estimate_hours=30, due_on=date(2026, 11, 6)),
    )
    allocations = (
        Allocation(gid="x1", person_gid="u1", project_gid="p1", start_on=date(2026, 10, 1),
                   end_on=date(2026, 11, 13), effort_unit=EffortUnit.HOURS, effort_value=20),
        Allocation(gid="x2", person_gid="u2", project_gid="p1", start_on=date(2026, 11, 2),
                   end_on=date(2026, 11, 6), effort_unit=EffortUnit.HOURS, effort_value=20),
        # Ana also: 50% of her capacity on p2 (no tasks there) from Wednesday of week 1: 3 of 5 days.
        Allocation(gid="x3", person_gid="u1", project_gid="p2", start_on=date(2026, 11, 11),
                   end_on=date(2026, 12, 31), effort_unit=EffortUnit.PERCENT, effort_value=50),
    )  # fmt: skip
    report = capacity_report(
        _ws(tasks=tasks, allocations=allocations), config=CapacityConfig(), weeks=2, apply_bias=False
    )
    ana = next(p for p in report.people if p.person_gid == "u1")
    ben = next(p for p in report.people if p.person_gid == "u2")
    assert ana.allocations == 2 and ben.allocations == 1
    a0, a1 = ana.weeks
    assert (a0.planned_hours, a0.allocated_hours, a0.load_hours) == (8.0, 20.0, 20.0)  # max, not sum
    assert (a1.planned_hours, a1.allocated_hours, a1.load_hours) == (0.0, 32.0, 32.0)  # 20 + 12 on p2
    assert a1.utilisation == 0.8
    b0, b1 = ben.weeks
    assert (b0.planned_hours, b0.allocated_hours, b0.load_hours) == (30.0, 20.0, 30.0)
    assert (b1.allocated_hours, b1.load_hours) == (0.0, 0.0)
    # OOO also thins an allocation: Ana out Mon-Tue of week 1 keeps 3 of 5 days of p1's 20 h.
    ooo = (OutOfOffice(gid="o", person_gid="u1", start_on=date(2026, 11, 9), end_on=date(2026, 11, 10)),)
    with_ooo = capacity_report(
        _ws(tasks=tasks, allocations=allocations, out_of_office=ooo), weeks=2, apply_bias=False
    )
    w1 = next(p for p in with_ooo.people if p.person_gid == "u1").weeks[1]
    assert (w1.capacity_hours, w1.allocated_hours, w1.load_hours) == (24.0, 24.0, 24.0)  # 12 + 12


def test_capacity_from_synced_sandbox_sees_upcoming_ooo(sb: Sandbox, tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'c.db'}")
    with fast_gateway(sb) as gw:
        sync_workspace(gw, store, sync_settings(sb), full=True)
    as_of = datetime.fromisoformat(sb.truth.as_of).replace(tzinfo=UTC)
    ws = store.workspace(as_of=as_of)
    report = capacity_report(ws, weeks=8, apply_bias=False)
    store.close()
    horizon = (as_of.date(), as_of.date() + timedelta(days=56))
    upcoming = {
        p for p, rs in sb.truth.ooo.items() for s, e in rs if horizon[0] < date.fromisoformat(s) < horizon[1]
    }
    assert upcoming
    by_gid = {p.person_gid: p for p in report.people}
    for gid in upcoming:
        assert any(w.out_of_office_days > 0 and w.capacity_hours < p.weekly_capacity_hours
                   for p in [by_gid[gid]] for w in p.weeks)  # fmt: skip
    assert sum(w.allocated_hours for p in report.people for w in p.weeks) > 0


def test_state_api_adds_and_persists_resourcing(sandbox_factory: Any, tmp_path: Path) -> None:
    db = tmp_path / "sb.db"
    sb = sandbox_factory(db_path=db)
    project = next(iter(sb.truth.project_types))
    alloc = sb.state.add_allocation(
        sb.me_gid, project, "2026-12-01", "2026-12-31", {"type": "percent", "value": 30}
    )
    ooo = sb.state.add_ooo_entry(sb.me_gid, date(2026, 12, 7), date(2026, 12, 11))
    with pytest.raises(Exception, match="end_date"):
        sb.state.add_ooo_entry(sb.me_gid, "2026-12-07", "2026-12-01")
    sb.stop()
    again = sandbox_factory(db_path=db)  # reloaded from SQLite, not regenerated
    with fast_gateway(again) as gw:
        assert alloc["gid"] in {a.gid for a in gw.allocations(assignee=again.me_gid)}
        got = gw.ooo_entries(again.me_gid, again.workspace_gid, start_date="2026-12-01")
    assert [(o.gid, o.start_date, o.end_date) for o in got] == [(ooo["gid"], "2026-12-07", "2026-12-11")]
