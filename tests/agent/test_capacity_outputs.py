"""Asana allocations and out-of-office weeks where capacity is shown: the chat tool, `effort analyze
capacity` (table and --json), the Markdown and HTML reports; and past OOO in the burnout history."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.config import CapacityConfig, Settings, TimeOff
from agent.context import AgentContext
from agent.reports import ReportData, render_html, render_markdown
from agent.reports.adapter import capacity_cells
from tests.fixtures.analytics import make_entry, make_task
from tests.fixtures.store import store_workspace
from tools.agent_tools import run_read
from tools.agent_tools.budget import count_tokens, tool_budget
from tools.analytics.capacity import capacity_report
from tools.records import Allocation, EffortUnit, OutOfOffice, Person, Project, Workspace

MONDAY = datetime(2026, 11, 2, 8, tzinfo=UTC)  # as_of: a Monday, so week 0 is whole
HOSTILE = '<img src=x onerror=alert(1)> "Ana" | [x](javascript:evil)'


def _ws(ana: str = "Ana", **kw: Any) -> Workspace:
    people = (Person(gid="u1", name=ana), Person(gid="u2", name="Ben"))
    projects = (Project(gid="p1", name="Build"), Project(gid="p2", name="Care"))
    return Workspace(people=people, projects=projects, as_of=MONDAY, **kw)


def _resourced(ana: str = "Ana") -> Workspace:
    """Ana: 8 h due Friday on p1, allocated 20 h/week on p1 (to 2026-11-13), out Tue-Wed of week 1.

    Week 0: allocation 20 h (> 8 h of estimates) -> load 20 of 40 h. Week 1: 3 of 5 working days left,
    so capacity 24 h and the allocation 3/5 x 20 = 12 h. Ben has one estimated task and nothing else.
    """
    tasks = (
        make_task("a", assignee_gid="u1", project_gid="p1", estimate_hours=8, due_on=date(2026, 11, 6)),
        make_task("b", assignee_gid="u2", project_gid="p2", estimate_hours=10, due_on=date(2026, 11, 6)),
    )
    allocations = (
        Allocation(gid="x1", person_gid="u1", project_gid="p1", start_on=date(2026, 10, 1),
                   end_on=date(2026, 11, 13), effort_unit=EffortUnit.HOURS, effort_value=20),
    )  # fmt: skip
    ooo = (OutOfOffice(gid="o1", person_gid="u1", start_on=date(2026, 11, 10), end_on=date(2026, 11, 11)),)
    return _ws(ana, tasks=tasks, allocations=allocations, out_of_office=ooo)


def test_the_fixture_numbers() -> None:
    report = capacity_report(_resourced(), config=CapacityConfig(), weeks=2, apply_bias=False)
    ana = next(p for p in report.people if p.person_gid == "u1")
    w0, w1 = ana.weeks
    assert ana.allocations == 1
    assert (w0.allocated_hours, w0.load_hours, w0.capacity_hours, w0.out_of_office_days) == (20, 20, 40, 0)
    assert (w1.allocated_hours, w1.load_hours, w1.capacity_hours, w1.out_of_office_days) == (12, 12, 24, 2)


# ---------------------------------------------------------------------------------------------------
# burnout history: past weeks measured against the capacity left after OOO / time off


def _history_ws(**kw: Any) -> Workspace:
    """Ana logged 46 h in the week of 2026-10-19 and 30 h (Wed-Fri) in the week of 2026-10-26.

    Against a nominal 40 h: 115% then 75%, one overloaded week, no burnout signal. With Mon-Tue of
    the second week out of office its capacity is 3 x 8 = 24 h: 30 / 24 = 125%, two weeks in a row.
    Nothing is open, so the weeks ahead are empty and cannot make a run on their own.
    """
    tasks = (make_task("d", assignee_gid="u1", project_gid="p1", estimate_hours=70, completed_at=MONDAY),)
    days = ["2026-10-19", "2026-10-20", "2026-10-21", "2026-10-22", "2026-10-23"]
    minutes = [600, 600, 540, 480, 540]  # 46 h
    entries = [
        make_entry(f"e{i}", "d", "u1", d, m) for i, (d, m) in enumerate(zip(days, minutes, strict=True))
    ]
    entries += [
        make_entry(f"f{i}", "d", "u1", d, 600)
        for i, d in enumerate(["2026-10-28", "2026-10-29", "2026-10-30"])
    ]
    return _ws(tasks=tasks, entries=tuple(entries), **kw)


def test_past_ooo_lowers_the_burnout_history_capacity() -> None:
    plain = capacity_report(_history_ws(), config=CapacityConfig(), weeks=2, apply_bias=False)
    ana = next(p for p in plain.people if p.person_gid == "u1")
    assert ana.recent_weekly_hours[-2:] == [46.0, 30.0]
    assert not ana.burnout and plain.burnout == []  # 115% then 75%: a single week over

    ooo = (OutOfOffice(gid="o", person_gid="u1", start_on=date(2026, 10, 26), end_on=date(2026, 10, 27)),)
    report = capacity_report(
        _history_ws(out_of_office=ooo), config=CapacityConfig(), weeks=2, apply_bias=False
    )
    ana = next(p for p in report.people if p.person_gid == "u1")
    assert ana.recent_weekly_hours[-2:] == [46.0, 30.0]  # the hours are the same...
    assert ana.burnout and ana.burnout_weeks == [date(2026, 10, 19), date(2026, 10, 26)]  # ...30 of 24 h
    assert report.burnout == ["Ana"]
    assert [w.capacity_hours for w in ana.weeks] == [40.0, 40.0]  # the weeks ahead are untouched

    # Configured time off counts the same as an Asana OOO entry.
    config = CapacityConfig(
        time_off=[TimeOff(person="Ana", start=date(2026, 10, 26), end=date(2026, 10, 27))]
    )
    by_config = capacity_report(_history_ws(), config=config, weeks=2, apply_bias=False)
    assert by_config.burnout == ["Ana"]


def test_a_past_week_with_one_ooo_day_stays_under_the_line() -> None:
    # One day off: 30 of 32 h is 94%, not over 110%; the run stays a single week.
    ooo = (OutOfOffice(gid="o", person_gid="u1", start_on=date(2026, 10, 26), end_on=date(2026, 10, 26)),)
    report = capacity_report(
        _history_ws(out_of_office=ooo), config=CapacityConfig(), weeks=2, apply_bias=False
    )
    assert report.burnout == []


# ---------------------------------------------------------------------------------------------------
# chat tool


def _ctx(ws: Workspace, tmp_path: Path) -> AgentContext:
    settings = Settings(EFFORT_DATABASE_URL=f"sqlite:///{tmp_path}/effort.db", EFFORT_DATA_DIR=tmp_path)
    return AgentContext.for_workspace(ws, settings)


def test_chat_capacity_mentions_allocations_and_time_off(tmp_path: Path) -> None:
    out = run_read("capacity", _ctx(_resourced(), tmp_path), {"weeks_ahead": 2})
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("person |"))
    assert header.endswith("| Asana allocated h in view (n) | days off (OOO/time off) by week")
    ana = next(line for line in lines if line.startswith("<<task-text>>Ana"))
    assert ana.endswith("| 32h (1) | 2d 2026-11-09")  # 20 h + 12 h allocated; out 2 days in week 1
    ben = next(line for line in lines if line.startswith("<<task-text>>Ben"))
    assert ben.endswith("| - | -")
    # Asking about one person keeps the columns.
    only = run_read("capacity", _ctx(_resourced(), tmp_path), {"weeks_ahead": 2, "person": "Ana"})
    assert only.splitlines()[-2].endswith("| 32h (1) | 2d 2026-11-09")  # the last line states the dates


def test_chat_capacity_without_resourcing_has_no_extra_columns(tmp_path: Path) -> None:
    tasks = _resourced().tasks
    out = run_read("capacity", _ctx(_ws(tasks=tasks), tmp_path), {"weeks_ahead": 2})
    assert "Asana allocated" not in out and "d off" not in out and "days off" not in out
    header = next(line for line in out.splitlines() if line.startswith("person |"))
    assert (
        header == "person | peak load | capacity/week | remaining (bias-adjusted) | overdue | recent avg/week"
    )


def test_an_over_week_caused_by_time_off_says_so(tmp_path: Path) -> None:
    # 32 h due Friday, Ana out Tue-Thu: 32 h on 2 working days, 200% of 16 h.
    tasks = (
        make_task("t", assignee_gid="u1", project_gid="p1", estimate_hours=32, due_on=date(2026, 11, 6)),
    )
    ooo = (OutOfOffice(gid="o", person_gid="u1", start_on=date(2026, 11, 3), end_on=date(2026, 11, 5)),)
    out = run_read("capacity", _ctx(_ws(tasks=tasks, out_of_office=ooo), tmp_path), {"weeks_ahead": 2})
    worst = next(line for line in out.splitlines() if line.startswith("worst weeks:"))
    assert "week 2026-11-02 200% (3d off)" in worst


def test_chat_capacity_stays_in_budget_when_everyone_has_allocations_and_time_off(
    chat_workspace: Workspace, tmp_path: Path
) -> None:
    people = chat_workspace.people
    project = chat_workspace.projects[0].gid
    allocations = tuple(
        Allocation(gid=f"a{i}", person_gid=p.gid, project_gid=project, start_on=date(2020, 1, 1),
                   end_on=date(2030, 1, 1), effort_unit=EffortUnit.PERCENT, effort_value=50)
        for i, p in enumerate(people)
    )  # fmt: skip
    assert chat_workspace.as_of is not None
    start = chat_workspace.as_of.date()
    ooo = tuple(
        OutOfOffice(gid=f"o{i}-{k}", person_gid=p.gid, start_on=date.fromordinal(start.toordinal() + 7 * k),
                    end_on=date.fromordinal(start.toordinal() + 7 * k + 1))
        for i, p in enumerate(people)
        for k in range(12)
    )  # fmt: skip
    ws = chat_workspace.model_copy(update={"allocations": allocations, "out_of_office": ooo})
    out = run_read("capacity", _ctx(ws, tmp_path), {"weeks_ahead": 12})
    assert count_tokens(out) <= tool_budget("capacity")
    assert "…[truncated" not in out  # fits without the cut
    rows = [line for line in out.splitlines() if line.startswith("<<task-text>>Person")]
    assert rows and all(line.endswith(" +10 wk") for line in rows)  # 12 weeks off, 2 listed per person


# ---------------------------------------------------------------------------------------------------
# effort analyze capacity


@pytest.fixture
def resourced_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EFFORT_DATABASE_URL", store_workspace(_resourced(), tmp_path / "effort.db"))
    monkeypatch.setenv("COLUMNS", "160")  # rich wraps narrow tables; keep each row on one line
    monkeypatch.chdir(tmp_path)  # no stray effort.toml
    return tmp_path


def _analyze(*args: str) -> str:
    result = CliRunner().invoke(app, ["analyze", "capacity", "--as-of", "2026-11-02", "--weeks", "2", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_cli_table_marks_time_off_and_allocations(resourced_store: Path) -> None:
    out = _analyze()
    assert "-Nd = N days off" in out and "alloc h (n)" in out
    ana = next(line for line in out.splitlines() if "Ana" in line)
    assert re.search(r"32 \(1\)\s.*50%\s.*50% -2d", ana), ana
    ben = next(line for line in out.splitlines() if "Ben" in line)
    assert "-" not in ben.replace("─", "") and "(" not in ben


def test_cli_json_carries_the_resourcing_fields(resourced_store: Path) -> None:
    data = json.loads(_analyze("--json"))
    ana = next(p for p in data["people"] if p["name"] == "Ana")
    assert ana["allocations"] == 1
    assert [(w["allocated_hours"], w["out_of_office_days"], w["capacity_hours"]) for w in ana["weeks"]] == [
        (20.0, 0, 40.0),
        (12.0, 2, 24.0),
    ]


def test_cli_table_without_resourcing_is_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = _resourced().model_copy(update={"allocations": (), "out_of_office": ()})
    monkeypatch.setenv("EFFORT_DATABASE_URL", store_workspace(plain, tmp_path / "plain.db"))
    monkeypatch.chdir(tmp_path)
    out = _analyze()
    assert "alloc h" not in out and "days off" not in out and "allocations" not in out


# ---------------------------------------------------------------------------------------------------
# reports


def _report(ws: Workspace) -> ReportData:
    cap = capacity_report(ws, config=CapacityConfig(), weeks=2, apply_bias=False)
    return ReportData(
        title="Weekly summary",
        period_start=date(2026, 10, 26),
        period_end=date(2026, 11, 1),
        generated_at=MONDAY,
        capacity=capacity_cells(cap),
    )


def test_report_cells_carry_allocations_and_time_off() -> None:
    cells = {(c.person, c.week_start): c for c in _report(_resourced()).capacity}
    w1 = cells[("Ana", date(2026, 11, 9))]
    assert (w1.allocated_hours, w1.out_of_office_days, w1.planned_hours, w1.capacity_hours) == (12, 2, 12, 24)
    assert cells[("Ben", date(2026, 11, 2))].allocated_hours == 0


def test_markdown_marks_time_off_and_lists_allocated_hours() -> None:
    text = render_markdown(_report(_resourced()))
    assert "| Ana | 50% | 50% (2d off) |" in text
    assert "(Nd off): N working days out of office" in text
    allocated = text.split("Allocated hours per week (Asana allocations")[1]
    assert "| Ana | 20.0 | 12.0 |" in allocated and "Ben" not in allocated


def test_html_heatmap_marks_ooo_weeks_and_titles_allocations() -> None:
    html = render_html(_report(_resourced()))
    assert html.count('class="cell cell-ooo"') == 1
    assert (
        "Ana, week of 2026-11-09: 12.0 h planned of 24.0 h; 2 days out of office; 12.0 h allocated in Asana"
        in html
    )
    assert "Ana, week of 2026-11-02: 20.0 h planned of 40.0 h; 20.0 h allocated in Asana" in html
    assert 'class="legend-item legend-ooo"' in html and "dashed outline" in html


def test_html_resourcing_marks_escape_hostile_names() -> None:
    html = render_html(_report(_resourced(ana=HOSTILE)))
    assert "<img" not in html and "onerror=alert(1)&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; &#34;Ana&#34;" in html  # in the cell title, escaped
    assert "<script" not in html.lower()
    md = render_markdown(_report(_resourced(ana=HOSTILE)))
    assert "<img" not in md and "\\[x\\](javascript:evil)" in md


def test_reports_without_resourcing_have_no_marks() -> None:
    data = _report(_ws(tasks=_resourced().tasks))
    assert all(c.allocated_hours == 0 and c.out_of_office_days == 0 for c in data.capacity)
    html, md = render_html(data), render_markdown(data)
    assert "cell-ooo" not in html and "legend-ooo" not in html and "allocated" not in html
    assert "d off" not in md and "Allocated hours" not in md


def test_bad_resourcing_values_do_not_drop_the_cell() -> None:
    data = ReportData.model_validate(
        {
            "title": "t",
            "period_start": "2026-01-01",
            "period_end": "2026-01-31",
            "capacity": [
                {"person": "A", "week_start": "2026-01-05", "planned_hours": 10, "capacity_hours": 40,
                 "allocated_hours": float("nan"), "out_of_office_days": -3},
            ],
        }
    )  # fmt: skip
    (cell,) = data.capacity
    assert (cell.allocated_hours, cell.out_of_office_days) == (0.0, 0)
    assert not data.notes
