"""Sync: Asana (through tools.gateway) -> records (tools.sync.mapping) -> store (tools.store).

    from tools.sync import sync_workspace, SyncOptions, SyncSummary
    summary = sync_workspace(gateway, store, settings_or_options, full=False, progress=None)
    request_detail_period(store, start, end)   # later syncs read those entries' details too

See ``tools/sync/engine.py`` for the phases and the request plan, ``tools/sync/mapping.py`` for field
mapping.
"""

from tools.sync.details import request_detail_period
from tools.sync.engine import sync_workspace
from tools.sync.mapping import (
    FieldMappingRules,
    MappingContext,
    SkipLog,
    map_entry,
    map_project,
    map_story,
    map_task,
    map_user,
)
from tools.sync.options import SyncOptions, SyncSettings
from tools.sync.summary import CoverageLine, KindCounts, SyncSummary

__all__ = [
    "CoverageLine",
    "FieldMappingRules",
    "KindCounts",
    "MappingContext",
    "SkipLog",
    "SyncOptions",
    "SyncSettings",
    "SyncSummary",
    "map_entry",
    "map_project",
    "map_story",
    "map_task",
    "map_user",
    "request_detail_period",
    "sync_workspace",
]
