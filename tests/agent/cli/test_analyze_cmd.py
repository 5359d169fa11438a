"""`effort analyze …` end to end over a real SQLite store filled with the tiny fixture workspace."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tests.fixtures.analytics import tiny_workspace
from tests.fixtures.store import store_workspace


@pytest.fixture
def analytics_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EFFORT_DATABASE_URL", store_workspace(tiny_workspace(), tmp_path / "effort.db"))
    monkeypatch.chdir(tmp_path)  # no stray effort.toml
    return tmp_path


def _run(*args: str) -> str:
    result = CliRunner().invoke(app, ["analyze", *args], env={"COLUMNS": "120"})  # names unwrapped
    assert result.exit_code == 0, result.output
    return result.output


def test_variance_json(analytics_store: Path) -> None:
    data = json.loads(_run("variance", "--json", "--as-of", "2026-10-28"))
    assert data["overall"]["median_ratio"] == 1.2
    assert {g["label"] for g in data["by"]["assignee"]} == {"Alice", "Bob", "Carol"}


def test_billing_csv_to_file(analytics_store: Path) -> None:
    out = analytics_store / "oct.csv"
    _run("billing", "--period", "2026-10", "--format", "csv", "--out", str(out))
    lines = out.read_text().splitlines()
    assert lines[0].startswith("client,project,task")
    assert sum(int(line.split(",")[5]) for line in lines[1:]) == 1740


def test_billing_markdown_stdout(analytics_store: Path) -> None:
    text = _run("billing", "--period", "2026-10", "--format", "md")
    assert "Total EUR: 2900.00" in text and "Draft only" in text


def test_tables_render(analytics_store: Path) -> None:
    assert "duplicate" in _run("anomalies", "--as-of", "2026-10-28")
    assert "Alice" in _run("capacity", "--as-of", "2026-10-28", "--weeks", "3")
    assert "Website Redesign" in _run("forecast", "--as-of", "2026-10-28", "--sims", "500")
    assert "Scope creep" in _run("retro", "--period", "2026-10", "--as-of", "2026-10-28")


def test_bad_input_is_a_clear_error(analytics_store: Path) -> None:
    result = CliRunner().invoke(app, ["analyze", "billing", "--period", "Octember"])
    assert result.exit_code == 2 and "bad --period" in result.output
    result = CliRunner().invoke(app, ["analyze", "variance", "--by", "colour"])
    assert result.exit_code == 2 and "unknown dimension" in result.output


def test_config_capacity_and_ics(analytics_store: Path) -> None:
    (analytics_store / "off.ics").write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:1\nSUMMARY:Alice: leave\n"
        "DTSTART;VALUE=DATE:20261102\nDTEND;VALUE=DATE:20261107\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    config = analytics_store / "effort.toml"
    config.write_text('[capacity]\nics_file = "off.ics"\n[capacity.per_person]\nBob = 32\n')
    data = json.loads(
        _run("capacity", "--json", "--as-of", "2026-10-28", "--weeks", "2", "--config", str(config))
    )
    people = {p["name"]: p for p in data["people"]}
    assert people["Bob"]["weekly_capacity_hours"] == 32.0
    assert people["Alice"]["weeks"][1]["capacity_hours"] == 0.0  # on leave all week (from the .ics)


def test_unreadable_store_error_hides_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EFFORT_DATABASE_URL", "postgresql://bob:s3cretpw@127.0.0.1:1/nodb")
    result = CliRunner().invoke(app, ["analyze", "variance"])
    assert result.exit_code == 2 and "cannot read the store" in result.output
    assert "s3cretpw" not in result.output


def test_every_analysis_states_how_fresh_its_data_is(analytics_store: Path) -> None:
    """Issue 15: answers say "data as of …" (here no sync run was recorded, and it says so)."""
    for args in (
        ["variance"],
        ["anomalies", "--as-of", "2026-10-28"],
        ["capacity", "--as-of", "2026-10-28", "--weeks", "2"],
        ["forecast", "--as-of", "2026-10-28", "--sims", "200"],
        ["retro", "--period", "2026-10", "--as-of", "2026-10-28"],
    ):
        out = _run(*args)
        assert "data as of an unknown time (no sync recorded" in out, args
        assert "analysis as of" in out, args
        data = json.loads(_run(*args, "--json"))
        assert data["data_freshness"]["tasks"] > 0 and data["data_freshness"]["synced_at"] is None
    result = CliRunner().invoke(app, ["analyze", "billing", "--period", "2026-10", "--format", "csv"])
    assert result.exit_code == 0 and "data as of" in result.output  # on stderr, beside the CSV


def test_after_a_sync_the_time_of_that_sync_is_stated(analytics_store: Path) -> None:
    from tools.store import Store

    store = Store.open(f"sqlite:///{analytics_store / 'effort.db'}")
    store.finish_sync_run(store.start_sync_run(full=True), "ok", {})
    out = _run("variance")
    assert re.search(r"data as of 20\d\d-\d\d-\d\d \d\d:\d\d UTC \(last full sync; \d+ tasks", out), out


def test_an_empty_store_says_to_sync_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EFFORT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    for args in (["variance"], ["capacity"], ["forecast"], ["retro"], ["billing", "--period", "2026-10"]):
        result = CliRunner().invoke(app, ["analyze", *args])
        assert result.exit_code == 1, (args, result.output)
        assert "nothing synced yet: run `effort sync`" in result.output, args
        assert "Traceback" not in result.output


def test_forecast_prints_iso_dates_and_takes_project_names(analytics_store: Path) -> None:
    out = _run("forecast", "--as-of", "2026-10-28", "--sims", "300", "--project", "website redesign")
    assert "Website Redesign" in out
    assert re.search(r"\b20\d\d-\d\d-\d\d\b", out)
    assert not re.search(r"(?<![\d-])\d\d-\d\d-\d\d(?![\d-])", out), out  # no two-digit years
    data = json.loads(
        _run("forecast", "--json", "--as-of", "2026-10-28", "--sims", "300", "--project", "Website Redesign")
    )
    assert [p["name"] for p in data["projects"]] == ["Website Redesign"]
