"""LangGraph platform entry points: the graph factories ``langgraph.json`` names, so that `langgraph dev`,
LangGraph Studio, Agent Inbox and a LangGraph Platform deployment load the chat and retro graphs.

The server owns persistence (its own checkpointer) and calls a factory whenever it needs a graph: to
show its schema, to read a thread, or to execute a run. Nothing is kept at module level: every
dependency comes from the run's context, a small JSON object (``RunOptions``: which config file, which
"today", who approves) that a client sends with the run (or nothing, to use the server's environment).
LangGraph turns that JSON into the graph's context object (``ChatRunContext``, ``RetroRunContext``),
which opens what the nodes need from the settings it names: the store, the similar-task index, the
incremental sync, the LLM narrative, and the one writer for after the approval (when an Asana token
is configured; without one, the apply step says it has no writer and nothing is written).

Why the context and not ``configurable``: the server copies configurable values into checkpoint
metadata, so objects (a store, a writer) cannot travel there; the run's context is not persisted.
Why lazily: LangGraph builds the context on the server's event loop, where blocking I/O is refused;
the nodes that first use it run in worker threads. For the same reason the factories build the graphs
in a worker thread (they read prompt files).

- ``chat``: the chat graph, with the LLM when one is configured, else the offline router.
- ``retro``: ``plan`` (a period in the one period grammar, "last-month", and project names or gids, as
  `effort retro --period --scope` reads them) before the retrospective graph as a subgraph.

Both stop at the same approval interrupt as the CLI; a client resumes it with ``Command(resume=...)``
(one answer per item, or ``{"decisions": [...]}``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler
from pydantic_core import core_schema

from agent.config import Phase, Settings, load_settings
from agent.context import AgentContext
from agent.retro import RetroContext, RetroState, RunKind, build_retro_graph, new_run_id
from tools.records import Workspace

if TYPE_CHECKING:
    from langgraph_sdk.runtime import ServerRuntime


class RunOptions(BaseModel):
    """What a run's context may say (JSON); everything else comes from the server's environment."""

    model_config = ConfigDict(extra="forbid")

    config_file: str | None = Field(
        default=None, description="An effort.toml on the server (default: EFFORT_CONFIG or ./effort.toml)."
    )
    as_of: date | None = Field(default=None, description="'Today' for relative periods (YYYY-MM-DD).")
    approver: str | None = Field(default=None, description="Who decides this run's approvals.")

    def settings(self) -> Settings:
        overrides: dict[str, Any] = {}
        if self.as_of is not None:
            overrides["as_of"] = self.as_of
        if self.approver:
            overrides["approver"] = self.approver
        return load_settings(Path(self.config_file) if self.config_file else None, **overrides)


def run_options(runtime: ServerRuntime | None) -> RunOptions:
    """The run's options while the server executes a run; the defaults for schema and state reads."""
    execution = getattr(runtime, "execution_runtime", None) if runtime is not None else None
    raw = getattr(execution, "context", None)
    if isinstance(raw, RunOptions):
        return raw
    if isinstance(raw, dict):
        return RunOptions.model_validate({k: v for k, v in raw.items() if k in RunOptions.model_fields})
    return RunOptions()


class RunResources:
    """What one run opens from its options, on first use (thread-safe): settings, the chat's read
    context (store, index) and the one writer. Released with the run's context object."""

    def __init__(self, options: RunOptions) -> None:
        self.options = options
        self._lock = threading.Lock()
        self._opened: tuple[AgentContext, Any] | None = None

    def open(self) -> tuple[AgentContext, Any]:
        with self._lock:
            if self._opened is None:
                base = AgentContext.from_settings(self.options.settings())
                writer = None
                if base.settings.asana_access_token is not None:
                    from agent.writer import writer_from_settings

                    writer = writer_from_settings(base.settings, store=base.store)
                self._opened = (base, writer)
            return self._opened


def _options_schema(cls: type[Any], handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
    """A context class validated (and shown in Studio) as ``RunOptions``, then built from it."""
    return core_schema.no_info_after_validator_function(
        lambda options: cls(**options.model_dump()), handler.generate_schema(RunOptions)
    )


class ChatRunContext(AgentContext):
    """The chat graph's context on the platform: an ``AgentContext`` (nodes and tools read it as usual)
    that LangGraph builds from the run's JSON context and that opens its store on first use."""

    def __init__(
        self, config_file: str | None = None, as_of: date | str | None = None, approver: str | None = None
    ) -> None:
        options = {"config_file": config_file, "as_of": as_of, "approver": approver}
        self.resources = RunResources(RunOptions.model_validate(options))
        # Every other AgentContext field (memos, caches) starts at its default, whatever fields the
        # dataclass grows: only the ones overridden by properties below come from the run's resources.
        for spec in dataclasses.fields(AgentContext):
            if isinstance(getattr(type(self), spec.name, None), property):
                continue
            if spec.default is not dataclasses.MISSING:
                object.__setattr__(self, spec.name, spec.default)
            elif spec.default_factory is not dataclasses.MISSING:
                object.__setattr__(self, spec.name, spec.default_factory())

    def __repr__(self) -> str:  # the dataclass repr would open the store
        return f"ChatRunContext({self.resources.options!r})"

    @property  # type: ignore[override]
    def settings(self) -> Settings:  # type: ignore[override]
        return self.resources.open()[0].settings

    @property  # type: ignore[override]
    def workspace_loader(self) -> Callable[[], Workspace]:  # type: ignore[override]
        return self.resources.open()[0].workspace_loader

    @property  # type: ignore[override]
    def store(self) -> Any:
        return self.resources.open()[0].store

    @property  # type: ignore[override]
    def index(self) -> Any:
        return self.resources.open()[0].index

    @property  # type: ignore[override]
    def writer(self) -> Any:
        return self.resources.open()[1]

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return _options_schema(cls, handler)


class RetroRunContext(RetroContext):
    """The retro graph's context on the platform: a ``RetroContext`` built from the run's JSON context,
    with the incremental sync (when a token is configured), the LLM narrative (when an LLM is) and the
    writer the apply step reads."""

    def __init__(
        self, config_file: str | None = None, as_of: date | str | None = None, approver: str | None = None
    ) -> None:
        options = {"config_file": config_file, "as_of": as_of, "approver": approver}
        self.resources = RunResources(RunOptions.model_validate(options))
        self.extra: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"RetroRunContext({self.resources.options!r})"

    @property  # type: ignore[override]
    def settings(self) -> Settings:  # type: ignore[override]
        return self.resources.open()[0].settings

    @property  # type: ignore[override]
    def store(self) -> Any:  # type: ignore[override]
        return self.resources.open()[0].store

    @property  # type: ignore[override]
    def sync(self) -> Callable[[], dict[str, Any]] | None:  # type: ignore[override]
        from agent.runs import incremental_sync

        return incremental_sync(self.settings)

    @property  # type: ignore[override]
    def narrate(self) -> Callable[[list[str]], str] | None:  # type: ignore[override]
        if not self.settings.llm_configured:
            return None
        from agent.narrative import llm_narrator

        return llm_narrator(self.settings)

    @property  # type: ignore[override]
    def as_of(self) -> datetime | None:  # type: ignore[override]
        # A pinned "today" reads the data as of the end of that day (as `effort retro --as-of` does).
        day = self.settings.as_of
        return datetime.combine(day, time(23, 59, 59), UTC) if day is not None else None

    @property  # type: ignore[override]
    def writer(self) -> Any:  # type: ignore[override]  # a plain field of RetroContext, opened here
        return self.resources.open()[1]

    @property  # type: ignore[override]
    def approver(self) -> str:  # type: ignore[override]  # who decides: the run's settings say
        return self.settings.approver

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return _options_schema(cls, handler)


# --- the graphs -----------------------------------------------------------------------------------
def chat_graph(options: RunOptions | None = None) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The chat graph for the platform: the LLM when ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` is set,
    else the offline router; read and propose tools; the approval interrupt; the one writer after it.
    Compiled without a checkpointer: the server brings its own."""
    from agent.graph import build_chat_graph

    settings = (options or RunOptions()).settings()
    llm = None
    if settings.llm_configured:
        from agent.llm import make_llm

        llm = make_llm(settings, streaming=True)
    graph = build_chat_graph(llm)
    graph.context_schema = ChatRunContext
    return _with_approver(graph, options)


class PlatformRetroState(RetroState, total=False):
    """The retro graph's state plus what a client sends to start a run."""

    period: str  # "last-month", "Q3", "2026-10", ... (default: last month, or last week for a summary)
    scope_names: list[str]  # project names or gids (default: every synced project)


def plan_node(state: PlatformRetroState, runtime: Runtime[RetroRunContext]) -> dict[str, Any]:
    """The client's period text and project names as the retro graph's inputs, read by the same rules
    as `effort retro` (the period grammar, the synced projects, the rollout phase)."""
    from agent.runs import parse_period, resolve_scope

    ctx = runtime.context
    kind: RunKind = state.get("kind") or "retro"
    start, end = parse_period(state.get("period"), kind, ctx.settings.today())
    scope, project_gids = resolve_scope(ctx.store, state.get("scope_names") or [])
    planned: dict[str, Any] = {
        "kind": kind,
        "scope": scope,
        "project_gids": project_gids,
        "period_start": start,
        "period_end": end,
        "run_id": state.get("run_id") or new_run_id(kind),
    }
    if ctx.settings.phase is Phase.INSIGHT:
        planned["insight_only"] = True
    return planned


def retro_graph(options: RunOptions | None = None) -> CompiledStateGraph[Any, Any, Any, Any]:
    """START -> plan -> retro (sync -> analyse -> propose -> [approval -> apply]) -> END."""
    graph = StateGraph(PlatformRetroState, context_schema=RetroRunContext)
    graph.add_node("plan", plan_node)
    graph.add_node("retro", build_retro_graph(None))
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "retro")
    graph.add_edge("retro", END)
    return _with_approver(graph.compile(), options)


def _with_approver(
    graph: CompiledStateGraph[Any, Any, Any, Any], options: RunOptions | None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The run's approver (a string, so it may travel in ``configurable``) for the audit log."""
    if options is None or not options.approver:
        return graph
    config: RunnableConfig = {"configurable": {"approver": options.approver}}
    return graph.with_config(config)


async def chat(runtime: ServerRuntime) -> CompiledStateGraph[Any, Any, Any, Any]:
    """``langgraph.json``: the chat graph."""
    return await asyncio.to_thread(chat_graph, run_options(runtime))


async def retro(runtime: ServerRuntime) -> CompiledStateGraph[Any, Any, Any, Any]:
    """``langgraph.json``: the retrospective / weekly summary graph."""
    return await asyncio.to_thread(retro_graph, run_options(runtime))
