"""Runtime context for the chat graph: what tools read (workspace, store, index, estimator, settings).

Passed as LangGraph's run-time ``context`` (``graph.invoke(..., context=ctx)``) so tools reach it through
``ToolRuntime.context``; nothing here is serialised into checkpoints, and no module holds it globally.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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
    _workspace: Workspace | None = field(default=None, repr=False)
    _fitted: Any = field(default=None, repr=False)
    _frame: Any = field(default=None, repr=False)

    @property
    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = self.workspace_loader()
        return self._workspace

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
            if self.index is not None and hasattr(self.index, "minilm_vectors"):
                vectors = self.index.minilm_vectors([t.gid for t in tasks if t.completed])
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
        """ "Now" for periods and forecasts: the snapshot's ``as_of`` when pinned, else the clock."""
        as_of = self.workspace.as_of
        return (as_of or datetime.now(UTC)).date()

    def now(self) -> datetime:
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
        index = None
        # Without a usable index, similar_tasks falls back to word overlap and estimates to track
        # records. The path check first: importing chromadb would slow every start-up for nothing.
        if settings.chroma_url or settings.chroma_path.exists():
            from tools.index.store import TaskIndex

            index = TaskIndex.open_existing(settings)
        return cls(settings=settings, workspace_loader=store.workspace, store=store, index=index)
