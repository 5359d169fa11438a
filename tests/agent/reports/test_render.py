"""Reports: Markdown golden, HTML structure, escaping of hostile text, bad values, size caps."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

from agent.reports import EstimatePoint, ReportData, render_html, render_markdown, write_report
from agent.reports.model import MAX_POINTS
from agent.reports.sample import HOSTILE_NAME, sample_report_data

GOLDEN_MD = r"""# Weekly summary \| &lt;Team A&gt;

Period 2026-11-16 – 2026-11-22 · Scope: projects: Website Redesign · Generated 2026-11-23 08:00 UTC

> Note: 1 estimate-vs-actual point(s) skipped: missing, negative or non-finite values

## Headlines

- **Hours logged**: 61.5 h (4 people)

## Estimation bias by project type

| Group | Median actual/estimate | Interval | Overrun share | Tasks |
| --- | ---: | ---: | ---: | ---: |
| client build | 1.40× | 1.10–1.90 | 75% | 12 |
| support | 0.80× |  |  | 3 |

## Estimate vs actual

2 completed tasks: 1 (50%) overran their estimate; 6.0 h estimated, 7.5 h actual (1.25×).

## Burn-down and completion forecast

| Project | Remaining h | P50 | P80 | P95 | Due | Status |
| --- | ---: | --- | --- | --- | --- | --- |
| Website Redesign | 60.0 | 2026-12-06 | 2026-12-13 | 2026-12-20 | 2026-12-10 | **at risk** |

## Capacity by person and week

| Person | 2026-11-23 | 2026-11-30 |
| --- | ---: | ---: |
| Ana | 75% | **110%** |
| Ben | 62% |  |

Bold: over capacity (planned hours above the person's weekly capacity).

## Time-entry anomalies

| Task | Person | Date | Hours | Kind | Score | Reason |
| --- | --- | --- | ---: | --- | ---: | --- |
| &lt;script&gt;alert(1)&lt;/script&gt; \| \[x\](javascript:evil) | Ben | 2026-11-18 | 14.0 | implausible\_duration | 0.90 | 14.0 h in one entry |
| Login page | Ana | 2026-11-21 | 9.0 | weekend | 0.50 | Saturday entry |

## Suggested estimates for open tasks

| Task | Assignee | Human h | Suggested h | P10–P90 | Confidence | Basis |
| --- | --- | ---: | ---: | ---: | ---: | --- |
| Checkout | Ana | 6.0 | 8.5 | 5.0–14.0 | 70% | 8 similar tasks |

## Billing draft

| Client | Project | Hours | Amount |
| --- | --- | ---: | ---: |
| Acme | Website Redesign | 40.25 | 4,830.00 EUR |
| Acme | Support | 2.50 |  |
| **Total** |  | **42.75** | **4,830.00 EUR** |

A draft: nothing has been sent.
"""


class _Tags(HTMLParser):
    """Collects (tag, attrs) pairs and the ids defined in a document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    handle_startendtag = handle_starttag

    def count(self, tag: str, cls: str) -> int:
        return sum(1 for t, a in self.tags if t == tag and cls in a.get("class", "").split())


def _parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def test_markdown_matches_golden(golden_report_data: ReportData) -> None:
    assert render_markdown(golden_report_data) == GOLDEN_MD


def test_markdown_tables_keep_their_shape_with_hostile_text(golden_report_data: ReportData) -> None:
    text = render_markdown(golden_report_data)
    assert "<script" not in text
    assert not re.search(r"(?<!\\)\]\(", text)  # no live Markdown link: the bracket is escaped
    for block in re.findall(r"(?:^\|.*\|\n)+", text, flags=re.M):
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in block.splitlines()}
        assert len(widths) == 1, block  # escaped pipes never add a column


def test_html_is_self_contained_inert_and_escaped(golden_report_data: ReportData) -> None:
    html = render_html(golden_report_data)
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    tags = _parse(html)
    for tag, attrs in tags.tags:
        for name in ("src", "href", "xlink:href", "action"):
            value = attrs.get(name, "")
            assert not value.lower().startswith(("javascript:", "data:text/html")), (tag, attrs)
            if tag != "a":
                assert not value, f"{tag} loads {value!r}"
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)  # no event handlers
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)  # no remote CSS resources
    assert "@import" not in html


def test_html_charts_have_the_expected_elements(golden_report_data: ReportData) -> None:
    tags = _parse(render_html(golden_report_data))
    assert tags.count("circle", "pt") == 2  # the NaN point was dropped
    assert tags.count("rect", "bar") == 2
    assert tags.count("rect", "cell") == 4 and tags.count("rect", "cell-empty") == 1
    assert tags.count("polygon", "band80") == 1 and tags.count("polygon", "band95") == 1
    assert tags.count("polyline", "p50") == 1 and tags.count("polyline", "actual") == 1
    assert tags.count("line", "due") == 1
    assert tags.count("g", "interval") == 1  # only the group with an interval has whiskers
    svgs = [a for t, a in tags.tags if t == "svg"]
    assert {a["data-chart"] for a in svgs} == {"scatter", "bias", "burndown", "heatmap"}
    ids = {a.get("id") for _, a in tags.tags}
    for attrs in svgs:  # accessible name and description resolve to real elements
        assert attrs["role"] == "img"
        assert all(ref in ids for ref in attrs["aria-labelledby"].split())


def test_empty_report_renders_placeholders() -> None:
    report = ReportData(title="Empty", period_start=date(2026, 1, 1), period_end=date(2026, 1, 31))
    html = render_html(report)
    assert "No completed tasks with both an estimate and actual hours." in html
    assert "No capacity data for this period." in html
    md = render_markdown(report)
    assert "No suspicious time entries in this period." in md and "## Billing draft" not in md


def test_bad_values_are_dropped_with_a_note_not_a_crash() -> None:
    report = ReportData.model_validate(
        {
            "title": "t",
            "period_start": "2026-01-01",
            "period_end": "2026-01-31",
            "points": [
                {"task_gid": "1", "estimate_hours": 2, "actual_hours": 3},
                {"task_gid": "2", "estimate_hours": -1, "actual_hours": 3},
                {"task_gid": "3", "estimate_hours": float("inf"), "actual_hours": 3},
                {"task_gid": "4", "estimate_hours": None, "actual_hours": 3},
                {"task_gid": "5", "estimate_hours": 0, "actual_hours": 3},  # kept, not on a log axis
            ],
            "billing": [{"client": "A", "project": "P", "hours": float("nan")}],
            "burndowns": [
                {
                    "project_gid": "9",
                    "project_name": "P",
                    "forecast": [{"day": "2026-02-01", "p50": 1, "p80": float("nan"), "p95": 2}],
                }
            ],
        }
    )
    assert [p.task_gid for p in report.points] == ["1", "5"]
    assert any("3 estimate-vs-actual point(s) skipped" in n for n in report.notes)
    assert any("1 billing line(s) skipped" in n for n in report.notes)
    assert report.burndowns[0].forecast == []
    html = render_html(report)
    assert "1 tasks with zero or missing hours not shown" in html
    assert _parse(html).count("circle", "pt") == 1


def test_huge_inputs_stay_bounded() -> None:
    points = [
        EstimatePoint(
            task_gid=str(i),
            name="x" * 1_000_000 if i == 0 else f"t{i}",
            estimate_hours=1 + i % 50,
            actual_hours=2 + i % 70,
        )
        for i in range(10_000)
    ]
    report = ReportData(
        title="big", period_start=date(2026, 1, 1), period_end=date(2026, 1, 31), points=points
    )
    html = render_html(report)
    assert _parse(html).count("circle", "pt") == MAX_POINTS
    assert len(html) < 2_000_000  # the 1 MB name is clipped, 10k points are sampled
    assert "Sampled from 10000 tasks" in html


def test_sample_report_is_deterministic_and_written_to_files(tmp_path: Path) -> None:
    a, b = sample_report_data(7), sample_report_data(7)
    assert render_html(a) == render_html(b)
    md_path, html_path = write_report(a, tmp_path / "out", stem="october")
    assert md_path.read_text(encoding="utf-8").startswith("# Monthly retrospective")
    html = html_path.read_text(encoding="utf-8")
    assert HOSTILE_NAME not in html and "&lt;script&gt;" in html


def test_a_confidence_shared_by_every_suggestion_is_stated_once() -> None:
    """Issue 15: "43% on nearly every row" — with a small history the estimator's confidence is one
    number per mode, so the report says it once, with what it means, instead of repeating it."""
    sample = sample_report_data(7)
    same = sample.model_copy(
        update={"suggestions": [s.model_copy(update={"confidence": 0.43}) for s in sample.suggestions]}
    )
    html = render_html(same)
    assert "Confidence 43% for every suggestion" in html
    assert ">Confidence</th>" not in html and html.count(">43%<") == 0
    varied = render_html(sample)
    assert ">Confidence</th>" in varied and "for every suggestion" not in varied
