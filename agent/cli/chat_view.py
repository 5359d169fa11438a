"""How chat answers look in a terminal: tables instead of the tools' pipe rows, task names instead of
raw gids and links, proposals as a numbered table, the writer's results as a table.

Tool output is written for a model (``a | b | c`` rows, ``<<task-text>>`` markers around text written
by other people, ``gid <<task-text>>name<</task-text>> URL`` references). A person gets the same facts
rendered: pipe rows become a rich Table, a task reference becomes its name (a terminal hyperlink to the
task) with the gid dimmed, markers become quotes. Model prose is rendered as Markdown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tools.agent_tools.budget import UNTRUSTED_CLOSE, UNTRUSTED_OPEN

_MARKED = re.escape(UNTRUSTED_OPEN) + r"(?P<name>.*?)" + re.escape(UNTRUSTED_CLOSE)
# "10000303 <<task-text>>Write landing page<</task-text>> https://app.asana.com/0/800023/10000303"
_TASK_REF = re.compile(r"(?P<gid>\b\d{6,}\b)\s+" + _MARKED + r"(?:\s+(?P<url>https?://\S+?))?(?=[\s,;:)]|$)")
_QUOTED_REF = re.compile(
    r"(?P<gid>\b\d{6,}\b)\s+\u201c(?P<name>[^\u201d]*)\u201d(?:\s+(?P<url>https?://\S+?))?(?=[\s,;:)]|$)"
)
_BARE_MARKED = re.compile(_MARKED)
_URL = re.compile(r"https?://\S+")


def _markup_line(line: str) -> str:
    """One line of tool text as rich markup: task references as linked names, markers as quotes."""
    out: list[str] = []
    pos = 0
    for m in sorted([*_TASK_REF.finditer(line), *_QUOTED_REF.finditer(line)], key=lambda m: m.start()):
        if m.start() < pos:
            continue
        out.append(escape(_plain(line[pos : m.start()])))
        name = escape(m.group("name") or m.group("gid"))
        url = m.group("url")
        shown = f"[link={url}]{name}[/link]" if url else name
        out.append(f"\u201c{shown}\u201d [dim]{m.group('gid')}[/dim]")
        pos = m.end()
    out.append(escape(_plain(line[pos:])))
    return "".join(out)


def _plain(text: str) -> str:
    return _BARE_MARKED.sub(lambda m: f"\u201c{m.group('name')}\u201d", text)


def _table(rows: list[list[str]]) -> Table:
    table = Table(show_edge=False, pad_edge=False, header_style="bold")
    numeric = [
        all(re.fullmatch(r"[-+]?[\d.,]+\s*(?:h|%|x)?(?:\s+\w+)?", r[i].strip() or "0") for r in rows[1:])
        for i in range(len(rows[0]))
    ]
    for i, head in enumerate(rows[0]):
        table.add_column(escape(head.strip()), justify="right" if numeric[i] else "left")
    for row in rows[1:]:
        table.add_row(*(Text.from_markup(_markup_line(c.strip())) for c in row))
    return table


def render_tool_text(text: str) -> RenderableType:
    """Tool output (or an offline answer made of it) as rich renderables: tables for pipe rows."""
    parts: list[RenderableType] = []
    block: list[list[str]] = []

    def flush() -> None:
        if len(block) >= 2:
            parts.append(_table(block))
        else:
            parts.extend(Text.from_markup(_markup_line(" · ".join(c.strip() for c in r))) for r in block)
        block.clear()

    for line in text.splitlines():
        cells = line.split(" | ")
        if len(cells) >= 3 and (not block or len(cells) == len(block[0])):
            block.append(cells)
            continue
        flush()
        if len(cells) >= 3:
            block.append(cells)
            continue
        parts.append(Text.from_markup(_markup_line(line)) if line.strip() else Text(""))
    flush()
    return Group(*parts)


def looks_like_tool_text(text: str) -> bool:
    """Whether ``text`` carries raw tool output (pipe rows, markers) rather than model prose."""
    pipe_rows = sum(1 for line in text.splitlines() if line.count(" | ") >= 2)
    return pipe_rows >= 2 or bool(re.search(r"^[A-Z]{4,} ", text, re.M))


def render_answer(text: str) -> RenderableType:
    """An answer for a person: tool text as tables, model prose as Markdown (links kept, markers as quotes)."""
    if looks_like_tool_text(text):
        return render_tool_text(text)
    return Markdown(_plain(text))


def proposals_table(proposals: Sequence[dict[str, Any]]) -> Table:
    """The pending proposals, numbered as `approve 1,3` and `edit N VALUE` refer to them."""
    table = Table(title="Proposed changes (nothing is written until you approve)", title_justify="left")
    for col in ("#", "change", "task", "value", "why"):
        table.add_column(col, overflow="fold")
    for n, p in enumerate(proposals, start=1):
        kind = str(p.get("kind") or "")
        value = p.get("value") if kind == "set_field" else (p.get("text") or p.get("title") or "")
        change = f"set {p.get('field_name')}" if kind == "set_field" else kind.replace("_", " ")
        table.add_row(
            str(n),
            escape(change),
            escape(str(p.get("target_gid") or "")),
            escape(str(value)[:120]),
            escape(_plain(str(p.get("description") or ""))[:160]),
        )
    return table


def applied_table(results: Sequence[dict[str, Any]]) -> Table:
    """What the writer did, one row per proposal."""
    table = Table(title="Approval results", title_justify="left")
    for col in ("proposal", "status", "task", "field", "before", "after", "note"):
        table.add_column(col, overflow="fold")
    for r in results:
        table.add_row(
            escape(str(r.get("proposal_id"))),
            escape(str(r.get("status"))),
            escape(str(r.get("target_gid") or "")),
            escape(str(r.get("field_name") or "")),
            escape(json.dumps(r.get("before"), default=str)) if "before" in r else "",
            escape(json.dumps(r.get("after"), default=str)) if "after" in r else "",
            escape(str(r.get("error") or "")),
        )
    return table


def print_answer(console: Console, text: str) -> None:
    console.print(render_answer(text))


__all__ = [
    "applied_table",
    "looks_like_tool_text",
    "print_answer",
    "proposals_table",
    "render_answer",
    "render_tool_text",
]
