"""The workspace's names as a question can say them: people (full, first or last name), projects,
clients, project types, tags and sections, normalised once per workspace, plus the vocabulary of the
intent examples (words that are never read as a misspelt name)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from agent.chat.intents import INTENTS
from tools.periods import normalise
from tools.records import Task, Workspace

_WORD = re.compile(r"[a-z0-9]+")
# Words that are never a misspelt name (with the intent examples' own words, below).
_STOP_WORDS = """
a about above across actual actuals added after again all also am an and any are as at average be
been before being below best between biggest bill billable billing both but by can client clients
closed compare compared completed could created day days did do does doing done down during each
entries entry estimate estimated estimates few find first for friday from further get give had has
have having he hello help her here hers hi highest him his hour hours how i if in into invoice is it
its itself just largest last least list log logged lowest many me mean monday month months more most
much my new next no nor not now number of off ok okay on once only open or other our ours out over
overdue own past people per person please previous project projects same saturday section sections
she should show so some spend spent such sunday tag tags task tasks team tell than thank thanks that
the their them then there these they this those through thursday time to today too top total tuesday
under until up us versus very vs was we wednesday week weekday weekend weeks were what when where
which while who whom why will with work worked worst would year yes yesterday you your yours
"""
_MONTH_WORDS = """
apr april aug august dec december feb february h1 h2 jan january jul july jun june mar march may nov
november oct october q1 q2 q3 q4 sep sept september ytd
"""
_STOP = frozenset(_STOP_WORDS.split())
MONTHS = frozenset(_MONTH_WORDS.split())


def _vocabulary() -> set[str]:
    """Words of the intent examples and common words: never read as a fuzzy name."""
    words = set(_STOP) | MONTHS
    for intent in INTENTS:
        for example in intent.examples:
            words.update(_WORD.findall(re.sub(r"\[[a-z]+\]", " ", example.lower())))
    return words


VOCABULARY = frozenset(_vocabulary())


@dataclass(frozen=True)
class Entity:
    """A workspace value a question can name: kind (person, project, ...), canonical value, gid."""

    kind: str
    value: str
    gid: str | None = None


@dataclass
class EntityIndex:
    """Names of the workspace, normalised, built once per workspace."""

    names: list[tuple[str, Entity]]  # (normalised full name, entity), longest first
    first_names: dict[str, list[Entity]]
    last_names: dict[str, list[Entity]]
    tasks_by_gid: dict[str, Task]
    projects_by_gid: dict[str, Entity]
    people_by_gid: dict[str, Entity]
    task_names: list[tuple[str, Task]]  # (normalised name, task)

    @classmethod
    def build(cls, ws: Workspace) -> EntityIndex:
        names: dict[str, Entity] = {}

        def add(kind: str, value: str | None, gid: str | None = None) -> None:
            key = normalise(value or "")
            if len(key) >= 2 and key not in names:
                names[key] = Entity(kind, value or "", gid)

        for p in ws.people:
            add("person", p.name, p.gid)
        for pr in ws.projects:
            add("project", pr.name, pr.gid)
        for client in sorted({pr.client for pr in ws.projects if pr.client}):
            add("client", client)
        for ptype in sorted({pr.project_type for pr in ws.projects if pr.project_type}):
            add("project_type", ptype)
        tags = sorted({tag for t in ws.tasks for tag in t.tags})
        sections = sorted({t.section for t in ws.tasks if t.section})
        for tag in tags:
            add("tag", tag)
        for section in sections:
            add("section", section)
        first: dict[str, list[Entity]] = {}
        last: dict[str, list[Entity]] = {}
        for person in ws.people:
            parts = normalise(person.name).split()
            if len(parts) >= 2:
                first.setdefault(parts[0], []).append(Entity("person", person.name, person.gid))
                last.setdefault(parts[-1], []).append(Entity("person", person.name, person.gid))
        return cls(
            names=sorted(names.items(), key=lambda kv: -len(kv[0])),
            first_names=first,
            last_names=last,
            tasks_by_gid={t.gid: t for t in ws.tasks},
            projects_by_gid={p.gid: Entity("project", p.name, p.gid) for p in ws.projects},
            people_by_gid={p.gid: Entity("person", p.name, p.gid) for p in ws.people},
            task_names=[(normalise(t.name), t) for t in ws.tasks],
        )


def similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def capitalised(question: str, word: str) -> bool:
    return re.search(rf"(?<![A-Za-z]){re.escape(word.capitalize())}(?![a-z])", question) is not None


def fuzzy(word: str, index: EntityIndex) -> tuple[str, list[Entity]] | None:
    """A typo of a first or last name, or of a one-word project, client or tag name (ratio >= 0.8)."""
    best: tuple[float, str, list[Entity]] | None = None
    for table in (index.first_names, index.last_names):
        for name, entities in table.items():
            score = similar(word, name)
            if score >= 0.8 and (best is None or score > best[0]):
                best = (score, "person", entities)
    for key, entity in index.names:
        if " " in key or entity.kind in ("tag", "section", "project_type", "person"):
            continue
        score = similar(word, key)
        if score >= 0.85 and (best is None or score > best[0]):
            best = (score, entity.kind, [entity])
    return (best[1], best[2]) if best else None


def fuzzy_phrases(
    text: str, index: EntityIndex, taken: list[tuple[int, int]]
) -> list[tuple[Entity, int, int]]:
    """Typos of multi-word names: a run of as many words as the name, similar enough (ratio >= 0.88),
    in text no other slot claimed."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text)]
    found: list[tuple[Entity, int, int]] = []
    used: list[tuple[int, int]] = list(taken)
    for key, entity in index.names:
        n = key.count(" ") + 1
        if n < 2 or entity.kind in ("tag", "section"):
            continue
        for i in range(len(words) - n + 1):
            start, end = words[i][0], words[i + n - 1][1]
            if any(start < e and s < end for s, e in used):
                continue
            window = text[start:end]
            if window != key and similar(window, key) >= 0.88:
                found.append((entity, start, end))
                used.append((start, end))
                break
    return found
