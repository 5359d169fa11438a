"""The read tools as LangChain tools: pydantic argument schemas, LLM-facing docstrings, bounded output.

The rows live in registry.py (no LangChain there); this module only wraps them for the graph.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel

from tools.agent_tools.registry import READ_TOOL_NAMES, READS, bounded, run_read, with_freshness


def _bind(name: str, fn: Callable[[Any, Any], str], schema: type[BaseModel]) -> Callable[..., str]:
    def run(runtime: ToolRuntime[Any, Any], **kwargs: Any) -> str:
        return bounded(name, with_freshness(runtime.context, fn(runtime.context, schema(**kwargs))))

    run.__name__ = name
    return run


def read_tools() -> list[BaseTool]:
    """The typed read tools, each answering with a compact, token-bounded text aggregate."""
    return [
        StructuredTool.from_function(
            func=_bind(name, fn, schema), name=name, description=desc, args_schema=schema
        )
        for name, fn, schema, desc in READS
    ]


__all__ = ["READ_TOOL_NAMES", "read_tools", "run_read"]
