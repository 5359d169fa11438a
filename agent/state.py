"""Graph state shared by the chat and retrospective graphs.

The approval node and the apply node (agent/approval.py) read and write only the keys below the line;
the chat and retro graphs add their own keys above it.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from tools.proposals import Decision, Proposal


def merge_proposals(left: list[Proposal], right: list[Proposal]) -> list[Proposal]:
    """Append new proposals, dropping exact repeats (same deterministic id)."""
    seen = {p.id for p in left}
    return [*left, *(p for p in right if p.id not in seen)]


class ChatState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    run_id: str
    # --- approval contract -------------------------------------------------------------------------
    proposals: Annotated[list[Proposal], merge_proposals]  # pending, added by propose tools
    decisions: list[Decision]  # set by the approval node from the human's answer
    applied: Annotated[list[dict[str, Any]], operator.add]  # audit summaries of what the writer did
