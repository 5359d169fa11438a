"""The retrospective narrative from an LLM: prose around numbers the analytics computed.

agent/retro.py keeps the narrative only when every number in it is one of the findings' numbers, and
falls back to the template otherwise, so the model can phrase but never produce a figure.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.config import Settings
from agent.llm import make_llm
from prompts import load_prompt


def llm_narrator(settings: Settings) -> Callable[[list[str]], str]:
    """A function from findings (one line each) to a short narrative, through the configured LLM."""
    llm = make_llm(settings, streaming=False, timeout=60.0)
    prompt = load_prompt("retro_narrative")

    def narrate(findings: list[str]) -> str:
        text = prompt.render(findings="\n".join(f"- {f}" for f in findings))
        reply = llm.invoke(text)
        content = reply.content
        return content if isinstance(content, str) else " ".join(str(c) for c in content)

    return narrate
