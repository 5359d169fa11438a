"""Offline answers for a person: tool output rewritten as readable lines, one section per part.

Tool text is compact for a model (``a | b | c`` rows, gids beside fenced names). A person gets names
with links instead of bare gids, tables as "- row: column value, …" lines, the untrusted-text fences
as quotes, and, after the figures, any filter that could not be applied and the dates line (today and
data freshness) that every read tool ends with.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from agent.chat.refusals import OFFLINE_NOTE
from tools.agent_tools.budget import UNTRUSTED_CLOSE, UNTRUSTED_OPEN

LEADS = {
    "hours_logged": "Hours logged:",
    "billable_hours": "Billable hours:",
    "work_summary": "What was worked on (hours by task):",
    "task_hours": "Hours on the task:",
    "task_count": "Task count:",
    "open_work": "Estimated work still open:",
    "variance": "How actual hours compared with estimates:",
    "capacity": "Load against capacity:",
    "forecast": "Completion forecast:",
    "deadline_risk": "Projects by risk of missing their due date:",
    "billing": "Billing draft (nothing has been sent):",
    "estimate": "Estimate:",
    "similar": "Similar completed tasks:",
    "anomalies": "Flagged time entries and tasks:",
    "entry_check": "Entry checks:",
    "overhead": "Admin overhead by month:",
    "retro": "Retrospective:",
    "lookup": "Matching tasks:",
    "propose_estimate": "Estimate and proposal:",
    "propose_comment": "Proposal:",
    "propose_review_flag": "Proposal:",
}

_URL = r"(https?://\S+?)(?=[:;,.]?(?:\s|$))"  # a link, without the punctuation that follows it
_REF = re.compile(rf"\b(\d{{5,}}) {re.escape(UNTRUSTED_OPEN)}(.*?){re.escape(UNTRUSTED_CLOSE)}(?: {_URL})?")
_LINKED = re.compile(rf"{re.escape(UNTRUSTED_OPEN)}(.*?){re.escape(UNTRUSTED_CLOSE)} {_URL}")
_FENCED = re.compile(rf"{re.escape(UNTRUSTED_OPEN)}(.*?){re.escape(UNTRUSTED_CLOSE)}")


def _names(line: str) -> str:
    """``gid <<name>> url`` -> ``“name” (url)``; other fenced text -> “text”."""
    line = _REF.sub(lambda m: f"\u201c{m.group(2)}\u201d" + (f" ({m.group(3)})" if m.group(3) else ""), line)
    line = _LINKED.sub(lambda m: f"\u201c{m.group(1)}\u201d ({m.group(2)})", line)
    return _FENCED.sub(lambda m: f"\u201c{m.group(1)}\u201d", line)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.split(" | ")]


def _is_header(cells: list[str]) -> bool:
    """Column names: no figures (labels like P50, P80 and P(on time) aside)."""
    return len(cells) >= 2 and not any(re.search(r"\d", re.sub(r"P\d0|P\(", "", c)) for c in cells)


def humanize(text: str) -> str:
    """Tool text -> readable lines (see module doc)."""
    lines = text.splitlines()
    out: list[str] = []
    header: list[str] | None = None
    for raw in lines:
        line = raw.rstrip()
        if not line.strip():
            continue
        if line.startswith("dates:"):
            continue  # stated once, at the end of the answer
        cells = _cells(line)
        if header is not None and len(cells) == len(header):
            first, rest = cells[0], cells[1:]
            parts = [f"{h} {v}" for h, v in zip(header[1:], rest, strict=True) if v and v != "-"]
            out.append(f"- {_names(first)}: {', '.join(parts)}")
            continue
        header = None
        if len(cells) >= 2 and _is_header(cells):
            label, _, first = cells[0].rpartition(": ")
            header = [first or cells[0], *cells[1:]]
            if label:
                out.append(f"{label[0].upper()}{label[1:]}:")
            continue
        text = _names("; ".join(cells)) if len(cells) > 1 else _names(line)
        out.append(_sentence_case(text))
    return "\n".join(out)


_SHOUT = re.compile(r"^([A-Z]{2,}(?: [A-Z]{2,})*)\b")


def _sentence_case(line: str) -> str:
    """A tool's upper-case heading ("HOURS LOGGED", "TASK COUNT") as a person writes it."""
    return _SHOUT.sub(lambda m: m.group(1).capitalize(), line, count=1)


def dates_line(tool_texts: Sequence[str]) -> str | None:
    for text in tool_texts:
        for line in reversed(text.splitlines()):
            if line.startswith("dates:"):
                return "Dates: " + line[len("dates:") :].strip()
    return None


def compose(
    sections: Sequence[tuple[str, Sequence[tuple[str, str]]]],
    *,
    unapplied: Sequence[str] = (),
    notes: Sequence[str] = (),
    applied: Sequence[dict[str, Any]] = (),
    proposed: bool = False,
) -> str:
    """The answer: offline note, one section per part (lead + readable tool output), what could not
    be applied, notes (refused parts), approval results, and the dates line."""
    tools = ", ".join(dict.fromkeys(name for _, outs in sections for name, _ in outs))
    parts = [f"{OFFLINE_NOTE} Tools used: {tools or 'none'}."]
    for intent, outputs in sections:
        parts.append("")
        parts.append(LEADS.get(intent, "Result:"))
        parts += [humanize(text) for _, text in outputs]
    if unapplied:
        parts.append("")
        parts.append(
            "Not applied (the figures above are NOT filtered by these): "
            + "; ".join(u.replace("=", " = ", 1) for u in unapplied)
            + "."
        )
    for note in notes:
        parts += ["", note]
    if applied:
        parts += ["", "Approval results:"]
        parts += [
            f"- {a.get('proposal_id')}: {a.get('status')}"
            + (f" ({a.get('error')})" if a.get("error") else "")
            for a in applied
        ]
    elif proposed:
        parts += ["", "Nothing is written until a person approves it."]
    dates = dates_line([text for _, outs in sections for _, text in outs])
    if dates:
        parts += ["", dates]
    return "\n".join(parts)
