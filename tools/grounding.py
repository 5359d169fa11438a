"""THE grounding rule for model-written text: every number it states must come from the evidence.

A language model that paraphrases analytics may round a figure (1.39 -> 1.4) or turn a ratio into a
percentage (1.39x -> 39 % over), but it must not state a number that no evidence holds. The retro
narrative (agent/retro.py) and the chat answer check (agent/graph.py) both call ``ungrounded_numbers``:
an answer with any ungrounded number is replaced by the tool-rendered text, never shown as if true.

What is not a claim: digits inside URLs, task gids (long digit runs, shown verbatim by the tools), list
markers ("1. ", "2) "), and ISO dates, which are checked as whole dates (a date must appear in the evidence).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

_URL = re.compile(r"https?://\S+")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_LIST_MARKER = re.compile(r"(?m)^\s*(?:[-*]\s+)?\d{1,2}[.)]\s+")
# A number: optional thousands separators, optional decimals, optional percent sign.
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(\s?%)?")
GID_DIGITS = 7  # digit runs this long are identifiers (task, project, user gids), not quantities


class _Num:
    """A number as written: its value, its decimals (for rounding) and whether it is a percentage."""

    __slots__ = ("decimals", "percent", "text", "value")

    def __init__(self, text: str, value: float, decimals: int, percent: bool) -> None:
        self.text, self.value, self.decimals, self.percent = text, value, decimals, percent

    @property
    def tolerance(self) -> float:
        """Half a unit of the last digit shown: 1.4 stands for anything in [1.35, 1.45]."""
        return 0.5 * 10.0**-self.decimals + 1e-9


def _numbers(text: str) -> list[_Num]:
    stripped = _LIST_MARKER.sub(" ", _ISO_DATE.sub(" ", _URL.sub(" ", text or "")))
    found: list[_Num] = []
    for m in _NUMBER.finditer(stripped):
        whole, frac, pct = m.group(1).replace(",", ""), m.group(2) or "", m.group(3)
        if len(whole) >= GID_DIGITS and not frac:
            continue
        found.append(_Num(m.group(0).strip(), float(whole + frac), max(len(frac) - 1, 0), bool(pct)))
    return found


def _forms(value: float) -> tuple[float, ...]:
    """How an evidence number may be restated: as is, as a percentage (0.34 -> 34 %), or a ratio as an
    over/under-run percentage (1.34 -> 34 %, 0.89 -> 11 %)."""
    return (value, value * 100.0, (value - 1.0) * 100.0, (1.0 - value) * 100.0)


def _supported(claim: _Num, evidence: Sequence[_Num]) -> bool:
    for source in evidence:
        forms = _forms(source.value) if claim.percent or source.percent else (source.value,)
        if any(abs(form - claim.value) <= claim.tolerance for form in forms):
            return True
    return False


def ungrounded_numbers(text: str, evidence: Iterable[str]) -> list[str]:
    """The numbers (and ISO dates) in ``text`` that no evidence text supports, as written, in order.

    Evidence numbers may be rounded to the precision the claim shows and restated as percentages.
    """
    sources = list(evidence)
    known = [n for s in sources for n in _numbers(s)]
    dates = {d for s in sources for d in _ISO_DATE.findall(s)}
    out = [d for d in _ISO_DATE.findall(_URL.sub(" ", text or "")) if d not in dates]
    out += [n.text for n in _numbers(text) if not _supported(n, known)]
    return list(dict.fromkeys(out))


def grounded(text: str, evidence: Iterable[str]) -> bool:
    """True when every number ``text`` states is supported by ``evidence``."""
    return not ungrounded_numbers(text, evidence)


__all__ = ["GID_DIGITS", "grounded", "ungrounded_numbers"]
