"""Pure analytics over typed records (tools.records): no I/O, deterministic, compact pydantic results.

Each analysis is a plain function over a ``Workspace`` (plus config) that returns a bounded result
model. Functions accept an optional prebuilt ``Frame`` (``build_frame(workspace)``) so that several
analyses in one run convert the records to numpy arrays only once.

The estimator (``estimator.py``) and the similar-task index (``tools.index``) live alongside.
"""

from __future__ import annotations

from tools.analytics.anomalies import (
    AnomalyConfig,
    AnomalyFlag,
    AnomalyKind,
    AnomalySummary,
    DetectorFeedback,
    detect_anomalies,
    summarize_anomalies,
)
from tools.analytics.billing import BillingDraft, billing_draft, to_csv, to_json, to_markdown
from tools.analytics.calendar import WorkCalendar, build_calendar, parse_ics, read_ics
from tools.analytics.capacity import CapacityReport, capacity_report
from tools.analytics.forecast import ForecastReport, ProjectForecast, forecast_project, forecast_projects
from tools.analytics.frame import Frame, build_frame
from tools.analytics.retro import OverheadMatcher, RetroReport, retrospective
from tools.analytics.variance import (
    VarianceReport,
    schedule_variance_pct,
    schedule_variances,
    variance_report,
)

__all__ = [
    "AnomalyConfig",
    "AnomalyFlag",
    "AnomalyKind",
    "AnomalySummary",
    "BillingDraft",
    "CapacityReport",
    "DetectorFeedback",
    "ForecastReport",
    "Frame",
    "OverheadMatcher",
    "ProjectForecast",
    "RetroReport",
    "VarianceReport",
    "WorkCalendar",
    "billing_draft",
    "build_calendar",
    "build_frame",
    "capacity_report",
    "detect_anomalies",
    "forecast_project",
    "forecast_projects",
    "parse_ics",
    "read_ics",
    "retrospective",
    "schedule_variance_pct",
    "schedule_variances",
    "summarize_anomalies",
    "to_csv",
    "to_json",
    "to_markdown",
    "variance_report",
]
