"""What a sync reports: per-kind counts, requests, skips, warnings, which paid features answered, and what
is known afterwards (per-field coverage), so a user sees "billable status: 100% of 12,340 entries since
2026-06-08" instead of guessing what the numbers rest on."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel

from tools.store import Coverage


class KindCounts(BaseModel):
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0


class CoverageLine(BaseModel):
    """One field's coverage: ``known`` of ``total`` records, over ``scope`` (words, for people)."""

    field: str
    known: int
    total: int
    scope: str

    @property
    def share(self) -> float:
        return self.known / self.total if self.total else 1.0

    def describe(self) -> str:
        if not self.total:
            return f"{self.field}: no {self.scope} yet"
        return f"{self.field}: {self.share:.0%} of {self.total:,} {self.scope}"


class SyncSummary(BaseModel):
    """What a sync did: per-kind counts, requests used, skipped values (with reasons), coverage."""

    full: bool
    mode: str
    status: str = "ok"
    workspace_gid: str | None = None
    counts: dict[str, KindCounts] = {}
    requests: int = 0
    requests_by_endpoint: dict[str, int] = {}
    retries: int = 0
    rate_limited: int = 0
    rate_limit: str = ""  # what the shared rate budget paced at (configured, learnt from 429s, none)
    skipped: int = 0
    skips: list[dict[str, Any]] = []  # first 200 skips: {kind, gid, reason}
    warnings: list[str] = []
    # Paid or scoped features: "ok", or why not ("not available (HTTP 402): ...") - one line each.
    features: dict[str, str] = {}
    details_read: int = 0  # single-entry reads this run
    details_pending: int = 0  # entries in the window still without details (an interrupted backfill)
    stories_read: int = 0  # tasks whose stories were read this run
    coverage: list[CoverageLine] = []
    window_start: date | None = None
    duration_s: float = 0.0
    run_id: int | None = None
    resumed: bool = False  # a full crawl interrupted earlier was continued

    def changed(self) -> int:
        return sum(c.created + c.updated + c.deleted for c in self.counts.values())


def coverage_lines(cov: Coverage) -> list[CoverageLine]:
    """Per-field lines from the store's coverage: the single-entry details within the window (and over
    all entries when they differ), the compact fields over all entries (every list returns them: read
    for all; the line counts entries that carry a value), stories per task."""
    lines: list[CoverageLine] = []
    window = f"entries since {cov.window_start}" if cov.window_start else "entries"
    for name in ("billable status", "description", "created at", "approval status"):
        lines.append(
            CoverageLine(
                field=name, known=cov.details_window.known, total=cov.details_window.total, scope=window
            )
        )
    if cov.details_all.total != cov.details_window.total:
        lines.append(
            CoverageLine(
                field="entry details (all time)",
                known=cov.details_all.known,
                total=cov.details_all.total,
                scope="entries",
            )
        )
    for name, known in (
        ("created by", cov.with_creator),
        ("attributable to", cov.with_project),
        ("categories (entries with one)", cov.with_category),
    ):
        lines.append(CoverageLine(field=name, known=known, total=cov.entries, scope="entries"))
    lines.append(
        CoverageLine(
            field="stories",
            known=cov.stories_window.known,
            total=cov.stories_window.total,
            scope=f"tasks changed since {cov.window_start}" if cov.window_start else "tasks",
        )
    )
    return lines
