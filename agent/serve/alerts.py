"""Capacity alerts: a proposed Asana comment per overloaded person-week, optionally a Slack message.

The Asana comment is a proposal (approval first, like every Asana write). The Slack incoming webhook is
not Asana data and goes out directly, and only when `EFFORT_SLACK_WEBHOOK_URL` is set; its URL is a
secret (it authorises posting), so it never appears in logs or errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from agent.serve.deps import CapacityAlert, ServeDeps
from tools.proposals import Proposal, ProposalKind

log = logging.getLogger("effort.serve.alerts")


class SlackNotifier:
    """Posts plain text to a Slack incoming webhook with slack-sdk's `WebhookClient`; never raises."""

    def __init__(
        self, url: str, *, timeout: int = 10, client_factory: Callable[..., Any] | None = None
    ) -> None:
        if client_factory is None:
            from slack_sdk.webhook import WebhookClient

            client_factory = WebhookClient
        self._client = client_factory(url, timeout=timeout)

    def __call__(self, text: str) -> bool:
        try:
            response = self._client.send(text=text)
        except Exception as exc:  # network errors: log the type only (the message may hold the URL)
            log.warning("slack alert not delivered: %s", type(exc).__name__)
            return False
        if response.status_code != 200:
            log.warning("slack alert not delivered: HTTP %s", response.status_code)
            return False
        return True


def alert_text(alert: CapacityAlert) -> str:
    return (
        f"{alert.person_name} is forecast at {alert.utilisation_pct:.0f}% of capacity in the week of "
        f"{alert.week_start.isoformat()} ({alert.planned_hours:.1f} h planned, {alert.capacity_hours:.1f} h available)."
    )


def capacity_proposal(alert: CapacityAlert) -> Proposal | None:
    """A comment on the person's task for that week; None when the alert names no task."""
    if alert.task_gid is None:
        return None
    return Proposal(
        kind=ProposalKind.COMMENT,
        target_gid=alert.task_gid,
        project_gid=alert.project_gid,
        text=f"Capacity alert from Effort Copilot: {alert_text(alert)} Consider moving or re-estimating work.",
        description=f"Capacity alert: {alert.person_name}, week of {alert.week_start.isoformat()}",
        evidence={
            "person_gid": alert.person_gid,
            "week_start": alert.week_start.isoformat(),
            "planned_hours": round(alert.planned_hours, 2),
            "capacity_hours": round(alert.capacity_hours, 2),
        },
        source="trigger",
    )


def run_capacity_alerts(deps: ServeDeps, alerts: Sequence[CapacityAlert] | None = None) -> dict[str, Any]:
    """Propose one comment per overloaded person-week and send one Slack digest; returns a summary."""
    if alerts is None:
        if deps.capacity_overloads is None:
            return {"alerts": 0, "proposed": 0, "slack": None}
        alerts = list(deps.capacity_overloads())
    alerts = sorted(alerts, key=lambda a: (a.week_start, a.person_name, a.person_gid))
    threads: list[str] = []
    for alert in alerts:
        proposal = capacity_proposal(alert)
        if proposal is None:
            continue
        # Thread per person and week: re-running the nightly check never opens a second approval.
        threads.append(
            deps.propose(
                [proposal], kind="capacity", scope=alert.person_gid, period=alert.week_start.isoformat()
            )
        )
    slack: bool | None = None
    if alerts and deps.notify is not None:
        lines = "\n".join(f"• {alert_text(a)}" for a in alerts[:20])
        more = f"\n…and {len(alerts) - 20} more." if len(alerts) > 20 else ""
        slack = deps.notify(f":warning: Capacity alerts ({len(alerts)}):\n{lines}{more}")
    return {"alerts": len(alerts), "proposed": len(threads), "threads": threads, "slack": slack}
