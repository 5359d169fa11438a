"""Versioned prompt templates: ``prompts/<name>.v<N>.md``, loaded by name, newest version by default.

The version is recorded in each run's metadata so an answer can be traced to the exact prompt text.
Templates use ``{placeholders}`` filled by ``Prompt.render``; literal braces are written ``{{ }}``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel

PROMPT_DIR = Path(__file__).parent
_FILE = re.compile(r"^(?P<name>[a-z0-9_]+)\.v(?P<version>\d+)\.md$")


class Prompt(BaseModel):
    name: str
    version: int
    text: str

    @property
    def ref(self) -> str:
        """``name@vN``: what run metadata records."""
        return f"{self.name}@v{self.version}"

    def render(self, **values: Any) -> str:
        return self.text.format(**values) if values else self.text


def available(name: str) -> list[int]:
    """Versions of ``name`` that exist, ascending."""
    found = []
    for path in PROMPT_DIR.glob(f"{name}.v*.md"):
        m = _FILE.match(path.name)
        if m and m.group("name") == name:
            found.append(int(m.group("version")))
    return sorted(found)


def load_prompt(name: str, version: int | None = None) -> Prompt:
    """The template ``name`` at ``version`` (default: the newest). Raises KeyError naming what exists."""
    versions = available(name)
    if not versions:
        raise KeyError(f"no prompt named {name!r} in {PROMPT_DIR}")
    chosen = versions[-1] if version is None else version
    if chosen not in versions:
        raise KeyError(f"prompt {name!r} has no version {chosen}; available: {versions}")
    text = (PROMPT_DIR / f"{name}.v{chosen}.md").read_text(encoding="utf-8")
    return Prompt(name=name, version=chosen, text=text)
