"""Sync: Asana (through tools.gateway) -> records (tools.sync.mapping) -> store (tools.store).

    from tools.sync import sync_workspace, SyncSummary
    summary = sync_workspace(gateway, store, settings, full=False, progress=None, stories=False)

See ``tools/sync/engine.py`` for the request plan and ``tools/sync/mapping.py`` for field mapping.
"""

from tools.sync.engine import KindCounts, SyncSummary, sync_workspace
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

__all__ = [
    "FieldMappingRules",
    "KindCounts",
    "MappingContext",
    "SkipLog",
    "SyncSummary",
    "map_entry",
    "map_project",
    "map_story",
    "map_task",
    "map_user",
    "sync_workspace",
]
