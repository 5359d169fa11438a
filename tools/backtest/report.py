"""The backtest's Markdown report (``--report OUT.md``)."""

from __future__ import annotations

from collections.abc import Sequence

from tools.analytics.estimator import GroupVerdict
from tools.backtest.headroom import render_hindsight
from tools.backtest.metrics import MIN_BATCH_TASKS, MIN_GROUP_TASKS, Metrics, TotalsMetrics
from tools.backtest.runner import BenchReport


def _cell(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if pct else f"{value:.3f}"


def _metric_row(name: str, m: Metrics) -> str:
    return (
        f"| {name} | {m.tasks} | {_cell(m.mae)} | {_cell(m.mdmre)} | {_cell(m.pred25, True)} | "
        f"{_cell(m.mean_log)} | {_cell(m.mean_abs_log)} | {_cell(m.coverage, True)} | {_cell(m.median_width)} |"
    )


def _totals(title: str, t: TotalsMetrics) -> list[str]:
    return [
        "",
        f"## {title} ({t.batches} batches of >= {MIN_BATCH_TASKS} tasks, {t.tasks} tasks)",
        "",
        "| figure | human | AI |",
        "|---|---|---|",
        f"| sum of \\|actual total - forecast\\| (h) | {_cell(t.human_abs_error_sum)} | {_cell(t.ai_abs_error_sum)} |",
        f"| median \\|log(actual total / forecast)\\| | {_cell(t.human_median_abs_log)} | {_cell(t.ai_median_abs_log)} |",
        f"| batches where AI is closer | | {_cell(t.ai_better_share, True)} |",
        f"| actual total inside P10-P90 (nominal 80%) | | {_cell(t.coverage80, True)} |",
        f"| actual total inside P25-P75 (nominal 50%) | | {_cell(t.coverage50, True)} |",
    ]


def _groups(title: str, rows: Sequence[GroupVerdict]) -> list[str]:
    if not rows:
        return []
    lines = [
        "",
        f"## AI vs person by {title} (test set, groups of >= {MIN_GROUP_TASKS} tasks)",
        "",
        "| group | tasks | mean abs log: person | AI | PRED(25): person | AI | better |",
        "|---|---|---|---|---|---|---|",
    ]
    for v in rows:
        lines.append(
            f"| {v.value[:40]} | {v.tasks} | {v.person_mean_abs_log:.3f} | {v.ai_mean_abs_log:.3f} | "
            f"{100 * v.person_pred25:.1f}% | {100 * v.ai_pred25:.1f}% | {v.better} |"
        )
    return lines


def render_report(r: BenchReport) -> str:
    """The Markdown report."""
    lines = [
        "# Estimation backtest",
        "",
        f"- source: `{r.source}`; rows read {r.rows_read}, skipped {r.rows_skipped}",
        f"- chronological split at {r.split_at}: train {r.train_tasks} tasks, test {r.test_tasks} "
        f"({r.test_with_estimate} with a human estimate)",
        "- the model never read a test task's actual hours; cold start never read its estimate",
        f"- time: {', '.join(f'{k} {v}' for k, v in r.seconds.items())}",
        "",
        "| predictor | tasks | MAE h | MdMRE | PRED(25) | mean log(act/pred) | mean abs log | P10-P90 coverage | median P90/P10 |",
        "|---|---|---|---|---|---|---|---|---|",
        _metric_row("human estimate (raw)", r.human),
        _metric_row("AI estimate (calibrated human)", r.ai),
        _metric_row("cold start (all test tasks)", r.cold),
        _metric_row("cold start (tasks with a human estimate)", r.cold_on_estimated),
        "",
        "Totals: the AI total is the median of a joint simulation (each task's own residual distribution, "
        "errors correlated within a project and within a project-month as measured on the history); the "
        "human total is the sum of the human estimates.",
    ]
    lines += _totals("Project x month totals", r.totals)
    lines += _totals("Project totals (a project's test tasks)", r.project_totals)
    lines += _groups("assignee", r.by_assignee)
    lines += _groups("category", r.by_category)
    a = r.approver
    if a is not None:
        lines += [
            "",
            "## Learning from approvers (simulated)",
            "",
            f"A simulated lead reviews {100 * a.review_share:.0f}% of the AI estimates in creation order: "
            f"rejects the AI figure when the person's is closer to the truth ({a.rejected} times), otherwise "
            f"edits it {100 * a.pull:.0f}% of the way toward the truth ({a.edited} times). Each decision feeds "
            "the estimator before the next task; no task's own decision is used for it.",
            "",
            "| on test tasks | without feedback | learning from the decisions |",
            "|---|---|---|",
            f"| with a human estimate: mean abs log | {_cell(a.static.mean_abs_log)} | {_cell(a.learning.mean_abs_log)} |",
            f"| with a human estimate: PRED(25) | {_cell(a.static.pred25, True)} | {_cell(a.learning.pred25, True)} |",
            f"| cold start: MdMRE | {_cell(a.cold_static.mdmre)} | {_cell(a.cold_learning.mdmre)} |",
            f"| cold start: mean abs log | {_cell(a.cold_static.mean_abs_log)} | {_cell(a.cold_learning.mean_abs_log)} |",
        ]
    lines += ["", "## Bars", "", "| figure | value | bar | met |", "|---|---|---|---|"]
    for f in r.figures:
        met = "-" if f["passed"] is None else ("yes" if f["passed"] else "**no**")
        value = f["value"]
        name = str(f["figure"]).replace("|", "\\|")
        shown = "-" if not isinstance(value, int | float) else f"{value:.3f}"
        lines.append(f"| {name} | {shown} | {f['bar']} | {met} |")
    lines += render_hindsight(r.hindsight)
    return "\n".join(lines) + "\n"
