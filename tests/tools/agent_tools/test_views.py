"""Analytics views behind the read tools: the variance bias line, bounded output, and one-line failures."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from pydantic import SecretStr

from agent.config import Settings
from agent.context import AgentContext
from tools.agent_tools import run_read, views
from tools.agent_tools.budget import TOP_N, count_tokens, tool_budget
from tools.analytics.variance import RatioStats, variance_report
from tools.records import Workspace

_BIAS = re.compile(
    r"^largest bias: (?P<hi>.+?) (?P<hi_r>[\d.]+)x \(n=(?P<hi_n>\d+)\); "
    r"smallest: (?P<lo>.+?) (?P<lo_r>[\d.]+)x \(n=(?P<lo_n>\d+)\)",
    re.MULTILINE,
)


def _stats(label: str, ratio: float, n: int) -> RatioStats:
    return RatioStats(
        key=label,
        label=label,
        n=n,
        median_ratio=ratio,
        ratio_low=ratio,
        ratio_high=ratio,
        iqr_log_ratio=0.0,
        overrun_share=1.0 if ratio > 1 else 0.0,
        mean_abs_log_ratio=0.0,
        estimate_hours=float(n),
        actual_hours=float(n) * ratio,
    )


@pytest.mark.parametrize("group_by", ["project_type", "assignee", "tag"])
def test_variance_names_the_groups_with_the_largest_and_smallest_bias(
    chat_ctx: AgentContext, group_by: str
) -> None:
    out = run_read("variance", chat_ctx, {"group_by": group_by})
    m = _BIAS.search(out)
    assert m is not None, out
    # The same answer variance_report gives over every group with at least 3 tasks.
    rep = variance_report(chat_ctx.workspace, dimensions=[group_by], top=10_000, min_n=3)  # type: ignore[list-item]
    groups = rep.by[group_by]
    top = max(groups, key=lambda g: (g.median_ratio, g.n))
    low = min(groups, key=lambda g: (g.median_ratio, -g.n))
    assert top.label in m.group("hi") and float(m.group("hi_r")) == pytest.approx(top.median_ratio, abs=0.005)
    assert int(m.group("hi_n")) == top.n >= 3
    assert low.label in m.group("lo") and float(m.group("lo_r")) == pytest.approx(low.median_ratio, abs=0.005)


def test_bias_extremes_prefer_groups_of_three_or_more() -> None:
    rows = [_stats("tiny", 9.0, 1), _stats("a", 1.9, 12), _stats("b", 0.8, 5), _stats("c", 1.9, 4)]
    ext = views.bias_extremes(rows)
    assert ext is not None
    largest, smallest, sized = ext
    assert (largest.label, smallest.label, sized) == ("a", "b", True)  # tie on 1.9 -> larger sample
    only_small = [_stats("x", 1.2, 1), _stats("y", 0.7, 2)]
    assert views.bias_extremes(only_small) == (only_small[0], only_small[1], False)
    assert views.bias_extremes([]) is None


def test_variance_stays_bounded_with_all_groups_computed(large_ctx: AgentContext) -> None:
    out = run_read("variance", large_ctx, {"group_by": "assignee"})
    table = out.split("group | n |", 1)[1].split("\n… and", 1)[0].splitlines()[1:]
    assert len(table) == TOP_N
    assert _BIAS.search(out) and "more groups" in out
    assert count_tokens(out) <= tool_budget("variance")


def test_variance_by_month_shows_the_latest_months(chat_ctx: AgentContext) -> None:
    out = run_read("variance", chat_ctx, {"group_by": "month"})
    months = re.findall(r"^(\d{4}-\d{2}) \|", out, re.MULTILINE)
    rep = variance_report(chat_ctx.workspace, dimensions=["month"], top=10_000)
    every = [g.label for g in rep.by["month"]]
    assert months == every[-TOP_N:]


# --- a failing analysis: one clear line, logged, redacted, the chat goes on ---------------------------

SECRET = "asana-secret-token-123456"
_VIEWS = [
    ("variance", {"group_by": "assignee"}, "variance_view"),
    ("estimate_task", {"task_gid": "10000003"}, "estimate_view"),
    ("anomalies", {}, "anomalies_view"),
    ("capacity", {"weeks_ahead": 3}, "capacity_view"),
    ("completion_forecast", {"project": "Website Redesign"}, "forecast_view"),
    ("billing_draft", {"client": "Acme", "period": "2026-03"}, "billing_view"),
    ("retrospective", {"period": "last month"}, "retro_view"),
]


@pytest.fixture
def secret_ctx(chat_workspace: Workspace, tmp_path: Any) -> AgentContext:
    settings = Settings(
        ASANA_ACCESS_TOKEN=SecretStr(SECRET),
        EFFORT_DATABASE_URL=f"sqlite:///{tmp_path}/effort.db",
        EFFORT_DATA_DIR=tmp_path,
    )
    return AgentContext.for_workspace(chat_workspace, settings)


@pytest.mark.parametrize(("tool", "args", "view"), _VIEWS)
def test_a_failing_analysis_answers_in_one_redacted_line(
    secret_ctx: AgentContext,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tool: str,
    args: dict[str, Any],
    view: str,
) -> None:
    def boom(*_: Any, **__: Any) -> str:
        raise ValueError(
            f"cannot read postgresql://effort:hunter2@db/x with {SECRET}\nsecond line Bearer abcdef123456"
        )

    monkeypatch.setattr(views, view, boom)
    with caplog.at_level(logging.WARNING, logger="tools.agent_tools.reads"):
        out = run_read(tool, secret_ctx, args)
    assert out.startswith(
        f"{tool}: the analysis failed (ValueError: cannot read postgresql://effort:***@db/x"
    )
    _failure, dates = out.split("\n")  # one line, then the dates line every read tool ends with
    assert dates.startswith("dates: today is") and "second line" not in out
    logged = caplog.text
    assert f"{tool}: analysis failed" in logged and "ValueError" in logged
    for secret in (SECRET, "hunter2", "abcdef123456"):
        assert secret not in out and secret not in logged


def test_forecast_without_open_tasks_says_so(chat_ctx: AgentContext, monkeypatch: pytest.MonkeyPatch) -> None:
    import tools.analytics.forecast as forecast

    monkeypatch.setattr(forecast, "forecast_project", lambda *a, **k: None)
    out = run_read("completion_forecast", chat_ctx, {"project": "Website Redesign"})
    assert "no open tasks, nothing to forecast" in out and out.startswith("FORECAST")
