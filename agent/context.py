"""Runtime context for the chat graph: what tools read (workspace, store, index, estimator, settings).

Passed as LangGraph's run-time ``context`` (``graph.invoke(..., context=ctx)``) so tools reach it through
``ToolRuntime.context``; nothing here is serialised into checkpoints, and no module holds it globally.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from agent.config import Settings, load_settings
from tools.records import Workspace


@dataclass
class AgentContext:
    """Everything a tool may read. ``workspace_loader`` is called once, lazily, per context."""

    settings: Settings
    workspace_loader: Callable[[], Workspace]
    store: Any = None  # tools.store.Store when running against the real store
    index: Any = None  # tools.index similar-task index (optional; a text-overlap fallback exists)
    estimator: Any = None  # tools.analytics.estimator model (optional; a ratio fallback exists)
    writer: Any = None  # agent.writer.Writer: approval.apply_node reads it from the run-time context
    prompt_version: str | None = None
    index_loader: Callable[[], Any] | None = None  # opens the index on first use (Chroma is slow to import)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # per-context memo (chat's name index)
    _workspace: Workspace | None = field(default=None, repr=False)
    _fitted: Any = field(default=None, repr=False)
    _frame: Any = field(default=None, repr=False)

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = self.workspace_loader()
        return self._workspace

    def get_index(self) -> Any:
        """The similar-task index, opened on first use (None when none is configured)."""
        if self.index is None and self.index_loader is not None:
            loader, self.index_loader = self.index_loader, None
            self.index = loader()
        return self.index

    def last_sync(self) -> datetime | None:
        """When the store was last synced (the latest finished sync run), None for in-memory data."""
        if "last_sync" not in self.cache:
            when = None
            runs = getattr(self.store, "sync_runs", None)
            if callable(runs):
                try:
                    finished = [r.finished_at or r.started_at for r in runs(5) if r.status != "running"]
                    when = max(finished) if finished else None
                except Exception:  # freshness is a note: a store without sync runs must not fail a turn
                    when = None
            self.cache["last_sync"] = when
        value = self.cache["last_sync"]
        return value if isinstance(value, datetime) else None

    def freshness(self) -> str:
        """One line every answer carries: the as-of date relative periods resolve against, and the data's age."""
        today = self.today().isoformat()
        source = (
            "as_of setting"
            if self.settings.as_of is not None
            else ("the snapshot's date" if self.store is None and self.workspace.as_of else "the clock")
        )
        synced = self.last_sync()
        if synced is not None:
            data = f"data last synced {synced:%Y-%m-%d %H:%M} UTC"
        elif self.store is None:
            as_of = self.workspace.as_of
            data = f"in-memory snapshot as of {as_of:%Y-%m-%d %H:%M} UTC" if as_of else "in-memory data"
        else:
            data = "the store has no finished sync yet"
        return f"dates: today is {today} ({source}); {data}"

    def get_estimator(self) -> Any:
        """The estimator to use: the one given, else one fitted once on this workspace's history.

        With a similar-task index, the fit reads the history's text vectors from it, so estimates carry
        similar past tasks at the cost of loading the model once; without one, track records and groups
        only (no history to embed on the first chat question)."""
        if self.estimator is not None:
            return self.estimator
        if self._fitted is None:
            from tools.analytics.estimator import Estimator

            tasks, as_of = self.workspace.tasks, self.workspace.as_of
            vectors = {}
            index = self.get_index()
            if index is not None and hasattr(index, "minilm_vectors"):
                vectors = index.minilm_vectors([t.gid for t in tasks if t.completed])
            estimator = Estimator.with_minilm() if vectors else Estimator()
            feedback = []
            if self.store is not None and hasattr(self.store, "engine"):
                from agent.audit import AuditLog
                from agent.estimate_feedback import estimate_feedback

                # Leads' edits and rejections of earlier AI estimates, as evidence for the next ones.
                feedback = estimate_feedback(AuditLog(self.store.engine), tasks)
            self._fitted = estimator.fit(tasks, as_of, vectors=vectors or None, feedback=feedback)
        return self._fitted

    def get_frame(self) -> Any:
        """The analytics column frame of the workspace, built once and shared by every tool call."""
        if self._frame is None:
            from tools.analytics.frame import build_frame

            self._frame = build_frame(self.workspace)
        return self._frame

    def today(self) -> date:
        """The one "today" for periods and forecasts: the configured ``as_of`` (``--as-of``, config,
        ``EFFORT_AS_OF``), else the snapshot's pinned date, else the clock."""
        if self.settings.as_of is not None:
            return self.settings.as_of
        as_of = self.workspace.as_of
        return (as_of or datetime.now(UTC)).date()

    def now(self) -> datetime:
        if self.settings.as_of is not None:
            return datetime.combine(self.settings.as_of, time(23, 59, 59), UTC)
        return self.workspace.as_of or datetime.now(UTC)

    @classmethod
    def for_workspace(
        cls, workspace: Workspace, settings: Settings | None = None, **extra: Any
    ) -> AgentContext:
        """A context over an in-memory workspace (tests, benchmarks, the demo)."""
        return cls(settings=settings or load_settings(), workspace_loader=lambda: workspace, **extra)

    @classmethod
    def from_settings(cls, settings: Settings) -> AgentContext:
        """Open the configured store and read its workspace on first use."""
        from tools.store import Store  # type: ignore[attr-defined,import-not-found,unused-ignore]

        store = Store.open(settings.database_url)
        loader = None
        # Without a usable index, similar_tasks falls back to word overlap and estimates to track
        # records. Opened on first use: importing chromadb costs a second, and most questions need none.
        if settings.chroma_url or settings.chroma_path.exists():

            def loader() -> Any:
                from tools.index.store import TaskIndex

                return TaskIndex.open_existing(settings.index)

        as_of = settings.as_of

        def workspace() -> Workspace:
            # The one "today": with an as-of date, the store's view as it was then (entries logged
            # later left out), so the analytics' own "now" is the same date the periods resolve against.
            if as_of is None:
                return store.workspace()
            return store.workspace(as_of=datetime.combine(as_of, time(23, 59, 59), UTC))

        return cls(settings=settings, workspace_loader=workspace, store=store, index_loader=loader)
