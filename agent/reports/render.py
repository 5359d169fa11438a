"""Render `ReportData` as Markdown or as one self-contained HTML page (inline SVG, inline CSS, no JS)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from agent.reports import charts
from agent.reports.budget_chart import budget_html_section, budget_markdown
from agent.reports.model import MAX_TABLE_ROWS, MAX_TEXT, ReportData, clip_text

_TEMPLATES = Path(__file__).parent / "templates"


def _fmt_hours(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _fmt_money(amount: float | None, currency: str | None) -> str:
    if amount is None:
        return ""
    return f"{amount:,.2f} {currency}".strip() if currency else f"{amount:,.2f}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(_TEMPLATES)),
        autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.globals.update(clip=clip_text, fmt_hours=_fmt_hours, fmt_money=_fmt_money)
    return env


def render_html(report: ReportData) -> str:
    """One self-contained HTML page: inline CSS and SVG charts, no scripts, nothing fetched to view it.

    Every piece of user text (task, project, person names, reasons) is HTML-escaped, and a strict
    Content-Security-Policy makes the page inert even if something slipped through.
    """
    burndowns = [(b, charts.burndown_chart(b, f"burndown-{i}")) for i, b in enumerate(report.burndowns)]
    chart_parts = {
        "scatter": charts.scatter_estimate_actual(report.points, link=report.task_url),
        "bias": charts.bias_bars(report.bias),
        "capacity": charts.capacity_heatmap(report.capacity),
        "burndowns": burndowns,
    }
    anomalies = sorted(report.anomalies, key=lambda a: (-a.score, a.task_gid))
    suggestions = list(report.suggestions)
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        charts=chart_parts,
        anomalies=anomalies[:MAX_TABLE_ROWS],
        anomalies_more=max(len(anomalies) - MAX_TABLE_ROWS, 0),
        suggestions=suggestions[:MAX_TABLE_ROWS],
        suggestions_more=max(len(suggestions) - MAX_TABLE_ROWS, 0),
        billing_totals=sorted(report.billing_totals().items()),
        budget_section=budget_html_section(report.budgets),
    )


# ---------------------------------------------------------------------------------------------- Markdown

_MD_SPECIAL = str.maketrans(
    {
        "\\": "\\\\",
        "|": "\\|",
        "*": "\\*",
        "_": "\\_",
        "`": "\\`",
        "[": "\\[",
        "]": "\\]",
        "#": "\\#",
        "<": "&lt;",
        ">": "&gt;",
        "&": "&amp;",
    }
)


def md(text: str | None, limit: int = MAX_TEXT) -> str:
    """Markdown-inert text: one line, clipped, table pipes and markup characters escaped, HTML as entities."""
    return clip_text(text, limit).translate(_MD_SPECIAL)


def _table(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    """A GitHub-flavoured table; ``align`` has one letter per column, "r" = right-aligned."""
    marks = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def render_markdown(report: ReportData) -> str:
    """A plain Markdown report with the same sections as the HTML page; charts become tables."""
    out: list[str] = [
        f"# {md(report.title)}",
        "",
        f"Period {report.period_start.isoformat()} – {report.period_end.isoformat()} · Scope: {md(report.scope)}"
        f" · Generated {report.generated_at.strftime('%Y-%m-%d %H:%M UTC')}"
        + (f" · {md(report.data_freshness, 200)}" if report.data_freshness else ""),
        "",
    ]
    if report.notes:
        out += [f"> Note: {md(n, 300)}" for n in report.notes] + [""]
    if report.headlines:
        out += ["## Headlines", ""]
        out += [
            f"- **{md(h.label)}**: {md(h.value)}" + (f" ({md(h.detail)})" if h.detail else "")
            for h in report.headlines
        ]
        out.append("")
    if report.highlights:
        out += ["## Highlights", ""] + [f"- {md(line, 400)}" for line in report.highlights] + [""]
    out += ["## Estimation bias by project type", ""]
    if report.bias:
        rows = [
            [
                md(g.group),
                f"{g.median_ratio:.2f}×",
                f"{g.low:.2f}–{g.high:.2f}" if g.low is not None and g.high is not None else "",
                "" if g.overrun_share is None else f"{100 * g.overrun_share:.0f}%",
                str(g.n),
            ]
            for g in report.bias
        ]
        out += _table(
            ["Group", "Median actual/estimate", "Interval", "Overrun share", "Tasks"], rows, "lrrrr"
        )
    else:
        out.append("Not enough completed, estimated tasks to measure bias.")
    out.append("")
    drawable = [p for p in report.points if p.estimate_hours > 0 and p.actual_hours > 0]
    out += ["## Estimate vs actual", ""]
    if drawable:
        over = sum(1 for p in drawable if p.actual_hours > p.estimate_hours)
        est = sum(p.estimate_hours for p in drawable)
        act = sum(p.actual_hours for p in drawable)
        out.append(
            f"{len(drawable)} completed tasks: {over} ({100 * over / len(drawable):.0f}%) overran their estimate; "
            f"{est:.1f} h estimated, {act:.1f} h actual ({act / est:.2f}×)."
        )
    else:
        out.append("No completed tasks with both an estimate and actual hours.")
    out.append("")
    out += ["## Burn-down and completion forecast", ""]
    if report.burndowns:
        rows = []
        for b in report.burndowns:
            remaining = (
                b.history[-1].remaining_hours if b.history else (b.forecast[0].p50 if b.forecast else None)
            )
            rows.append(
                [
                    md(b.project_name),
                    _fmt_hours(remaining),
                    b.finish_p50.isoformat() if b.finish_p50 else "",
                    b.finish_p80.isoformat() if b.finish_p80 else "",
                    b.finish_p95.isoformat() if b.finish_p95 else "",
                    b.due_on.isoformat() if b.due_on else "",
                    "**at risk**" if b.at_risk else "on track",
                ]
            )
        out += _table(["Project", "Remaining h", "P50", "P80", "P95", "Due", "Status"], rows, "lrlllll")
    else:
        out.append("No open projects with remaining estimates in scope.")
    out.append("")
    out += ["## Capacity by person and week", ""]
    if report.capacity:
        weeks = sorted({c.week_start for c in report.capacity})
        people = sorted({c.person for c in report.capacity}, key=str.lower)
        cells = {(c.person, c.week_start): c for c in report.capacity}
        rows = []
        for person in people:
            row = [md(person)]
            for week in weeks:
                cell = cells.get((person, week))
                pct = cell.utilisation_pct if cell else None
                text = "" if pct is None else f"{pct:.0f}%"
                text = f"**{text}**" if pct is not None and pct > 100 else text
                off = cell.out_of_office_days if cell else 0
                row.append(f"{text} ({off}d off)".lstrip() if off > 0 else text)
            rows.append(row)
        out += _table(["Person", *(w.isoformat() for w in weeks)], rows, "l" + "r" * len(weeks))
        out += ["", "Bold: over capacity (planned hours above the person's weekly capacity)."]
        # Resourcing notes only when present, so reports without allocations or time off are unchanged.
        if any(c.out_of_office_days > 0 for c in report.capacity):
            out += [
                "",
                "(Nd off): N working days out of office that week (Asana OOO or configured time off); "
                "that week's capacity is reduced by them.",
            ]
        allocated = [c for c in report.capacity if c.allocated_hours > 0]
        if allocated:
            alloc_people = sorted({c.person for c in allocated}, key=str.lower)
            alloc_rows = [
                [md(person)]
                + [
                    _fmt_hours(cells[(person, week)].allocated_hours)
                    if (person, week) in cells and cells[(person, week)].allocated_hours > 0
                    else ""
                    for week in weeks
                ]
                for person in alloc_people
            ]
            out += [
                "",
                "Allocated hours per week (Asana allocations, included in the planned hours above):",
                "",
            ]
            out += _table(["Person", *(w.isoformat() for w in weeks)], alloc_rows, "l" + "r" * len(weeks))
    else:
        out.append("No capacity data for this period.")
    out.append("")
    out += ["## Time-entry anomalies", ""]
    anomalies = sorted(report.anomalies, key=lambda a: (-a.score, a.task_gid))
    if anomalies:
        rows = [
            [
                md(a.task_name or a.task_gid, 80),
                md(a.person or ""),
                a.entered_on.isoformat() if a.entered_on else "",
                _fmt_hours(a.hours),
                md(a.kind),
                f"{a.score:.2f}",
                md(a.reason, 200),
            ]
            for a in anomalies[:MAX_TABLE_ROWS]
        ]
        out += _table(["Task", "Person", "Date", "Hours", "Kind", "Score", "Reason"], rows, "lllrlrl")
        if len(anomalies) > MAX_TABLE_ROWS:
            out += ["", f"{len(anomalies) - MAX_TABLE_ROWS} more not shown."]
    else:
        out.append("No suspicious time entries in this period.")
    out.append("")
    if report.suggestions:
        out += ["## Suggested estimates for open tasks", ""]
        rows = [
            [
                md(s.task_name or s.task_gid, 80),
                md(s.assignee or ""),
                _fmt_hours(s.human_estimate_hours),
                _fmt_hours(s.estimate_hours),
                f"{_fmt_hours(s.p10_hours)}–{_fmt_hours(s.p90_hours)}"
                if s.p10_hours is not None and s.p90_hours is not None
                else "",
                "" if s.confidence is None else f"{100 * s.confidence:.0f}%",
                md(s.basis, 120),
            ]
            for s in report.suggestions[:MAX_TABLE_ROWS]
        ]
        out += _table(
            ["Task", "Assignee", "Human h", "Suggested h", "P10–P90", "Confidence", "Basis"], rows, "llrrrrl"
        )
        out.append("")
    out += budget_markdown(report.budgets, escape=md)
    if report.billing:
        out += ["## Billing draft", ""]
        rows = [
            [md(b.client), md(b.project), f"{b.hours:.2f}", _fmt_money(b.amount, b.currency)]
            for b in report.billing
        ]
        totals = " + ".join(_fmt_money(v, k) for k, v in sorted(report.billing_totals().items()))
        rows.append(
            ["**Total**", "", f"**{report.billing_total_hours:.2f}**", f"**{totals}**" if totals else ""]
        )
        out += _table(["Client", "Project", "Hours", "Amount"], rows, "llrr")
        out += ["", "A draft: nothing has been sent."]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def write_report(report: ReportData, directory: Path, stem: str = "report") -> tuple[Path, Path]:
    """Write `<stem>.md` and `<stem>.html` into ``directory``; returns both paths."""
    directory.mkdir(parents=True, exist_ok=True)
    md_path, html_path = directory / f"{stem}.md", directory / f"{stem}.html"
    md_path.write_text(render_markdown(report), encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return md_path, html_path
