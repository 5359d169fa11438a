"""Tool calls a model writes as text, and the check every call passes before a tool runs.

Small local models often put a call in the message text instead of the API's ``tool_calls`` field: a
fenced JSON block (```json {"name": ..., "arguments": {...}}```, what Qwen2.5-Coder writes), Hermes-style
``<tool_call>{...}</tool_call>`` tags, or a bare JSON object. ``parse_text_calls`` reads all three (with
the usual slips: single quotes, trailing commas, Python literals, arguments as a JSON string), and
``check_call`` validates a call against the offered tool's argument schema, so the graph can send one
corrective retry instead of running a tool with arguments it cannot take.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, ValidationError

_FENCE = re.compile(r"```[ \t]*(?:json|JSON|tool_call|tool)?[ \t]*\n?(?P<body>.*?)(?:```|$)", re.DOTALL)
_TAG = re.compile(r"<tool_call>\s*(?P<body>.*?)\s*(?:</tool_call>|$)", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*(?=[}\]])")


class TextCall(BaseModel):
    """One call read from message text: the tool name and its arguments."""

    name: str
    args: dict[str, Any]


class TextCalls(BaseModel):
    """What the text held: calls that parsed, and snippets that looked like calls but did not parse."""

    calls: list[TextCall] = []
    errors: list[str] = []

    @property
    def found(self) -> bool:
        return bool(self.calls or self.errors)


def _load(body: str) -> Any:
    """JSON, then JSON with trailing commas removed, then a Python literal (single quotes, True/None)."""
    text = body.strip()
    for candidate in (text, _TRAILING_COMMA.sub("", text)):
        try:
            return json.loads(candidate)
        except ValueError:
            pass
    try:
        return ast.literal_eval(_TRAILING_COMMA.sub("", text))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None


def _as_call(obj: Any) -> TextCall | str | None:
    """A call from one parsed object; an error text when it is call-shaped but broken; None otherwise."""
    if not isinstance(obj, Mapping):
        return None
    function = obj.get("function")
    inner: Mapping[str, Any] = function if isinstance(function, Mapping) else obj
    name = inner.get("name") or inner.get("tool") or inner.get("tool_name")
    if not isinstance(name, str) or not name.strip():
        return None
    raw: Any = next((inner[k] for k in ("arguments", "parameters", "args", "input") if k in inner), {})
    if isinstance(raw, str):
        raw = _load(raw) if raw.strip() else {}
    if raw is None:
        return f"the arguments of {name.strip()[:60]!r} are not a JSON object"
    if not isinstance(raw, Mapping):
        return f"the arguments of {name.strip()[:60]!r} must be a JSON object, not {type(raw).__name__}"
    return TextCall(name=name.strip(), args=dict(raw))


def _objects(body: str) -> list[Any]:
    """The JSON values in one block: a single object, a list of them, or several objects on lines."""
    whole = _load(body)
    if whole is not None:
        return list(whole) if isinstance(whole, list) else [whole]
    found = [_load(line) for line in body.splitlines() if line.strip().startswith("{")]
    return [f for f in found if f is not None] or [None]


def parse_text_calls(text: str, tool_names: Sequence[str] = ()) -> TextCalls:
    """Tool calls written in ``text``. A fenced block, a tag or a bare object that names a tool is a
    call; one that cannot be read but mentions a known tool name is an error (worth a retry)."""
    content = (text or "").strip()
    if not content:
        return TextCalls()
    bodies = [m.group("body") for m in _TAG.finditer(content)]
    bodies += [m.group("body") for m in _FENCE.finditer(content)]
    if not bodies and content.startswith("{"):
        bodies = [content]
    out = TextCalls()
    for body in bodies:
        for obj in _objects(body):
            call = _as_call(obj)
            if isinstance(call, TextCall):
                out.calls.append(call)
            elif isinstance(call, str):
                out.errors.append(call)
            elif obj is None and any(name in body for name in tool_names):
                out.errors.append(f"this tool call is not valid JSON: {' '.join(body.split())[:120]}")
    return out


def _error_text(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:4]:
        where = ".".join(str(x) for x in err.get("loc", ())) or "arguments"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def check_call(name: str, args: Mapping[str, Any], offered: Mapping[str, BaseTool]) -> str | None:
    """None when ``name`` is an offered tool and ``args`` fit its schema; else what is wrong, in one line."""
    tool = offered.get(name)
    if tool is None:
        known = ", ".join(offered) or "none"
        return f"{name[:60]!r} is not one of the tools offered for this question ({known})"
    schema = tool.args_schema
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        try:
            schema.model_validate(dict(args))
        except ValidationError as exc:
            return f"{name}: {_error_text(exc)}"
    return None


__all__ = ["TextCall", "TextCalls", "check_call", "parse_text_calls"]
