"""Server-side SVG charts for the HTML report: no JavaScript, no network, every label escaped.

Each function returns a `markupsafe.Markup` SVG element. All interpolation goes through
`Markup.format`, which HTML-escapes every argument, so task names holding markup or script stay inert
text. Charts carry `role="img"`, a `<title>` and a `<desc>` for screen readers, and a `viewBox` so they
scale to the page and print cleanly. Element classes (`pt`, `bar`, `cell`, `band80`, ...) are stable:
the browser test counts them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import date

from markupsafe import Markup

from agent.reports.model import MAX_POINTS, BiasGroup, Burndown, CapacityCell, EstimatePoint, clip_text
from tools.links import is_web_url

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
OTHER_COLOUR = "#888888"
_FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'


def _num(value: float) -> str:
    """Compact coordinates: two decimals are plenty for a screen and keep the file small."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _hours(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def _open_svg(kind: str, chart_id: str, width: int, height: int, title: str, desc: str) -> Markup:
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" data-chart="{kind}" '
        'id="{cid}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-labelledby="{cid}-title {cid}-desc" ' + _FONT + ' font-size="12">'
        '<title id="{cid}-title">{title}</title><desc id="{cid}-desc">{desc}</desc>'
    ).format(kind=kind, cid=chart_id, w=width, h=height, title=title, desc=desc)


def _join(parts: Iterable[Markup]) -> Markup:
    return Markup("").join(parts)


def empty_chart(kind: str, chart_id: str, message: str) -> Markup:
    """A small placeholder that says why there is no chart (rather than an empty box)."""
    return _join(
        [
            _open_svg(kind, chart_id, 640, 60, message, message),
            Markup('<text x="12" y="34" fill="#555">{}</text></svg>').format(message),
        ]
    )


def _decades(lo: float, hi: float) -> tuple[float, float]:
    low = 10 ** math.floor(math.log10(lo))
    high = 10 ** math.ceil(math.log10(hi))
    if high <= low:
        high = low * 10
    return low, high


def _sample(points: Sequence[EstimatePoint], limit: int) -> list[EstimatePoint]:
    if len(points) <= limit:
        return list(points)
    step = len(points) / limit
    return [points[int(i * step)] for i in range(limit)]


def group_colours(groups: Iterable[str | None]) -> dict[str, str]:
    """Stable colours: the most frequent groups get the palette, the rest grey."""
    counts: dict[str, int] = {}
    for group in groups:
        key = group or "other"
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts, key=lambda g: (-counts[g], g))
    return {g: PALETTE[i] if i < len(PALETTE) else OTHER_COLOUR for i, g in enumerate(ordered)}


def scatter_estimate_actual(
    points: Sequence[EstimatePoint],
    chart_id: str = "scatter",
    link: Callable[[str, str | None], str | None] | None = None,
) -> Markup:
    """Estimate (x) vs actual (y) hours on log axes, with the y = x line and 0.5x / 2x guides.
    Each point has a tooltip and, with ``link(task_gid, permalink)``, opens its task."""
    drawable = [p for p in points if p.estimate_hours > 0 and p.actual_hours > 0]
    skipped = len(points) - len(drawable)
    if not drawable:
        return empty_chart("scatter", chart_id, "No completed tasks with both an estimate and actual hours.")
    shown = _sample(drawable, MAX_POINTS)
    width, height, left, right, top, bottom = 640, 440, 64, 150, 16, 52
    pw, ph = width - left - right, height - top - bottom
    values = [v for p in shown for v in (p.estimate_hours, p.actual_hours)]
    lo, hi = _decades(min(values), max(values))
    span = math.log10(hi) - math.log10(lo)

    def sx(v: float) -> float:
        return left + pw * (math.log10(v) - math.log10(lo)) / span

    def sy(v: float) -> float:
        return top + ph - ph * (math.log10(v) - math.log10(lo)) / span

    over = sum(1 for p in shown if p.actual_hours > p.estimate_hours)
    desc = (
        f"{len(shown)} tasks plotted on logarithmic axes; {over} took longer than estimated "
        f"(above the diagonal)."
        + (f" {skipped} tasks with zero or missing hours not shown." if skipped else "")
        + (f" Sampled from {len(drawable)} tasks." if len(shown) < len(drawable) else "")
    )
    parts = [_open_svg("scatter", chart_id, width, height, "Estimated vs actual hours per task", desc)]
    parts.append(
        Markup('<rect x="{}" y="{}" width="{}" height="{}" fill="#fafafa" stroke="#ccc"/>').format(
            left, top, pw, ph
        )
    )
    # Decade ticks with 2x and 5x minor ticks; labels only on decades and the 2/5 marks when few decades.
    decade = lo
    label_minor = span <= 3
    while decade <= hi * 1.0001:
        for mult in (1, 2, 5):
            v = decade * mult
            if v > hi * 1.0001:
                break
            major = mult == 1
            x, y = sx(v), sy(v)
            stroke = "#ddd" if major else "#eee"
            parts.append(
                Markup(
                    '<line class="grid" x1="{x}" y1="{t}" x2="{x}" y2="{b}" stroke="{s}"/>'
                    '<line class="grid" x1="{l}" y1="{y}" x2="{r}" y2="{y}" stroke="{s}"/>'
                ).format(x=_num(x), y=_num(y), t=top, b=top + ph, l=left, r=left + pw, s=stroke)
            )
            if major or label_minor:
                label = f"{v:g}"
                parts.append(
                    Markup(
                        '<text x="{x}" y="{yb}" text-anchor="middle" fill="#444">{lab}</text>'
                        '<text x="{xl}" y="{y}" text-anchor="end" dominant-baseline="middle" fill="#444">{lab}</text>'
                    ).format(x=_num(x), yb=top + ph + 16, lab=label, xl=left - 6, y=_num(y))
                )
        decade *= 10
    # Guides: y = x (on estimate) and 0.5x / 2x.
    for factor, dash, name in ((1.0, "", "on estimate"), (2.0, "4 4", "2x"), (0.5, "4 4", "0.5x")):
        x1v, x2v = max(lo, lo / factor), min(hi, hi / factor)
        parts.append(
            Markup(
                '<line class="guide" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#999" '
                'stroke-dasharray="{d}"><title>{n}</title></line>'
            ).format(
                x1=_num(sx(x1v)),
                y1=_num(sy(x1v * factor)),
                x2=_num(sx(x2v)),
                y2=_num(sy(x2v * factor)),
                d=dash,
                n=name,
            )
        )
    colours = group_colours(p.group for p in shown)
    for p in shown:
        colour = colours[p.group or "other"]
        tip = f"{clip_text(p.name, 80)} — estimate {_hours(p.estimate_hours)} h, actual {_hours(p.actual_hours)} h"
        circle = Markup(
            '<circle class="pt" cx="{cx}" cy="{cy}" r="4" fill="{c}" fill-opacity="0.7" '
            'stroke="#fff" stroke-width="0.5"><title>{tip}</title></circle>'
        ).format(cx=_num(sx(p.estimate_hours)), cy=_num(sy(p.actual_hours)), c=colour, tip=tip)
        href = link(p.task_gid, p.url) if link is not None else p.url
        if is_web_url(href):
            circle = Markup('<a href="{}">').format(href) + circle + Markup("</a>")
        parts.append(circle)
    parts.append(
        Markup(
            '<text x="{x}" y="{y}" text-anchor="middle" fill="#222">Estimated hours (log scale)</text>'
            '<text transform="translate(16 {ym}) rotate(-90)" text-anchor="middle" fill="#222">'
            "Actual hours (log scale)</text>"
        ).format(x=left + pw / 2, y=height - 10, ym=top + ph / 2)
    )
    legend_x = left + pw + 14
    for i, (group, colour) in enumerate(list(colours.items())[: len(PALETTE) + 1]):
        y = top + 8 + i * 18
        parts.append(
            Markup(
                '<g class="legend-item"><circle cx="{cx}" cy="{cy}" r="5" fill="{c}"/>'
                '<text x="{tx}" y="{cy}" dominant-baseline="middle" fill="#333">{g}</text></g>'
            ).format(cx=legend_x + 5, cy=y, c=colour, tx=legend_x + 14, g=clip_text(group, 18))
        )
    parts.append(Markup("</svg>"))
    return _join(parts)


def bias_bars(groups: Sequence[BiasGroup], chart_id: str = "bias") -> Markup:
    """Median actual/estimate ratio per group on a log2 axis centred on 1.0, with interval whiskers."""
    rows = [g for g in groups if g.median_ratio > 0]
    if not rows:
        return empty_chart("bias", chart_id, "Not enough completed, estimated tasks to measure bias.")
    label_w, value_w, row_h, top, bottom = 170, 130, 30, 14, 40
    width = 680
    pw = width - label_w - value_w
    height = top + bottom + row_h * len(rows)
    values = [g.median_ratio for g in rows]
    values += [v for g in rows for v in (g.low, g.high) if v is not None and v > 0]
    lo = min(0.5, min(values) / 1.15)
    hi = max(2.0, max(values) * 1.15)
    l_lo, l_hi = math.log2(lo), math.log2(hi)

    def sx(v: float) -> float:
        return label_w + pw * (math.log2(v) - l_lo) / (l_hi - l_lo)

    desc = "; ".join(
        f"{g.group}: median actual/estimate {g.median_ratio:.2f} over {g.n} tasks"
        + (f" (interval {g.low:.2f}–{g.high:.2f})" if g.low is not None and g.high is not None else "")
        for g in rows
    )
    parts = [_open_svg("bias", chart_id, width, height, "Estimation bias by group (actual / estimate)", desc)]
    axis_y = top + row_h * len(rows)
    tick = 0.125
    while tick <= hi:
        if tick >= lo:
            x = sx(tick)
            parts.append(
                Markup(
                    '<line class="grid" x1="{x}" y1="{t}" x2="{x}" y2="{b}" stroke="#e5e5e5"/>'
                    '<text x="{x}" y="{ty}" text-anchor="middle" fill="#444">{lab}</text>'
                ).format(x=_num(x), t=top, b=axis_y, ty=axis_y + 16, lab=f"{tick:g}×")
            )
        tick *= 2
    for i, g in enumerate(rows):
        y = top + i * row_h
        x1, x2 = sx(1.0), sx(g.median_ratio)
        colour = "#D55E00" if g.median_ratio > 1 else "#0072B2"
        n_text = f"{g.median_ratio:.2f}× (n={g.n})"
        parts.append(
            Markup(
                '<text x="{lx}" y="{cy}" text-anchor="end" dominant-baseline="middle" fill="#222">{label}</text>'
                '<rect class="bar" x="{x}" y="{y}" width="{w}" height="{h}" fill="{c}" fill-opacity="0.8">'
                "<title>{label}: {nt}</title></rect>"
            ).format(
                lx=label_w - 8,
                cy=_num(y + row_h / 2),
                label=clip_text(g.group, 26),
                x=_num(min(x1, x2)),
                y=_num(y + 6),
                w=_num(max(abs(x2 - x1), 1.5)),
                h=row_h - 12,
                c=colour,
                nt=n_text,
            )
        )
        if g.low is not None and g.high is not None and g.low > 0 and g.high > 0:
            a, b, cy = sx(min(g.low, g.high)), sx(max(g.low, g.high)), y + row_h / 2
            parts.append(
                Markup(
                    '<g class="interval" stroke="#222" stroke-width="1.5"><line x1="{a}" y1="{cy}" x2="{b}" y2="{cy}"/>'
                    '<line x1="{a}" y1="{c1}" x2="{a}" y2="{c2}"/><line x1="{b}" y1="{c1}" x2="{b}" y2="{c2}"/></g>'
                ).format(a=_num(a), b=_num(b), cy=_num(cy), c1=_num(cy - 6), c2=_num(cy + 6))
            )
        parts.append(
            Markup('<text x="{x}" y="{cy}" dominant-baseline="middle" fill="#222">{t}</text>').format(
                x=label_w + pw + 8, cy=_num(y + row_h / 2), t=n_text
            )
        )
    parts.append(
        Markup(
            '<line class="ref" x1="{x}" y1="{t}" x2="{x}" y2="{b}" stroke="#222" stroke-width="1.5"/>'
            '<text x="{x}" y="{ty}" text-anchor="middle" fill="#222">Actual ÷ estimate (log scale; 1× = on estimate)'
            "</text></svg>"
        ).format(x=_num(sx(1.0)), t=top - 4, b=axis_y, ty=axis_y + 34)
    )
    return _join(parts)


def nice_step(raw: float) -> float:
    """A 1/2/5 x 10^k step at least ``raw``: axis labels people can read (0, 100, 200, not 113, 227)."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    base = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        if base * mult >= raw:
            return base * mult
    return base * 10


def _date_label(day: date) -> str:
    """Short day label without the year (the heat map adds a year row above it)."""
    return day.strftime("%b %d").replace(" 0", " ")


def burndown_chart(series: Burndown, chart_id: str) -> Markup:
    """Remaining hours over time: logged history, a dotted join to where the forecast starts, then the
    forecast's P50 line and P80/P95 bands. The time axis carries ISO dates (years included), every
    logged point and band has a tooltip, and a legend names each line."""
    days = [p.day for p in series.history] + [p.day for p in series.forecast]
    days += [d for d in (series.due_on, series.finish_p50, series.finish_p80, series.finish_p95) if d]
    heights = [p.remaining_hours for p in series.history] + [p.p95 for p in series.forecast]
    if len(days) < 2 or not heights:
        return empty_chart("burndown", chart_id, f"{series.project_name}: not enough data for a burn-down.")
    width, height, left, right, top, bottom = 640, 290, 56, 36, 24, 86
    pw, ph = width - left - right, height - top - bottom
    d0, d1 = min(days), max(days)
    span = max((d1 - d0).days, 1)
    step = nice_step(max(max(heights), 1.0) / 4)
    ymax = step * math.ceil(max(max(heights), 1.0) / step)

    def sx(day: date) -> float:
        return left + pw * (day - d0).days / span

    def sy(v: float) -> float:
        return top + ph - ph * max(v, 0.0) / ymax

    title = f"Burn-down: {series.project_name}"
    finish = ", ".join(
        f"{name} {d.isoformat()}"
        for name, d in (("P50", series.finish_p50), ("P80", series.finish_p80), ("P95", series.finish_p95))
        if d
    )
    desc = (
        f"Remaining hours for {series.project_name}: {len(series.history)} logged points and "
        f"{len(series.forecast)} forecast points."
        + (f" Forecast finish {finish}." if finish else "")
        + (f" Due {series.due_on.isoformat()}." if series.due_on else "")
        + (" At risk: P80 finish is after the due date." if series.at_risk else "")
    )
    parts = [_open_svg("burndown", chart_id, width, height, title, desc)]
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
            ).format(l=left, r=left + pw, y=_num(sy(v)), tx=left - 6, lab=f"{v:g}")
        )
    for k in range(5):  # ISO dates: a time axis spanning 2026-2028 must say which year
        day = date.fromordinal(d0.toordinal() + round(span * k / 4))
        anchor = "start" if k == 0 else "end" if k == 4 else "middle"
        parts.append(
            Markup(
                '<line x1="{x}" y1="{b}" x2="{x}" y2="{b2}" stroke="#999"/>'
                '<text class="xlabel" x="{x}" y="{y}" text-anchor="{a}" fill="#444">{lab}</text>'
            ).format(
                x=_num(sx(day)), b=top + ph, b2=top + ph + 4, y=top + ph + 17, a=anchor, lab=day.isoformat()
            )
        )
    fc = series.forecast
    if fc:
        for cls, key, colour in (("band95", "p95", "#c6dbef"), ("band80", "p80", "#6baed6")):
            upper = [f"{_num(sx(p.day))},{_num(sy(getattr(p, key)))}" for p in fc]
            lower = [f"{_num(sx(p.day))},{_num(sy(p.p50))}" for p in reversed(fc)]
            parts.append(
                Markup(
                    '<polygon class="{c}" points="{pts}" fill="{f}" fill-opacity="0.75"><title>{t}</title></polygon>'
                ).format(c=cls, pts=" ".join(upper + lower), f=colour, t=f"P50–{key.upper()} band")
            )
        parts.append(
            Markup(
                '<polyline class="p50" points="{}" fill="none" stroke="#08519c" stroke-width="2" '
                'stroke-dasharray="6 3"><title>P50 forecast of remaining hours</title></polyline>'
            ).format(" ".join(f"{_num(sx(p.day))},{_num(sy(p.p50))}" for p in fc))
        )
    if series.history:
        parts.append(
            Markup(
                '<polyline class="actual" points="{}" fill="none" stroke="#222" stroke-width="2">'
                "<title>Remaining hours (logged)</title></polyline>"
            ).format(" ".join(f"{_num(sx(p.day))},{_num(sy(p.remaining_hours))}" for p in series.history))
        )
        for p in series.history:
            parts.append(
                Markup(
                    '<circle class="hist" cx="{x}" cy="{y}" r="2.5" fill="#222"><title>{t}</title></circle>'
                ).format(
                    x=_num(sx(p.day)),
                    y=_num(sy(p.remaining_hours)),
                    t=f"{p.day.isoformat()}: {_hours(p.remaining_hours)} h remaining (estimate minus logged)",
                )
            )
    if series.history and fc:
        # The logged line ends at the open tasks' remaining estimate; the forecast starts from that
        # work adjusted by each assignee's track record. A dotted join shows the step, never a gap.
        last, first = series.history[-1], fc[0]
        parts.append(
            Markup(
                '<line class="join" x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#08519c" '
                'stroke-width="2" stroke-dasharray="2 3"><title>{t}</title></line>'
            ).format(
                x1=_num(sx(last.day)),
                y1=_num(sy(last.remaining_hours)),
                x2=_num(sx(first.day)),
                y2=_num(sy(first.p50)),
                t=(
                    f"Forecast starts from {_hours(first.p50)} h on {first.day.isoformat()}: the "
                    f"{_hours(last.remaining_hours)} h of remaining estimates, adjusted by each assignee's "
                    "track record"
                ),
            )
        )
    if series.due_on:
        x = sx(series.due_on)
        parts.append(
            Markup(
                '<line class="due" x1="{x}" y1="{t}" x2="{x}" y2="{b}" stroke="#D55E00" stroke-width="2">'
                "<title>due {d}</title></line>"
                '<text x="{x}" y="{ty}" text-anchor="middle" fill="#D55E00">due</text>'
            ).format(x=_num(x), t=top, b=top + ph, ty=top - 8, d=series.due_on.isoformat())
        )
    for i, (name, finish_day) in enumerate(
        (("P50", series.finish_p50), ("P80", series.finish_p80), ("P95", series.finish_p95))
    ):
        if finish_day:
            x = sx(finish_day)
            parts.append(
                Markup(
                    '<g class="finish"><title>{n} finish {d}</title><path d="M{x} {b} l-5 9 h10 z" fill="#08519c"/>'
                    '<text x="{x}" y="{ty}" text-anchor="middle" font-size="11" fill="#08519c">{n}</text></g>'
                ).format(x=_num(x), b=top + ph, ty=top + ph + 32 + i * 12, n=name, d=finish_day.isoformat())
            )
    # Legend: each line named, shape and colour together.
    ly = height - 12
    legend = (
        ('<line x1="0" y1="0" x2="22" y2="0" stroke="#222" stroke-width="2"/>', "logged"),
        (
            '<line x1="0" y1="0" x2="22" y2="0" stroke="#08519c" stroke-width="2" stroke-dasharray="6 3"/>',
            "P50",
        ),
        ('<rect x="0" y="-6" width="22" height="12" fill="#6baed6"/>', "to P80"),
        ('<rect x="0" y="-6" width="22" height="12" fill="#c6dbef"/>', "to P95"),
    )
    for k, (mark, label) in enumerate(legend):
        parts.append(
            Markup(
                '<g class="legend-item" transform="translate({x} {y})">' + mark + '<text x="28" y="0" '
                'dominant-baseline="middle" fill="#333">{lab}</text></g>'
            ).format(x=left + k * 130, y=ly, lab=label)
        )
    parts.append(
        Markup(
            '<text transform="translate(14 {ym}) rotate(-90)" text-anchor="middle" fill="#222">Remaining hours</text></svg>'
        ).format(ym=top + ph / 2)
    )
    return _join(parts)


# Utilisation bins: (upper bound %, fill, text colour, legend label). Text labels carry the number too,
# so colour is never the only channel.
HEAT_BINS = (
    (50.0, "#f0f4f8", "#222", "< 50%"),
    (80.0, "#c6dbef", "#222", "50–80%"),
    (100.0, "#6baed6", "#111", "80–100%"),
    (120.0, "#fd8d3c", "#111", "100–120%"),
    (math.inf, "#d7301f", "#fff", "> 120%"),
)


OFF_STROKE = "#222"  # dashed outline of a week with days out of office: a shape cue, not a colour
OFF_LEGEND_H = 20  # the extra legend row for it


def heat_colour(pct: float | None) -> tuple[str, str]:
    if pct is None:
        return "#ffffff", "#888"
    for bound, fill, text, _ in HEAT_BINS:
        if pct < bound:
            return fill, text
    return HEAT_BINS[-1][1], HEAT_BINS[-1][2]


def capacity_heatmap(cells: Sequence[CapacityCell], chart_id: str = "capacity") -> Markup:
    """Person x week grid of planned hours as a share of capacity, labelled with the percentage."""
    if not cells:
        return empty_chart("heatmap", chart_id, "No capacity data for this period.")
    people = sorted({c.person for c in cells}, key=str.lower)
    weeks = sorted({c.week_start for c in cells})
    by_key = {(c.person, c.week_start): c for c in cells}
    label_w, cell_w, cell_h, top, legend_h = 150, 52, 26, 48, 40
    width = max(label_w + cell_w * len(weeks) + 12, label_w + 82 * len(HEAT_BINS))
    height = top + cell_h * len(people) + legend_h
    overloaded = sorted({c.person for c in cells if (c.utilisation_pct or 0) > 100})
    # Resourcing marks (dashed outline for weeks with days off, allocation hours in the cell title)
    # appear only when present, so a report without them renders byte for byte as before.
    has_off = any(c.out_of_office_days > 0 for c in cells)
    has_alloc = any(c.allocated_hours > 0 for c in cells)
    if has_off:
        height += OFF_LEGEND_H
    desc = f"Planned hours as a share of capacity for {len(people)} people over {len(weeks)} weeks." + (
        f" Over capacity in at least one week: {', '.join(overloaded)}."
        if overloaded
        else " Nobody is over capacity."
    )
    if has_off:
        desc += " Weeks with days out of office (capacity reduced) have a dashed outline."
    if has_alloc:
        desc += " Planned hours include Asana allocations (hours in each cell's title)."
    parts = [_open_svg("heatmap", chart_id, width, height, "Capacity by person and week", desc)]
    for j, week in enumerate(weeks):
        if j == 0 or week.year != weeks[j - 1].year:  # the year, where it starts and where it changes
            parts.append(
                Markup(
                    '<text class="year" x="{x}" y="{y}" fill="#222" font-size="11" font-weight="600">{yr}</text>'
                ).format(x=label_w + cell_w * j + 2, y=top - 26, yr=week.year)
            )
        parts.append(
            Markup(
                '<text class="xlabel" x="{x}" y="{y}" text-anchor="middle" fill="#444" font-size="11">{lab}'
                "<title>week of {iso}</title></text>"
            ).format(
                x=_num(label_w + cell_w * j + cell_w / 2),
                y=top - 10,
                lab=_date_label(week),
                iso=week.isoformat(),
            )
        )
    for i, person in enumerate(people):
        y = top + i * cell_h
        parts.append(
            Markup(
                '<text x="{x}" y="{y}" text-anchor="end" dominant-baseline="middle" fill="#222">{p}</text>'
            ).format(x=label_w - 8, y=_num(y + cell_h / 2), p=clip_text(person, 22))
        )
        for j, week in enumerate(weeks):
            cell = by_key.get((person, week))
            x = label_w + j * cell_w
            if cell is None:
                parts.append(
                    Markup(
                        '<rect class="cell cell-empty" x="{x}" y="{y}" width="{w}" height="{h}" fill="#fff" '
                        'stroke="#ddd"><title>{p}, week of {wk}: no data</title></rect>'
                    ).format(x=x + 1, y=y + 1, w=cell_w - 2, h=cell_h - 2, p=person, wk=week.isoformat())
                )
                continue
            pct = cell.utilisation_pct
            fill, ink = heat_colour(pct)
            label = "–" if pct is None else f"{pct:.0f}%"
            tip = (
                f"{person}, week of {week.isoformat()}: {_hours(cell.planned_hours)} h planned of "
                f"{_hours(cell.capacity_hours)} h"
            )
            if cell.out_of_office_days > 0:
                days = cell.out_of_office_days
                tip += f"; {days} day{'s' if days != 1 else ''} out of office"
            if cell.allocated_hours > 0:
                tip += f"; {_hours(cell.allocated_hours)} h allocated in Asana"
            rect = (
                '<rect class="cell" x="{x}" y="{y}" width="{w}" height="{h}" fill="{f}" stroke="#fff">'
                if cell.out_of_office_days <= 0
                else '<rect class="cell cell-ooo" x="{x}" y="{y}" width="{w}" height="{h}" fill="{f}" '
                'stroke="' + OFF_STROKE + '" stroke-width="1.5" stroke-dasharray="4 2">'
            )
            parts.append(
                Markup(
                    rect + '<title>{tip}</title></rect><text x="{tx}" y="{ty}" text-anchor="middle" '
                    'dominant-baseline="middle" font-size="11" fill="{ink}">{lab}</text>'
                ).format(
                    x=x + 1,
                    y=y + 1,
                    w=cell_w - 2,
                    h=cell_h - 2,
                    f=fill,
                    tip=tip,
                    tx=_num(x + cell_w / 2),
                    ty=_num(y + cell_h / 2),
                    ink=ink,
                    lab=label,
                )
            )
    ly = top + cell_h * len(people) + 14
    for k, (_, fill, _ink, name) in enumerate(HEAT_BINS):
        lx = label_w + k * 82
        parts.append(
            Markup(
                '<g class="legend-item"><rect x="{x}" y="{y}" width="14" height="14" fill="{f}" stroke="#bbb"/>'
                '<text x="{tx}" y="{ty}" dominant-baseline="middle" font-size="11" fill="#333">{n}</text></g>'
            ).format(x=lx, y=ly, f=fill, tx=lx + 18, ty=ly + 7, n=name)
        )
    if has_off:
        oy = ly + OFF_LEGEND_H
        parts.append(
            Markup(
                '<g class="legend-item legend-ooo"><rect x="{x}" y="{y}" width="14" height="14" fill="#fff" '
                'stroke="' + OFF_STROKE + '" stroke-width="1.5" stroke-dasharray="4 2"/>'
                '<text x="{tx}" y="{ty}" dominant-baseline="middle" font-size="11" fill="#333">{n}</text></g>'
            ).format(x=label_w, y=oy, tx=label_w + 18, ty=oy + 7, n="days out of office (capacity reduced)")
        )
    parts.append(Markup("</svg>"))
    return _join(parts)
