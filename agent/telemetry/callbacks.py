"""LangChain callbacks -> OpenTelemetry spans and Prometheus metrics, without touching the graphs.

Registered through LangChain's configure hook (the mechanism its own LangSmith tracer uses), so every
graph run in the process gets the handler whoever invokes it: the chat CLI, a retro run, `effort serve`,
`langgraph dev`. Spans: one per graph run (``graph <name>``), one per LLM call (``llm <model>``) and one
per tool call (``tool <name>``), nested by LangChain's run ids. Attributes are names, token counts and
outcomes, never prompts, messages, arguments or outputs.
"""

from __future__ import annotations

import threading
import time
from contextvars import ContextVar
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import ToolMessage
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span

from tools.telemetry import TRACER_NAME, clean_attributes, mark_error, record_llm_call, record_tool_call

_installed: list[ContextVar[Any]] = []  # the hook's variable, once per process
_CONTROL_FLOW = frozenset({"GraphInterrupt", "NodeInterrupt", "ParentCommand"})  # not failures


def _model_name(metadata: dict[str, Any] | None, kwargs: dict[str, Any]) -> str:
    params = kwargs.get("invocation_params") or {}
    name = (metadata or {}).get("ls_model_name") or params.get("model") or params.get("model_name")
    return str(name or "llm")[:120]


def _tool_outcome(output: Any) -> str:
    if isinstance(output, ToolMessage):
        if output.status == "error":
            return "error"
        text = output.content if isinstance(output.content, str) else ""
        return "refused" if text.startswith("Refused") else "ok"
    if isinstance(output, str) and output.startswith("Refused"):
        return "refused"
    return "ok"


class TelemetryCallbackHandler(BaseCallbackHandler):
    """Spans for graph runs, LLM calls and tool calls; LLM latency and tool-call counts."""

    raise_error = False  # telemetry never breaks a run
    run_inline = True

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spans: dict[UUID, tuple[Span, float, str]] = {}  # run id -> (span, start, label)
        self._parents: dict[UUID, UUID | None] = {}  # every chain run's parent, to find a span above

    # --- bookkeeping ----------------------------------------------------------------------------
    def _parent_context(self, parent_run_id: UUID | None) -> otel_context.Context | None:
        with self._lock:
            run = parent_run_id
            while run is not None:
                if run in self._spans:
                    return trace.set_span_in_context(self._spans[run][0])
                run = self._parents.get(run)
        return None  # the current context (an MCP call's span, say)

    def _start(
        self, run_id: UUID, parent_run_id: UUID | None, name: str, label: str, attrs: dict[str, Any]
    ) -> None:
        tracer = trace.get_tracer(TRACER_NAME)
        span = tracer.start_span(
            name, context=self._parent_context(parent_run_id), attributes=clean_attributes(attrs)
        )
        with self._lock:
            self._spans[run_id] = (span, time.perf_counter(), label)

    def _end(
        self, run_id: UUID, error: BaseException | None = None, attrs: dict[str, Any] | None = None
    ) -> tuple[str, float] | None:
        with self._lock:
            entry = self._spans.pop(run_id, None)
            self._parents.pop(run_id, None)
        if entry is None:
            return None
        span, start, label = entry
        span.set_attributes(clean_attributes(attrs))
        if error is not None:
            if type(error).__name__ in _CONTROL_FLOW:
                span.set_attribute("effort.interrupted", True)
            else:
                mark_error(span, error)
        span.end()
        return label, time.perf_counter() - start

    # --- graph runs -----------------------------------------------------------------------------
    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        if parent_run_id is not None:
            with self._lock:
                self._parents[run_id] = parent_run_id
            return
        name = str(kwargs.get("name") or (serialized or {}).get("name") or "graph")
        self._start(run_id, None, f"graph {name}", name, {"effort.graph": name})

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error)

    # --- LLM calls ------------------------------------------------------------------------------
    def _llm_start(
        self, run_id: UUID, parent_run_id: UUID | None, metadata: Any, kwargs: dict[str, Any]
    ) -> None:
        model = _model_name(metadata, kwargs)
        attrs = {"gen_ai.operation.name": "chat", "gen_ai.request.model": model}
        self._start(run_id, parent_run_id, f"llm {model}", model, attrs)

    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._llm_start(run_id, parent_run_id, metadata, kwargs)

    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        self._llm_start(run_id, parent_run_id, metadata, kwargs)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        usage = _token_usage(response)
        ended = self._end(run_id, attrs=usage)
        if ended is not None:
            record_llm_call(ended[0], "ok", ended[1])

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        ended = self._end(run_id, error)
        if ended is not None:
            record_llm_call(ended[0], "error", ended[1])

    # --- tool calls -----------------------------------------------------------------------------
    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        **kwargs: Any,
    ) -> None:
        name = str((serialized or {}).get("name") or kwargs.get("name") or "tool")[:120]
        self._start(
            run_id, parent_run_id, f"tool {name}", name, {"effort.tool.name": name, "effort.via": "chat"}
        )

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        outcome = _tool_outcome(output)
        ended = self._end(run_id, attrs={"effort.tool.outcome": outcome})
        if ended is not None:
            record_tool_call(ended[0], "chat", outcome)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        ended = self._end(run_id, error, {"effort.tool.outcome": "error"})
        if ended is not None:
            record_tool_call(ended[0], "chat", "error")


def _token_usage(response: Any) -> dict[str, int]:
    """Input/output token counts from an LLMResult (OpenAI-style ``token_usage`` or usage metadata)."""
    usage = dict((getattr(response, "llm_output", None) or {}).get("token_usage") or {})
    if not usage:
        for generations in getattr(response, "generations", None) or []:
            for gen in generations:
                meta = getattr(getattr(gen, "message", None), "usage_metadata", None)
                if meta:
                    usage = {
                        "prompt_tokens": meta.get("input_tokens"),
                        "completion_tokens": meta.get("output_tokens"),
                    }
    out: dict[str, int] = {}
    for key, attr in (
        ("prompt_tokens", "gen_ai.usage.input_tokens"),
        ("completion_tokens", "gen_ai.usage.output_tokens"),
    ):
        value = usage.get(key)
        if isinstance(value, int):
            out[attr] = value
    return out


def install_langchain_callbacks() -> TelemetryCallbackHandler:
    """Add the handler to every LangChain run in this process (idempotent); returns it."""
    if not _installed:
        from langchain_core.tracers.context import register_configure_hook

        handler = TelemetryCallbackHandler()
        # A default value, not .set(): a ContextVar's default is seen by every thread and every
        # copied context, which is where graph nodes and tools run.
        var: ContextVar[Any] = ContextVar("effort_telemetry_callbacks", default=handler)
        register_configure_hook(var, inheritable=True)
        _installed.append(var)
    handler_ = _installed[0].get()
    assert isinstance(handler_, TelemetryCallbackHandler)
    return handler_
