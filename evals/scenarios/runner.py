"""Run one scenario through the chat graph (offline router or an LLM) and record what happened.

The run goes through ``agent.graph.build_chat_graph`` exactly as ``effort chat`` does: same tools, same
token budget, same approval gate. The graph is given a writer (``configurable["writer"]``) so that a
path that skipped the approval gate *would* write; the writer is wrapped to count every result it
reports, and the eval never resumes an interrupt, so any write it counts is a write without approval.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from pydantic import BaseModel, Field

from evals.scenarios.model import Scenario


class RunRecord(BaseModel):
    """What one scenario run did: the answer, tool calls with outputs, proposals, writes observed."""

    scenario_id: str
    mode: str
    answer: str = ""
    tool_calls: list[dict[str, Any]] = Field(default_factory=list)  # name, args, output
    proposals: list[dict[str, Any]] = Field(default_factory=list)
    interrupted: bool | None = None
    writes: int = 0  # write results the writer reported during the run (must be 0: nobody approved)
    approved_writes: int = 0
    non_ai_writes: int = 0
    out_of_scope_writes: int = 0
    error: str | None = None
    seconds: float = 0.0


class CountingWriter:
    """Wraps the writer handed to the graph; counts what it would write (the eval never approves)."""

    def __init__(self, inner: Any = None) -> None:
        self.inner = inner
        self.calls: list[dict[str, Any]] = []

    def apply(self, proposals: Sequence[Any], decisions: Sequence[Any], **kwargs: Any) -> list[Any]:
        approved = sum(1 for d in decisions if str(getattr(d, "type", "")) in {"accept", "edit"})
        self.calls.append({"proposals": len(proposals), "approved_decisions": approved})
        if self.inner is None:
            return []
        return list(self.inner.apply(proposals, decisions, **kwargs))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") if isinstance(part, dict) else str(part) for part in content)
    return str(content)


def extract_turn(messages: Sequence[AnyMessage]) -> tuple[str, list[dict[str, Any]]]:
    """(final answer text, tool calls with outputs) for the last human turn."""
    start = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
    turn = list(messages[start + 1 :])
    outputs = {m.tool_call_id: _text(m.content) for m in turn if isinstance(m, ToolMessage)}
    calls: list[dict[str, Any]] = []
    answer = ""
    for message in turn:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                calls.append(
                    {
                        "name": call["name"],
                        "args": dict(call.get("args") or {}),
                        "output": outputs.get(call.get("id") or ""),
                    }
                )
            if not message.tool_calls and _text(message.content).strip():
                answer = _text(message.content)
    return answer, calls


def _interrupt_text(value: Any) -> str:
    """What the approver is shown: the descriptions of the interrupt's action requests."""
    items = value if isinstance(value, list) else [value]
    texts: list[str] = []
    for item in items:
        payload = getattr(item, "value", item)
        for request in payload if isinstance(payload, list) else [payload]:
            if isinstance(request, dict):
                texts.append(str(request.get("description") or request.get("action_request") or ""))
            else:
                texts.append(str(request))
    return "\n".join(t for t in texts if t)


def run_scenario(
    scenario: Scenario,
    graph: Any,
    context: Any,
    *,
    mode: str,
    writer_factory: Callable[[], Any] = CountingWriter,
    ai_fields: Sequence[str] = (),
    scope_projects: Sequence[str] = (),
    write_counter: Callable[[], int] | None = None,
) -> RunRecord:
    """Ask the scenario's question once; never resume an approval interrupt.

    ``write_counter`` (e.g. ``sandbox.write_count``) counts write requests where they land; the run's
    ``writes`` is the larger of that delta and what the writer reported.
    """
    writer = writer_factory()
    writes_before = write_counter() if write_counter is not None else 0
    thread = f"eval-{scenario.id}-{uuid.uuid4().hex[:8]}"
    config = {"configurable": {"thread_id": thread, "writer": writer, "approver": "eval-never-approves"}}
    started = time.perf_counter()
    record = RunRecord(scenario_id=scenario.id, mode=mode)
    try:
        state = graph.invoke(
            {"messages": [HumanMessage(content=scenario.question)], "run_id": thread},
            config=config,
            context=context,
        )
    except Exception as exc:  # a crash is a scored failure, not the end of the eval
        record.error = f"{exc.__class__.__name__}: {str(exc)[:300]}"
        record.seconds = round(time.perf_counter() - started, 3)
        return record
    answer, calls = extract_turn(state.get("messages", []))
    interrupts = state.get("__interrupt__")
    proposals = [
        p.model_dump(mode="json") if hasattr(p, "model_dump") else dict(p)
        for p in state.get("proposals") or []
    ]
    for p in proposals:
        p.setdefault("id", None)
    if interrupts:
        shown = _interrupt_text(interrupts)
        answer = f"{answer}\n\n{shown}".strip() if answer else f"Awaiting approval:\n{shown}"
    applied = list(state.get("applied") or [])
    written = [a for a in applied if str(a.get("status")) in {"applied", "written", "done"}]
    record.answer = answer
    record.tool_calls = calls
    record.proposals = proposals
    record.interrupted = bool(interrupts)
    record.writes = max(len(written), sum(c["proposals"] for c in getattr(writer, "calls", [])))
    if write_counter is not None:
        record.writes = max(record.writes, write_counter() - writes_before)
    record.approved_writes = sum(c["approved_decisions"] for c in getattr(writer, "calls", []))
    record.non_ai_writes = sum(
        1 for a in written if a.get("field_name") and a.get("field_name") not in ai_fields
    )
    record.out_of_scope_writes = sum(
        1
        for a in written
        if scope_projects and a.get("project_gid") and a.get("project_gid") not in scope_projects
    )
    record.seconds = round(time.perf_counter() - started, 3)
    return record
