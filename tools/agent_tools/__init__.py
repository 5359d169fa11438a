"""The agent's typed tools: read tools (compact, token-bounded aggregates) and propose-only write tools."""

from __future__ import annotations

from langchain_core.tools import BaseTool

from tools.agent_tools.catalog import READ_TOOL_NAMES, read_tools, run_read
from tools.agent_tools.propose import PROPOSE_TOOL_NAMES, propose_tools


def all_tools() -> list[BaseTool]:
    """Every tool the chat graph binds: reads first, then the propose tools."""
    return [*read_tools(), *propose_tools()]


__all__ = ["PROPOSE_TOOL_NAMES", "READ_TOOL_NAMES", "all_tools", "propose_tools", "read_tools", "run_read"]
