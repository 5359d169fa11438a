"""Adversarial: hostile custom-field and entry values through the sync mapping: a logged skip or a clean
value, never an exception, and never a poisoned number (NaN, inf, negative, huge) in a record."""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest

from tools.sync import mapping

TASK_GID = "1208000000000101"


def task_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "gid": TASK_GID,
        "name": "Build checkout",
        "created_at": "2026-01-05T09:00:00.000Z",
        "completed": True,
        "completed_at": "2026-01-20T17:00:00.000Z",
        "custom_fields": [],
    }
    payload.update(overrides)
    return payload


def number_field(name: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {
        "gid": f"cf-{name}",
        "name": name,
        "resource_subtype": "number",
        "type": "number",
        "number_value": value,
        **extra,
    }


BAD_NUMBERS: list[tuple[str, Any]] = [
    ("text", "twelve"),
    ("numeric-string", "12"),
    ("nan", float("nan")),
    ("infinity", float("inf")),
    ("minus-infinity", float("-inf")),
    ("negative", -3.0),
    ("huge-1e308", 1e308),
    ("bool", True),
    ("list", [1, 2]),
    ("dict", {"value": 4}),
    ("nan-string", "NaN"),
    ("duration-huge", 10**12),
]


@pytest.mark.parametrize("field_name", ["Estimated Hours", "Actual Hours"])
@pytest.mark.parametrize("value", [v for _, v in BAD_NUMBERS], ids=[i for i, _ in BAD_NUMBERS])
def test_bad_number_field_is_skipped_with_reason(
    field_name: str, value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ctx = mapping.MappingContext()
    caplog.set_level(logging.INFO)
    task = mapping.map_task(task_payload(custom_fields=[number_field(field_name, value)]), ctx)
    assert task is not None, "one bad field must not drop the task"
    got = task.estimate_hours if field_name == "Estimated Hours" else task.actual_hours
    assert got is None
    assert len(ctx.skips) == 1 and ctx.skips.items[0].gid == TASK_GID
    assert field_name in ctx.skips.items[0].reason
    assert any("skipped" in r.getMessage() for r in caplog.records)


def test_missing_number_value_is_simply_absent() -> None:
    ctx = mapping.MappingContext()
    task = mapping.map_task(task_payload(custom_fields=[number_field("Estimated Hours", None)]), ctx)
    assert task is not None and task.estimate_hours is None and len(ctx.skips) == 0


def test_wrong_type_field_with_estimate_name_is_not_hours() -> None:
    ctx = mapping.MappingContext()
    cf = {
        "gid": "cf-e",
        "name": "Estimated Hours",
        "resource_subtype": "enum",
        "enum_value": {"name": "Large"},
    }
    task = mapping.map_task(task_payload(custom_fields=[cf]), ctx)
    assert task is not None and task.estimate_hours is None


MALFORMED_TASKS: list[tuple[str, dict[str, Any]]] = [
    ("no-gid", {"gid": None}),
    ("created-at-garbage", {"created_at": "yesterday-ish"}),
    ("created-at-number", {"created_at": 12345}),
    ("custom-fields-string", {"custom_fields": "Estimated Hours=3"}),
    ("custom-field-not-dict", {"custom_fields": [None, 5, "x"]}),
    ("actual-minutes-text", {"actual_time_minutes": "ninety"}),
    ("actual-minutes-negative", {"actual_time_minutes": -90}),
    ("actual-minutes-nan", {"actual_time_minutes": float("nan")}),
    ("tags-garbage", {"tags": [None, 3, {"name": None}, {"name": "ok"}]}),
    ("assignee-number", {"assignee": 42}),
    ("notes-not-text", {"notes": {"html": "<b>x</b>"}}),
    ("due-on-garbage", {"due_on": "31/02/2026"}),
]


@pytest.mark.parametrize("overrides", [o for _, o in MALFORMED_TASKS], ids=[i for i, _ in MALFORMED_TASKS])
def test_malformed_task_never_raises(overrides: dict[str, Any]) -> None:
    ctx = mapping.MappingContext()
    task = mapping.map_task(task_payload(**overrides), ctx)
    if task is None:
        assert len(ctx.skips) >= 1, "a dropped record must be a logged skip"
        return
    for value in (task.estimate_hours, task.actual_hours):
        assert value is None or (math.isfinite(value) and 0 <= value <= mapping.MAX_HOURS)
    assert isinstance(task.notes, str) and all(isinstance(t, str) for t in task.tags)


BAD_ENTRIES: list[tuple[str, dict[str, Any]]] = [
    ("duration-text", {"duration_minutes": "sixty"}),
    ("duration-nan", {"duration_minutes": float("nan")}),
    ("duration-negative", {"duration_minutes": -30}),
    ("duration-fraction", {"duration_minutes": 12.5}),
    ("duration-huge", {"duration_minutes": 1e308}),
    ("duration-missing", {"duration_minutes": None}),
    ("entered-on-garbage", {"entered_on": "someday"}),
    ("no-task", {"task": None}),
]


@pytest.mark.parametrize("overrides", [o for _, o in BAD_ENTRIES], ids=[i for i, _ in BAD_ENTRIES])
def test_bad_time_entry_is_a_logged_skip(overrides: dict[str, Any]) -> None:
    ctx = mapping.MappingContext()
    payload = {
        "gid": "1208000000000201",
        "task": {"gid": TASK_GID},
        "duration_minutes": 60,
        "entered_on": "2026-01-06",
        "created_by": {"gid": "u1"},
    }
    payload.update(overrides)
    entry = mapping.map_entry(payload, ctx)
    assert entry is None
    assert len(ctx.skips) == 1 and ctx.skips.items[0].kind == "entry"


def test_zero_minute_entry_is_kept_for_the_anomaly_detector() -> None:
    ctx = mapping.MappingContext()
    payload = {
        "gid": "1208000000000202",
        "task": {"gid": TASK_GID},
        "duration_minutes": 0,
        "entered_on": "2026-01-06",
    }
    entry = mapping.map_entry(payload, ctx)
    assert entry is not None and entry.duration_minutes == 0


def test_good_values_still_map() -> None:
    ctx = mapping.MappingContext()
    fields = [number_field("Estimated Hours", 8), number_field("Actual Hours", 600, format="duration")]
    task = mapping.map_task(task_payload(custom_fields=fields), ctx)
    assert task is not None and task.estimate_hours == 8 and task.actual_hours == 10
    assert len(ctx.skips) == 0


WRONG_TYPES: list[tuple[str, dict[str, Any]]] = [
    ("custom-fields-int", {"custom_fields": 5}),
    ("tags-int", {"tags": 5}),
    ("memberships-int", {"memberships": 5}),
]


@pytest.mark.parametrize("overrides", [o for _, o in WRONG_TYPES], ids=[i for i, _ in WRONG_TYPES])
def test_wrong_container_type_is_a_skip(overrides: dict[str, Any]) -> None:
    ctx = mapping.MappingContext()
    task = mapping.map_task(task_payload(**overrides), ctx)
    assert task is not None or len(ctx.skips) == 1
