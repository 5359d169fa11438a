"""Budgets in the reports: a burn chart per project (spent so far, the projected P10-P90 band and P50,
the budget line, the P50/P80 dates it runs out) and the same figures as Markdown and an HTML section.

Input is ``tools.analytics.budget.BudgetStatus`` as computed; nothing is recomputed here. Charts follow
agent/reports/charts.py: inline SVG, every label escaped through ``Markup.format``, ``role="img"`` with a
title and a description, stable element classes (``budget-line``, ``spent``, ``p50``, ``band``,
``runs-out``) that tests count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date

from markupsafe import Markup

from agent.reports.charts import _date_label, _join, _num, _open_svg, empty_chart, nice_step
from tools.analytics.budget import BudgetStatus

MAX_BUDGET_CHARTS = 6  # the most pressing projects get a chart; the table lists them all


def _amount(value: float, unit: str) -> str:
    return f"{value:,.1f} {unit}" if unit == "h" else f"{value:,.0f} {unit}"


def _runs_out(s: BudgetStatus) -> str:
    if s.ran_out_on is not None:
        return f"ran out {s.ran_out_on.isoformat()}"
    if s.open_tasks == 0:
        return "no open work"
    p50 = s.runs_out_p50.isoformat() if s.runs_out_p50 else "not before done"
    p80 = s.runs_out_p80.isoformat() if s.runs_out_p80 else "not before done"
    return f"P50 {p50}, P80 {p80}"


def budget_burn_chart(s: BudgetStatus, chart_id: str) -> Markup:
    """Cumulative spend against the budget line, with the projection and the exhaustion dates."""
    history = [(p.day, p.spent) for p in s.burn if p.spent is not None]
    future = [p for p in s.burn if p.p50 is not None]
    days = [d for d, _ in history] + [p.day for p in future]
    days += [d for d in (s.runs_out_p50, s.runs_out_p80) if d is not None]
    if len(days) < 2:
        return empty_chart("budget", chart_id, f"{s.name}: not enough history for a burn chart.")
    values = [v for _, v in history if v is not None] + [p.p90 or 0.0 for p in future] + [s.budget]
    width, height, left, right, top, bottom = 640, 250, 64, 30, 24, 50
    pw, ph = width - left - right, height - top - bottom
    d0, d1 = min(days), max(days)
    span = max((d1 - d0).days, 1)
    step = nice_step(max(max(values), 1.0) / 4)
    ymax = step * math.ceil(max(max(values), 1.0) * 1.05 / step)

    def sx(day: date) -> float:
        return left + pw * (day - d0).days / span

    def sy(v: float) -> float:
        return top + ph - ph * max(v, 0.0) / ymax

    desc = (
        f"{s.name}: {_amount(s.spent, s.unit)} spent of a {_amount(s.budget, s.unit)} budget "
        f"({s.pct_spent:.0f}%). Total at completion P50 {_amount(s.eac_p50, s.unit)}, "
        f"P80 {_amount(s.eac_p80, s.unit)}. Budget: {_runs_out(s)}."
    )
    parts = [_open_svg("budget", chart_id, width, height, f"Budget burn: {s.name}", desc)]
    parts.append(
        Markup('<rect x="{}" y="{}" width="{}" height="{}" fill="#fafafa" stroke="#ccc"/>').format(
            left, top, pw, ph
        )
    )
    for k in range(round(ymax / step) + 1):
        v = step * k
        parts.append(
            Markup(
                '<line class="grid" x1="{l}" y1="{y}" x2="{r}" y2="{y}" stroke="#e5e5e5"/>'
                '<text x="{tx}" y="{y}" text-anchor="end" dominant-baseline="middle" fill="#444">{lab}</text>'
            ).format(l=left, r=left + pw, y=_num(sy(v)), tx=left - 6, lab=f"{v:,.0f}")
        )
    for k in range(5):
        day = date.fromordinal(d0.toordinal() + round(span * k / 4))
        parts.append(
            Markup('<text x="{x}" y="{y}" text-anchor="middle" fill="#444">{lab}</text>').format(
                x=_num(sx(day)), y=top + ph + 16, lab=_date_label(day)
            )
        )
    if future:
        start = [(history[-1][0], history[-1][1])] if history else []
        upper = [f"{_num(sx(d))},{_num(sy(v or 0.0))}" for d, v in start] + [
            f"{_num(sx(p.day))},{_num(sy(p.p90 or 0.0))}" for p in future
        ]
        lower = [f"{_num(sx(p.day))},{_num(sy(p.p10 or 0.0))}" for p in reversed(future)] + [
            f"{_num(sx(d))},{_num(sy(v or 0.0))}" for d, v in start
        ]
        parts.append(
            Markup(
                '<polygon class="band" points="{}" fill="#6baed6" fill-opacity="0.5">'
                "<title>P10–P90 projected spend</title></polygon>"
            ).format(" ".join(upper + lower))
        )
        line = [f"{_num(sx(d))},{_num(sy(v or 0.0))}" for d, v in start] + [
            f"{_num(sx(p.day))},{_num(sy(p.p50 or 0.0))}" for p in future
        ]
        parts.append(
            Markup(
                '<polyline class="p50" points="{}" fill="none" stroke="#08519c" stroke-width="2" '
                'stroke-dasharray="6 3"><title>P50 projected spend</title></polyline>'
            ).format(" ".join(line))
        )
    if history:
        parts.append(
            Markup(
                '<polyline class="spent" points="{}" fill="none" stroke="#222" stroke-width="2">'
                "<title>Spent so far</title></polyline>"
            ).format(" ".join(f"{_num(sx(d))},{_num(sy(v or 0.0))}" for d, v in history))
        )
    y = sy(s.budget)
    parts.append(
        Markup(
            '<line class="budget-line" x1="{l}" y1="{y}" x2="{r}" y2="{y}" stroke="#D55E00" stroke-width="2"/>'
            '<text x="{tx}" y="{ty}" text-anchor="end" fill="#D55E00">budget {lab}</text>'
        ).format(
            l=left, r=left + pw, y=_num(y), tx=left + pw - 4, ty=_num(y - 5), lab=_amount(s.budget, s.unit)
        )
    )
    marks = (
        [("ran out", s.ran_out_on)] if s.ran_out_on else [("P50", s.runs_out_p50), ("P80", s.runs_out_p80)]
    )
    for i, (name, mark) in enumerate(marks):
        if mark is None:
            continue
        x = sx(mark)
        parts.append(
            Markup(
                '<g class="runs-out"><line x1="{x}" y1="{t}" x2="{x}" y2="{b}" stroke="#D55E00" '
                'stroke-dasharray="3 3"/><text x="{x}" y="{ty}" text-anchor="middle" font-size="10" '
                'fill="#D55E00">{n} {d}</text></g>'
            ).format(x=_num(x), t=top, b=top + ph, ty=top + ph + 30 + 10 * i, n=name, d=_date_label(mark))
        )
    unit = "Hours" if s.unit == "h" else s.unit
    parts.append(
        Markup(
            '<text transform="translate(14 {ym}) rotate(-90)" text-anchor="middle" fill="#222">{u} spent</text></svg>'
        ).format(ym=top + ph / 2, u=unit)
    )
    return _join(parts)


def budget_html_section(rows: Sequence[BudgetStatus]) -> Markup:
    """The report's budget section: a table of every budget and a burn chart for the most pressing."""
    if not rows:
        return Markup("")
    head = Markup(
        '<section aria-labelledby="h-budgets"><h2 id="h-budgets">Budgets</h2><table class="budgets">'
        '<thead><tr><th scope="col">Project</th><th scope="col" class="num">Spent of budget</th>'
        '<th scope="col" class="num">Burn / week</th><th scope="col" class="num">Total at completion P50 / P80</th>'
        '<th scope="col">Runs out</th><th scope="col">State</th></tr></thead><tbody>'
    )
    body = [
        Markup(
            '<tr><td>{n}</td><td class="num">{sp} of {b} ({p}%)</td><td class="num">{bw}</td>'
            '<td class="num">{e50} / {e80}</td><td>{ro}</td><td{cls}>{st}</td></tr>'
        ).format(
            n=s.name,
            sp=_amount(s.spent, s.unit),
            b=_amount(s.budget, s.unit),
            p=f"{s.pct_spent:.0f}",
            bw=_amount(s.burn_per_week, s.unit),
            e50=_amount(s.eac_p50, s.unit),
            e80=_amount(s.eac_p80, s.unit),
            ro=_runs_out(s),
            st=s.state.replace("_", " "),
            cls=Markup(' class="risk"') if s.state in ("over", "at_risk") else Markup(""),
        )
        for s in rows
    ]
    figures = [
        Markup("<figure>{chart}<figcaption>{cap}</figcaption></figure>").format(
            chart=budget_burn_chart(s, f"budget-{i}"),
            cap=(
                f"{s.name}. Solid: spent so far. Dashed: P50 projected spend, shaded P10–P90, from the "
                f"completion forecast's simulations. Horizontal line: the budget. {_runs_out(s)}."
            ),
        )
        for i, s in enumerate(rows[:MAX_BUDGET_CHARTS])
    ]
    return _join([head, *body, Markup("</tbody></table>"), *figures, Markup("</section>")])


def budget_markdown(rows: Sequence[BudgetStatus], escape: object = str) -> list[str]:
    """The budget section as Markdown lines (``escape`` makes user text inert, e.g. ``render.md``)."""
    if not rows:
        return []
    clean = escape if callable(escape) else str
    lines = [
        "## Budgets",
        "",
        "| Project | Spent of budget | Burn / week | Total at completion P50 / P80 | Runs out | State |",
        "|---|--:|--:|--:|---|---|",
    ]
    for s in rows:
        lines.append(
            f"| {clean(s.name)} | {_amount(s.spent, s.unit)} of {_amount(s.budget, s.unit)} ({s.pct_spent:.0f}%) "
            f"| {_amount(s.burn_per_week, s.unit)} | {_amount(s.eac_p50, s.unit)} / {_amount(s.eac_p80, s.unit)} "
            f"| {_runs_out(s)} | {s.state.replace('_', ' ')} |"
        )
    return [*lines, ""]


__all__ = ["MAX_BUDGET_CHARTS", "budget_burn_chart", "budget_html_section", "budget_markdown"]
