"""The workspace generator: deterministic, realistic distributions, seeded anomalies with ground truth."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import httpx
import pytest

from sandbox import Sandbox
from sandbox.generator import ANOMALY_KINDS, GeneratedWorkspace, export_payloads, generate
from sandbox.state import SandboxState


@pytest.fixture(scope="module")
def ws() -> GeneratedWorkspace:
    return generate(seed=11, tasks=1500)


def _by_kind(ws: GeneratedWorkspace, kind: str) -> list[dict[str, Any]]:
    return [o for k, o in ws.objects if k == kind]


def test_same_seed_same_workspace() -> None:
    a, b, c = generate(seed=4, tasks=200), generate(seed=4, tasks=200), generate(seed=5, tasks=200)
    assert json.dumps(a.objects, sort_keys=True) == json.dumps(b.objects, sort_keys=True)
    assert a.truth == b.truth and a.files == b.files
    assert json.dumps(a.objects, sort_keys=True) != json.dumps(c.objects, sort_keys=True)


def test_shape_and_realism(ws: GeneratedWorkspace) -> None:
    tasks, entries = _by_kind(ws, "task"), _by_kind(ws, "time_tracking_entry")
    assert len(tasks) == 1500
    assert 8 <= len(ws.truth.person_names) <= 20
    assert set(ws.truth.project_types.values()) == {"client build", "internal tool", "marketing", "support"}
    assert set(ws.truth.field_gids) >= {
        "Project Type",
        "Client",
        "Hourly Rate",
        "Estimated Hours",
        "Actual Hours",
        "Priority",
    }
    per_task = len(entries) / len(tasks)
    assert 6 <= per_task <= 13  # ~10 sessions per task by default; short same-day pieces are one entry
    clean = [e for e in entries if e["gid"] not in ws.truth.anomalies]
    weekday_share = sum(date.fromisoformat(e["entered_on"]).weekday() < 5 for e in clean) / len(clean)
    assert weekday_share == 1.0  # weekend logging only as a seeded anomaly
    assert {e["billable_status"] for e in entries} == {"billable", "nonBillable", "notApplicable"}
    open_tasks = [t for t in tasks if not t["completed"]]
    assert open_tasks and all(t["due_on"] and t["assignee"] for t in open_tasks)
    assert 0.5 < 1 - len(open_tasks) / len(tasks) < 0.98
    est, act = ws.truth.field_gids["Estimated Hours"], ws.truth.field_gids["Actual Hours"]
    no_estimate = sum(est not in t["custom_field_values"] for t in tasks) / len(tasks)
    assert 0.03 < no_estimate < 0.2
    done = [t for t in tasks if t["completed"]]
    no_actual_field = sum(act not in t["custom_field_values"] for t in done) / len(done)
    assert 0.15 < no_actual_field < 0.45  # those fall back to actual_time_minutes
    assert len({t["name"] for t in tasks}) > 300  # varied titles
    assert ws.truth.at_risk_projects and ws.truth.scope_creep and ws.truth.hostile_tasks
    stories = _by_kind(ws, "story")
    assert Counter(s["resource_subtype"] for s in stories)["number_custom_field_changed"] == len(
        ws.truth.scope_creep
    )


def test_person_bias_matches_truth(ws: GeneratedWorkspace) -> None:
    """Median actual/estimate per person recovers the generated bias (times the type mix)."""
    est, act = ws.truth.field_gids["Estimated Hours"], ws.truth.field_gids["Actual Hours"]
    ratios: dict[str, list[float]] = defaultdict(list)
    project_type = ws.truth.project_types
    for t in _by_kind(ws, "task"):
        v = t["custom_field_values"]
        if (
            t["completed"]
            and est in v
            and act in v
            and t["gid"] not in ws.truth.anomalies
            and t["gid"] not in ws.truth.scope_creep
        ):
            type_bias = ws.truth.type_bias[project_type[t["projects"][0]]]
            ratios[t["assignee"]].append(v[act] / v[est] / type_bias)
    checked = 0
    for person, rs in ratios.items():
        if len(rs) >= 40:
            assert abs(math.log(statistics.median(rs)) - math.log(ws.truth.person_bias[person])) < 0.2
            checked += 1
    assert checked >= 5
    biases = list(ws.truth.person_bias.values())
    assert max(biases) / min(biases) > 1.2  # people differ


def test_anomalies_present_and_true(ws: GeneratedWorkspace) -> None:
    kinds = Counter(ws.truth.anomalies.values())
    assert set(kinds) == set(ANOMALY_KINDS)
    entries = {e["gid"]: e for e in _by_kind(ws, "time_tracking_entry")}
    tasks = {t["gid"]: t for t in _by_kind(ws, "task")}
    as_of = date.fromisoformat(ws.truth.as_of)
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in entries.values():
        by_task[e["task"]].append(e)
    for gid, kind in ws.truth.anomalies.items():
        if kind == "weekend":
            assert date.fromisoformat(entries[gid]["entered_on"]).weekday() >= 5
        elif kind == "duplicate":
            e = entries[gid]
            twins = [
                x
                for x in by_task[e["task"]]
                if x["gid"] != gid
                and (x["entered_on"], x["duration_minutes"], x["created_by"])
                == (e["entered_on"], e["duration_minutes"], e["created_by"])
            ]
            assert twins
        elif kind == "implausible_duration":
            assert entries[gid]["duration_minutes"] > 16 * 60
        elif kind == "zero_duration":
            assert entries[gid]["duration_minutes"] == 0
        elif kind == "future_date":
            assert date.fromisoformat(entries[gid]["entered_on"]) > as_of
        elif kind == "missing_logs":
            assert tasks[gid]["completed"] and not by_task[gid]
            assert ws.truth.field_gids["Actual Hours"] in tasks[gid]["custom_field_values"]
        elif kind == "huge_variance":
            v = tasks[gid]["custom_field_values"]
            est = v.get(ws.truth.field_gids["Estimated Hours"])
            spent = sum(e["duration_minutes"] for e in by_task[gid]) / 60
            if est and tasks[gid]["completed"] and spent:
                assert spent / est > 1.8 or spent / est < 0.5


def test_timesheet_csv_matches_entries(ws: GeneratedWorkspace) -> None:
    """Each CSV is one person's month on one project, row for row the native entries."""
    assert ws.truth.timesheet_attachments
    names = {p["gid"]: p["name"] for p in _by_kind(ws, "project")}
    minutes: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for e in _by_kind(ws, "time_tracking_entry"):
        key = (ws.truth.person_names[e["created_by"]], names[e["attributable_to"]], e["entered_on"][:7])
        minutes[key].append(e["duration_minutes"])
    for gid in ws.truth.timesheet_attachments:
        rows = list(csv.DictReader(io.StringIO(ws.files[gid].decode())))
        key = (rows[0]["person"], rows[0]["project"], rows[0]["date"][:7])
        assert len(rows) == len(minutes[key]) >= 5
        assert sum(float(r["hours"]) for r in rows) == pytest.approx(
            sum(minutes[key]) / 60, abs=0.01 * len(rows)
        )


def test_export_payloads_equal_api_records() -> None:
    with Sandbox.start(seed=6, tasks=30) as sb:
        payloads = export_payloads(sb.state, sb.base_url)
        task = next(t for t in payloads["task"] if t["actual_time_minutes"])
        auth = {"Authorization": f"Bearer {sb.token}"}
        assert httpx.get(f"{sb.base_url}/tasks/{task['gid']}", headers=auth).json()["data"] == task
        entry = payloads["time_tracking_entry"][0]
        assert (
            httpx.get(f"{sb.base_url}/time_tracking_entries/{entry['gid']}", headers=auth).json()["data"]
            == entry
        )
        assert {"task", "billable_status", "description"} <= set(entry)
        assert len(payloads["task"]) == 30


def test_populate_into_state_counts() -> None:
    state = SandboxState()
    from sandbox.generator import populate

    ws = populate(state, seed=1, tasks=50)
    assert len(state.objects["task"]) == 50
    assert sum(len(v) for v in state.entries_by_task.values()) == ws.counts["time_tracking_entry"]
    assert state.meta["truth"]["anomalies"] == ws.truth.anomalies
