"""A deterministic sample report (seeded), for the demo, the docs and the renderer tests.

It deliberately includes hostile text (markup and script in a task name) so every consumer of the
sample exercises escaping.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, date, datetime, timedelta

from agent.reports.model import (
    AnomalyRow,
    BandPoint,
    BiasGroup,
    BillingLine,
    Burndown,
    CapacityCell,
    EstimatePoint,
    Headline,
    RemainingPoint,
    ReportData,
    SuggestedEstimate,
)

HOSTILE_NAME = '<script>alert("x")</script><img src=x onerror=alert(1)> Fix | login *now*'
PROJECT_TYPES = ("client build", "internal tool", "marketing", "support")
PEOPLE = ("Ana Lima", "Ben Okafor", "Chen Wei", "Dana Levi", "Eli Novak")


SANDBOX_WEB = "http://127.0.0.1:8765"  # as if synced from the sandbox: links must point here


def sample_report_data(
    seed: int = 7, *, n_points: int = 60, n_weeks: int = 6, long_span: bool = False
) -> ReportData:
    """A realistic, fully deterministic ReportData: same seed, same report.

    ``long_span``: burn-downs whose forecast runs into 2028 and starts above the logged line (as a
    bias-adjusted forecast does), tasks carrying app.asana.com permalinks while the report links to the
    sandbox, and the store's freshness: what a real report from `effort retro` on sandbox data holds.
    """
    rng = random.Random(seed)
    start, end = date(2026, 10, 1), date(2026, 10, 31)
    bias_true = {"client build": 1.35, "internal tool": 1.1, "marketing": 0.9, "support": 1.6}
    points = []
    for i in range(n_points):
        ptype = PROJECT_TYPES[i % len(PROJECT_TYPES)]
        est = round(math.exp(rng.uniform(math.log(0.5), math.log(60))), 1)
        act = round(est * bias_true[ptype] * math.exp(rng.gauss(0, 0.35)), 1)
        name = HOSTILE_NAME if i == 3 else f"Task {i + 1}: {ptype} work item"
        url = f"https://app.asana.com/0/500/{1000 + i}" if long_span else None
        points.append(
            EstimatePoint(
                task_gid=str(1000 + i), name=name, estimate_hours=est, actual_hours=act, group=ptype, url=url
            )
        )
    bias = []
    for ptype in PROJECT_TYPES:
        ratios = sorted(p.actual_hours / p.estimate_hours for p in points if p.group == ptype)
        n = len(ratios)
        bias.append(
            BiasGroup(
                group=ptype,
                median_ratio=round(ratios[n // 2], 3),
                low=round(ratios[max(n // 4, 0)], 3),
                high=round(ratios[min(3 * n // 4, n - 1)], 3),
                n=n,
                overrun_share=round(sum(r > 1 for r in ratios) / n, 3),
            )
        )
    burndowns = []
    for k, (name, total, due_offset) in enumerate(
        (("Website Redesign", 420.0, 40), ("Mobile App v2", 260.0, 72))
    ):
        history, remaining = [], total
        day = start
        while day <= end:
            history.append(RemainingPoint(day=day, remaining_hours=round(remaining, 1)))
            remaining = max(remaining - rng.uniform(4, 12) * (1 + k * 0.2), 0)
            day += timedelta(days=3)
        forecast, last = [], history[-1].remaining_hours
        rate = total / 40
        if long_span:  # bias-adjusted: more work than the estimates say, finishing in 2027-2028
            last, rate = round(last * 1.3 + 40, 1), total / 400
        for step in range(0, 700 if long_span else 60, 21 if long_span else 3):
            day = end + timedelta(days=step)
            p50 = max(last - rate * step, 0)
            forecast.append(
                BandPoint(
                    day=day,
                    p50=round(p50, 1),
                    p80=round(max(last - rate * 0.8 * step, 0), 1),
                    p95=round(max(last - rate * 0.65 * step, 0), 1),
                )
            )
        finish = [end + timedelta(days=math.ceil(last / (rate * f))) for f in (1.0, 0.8, 0.65)]
        burndowns.append(
            Burndown(
                project_gid=str(500 + k),
                project_name=name,
                history=history,
                forecast=forecast,
                finish_p50=finish[0],
                finish_p80=finish[1],
                finish_p95=finish[2],
                due_on=start + timedelta(days=due_offset),
                at_risk=finish[1] > start + timedelta(days=due_offset),
            )
        )
    capacity = []
    week0 = date(2026, 11, 2)
    for p_i, person in enumerate(PEOPLE):
        for w in range(n_weeks):
            load = 0.55 + 0.12 * p_i + rng.uniform(-0.1, 0.25)
            capacity.append(
                CapacityCell(
                    person=person,
                    week_start=week0 + timedelta(weeks=w),
                    planned_hours=round(40 * load, 1),
                    capacity_hours=32.0 if person == "Dana Levi" else 40.0,
                )
            )
    anomalies = [
        AnomalyRow(
            task_gid="1003",
            task_name=HOSTILE_NAME,
            person="Ben Okafor",
            entered_on=date(2026, 10, 11),
            hours=14.0,
            kind="implausible_duration",
            score=0.93,
            reason="14.0 h logged in one entry on a Saturday; 3.1x this person's largest entry",
        ),
        AnomalyRow(
            task_gid="1017",
            task_name="Task 18: support work item",
            person="Ana Lima",
            entered_on=date(2026, 10, 20),
            hours=9.5,
            kind="variance",
            score=0.81,
            reason="actual 19.0 h vs estimate 8.0 h (+138%), above the 50% threshold",
        ),
        AnomalyRow(
            task_gid="1022",
            task_name="Task 23: support work item",
            person="Chen Wei",
            entered_on=date(2026, 10, 22),
            hours=2.0,
            kind="duplicate",
            score=0.66,
            reason="same task, person, date and duration as entry 88231",
        ),
        AnomalyRow(
            task_gid="1040",
            task_name="Task 41: client build work item",
            person="Eli Novak",
            entered_on=date(2026, 11, 3),
            hours=3.0,
            kind="future_date",
            score=0.55,
            reason="entered for a date after the report was generated",
        ),
    ]
    suggestions = [
        SuggestedEstimate(
            task_gid="2001",
            task_name="Checkout page A/B test",
            assignee="Ana Lima",
            human_estimate_hours=6.0,
            estimate_hours=8.5,
            p10_hours=5.0,
            p90_hours=14.0,
            confidence=0.72,
            basis="8 similar tasks; client build bias 1.35x",
        ),
        SuggestedEstimate(
            task_gid="2002",
            task_name="Migrate CI runners",
            assignee="Chen Wei",
            human_estimate_hours=None,
            estimate_hours=12.0,
            p10_hours=7.0,
            p90_hours=22.0,
            confidence=0.55,
            basis="cold start: 5 similar tasks",
        ),
    ]
    billing = [
        BillingLine(client="Acme", project="Website Redesign", hours=112.25, amount=13470.0, currency="EUR"),
        BillingLine(client="Acme", project="Mobile App v2", hours=64.5, amount=7740.0, currency="EUR"),
        BillingLine(client="Globex", project="Support retainer", hours=18.75, amount=1875.0, currency="USD"),
    ]
    over = sum(p.actual_hours > p.estimate_hours for p in points)
    all_ratios = sorted(p.actual_hours / p.estimate_hours for p in points)
    median_ratio = all_ratios[len(all_ratios) // 2]
    headlines = [
        Headline(
            label="Hours logged",
            value=f"{sum(p.actual_hours for p in points):,.0f} h",
            detail=f"{len(points)} completed tasks",
        ),
        Headline(label="Overrun share", value=f"{100 * over / len(points):.0f}%", detail="actual > estimate"),
        Headline(label="Median bias", value=f"{median_ratio:.2f}×", detail="actual ÷ estimate, all types"),
        Headline(label="Projects at risk", value="1 of 2", detail="P80 finish after due date"),
        Headline(label="Anomalies", value=str(len(anomalies)), detail="flagged for review"),
    ]
    return ReportData(
        title="Monthly retrospective — October 2026",
        data_freshness="data as of 2026-11-01 06:55 UTC (last incremental sync; 480 tasks, 5,210 time entries)"
        if long_span
        else None,
        link_base=SANDBOX_WEB if long_span else None,
        period_start=start,
        period_end=end,
        scope="projects: Website Redesign, Mobile App v2",
        generated_at=datetime(2026, 11, 1, 7, 0, tzinfo=UTC),
        headlines=headlines,
        bias=bias,
        points=points,
        burndowns=burndowns,
        capacity=capacity,
        anomalies=anomalies,
        suggestions=suggestions,
        billing=billing,
    )
