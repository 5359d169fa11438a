"""`effort analyze …` end to end over a real SQLite store filled with the tiny fixture workspace."""

from __future__ import annotations

import json
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
    result = CliRunner().invoke(app, ["analyze", *args])
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
