"""The agent's typed tools: read tools (compact, token-bounded aggregates) and propose-only write tools.

Names are imported lazily: the LangChain wrappers (catalog.py, propose.py) cost about a second to
import, and a one-question offline answer runs the read tools straight from registry.py without them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from tools.agent_tools.catalog import read_tools
    from tools.agent_tools.propose import propose_tools
    from tools.agent_tools.registry import READ_TOOL_NAMES, run_read

PROPOSE_TOOL_NAMES = frozenset({"propose_ai_field", "propose_comment", "propose_approval_subtask"})


def all_tools() -> list[BaseTool]:
    """Every tool the chat graph binds: reads first, then the propose tools."""
    from tools.agent_tools.catalog import read_tools
    from tools.agent_tools.propose import propose_tools

    return [*read_tools(), *propose_tools()]


def __getattr__(name: str) -> Any:
    if name in ("READ_TOOL_NAMES", "run_read"):
        from tools.agent_tools import registry

        return getattr(registry, name)
    if name == "read_tools":
        from tools.agent_tools.catalog import read_tools

        return read_tools
    if name == "propose_tools":
        from tools.agent_tools.propose import propose_tools

        return propose_tools
    raise AttributeError(name)


__all__ = ["PROPOSE_TOOL_NAMES", "READ_TOOL_NAMES", "all_tools", "propose_tools", "read_tools", "run_read"]
