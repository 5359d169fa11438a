"""The HTML report in a real headless Chromium: charts render, nothing runs, nothing is fetched.

Needs Debian's `/usr/bin/chromium` (installed by `.ci/run`); skipped with a reason when it is absent.
Set `EFFORT_REPORT_SCREENSHOT=/some/file.png` to keep a copy of the screenshot for a human to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.reports import ReportData, render_html
from agent.reports.sample import sample_report_data

CHROMIUM = os.environ.get("EFFORT_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (install Debian's chromium; .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _load(browser: Any, path: Path) -> tuple[Any, Any, dict[str, list[str]]]:
    seen: dict[str, list[str]] = {
        "requests": [],
        "blocked": [],
        "console_errors": [],
        "page_errors": [],
        "dialogs": [],
    }
    context = browser.new_context(viewport={"width": 1100, "height": 900}, java_script_enabled=True)
    page = context.new_page()

    def route(r: Any) -> None:
        url = r.request.url
        if url.startswith("file://"):
            r.continue_()
        else:  # any network fetch at all is a failure of "self-contained"
            seen["blocked"].append(url)
            r.abort()

    page.route("**/*", route)
    page.on("request", lambda req: seen["requests"].append(req.url))

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            seen["console_errors"].append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda err: seen["page_errors"].append(str(err)))

    def on_dialog(dialog: Any) -> None:
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(path.as_uri(), wait_until="load")
    return context, page, seen


def _boxes(page: Any, selector: str) -> list[dict[str, float]]:
    return [b for b in (el.bounding_box() for el in page.query_selector_all(selector)) if b is not None]


def test_report_renders_in_chromium_with_no_network_and_no_errors(browser: Any, tmp_path: Path) -> None:
    report: ReportData = sample_report_data(7)
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    context, page, seen = _load(browser, path)
    try:
        # Charts: every SVG is laid out with a real size.
        charts = _boxes(page, "svg.chart")
        assert len(charts) == 3 + len(report.burndowns)
        assert all(b["width"] > 100 and b["height"] > 40 for b in charts)
        # Expected element counts, and each one visible with a non-zero box.
        drawable = [p for p in report.points if p.estimate_hours > 0 and p.actual_hours > 0]
        points = _boxes(page, "svg.chart-scatter circle.pt")
        assert len(points) == len(drawable) and all(b["width"] > 0 for b in points)
        bars = _boxes(page, "svg.chart-bias rect.bar")
        assert len(bars) == len(report.bias) and all(b["width"] > 0 and b["height"] > 0 for b in bars)
        cells = _boxes(page, "svg.chart-heatmap rect.cell")
        assert len(cells) == len(report.capacity) and all(b["width"] > 10 for b in cells)
        bands = _boxes(page, "svg.chart-burndown polygon.band95")
        assert len(bands) == len(report.burndowns) and all(b["width"] > 0 and b["height"] > 0 for b in bands)
        assert page.locator("table.anomalies tbody tr").count() == len(report.anomalies)
        # The hostile task name is text: no script, no injected image, no dialog.
        assert page.locator("script").count() == 0 and page.locator("img").count() == 0
        assert page.get_by_text('<script>alert("x")</script>', exact=False).count() >= 1
        assert page.evaluate("document.title").startswith("Monthly retrospective")
        # Accessibility: each chart names itself.
        names = page.eval_on_selector_all(
            "svg.chart", "els => els.map(e => e.querySelector('title').textContent)"
        )
        assert all(n.strip() for n in names)
        assert seen["dialogs"] == [] and seen["page_errors"] == [] and seen["console_errors"] == []
        assert seen["blocked"] == [] and all(u.startswith("file://") for u in seen["requests"])
        # Printable: in print media the charts still lay out.
        page.emulate_media(media="print")
        assert all(b["width"] > 100 for b in _boxes(page, "svg.chart"))
        page.emulate_media(media="screen")
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        keep = os.environ.get("EFFORT_REPORT_SCREENSHOT")
        if keep:
            shutil.copyfile(shot, keep)
    finally:
        context.close()


def test_injected_markup_cannot_fetch_or_run_even_unescaped(browser: Any, tmp_path: Path) -> None:
    """Defence in depth: the page's CSP blocks scripts and remote loads even if text escaped escaping."""
    html = render_html(sample_report_data(7)).replace(
        "<main>", '<main><img src="http://127.0.0.1:9/x.png"><script>document.title="pwned"</script>', 1
    )
    path = tmp_path / "tampered.html"
    path.write_text(html, encoding="utf-8")
    context, page, seen = _load(browser, path)
    try:
        assert page.evaluate("document.title") != "pwned"  # inline script refused by the CSP
        assert (
            seen["blocked"] == []
        )  # the image was never even requested (CSP), so nothing reached the router
    finally:
        context.close()


# ------------------------------------------------------------------ phone and desktop (issue 15)

_MIN_CHART_FONT = """() => {
  const sizes = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const box = svg.getBoundingClientRect();
    if (!box.width) continue;  // hidden
    const scale = box.width / svg.viewBox.baseVal.width;
    for (const t of svg.querySelectorAll('text')) {
      sizes.push(parseFloat(getComputedStyle(t).fontSize) * scale);
    }
  }
  return sizes.length ? Math.min(...sizes) : 0;
}"""


def _screens_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Screenshots for a person to look at: under pytest's tmp dir, or EFFORT_ARTEFACTS if set."""
    wanted = os.environ.get("EFFORT_ARTEFACTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("report-screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("width", [400, 1400])
def test_report_fits_phone_and_desktop_with_readable_charts(
    browser: Any, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, width: int
) -> None:
    report = sample_report_data(7, n_weeks=16, long_span=True)
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        page.goto(path.as_uri(), wait_until="load")
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"the page scrolls sideways at {width}px: {scroll_width}px wide"
        smallest = page.evaluate(_MIN_CHART_FONT)
        assert smallest >= 11, f"chart text renders at {smallest:.1f}px at {width}px"
        body_font = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert body_font >= 14
        shot = _screens_dir(tmp_path_factory) / f"report-{width}px.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        context.close()


def test_report_points_and_cells_have_tooltips_and_tasks_are_linked(browser: Any, tmp_path: Path) -> None:
    report = sample_report_data(7, long_span=True)
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    context, page, seen = _load(browser, path)
    try:
        for selector in (
            "svg.chart-scatter circle.pt",
            "svg.chart-heatmap rect.cell",
            "svg.chart-burndown circle.hist",
            "svg.chart-bias rect.bar",
        ):
            titles = page.eval_on_selector_all(
                selector, "els => els.map(e => (e.querySelector('title') || {}).textContent || '')"
            )
            assert titles and all(t.strip() for t in titles), selector
        # Every task shown is a link to the configured Asana, never app.asana.com for a sandbox.
        base = report.link_base
        assert base and "app.asana.com" not in base
        hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
        assert hrefs and all(h.startswith(base + "/") for h in hrefs), hrefs[:5]
        linked_points = page.locator("svg.chart-scatter a circle.pt").count()
        assert linked_points == page.locator("svg.chart-scatter circle.pt").count()
        for table in ("anomalies", "suggestions"):
            rows = page.locator(f"table.{table} tbody tr").count()
            assert page.locator(f"table.{table} tbody tr td:first-child a").count() == rows, table
        # Time axes carry years (the sample spans 2026-2028).
        axis = page.eval_on_selector_all(
            "svg.chart-burndown text.xlabel", "els => els.map(e => e.textContent)"
        )
        assert axis and all(any(y in t for y in ("2026", "2027", "2028")) for t in axis), axis
        # History and forecast meet: the connector starts where the logged line ends.
        assert page.locator("svg.chart-burndown .join").count() == len(report.burndowns)
        assert seen["blocked"] == [] and seen["page_errors"] == []
    finally:
        context.close()
