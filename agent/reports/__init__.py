"""Reports: Markdown and one self-contained HTML page with inline SVG charts (capability 13)."""

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
from agent.reports.render import render_html, render_markdown, write_report

__all__ = [
    "AnomalyRow",
    "BandPoint",
    "BiasGroup",
    "BillingLine",
    "Burndown",
    "CapacityCell",
    "EstimatePoint",
    "Headline",
    "RemainingPoint",
    "ReportData",
    "SuggestedEstimate",
    "render_html",
    "render_markdown",
    "write_report",
]
