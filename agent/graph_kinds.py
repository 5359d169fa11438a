"""Graph kinds: one enum and one registry that builds each graph and its run-time context.

A thread's kind is the ``effort_graph`` checkpoint metadata written when it started; resuming a thread
(``effort approvals``, ``effort serve``, the Asana subtask poll) looks the kind up here and never
branches per kind. Each graph takes its dependencies from its context (``context_schema``), so the
module-level builders also serve LangGraph's ``langgraph.json`` factories.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:  # the enum is imported by light modules (the CLI): langgraph loads with a graph
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.graph.state import CompiledStateGraph

    from agent.config import Settings


class GraphKind(StrEnum):
    APPROVAL = "approval"  # proposals from triggers and tests: approval -> apply
    CHAT = "chat"  # the chat agent
    RETRO = "retro"  # retrospectives and weekly summaries


class UnknownGraph(LookupError):
    """A thread whose ``effort_graph`` names no known graph."""


Compiled: TypeAlias = "CompiledStateGraph[Any, Any, Any, Any]"


@dataclass(frozen=True)
class GraphSpec:
    """How to rebuild a kind of graph and the context its nodes read."""

    kind: GraphKind
    build: Callable[[BaseCheckpointSaver[Any] | None, Settings], Compiled]
    # (settings, writer, approver, store) -> the graph's context object
    context: Callable[[Settings, Any, str, Any], Any]
    ends_after_apply: bool  # the apply step is the graph's last: a crash before it is finished by resume


def metadata(kind: GraphKind) -> dict[str, str]:
    """Checkpoint metadata that names a thread's graph."""
    return {"effort_graph": kind.value}


def _approval_graph(checkpointer: BaseCheckpointSaver[Any] | None, _settings: Settings) -> Compiled:
    from agent.approval import build_approval_graph

    return build_approval_graph(checkpointer)


def _approval_context(_settings: Settings, writer: Any, approver: str, _store: Any) -> Any:
    from agent.approval import ApprovalContext

    return ApprovalContext(writer=writer, approver=approver)


def _retro_graph(checkpointer: BaseCheckpointSaver[Any] | None, _settings: Settings) -> Compiled:
    from agent.retro import build_retro_graph

    return build_retro_graph(checkpointer)


def _retro_context(settings: Settings, writer: Any, approver: str, store: Any) -> Any:
    from agent.retro import RetroContext

    return RetroContext(settings=settings, store=store, writer=writer, approver=approver)


def _chat_graph(checkpointer: BaseCheckpointSaver[Any] | None, settings: Settings) -> Compiled:
    from agent.graph import build_chat_graph

    llm = None
    if settings.llm_configured:
        from agent.llm import make_llm

        llm = make_llm(settings, streaming=False)
    return build_chat_graph(llm, checkpointer)


def _chat_context(settings: Settings, writer: Any, approver: str, store: Any) -> Any:
    from agent.context import AgentContext

    decider = settings.model_copy(update={"approver": approver})
    return AgentContext(settings=decider, workspace_loader=store.workspace, store=store, writer=writer)


REGISTRY: dict[GraphKind, GraphSpec] = {
    GraphKind.APPROVAL: GraphSpec(
        GraphKind.APPROVAL, _approval_graph, _approval_context, ends_after_apply=True
    ),
    GraphKind.RETRO: GraphSpec(GraphKind.RETRO, _retro_graph, _retro_context, ends_after_apply=True),
    GraphKind.CHAT: GraphSpec(GraphKind.CHAT, _chat_graph, _chat_context, ends_after_apply=False),
}


def spec_for(kind: str) -> GraphSpec:
    try:
        return REGISTRY[GraphKind(kind)]
    except ValueError:
        known = ", ".join(k.value for k in GraphKind)
        raise UnknownGraph(
            f"thread belongs to graph {kind!r}, which cannot be resumed here (known: {known})"
        ) from None
