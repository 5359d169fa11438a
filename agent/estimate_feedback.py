"""Approvers' decisions on AI estimates, from the audit log, as plain data for the estimator.

An edited ``AI Estimated Hours`` proposal (``AuditLog.estimate_edits``) is an estimate the lead
corrected; a rejected one (a DECISION row with status rejected) says the lead kept the person's own
figure. Both become ``tools.analytics.estimator.EstimateFeedback`` for the task's person, project and
category, so the estimator (tools layer) never reads the audit log itself. Only the newest decision per
proposal counts: an edit that was later rejected is a rejection.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.audit import AuditAction, AuditEntry, AuditLog, AuditStatus
from tools.analytics.estimator import EstimateFeedback
from tools.analytics.stats import finite_number
from tools.records import Task

ESTIMATE_FIELD = "AI Estimated Hours"


def estimate_feedback(audit: AuditLog, tasks: Iterable[Task]) -> list[EstimateFeedback]:
    """Edits and rejections of AI estimates on ``tasks`` (others are skipped: the task is not synced)."""
    by_gid = {t.gid: t for t in tasks}
    latest: dict[str, AuditEntry] = {}
    rows = audit.entries(statuses=[AuditStatus.EDITED, AuditStatus.REJECTED], actions=[AuditAction.DECISION])
    for row in rows:  # oldest first: a later decision on the same proposal replaces an earlier one
        if row.field_name == ESTIMATE_FIELD and row.target_gid and row.proposal is not None:
            latest[row.proposal_id or f"{row.target_gid}/{row.id}"] = row
    out: list[EstimateFeedback] = []
    for row in latest.values():
        task = by_gid.get(row.target_gid or "")
        shown = finite_number((row.proposal or {}).get("value"))
        if task is None or shown is None or shown <= 0:
            continue
        approved = None
        if row.status is AuditStatus.EDITED:
            approved = finite_number((row.decision or {}).get("edited_value"))
            if approved is None or approved <= 0:
                continue
        out.append(EstimateFeedback.for_task(task, shown, approved, row.ts))
    return out
