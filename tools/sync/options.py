"""What a sync is told: the narrow, typed argument of ``sync_workspace`` (no ``Settings`` below agent/).

``SyncOptions.of(settings)`` builds it from anything shaped like ``agent.config.Settings``
(``SyncSettings``): the workspace, the scope allowlist, the field mapping, the ``[sync]`` section
(detail window, stories, a known rate limit) and "today", against which the detail window is counted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from tools.config_types import FieldMapping, ScopeConfig, SyncConfig


class SyncSettings(Protocol):
    """The part of ``agent.config.Settings`` sync reads."""

    @property
    def workspace(self) -> str | None: ...

    @property
    def scope(self) -> ScopeConfig: ...

    @property
    def fields(self) -> FieldMapping: ...

    @property
    def sync(self) -> SyncConfig: ...

    def today(self) -> date: ...


class SyncOptions(BaseModel):
    """Everything ``sync_workspace`` needs to know besides the gateway and the store."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    workspace: str | None = None  # None: the token user's first workspace
    scope: ScopeConfig = Field(default_factory=ScopeConfig)
    fields: FieldMapping = Field(default_factory=FieldMapping)
    detail_window_days: int = Field(default=180, ge=0, le=3660)
    # Extra periods whose entry details must be read (billing drafts outside the window ask for them);
    # the store remembers them, so later syncs keep them complete.
    detail_periods: tuple[tuple[date, date], ...] = ()
    stories: bool = True
    today: date | None = None  # the end of the detail window; None = the clock (UTC)
    refresh_details: bool = False  # re-read the details of every entry in the window

    @classmethod
    def of(cls, settings: SyncSettings | SyncOptions) -> SyncOptions:
        if isinstance(settings, SyncOptions):
            return settings
        return cls(
            workspace=settings.workspace,
            scope=settings.scope,
            fields=settings.fields,
            detail_window_days=settings.sync.detail_window_days,
            stories=settings.sync.stories,
            today=settings.today(),
        )

    def window_start(self) -> date:
        """The first day of the detail window."""
        return self.day() - timedelta(days=self.detail_window_days)

    def day(self) -> date:
        return self.today or datetime.now(UTC).date()

    def window_since(self) -> datetime:
        """The detail window's start as a moment (tasks changed since then get their stories read)."""
        return datetime.combine(self.window_start(), datetime.min.time(), tzinfo=UTC)
