"""Field mapping: pure functions over raw payload dicts, including bad values (skipped, never a crash)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import pytest

from tools.records import ActualSource, BillableStatus, FieldChange
from tools.sync.mapping import (
    FieldMappingRules,
    MappingContext,
    map_entry,
    map_project,
    map_story,
    map_task,
    unit_hours,
)


def _cf(
    name: str,
    value: object,
    *,
    gid: str = "CF1",
    fmt: str = "none",
    label: str | None = None,
    subtype: str = "number",
) -> dict:
    return {
        "gid": gid,
        "name": name,
        "resource_subtype": subtype,
        "type": subtype,
        "format": fmt,
        "custom_label": label,
        "number_value": value,
        "display_value": None if value is None else str(value),
    }


def _task(*fields: dict, **extra: object) -> dict:
    base: dict[str, Any] = {
        "gid": "T1",
        "name": "Build login",
        "created_at": "2026-01-05T09:00:00.000Z",
        "modified_at": "2026-01-07T09:00:00.000Z",
        "memberships": [{"project": {"gid": "P1", "name": "Web"}, "section": {"gid": "S1", "name": "Doing"}}],
        "projects": [{"gid": "P1", "name": "Web"}],
        "assignee": {"gid": "U1", "name": "Ada"},
        "tags": [{"gid": "G1", "name": "backend"}],
        "custom_fields": list(fields),
    }
    base.update(extra)
    return base


def test_estimate_and_actual_in_hours_from_custom_fields() -> None:
    ctx = MappingContext()
    t = map_task(_task(_cf("Estimated Hours", 4.5), _cf("Actual Hours", 6, gid="CF2")), ctx)
    assert t is not None
    assert (t.estimate_hours, t.actual_hours, t.actual_source) == (4.5, 6.0, ActualSource.CUSTOM_FIELD)
    assert (t.project_gid, t.section, t.tags, t.assignee_name) == ("P1", "Doing", ("backend",), "Ada")
    assert t.created_at == datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert len(ctx.skips) == 0


@pytest.mark.parametrize(
    ("fmt", "label", "name", "factor"),
    [
        ("duration", None, "Estimate", 1 / 60),  # Asana duration format stores minutes
        ("custom", "min", "Estimate", 1 / 60),
        ("custom", "h", "Estimate", 1.0),
        ("custom", "days", "Estimate", 8.0),
        ("none", None, "Estimate (minutes)", 1 / 60),
        ("none", None, "Estimated Hours", 1.0),
    ],
)
def test_units_are_normalised_to_hours(fmt: str, label: str | None, name: str, factor: float) -> None:
    assert unit_hours({"format": fmt, "custom_label": label, "name": name}) == pytest.approx(factor)


def test_duration_field_maps_minutes_to_hours() -> None:
    t = map_task(_task(_cf("Estimate", 90, fmt="duration")), MappingContext())
    assert t is not None and t.estimate_hours == pytest.approx(1.5)


@pytest.mark.parametrize("bad", ["lots", math.nan, math.inf, -3, 50_000, True, {"x": 1}])
def test_bad_number_values_are_skipped_with_a_reason(bad: object) -> None:
    ctx = MappingContext()
    t = map_task(_task(_cf("Estimated Hours", bad)), ctx)
    assert t is not None and t.estimate_hours is None
    assert len(ctx.skips) == 1 and ctx.skips.items[0].gid == "T1"
    assert "Estimated Hours" in ctx.skips.items[0].reason


def test_missing_created_at_skips_the_task_not_the_sync() -> None:
    ctx = MappingContext()
    assert map_task(_task(created_at=None), ctx) is None
    assert map_task({"name": "no gid"}, ctx) is None
    assert [s.kind for s in ctx.skips.items] == ["task", "task"]


def test_actual_falls_back_to_native_minutes_then_entry_sum() -> None:
    ctx = MappingContext(entry_minutes={"T1": 150})
    native = map_task(_task(actual_time_minutes=120), ctx)
    assert native is not None and (native.actual_hours, native.actual_source) == (2.0, ActualSource.NATIVE)
    summed = map_task(_task(actual_time_minutes=None), ctx)
    assert summed is not None and (summed.actual_hours, summed.actual_source) == (2.5, ActualSource.ENTRIES)
    none = map_task(_task(actual_time_minutes=0), MappingContext())
    assert none is not None and (none.actual_hours, none.actual_source) == (None, ActualSource.NONE)


def test_overrides_by_gid_and_type_check() -> None:
    rules = FieldMappingRules(estimate=["CF9"])
    t = map_task(
        _task(_cf("Budget thing", 3, gid="CF9"), _cf("Estimated Hours", 7)), MappingContext(rules=rules)
    )
    assert t is not None and t.estimate_hours == 3
    # An enum called "Estimate" is not an hours field.
    enum = {
        "gid": "CF3",
        "name": "Estimate",
        "resource_subtype": "enum",
        "enum_value": {"gid": "O1", "name": "L"},
    }
    t2 = map_task(_task(enum), MappingContext())
    assert t2 is not None and t2.estimate_hours is None


def test_ai_fields_and_billable() -> None:
    billable = {
        "gid": "CF4",
        "name": "Billable",
        "resource_subtype": "enum",
        "enum_value": {"gid": "O", "name": "Yes"},
    }
    t = map_task(_task(_cf("AI Estimate Hours", 5.0, gid="CF5"), billable), MappingContext())
    assert t is not None and t.ai_fields == {"AI Estimate Hours": 5.0} and t.billable is True


def test_scope_picks_the_home_project() -> None:
    payload = _task(
        memberships=[{"project": {"gid": "P0", "name": "Other"}}, {"project": {"gid": "P1", "name": "Web"}}]
    )
    t = map_task(payload, MappingContext(scope_projects={"P1"}))
    assert t is not None and t.project_gid == "P1"


def test_project_fields() -> None:
    payload = {
        "gid": "P1",
        "name": "Acme site",
        "archived": False,
        "custom_fields": [
            {"gid": "C1", "name": "Client", "resource_subtype": "text", "text_value": "Acme"},
            {
                "gid": "C2",
                "name": "Hourly Rate",
                "resource_subtype": "number",
                "number_value": 120,
                "currency_code": "EUR",
            },
            {
                "gid": "C3",
                "name": "Project Type",
                "resource_subtype": "enum",
                "enum_value": {"gid": "O", "name": "client build"},
            },
        ],
    }
    p = map_project(payload, MappingContext())
    assert p is not None
    assert (p.client, p.hourly_rate, p.currency, p.project_type) == ("Acme", 120.0, "EUR", "client build")
    ctx = MappingContext()
    bad = map_project(
        {
            **payload,
            "custom_fields": [
                {"gid": "C2", "name": "Rate", "resource_subtype": "number", "number_value": "x"}
            ],
        },
        ctx,
    )
    assert bad is not None and bad.hourly_rate is None and len(ctx.skips) == 1


def test_entries_good_and_bad() -> None:
    ctx = MappingContext()
    good = map_entry(
        {
            "gid": "E1",
            "duration_minutes": 45,
            "entered_on": "2026-01-05",
            "created_by": {"gid": "U1"},
            "attributable_to": {"gid": "P1"},
            "billable_status": "billable",
        },
        ctx,
        "T1",
    )
    assert good is not None and (good.duration_minutes, good.entered_on, good.billable_status) == (
        45,
        date(2026, 1, 5),
        BillableStatus.BILLABLE,
    )
    zero = map_entry({"gid": "E0", "duration_minutes": 0, "entered_on": "2026-01-05"}, ctx, "T1")
    assert zero is not None and zero.duration_minutes == 0  # kept: the anomaly detector flags it
    for bad in (
        {"gid": "E2", "duration_minutes": "1h", "entered_on": "2026-01-05"},
        {"gid": "E3", "duration_minutes": -5, "entered_on": "2026-01-05"},
        {"gid": "E4", "duration_minutes": 30, "entered_on": "yesterday"},
        {"gid": "E5", "duration_minutes": math.nan, "entered_on": "2026-01-05"},
    ):
        assert map_entry(bad, ctx, "T1") is None
    assert len(ctx.skips) == 4


def test_stories_become_field_changes_and_comments() -> None:
    ctx = MappingContext(field_units={"CF1": 1 / 60})
    change = map_story(
        {
            "gid": "S1",
            "resource_subtype": "number_custom_field_changed",
            "created_at": "2026-01-06T10:00:00Z",
            "custom_field": {"gid": "CF1", "name": "Estimate"},
            "old_number_value": 120,
            "new_number_value": 240,
            "created_by": {"gid": "U1"},
        },
        "T1",
        ctx,
    )
    assert isinstance(change, FieldChange) and (change.old_value, change.new_value) == (2.0, 4.0)
    from_text = map_story(
        {
            "gid": "S2",
            "resource_subtype": "number_custom_field_changed",
            "created_at": "2026-01-06T10:00:00Z",
            "text": 'changed Estimated Hours from "3" to "5"',
        },
        "T1",
        MappingContext(),
    )
    assert (
        isinstance(from_text, FieldChange)
        and from_text.field_name == "Estimated Hours"
        and from_text.new_value == 5.0
    )
    comment = map_story(
        {
            "gid": "S3",
            "resource_subtype": "comment_added",
            "created_at": "2026-01-06T10:00:00Z",
            "text": "hi",
        },
        "T1",
        ctx,
    )
    assert comment is not None and getattr(comment, "text", None) == "hi"
    assert (
        map_story(
            {"gid": "S4", "resource_subtype": "assigned", "created_at": "2026-01-06T10:00:00Z"}, "T1", ctx
        )
        is None
    )


def test_timesheet_csv_is_parsed_with_bad_rows_skipped() -> None:
    from tools.sync.timesheets import parse_timesheet

    sheet = parse_timesheet(
        b"date,person,project,task,hours,billable,notes\n"
        b"2026-01-05,Ada,Web,Login,1.50,True,ok\n"
        b"2026-01-06,Ada,Web,Login,lots,True,\n"
        b"someday,Ada,Web,Login,2,False,\n"
        b"2026-01-07,Ada,Web,Login,-1,False,\n"
        b"2026-01-08,Ada,Web,Deploy,2.25,False,\n"
    )
    assert [(r.date.day, r.hours, r.billable) for r in sheet.rows] == [(5, 1.5, True), (8, 2.25, False)]
    assert sheet.total_hours == 3.75 and len(sheet.problems) == 3 and sheet.problems[0].startswith("row 3")
    for broken in (b"", b"\x89PNG\x00\x01", b"just,some,columns\n1,2,3\n", b'date,hours\n"2026-01-05,2\n'):
        with pytest.raises(ValueError):
            parse_timesheet(broken)
