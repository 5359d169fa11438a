"""Budgets where people read them: `effort analyze budget`, `effort timesheet draft`, the report's burn
chart and budget section, and the chat read tool (bounded, states its date, says what is missing)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.config import Settings, load_settings
from agent.reports.budget_chart import budget_burn_chart, budget_html_section, budget_markdown
from agent.reports.render import md
from tests.fixtures.analytics import tiny_workspace
from tests.fixtures.store import store_workspace
from tools.agent_tools.budget import count_tokens
from tools.agent_tools.budget_status import BudgetArgs, budget_view
from tools.analytics.budget import budget_report
from tools.analytics.frame import build_frame
from tools.records import Budget, BudgetType, Workspace

CONFIG = """
[budgets]
projects = [{ project = "Website Redesign", hours = 40 }, { project = "Internal Tools", hours = 8 }]
[timesheets]
calendars = { "Alice" = "alice.ics" }
"""


@pytest.fixture
def budget_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EFFORT_DATABASE_URL", store_workspace(tiny_workspace(), tmp_path / "effort.db"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "effort.toml").write_text(CONFIG)
    return tmp_path


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def test_analyze_budget_table_and_json(budget_store: Path) -> None:
    result = _invoke("analyze", "budget", "--as-of", "2026-10-28", "--sims", "500")
    assert result.exit_code == 0, result.output
    assert "Budgets as of 2026-10-28" in result.output and "ran out 2026-10-10" in result.output
    data = json.loads(_invoke("analyze", "budget", "--as-of", "2026-10-28", "--sims", "500", "--json").output)
    by_name = {p["name"]: p for p in data["projects"]}
    assert by_name["Website Redesign"]["spent"] == 33.0 and by_name["Website Redesign"]["state"] == "at_risk"
    assert by_name["Internal Tools"]["state"] == "over" and data["as_of"] == "2026-10-28"


def test_analyze_budget_bad_config_is_a_clear_error(budget_store: Path) -> None:
    (budget_store / "effort.toml").write_text(
        '[budgets]\nprojects = [{ project = "Website Redesign", hours = 0 }]\n'
    )
    result = _invoke("analyze", "budget")
    assert result.exit_code == 2 and "must be a positive number" in result.output
    assert "Traceback" not in result.output


def test_timesheet_draft_cli(budget_store: Path) -> None:
    (budget_store / "alice.ics").write_text(
        "BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:1\nDTSTART:20261022T100000Z\nDTEND:20261022T103000Z\n"
        "SUMMARY:Standup\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    out = _invoke(
        "timesheet", "draft", "--person", "alice", "--week", "2026-W43", "--as-of", "2026-10-28", "--json"
    )
    assert out.exit_code == 0, out.output
    draft = json.loads(out.output)
    assert draft["week"] == "2026-W43" and draft["person_name"] == "Alice"
    assert any(line["confidence"] == "high" and line["minutes"] == 30 for line in draft["lines"])
    table = _invoke("timesheet", "draft", "--person", "Alice", "--week", "2026-W43", "--as-of", "2026-10-28")
    assert table.exit_code == 0 and "Standup" in table.output and "needs a task" in table.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--person", "alice", "--week", "2026-W45"], "after today"),
        (["--person", "nobody", "--week", "2026-W43"], "no synced person is called 'nobody'"),
        (["--person", "carol", "--week", "2026-W35"], "Carol has no logged time"),
        (["--person", "alice", "--week", "Octember"], "a week is written 2026-W48"),
    ],
)
def test_timesheet_draft_bad_input(budget_store: Path, args: list[str], message: str) -> None:
    result = _invoke("timesheet", "draft", *args, "--as-of", "2026-10-28")
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()) and "Traceback" not in result.output


def test_timesheet_draft_calendar_that_is_not_ics(budget_store: Path) -> None:
    (budget_store / "alice.ics").write_text("date,hours\n2026-10-22,3\n")
    result = _invoke("timesheet", "draft", "--person", "alice", "--week", "2026-W43", "--as-of", "2026-10-28")
    assert result.exit_code == 2 and "alice.ics" in result.output and "not iCalendar" in result.output


def _budgeted() -> Workspace:
    return tiny_workspace().model_copy(
        update={
            "budgets": (
                Budget(gid="b1", project_gid="p_web", budget_type=BudgetType.TIME, total=2400),
                Budget(gid="b2", project_gid="p_int", budget_type=BudgetType.TIME, total=480),
            )
        }
    )


def test_burn_chart_draws_the_budget_line_the_band_and_the_run_out_dates() -> None:
    report = budget_report(_budgeted(), simulations=500)
    web = next(s for s in report.projects if s.project_gid == "p_web")
    svg = str(budget_burn_chart(web, "b0"))
    for cls in ("budget-line", "spent", "p50", "band", "runs-out"):
        assert f'class="{cls}"' in svg
    assert svg.count('class="runs-out"') == 2  # P50 and P80
    assert f"P50 {web.runs_out_p50:%b %d}".replace(" 0", " ") in svg  # type: ignore[str-format]
    over = next(s for s in report.projects if s.project_gid == "p_int")
    assert "ran out" in str(budget_burn_chart(over, "b1"))


def test_budget_section_escapes_hostile_names() -> None:
    ws = _budgeted()
    hostile = tuple(
        p.model_copy(update={"name": "<script>alert(1)</script> | *x*"}) if p.gid == "p_web" else p
        for p in ws.projects
    )
    report = budget_report(ws.model_copy(update={"projects": hostile}), simulations=300)
    html = str(budget_html_section(report.projects))
    assert "<script>" not in html and "&lt;script&gt;" in html
    markdown = "\n".join(budget_markdown(report.projects, escape=md))
    assert "<script>" not in markdown and "\\| \\*x\\*" in markdown
    assert str(budget_html_section([])) == "" and budget_markdown([]) == []


class _Env:
    def __init__(self, ws: Workspace, settings: Settings) -> None:
        self._ws, self._settings = ws, settings
        self.index = self.estimator = None

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def workspace(self) -> Workspace:
        return self._ws

    def today(self) -> Any:
        assert self._ws.as_of is not None
        return self._ws.as_of.date()

    def get_estimator(self) -> Any:
        return None

    def get_frame(self) -> Any:
        return build_frame(self._ws)


def test_chat_budget_tool_answers_one_project_and_the_overrun_list(tmp_path: Path) -> None:
    env = _Env(_budgeted(), load_settings(None, database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    one = budget_view(env, BudgetArgs(project="website"))
    assert "as of 2026-10-28" in one and "AT RISK" in one and "33.0 h of 40.0 h (82%)" in one
    overall = budget_view(env, BudgetArgs())
    assert "1 already over, 1 forecast to overrun" in overall
    assert re.search(r"Internal Tools.*\(p_int\): OVER.*ran out on 2026-10-10", overall)
    assert count_tokens(overall) < 900
    assert "no project matches" in budget_view(env, BudgetArgs(project="nope"))
    no_budget = budget_view(_Env(tiny_workspace(), env.settings), BudgetArgs(project="Website Redesign"))
    assert "no usable budget" in no_budget and "[budgets]" in no_budget


def test_retrospective_report_and_summary_carry_budgets() -> None:
    from datetime import date

    from agent.reports.model import ReportData
    from agent.reports.render import render_html, render_markdown
    from tools.analytics.retro import retrospective

    ws = _budgeted()
    retro = retrospective(ws, date(2026, 10, 1), date(2026, 10, 28), simulations=300)
    assert retro.budgets is not None and len(retro.budgets.projects) == 2
    assert "Over budget: Internal Tools (150%)." in retro.highlights
    assert any(
        h.startswith("Forecast to overrun the budget (P80): Website Redesign") for h in retro.highlights
    )
    data = ReportData.from_retro(retro, workspace=ws)
    assert "## Budgets" in render_markdown(data)
    html = render_html(data)
    assert html.count('class="budget-line"') == 2 and 'id="h-budgets"' in html
    # No budget anywhere: no section, no highlight, nothing computed.
    plain = retrospective(tiny_workspace(), date(2026, 10, 1), date(2026, 10, 28), simulations=300)
    assert plain.budgets is None and "## Budgets" not in render_markdown(ReportData.from_retro(plain))


@pytest.mark.parametrize(
    ("question", "intent", "project"),
    [
        ("Are we on budget on Website Redesign?", "budget", "Website Redesign"),
        ("when will the website redesign budget run out", "budget", "Website Redesign"),
        ("Which projects will overrun their budget?", "budget_risk", None),
        ("any budget overruns?", "budget_risk", None),
    ],
)
def test_chat_routes_budget_questions_to_the_budget_tool(
    chat_ctx: Any, question: str, intent: str, project: str | None
) -> None:
    from agent.chat.routing import route_question

    routed = route_question(question, chat_ctx)
    assert routed.intent == intent and routed.tools[0] == "budget_status" and routed.unapplied == []
    assert routed.slots.get("project") == project
