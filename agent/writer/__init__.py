"""The one writer: the only code that calls Asana's write endpoints, as a package named by its concerns.

- ``guard``: phase, approval record, field ownership, scope, significance, approver identity; the only
  constructor of ``WriteGrant``.
- ``fields``: the agent's ``AI …`` fields, found by the gid recorded at creation, created and attached.
- ``create``: idempotent creation of comments, subtasks, summary tasks and time entries (markers).
- ``rollback``: undoing a run, retried until restored.
- ``values``: the per-item context, results, markers and value comparisons.
- ``core`` / ``base``: ``Writer`` (decisions on record first, each write claimed in the store so that
  exactly one process writes it, final row and claim in one transaction).

Public API: ``from agent.writer import Writer, writer_from_settings, ApplyResult``.
"""

from __future__ import annotations

from collections.abc import Iterable

from agent.audit import AuditLog
from agent.config import Settings
from agent.writer.core import Writer
from agent.writer.rollback import RollbackStep
from agent.writer.values import SYSTEM_APPROVER, ApplyResult, approval_marker_for, marker_for
from tools.gateway import AsanaGateway
from tools.redact import Redactor
from tools.store import Store

__all__ = [
    "SYSTEM_APPROVER",
    "ApplyResult",
    "RollbackStep",
    "Writer",
    "approval_marker_for",
    "iter_ids",
    "marker_for",
    "writer_from_settings",
]


def writer_from_settings(
    settings: Settings, *, store: Store | None = None, gateway: AsanaGateway | None = None
) -> Writer:
    """A Writer over the configured Asana, store and audit log (the CLI and the graphs use this)."""
    store = store if store is not None else Store.open(settings.database_url)
    gateway = gateway if gateway is not None else AsanaGateway.from_settings(settings)
    audit = AuditLog(store.engine, Redactor(settings.secrets()))
    from agent.timesheet_approvals import lead_identities  # who may approve whose time entries

    return Writer(gateway, store, settings, audit, leads=lead_identities(settings, store.people()))


def iter_ids(results: Iterable[ApplyResult]) -> list[str]:
    return [r.proposal_id for r in results]
