"""The sandbox workspace (`SandboxState`): Asana objects as plain dicts keyed by gid, with indexes, events
and persistence, and every mutation a user or the API can make.

The class is assembled from one module per concern: storage, indexes and events in
sandbox/state_core.py; projects, tasks and stories in sandbox/state_work.py; time entries, custom
fields, resourcing and Timesheets & Budgets in sandbox/state_tracking.py. Every mutation runs under one
re-entrant lock, so the HTTP server, the Python API (tests acting "as a user") and the webhook
deliverer see a consistent state.
"""

from __future__ import annotations

from sandbox.state_core import (
    BILLABLE_STATUSES,
    CF_TYPES,
    FIRST_GID,
    KINDS,
    EventListener,
    Obj,
    iso,
    iso_day,
    parse_dt,
)
from sandbox.state_tracking import TrackingMutations
from sandbox.state_work import WorkMutations

__all__ = [
    "BILLABLE_STATUSES",
    "CF_TYPES",
    "FIRST_GID",
    "KINDS",
    "EventListener",
    "Obj",
    "SandboxState",
    "iso",
    "iso_day",
    "parse_dt",
]


class SandboxState(WorkMutations, TrackingMutations):
    """Thread-safe in-memory Asana workspace, optionally persisted to SQLite (write-through)."""
