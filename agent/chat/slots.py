"""Slots: the filters a question names, found against the synced workspace, and the masked question.

People (full name, first or last name; case- and typo-tolerant), projects, clients, tags, sections,
project types, tasks (gid, quoted name, "task <name>"), periods (the one grammar, tools/periods.py),
comparisons, grouping, top-N, billable, task status, entry kinds and a capacity horizon. Each value
found is replaced in the question by a placeholder (``[person]`` …) before the intent is classified,
so names never sway the intent, and a task title that says "invoice" does not make a billing question.

A name that looks like a filter but matches nothing (``did Zed log``) is kept in ``unknown``: the
router asks about it instead of answering for everyone. ``ambiguous`` holds a first name shared by
several people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from agent.chat.names import MONTHS, VOCABULARY, Entity, EntityIndex, capitalised, fuzzy, fuzzy_phrases
from tools.periods import Period, PeriodError, find_period_spans, normalise, parse_period
from tools.records import Person, Task, Workspace

GID = re.compile(r"(?<![\w])(\d{5,20})(?![\w])")
_WORD = re.compile(r"[a-z0-9]+")
_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
}
_NUM = r"(\d{1,3}|" + "|".join(_NUMBER_WORDS) + r")"


@dataclass
class Slots:
    """What a question names. Lists keep every value found (two projects compared, say)."""

    person: list[Entity] = field(default_factory=list)
    project: list[Entity] = field(default_factory=list)
    client: list[Entity] = field(default_factory=list)
    tag: list[Entity] = field(default_factory=list)
    section: list[Entity] = field(default_factory=list)
    project_type: list[Entity] = field(default_factory=list)
    task: list[Task] = field(default_factory=list)
    task_candidates: list[Task] = field(default_factory=list)  # a task phrase matching several tasks
    task_phrase: str | None = None  # words after "task" that matched no task (a new task's title)
    periods: list[Period] = field(default_factory=list)
    compare: bool = False
    group_by: str | None = None
    top_n: int | None = None
    billable: str | None = None  # "billable" | "non_billable"
    status: str | None = None  # "open" | "completed" | "created" | "overdue"
    entry_kind: str | None = None  # weekend | future_date | duplicate | implausible_duration | zero_duration
    horizon_weeks: int | None = None
    unknown: list[str] = field(default_factory=list)  # names that look like filters and match nothing
    ambiguous: dict[str, list[str]] = field(default_factory=dict)  # "ana" -> ["Ana Lima", "Ana Costa"]
    period_error: str | None = None
    masked: str = ""

    # The filter slots a tool must apply or the answer must name (routing.FILTER_SLOTS).
    def filters(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for kind in ("person", "project", "client", "tag", "section", "project_type"):
            values = [e.value for e in getattr(self, kind)]
            if values:
                out[kind] = values
        if self.task:
            out["task"] = [t.gid for t in self.task]
        if self.periods:
            out["period"] = [p.label for p in self.periods]
        for kind in ("billable", "status", "entry_kind"):
            if getattr(self, kind):
                out[kind] = [str(getattr(self, kind))]
        if self.top_n:
            out["top_n"] = [str(self.top_n)]
        return out

    def as_dict(self) -> dict[str, Any]:
        """The seam's ``Routed.slots``: plain values (names, gids, period labels with dates)."""
        out: dict[str, Any] = {}
        for kind in ("person", "project", "client", "tag", "section", "project_type"):
            values = [e.value for e in getattr(self, kind)]
            if values:
                out[kind] = values[0] if len(values) == 1 else values
        if self.task:
            out["task"] = self.task[0].gid if len(self.task) == 1 else [t.gid for t in self.task]
        if self.periods:
            out["period"] = self.periods[0].describe()
            if len(self.periods) > 1:
                out["compare_period"] = self.periods[1].describe()
        for key in ("compare", "group_by", "top_n", "billable", "status", "entry_kind", "horizon_weeks"):
            value = getattr(self, key)
            if value:
                out[key] = value
        if self.unknown:
            out["unknown"] = list(self.unknown)
        if self.ambiguous:
            out["ambiguous"] = {k: list(v) for k, v in self.ambiguous.items()}
        return out


# --- extraction ------------------------------------------------------------------------------------

_GROUPS = (
    (r"(?:person|people|assignee|member|teammate|employee|who)", "person"),
    (r"projects?", "project"),
    (r"(?:clients?|customers?)", "client"),
    (r"tags?", "tag"),
    (r"sections?", "section"),
    (r"(?:types?|kinds?|categor(?:y|ies))(?: of (?:project|work|task)s?)?", "project_type"),
    (r"(?:months?|monthly)", "month"),
    (r"(?:weeks?|weekly)", "week"),
    (r"(?:days?|daily)", "day"),
    (r"tasks?", "task"),
)
_GROUP_CUE = re.compile(
    r"\b(?:by|per|for each|each|across|broken down by|grouped by|split by)\s+(?:the\s+)?(\w+(?:\s+of\s+\w+)?)"
)
_RANK_CUE = re.compile(r"\b(?:which|what|whose)\s+(\w+)|\bwho\b")
_TOP = re.compile(
    rf"\b(?:top|first|best|worst)\s+{_NUM}\b|\b{_NUM}\s+(?:biggest|largest|most|highest|worst|best|riskiest|busiest)\b"
)
_HORIZON = re.compile(rf"\b(?:next|coming|following)\s+{_NUM}\s+weeks?\b")
_COMPARE = re.compile(r"\b(?:vs\.?|versus|compared?\s+(?:to|with)|compare|against|than)\b")
_TASK_CUE = re.compile(
    r"\b(?:task|ticket|card)s?\s+(?:called\s+|named\s+|titled\s+)?(?P<x>.+?)\s*(?:$|[?!.:]|\s+(?:for review|take|due|done)\b)"
)
_TITLE_CUE = re.compile(
    r"\b(?:how long (?:will|would|might|could|does) it take to|how much time (?:will|would) it take to|"
    r"estimate (?:a new task:?|for a new task:?)|how many hours would (?:it take to)?)\s+(?P<x>[^?!.]+?)\s*(?:$|[?!.])"
)
_QUOTED = re.compile(r"[\"“'‘]([^\"”'’]{3,200})[\"”'’]")
_FILTER_CUE = re.compile(
    r"\b(?:did|does|for|by|of|from|has|is|was)\s+([A-Z][a-z]{2,})\b|\b([A-Za-z]{3,})'s\b"
)
_DAYS_OFF = {"saturday", "sunday", "weekend", "weekends"}


# Shorthand people type for periods and units, spelt out before the period grammar reads the text.
_EXPAND = {
    "wk": "week",
    "wks": "weeks",
    "mo": "month",
    "mos": "months",
    "mth": "month",
    "mths": "months",
    "yr": "year",
    "yrs": "years",
    "hrs": "hours",
    "hr": "hour",
}
_ABBREVIATIONS = re.compile(r"\b(?:" + "|".join(_EXPAND) + r")\b", re.IGNORECASE)


_PERIODISH = re.compile(r"\b(since|until|before|during|last|past|previous)\s+([a-z]+)\b")
_NOT_PERIODS = frozenset(
    [
        "the",
        "a",
        "an",
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "few",
        "couple",
        "weekend",
        "weekends",
        "time",
        "entry",
        "entries",
        "year",
        "years",
        "week",
        "weeks",
        "month",
        "months",
        "quarter",
        "quarters",
        "day",
        "days",
        "estimate",
        "estimates",
        "sync",
        "project",
        "projects",
        "task",
        "tasks",
    ]
)


def _number(text: str) -> int:
    return int(text) if text.isdigit() else _NUMBER_WORDS[text]


def _free(taken: list[tuple[int, int]], start: int, end: int) -> bool:
    return all(end <= s or start >= e for s, e in taken)


def _find_all(text: str, needle: str) -> list[tuple[int, int]]:
    pattern = rf"(?<![a-z0-9]){re.escape(needle)}(?![a-z0-9])"
    return [(m.start(), m.end()) for m in re.finditer(pattern, text)]


def _group_by(text: str) -> str | None:
    if re.search(
        r"\b(?:project|task|work)\s+types?\b|\bkinds? of (?:project|work|task)s?\b|\btypes? of (?:project|work|task)s?\b",
        text,
    ):
        return "project_type"
    for m in re.finditer(
        rf"\b(?:top|first|bottom)\s+(?:{_NUM}\s+)?(\w+)|\b{_NUM}\s+(?:biggest|largest|busiest)\s+(\w+)", text
    ):
        word = m.group(2) or m.group(4)
        for pattern, group in _GROUPS:
            if word and re.fullmatch(pattern, word):
                return group
    for m in _GROUP_CUE.finditer(text):
        word = m.group(1)
        for pattern, group in _GROUPS:
            if re.fullmatch(pattern, word) or re.fullmatch(pattern, word.split()[0]):
                return group
    for m in _RANK_CUE.finditer(text):
        word = m.group(1) if m.lastindex else "who"
        for pattern, group in _GROUPS[:6]:
            if word and re.fullmatch(pattern, word):
                return group
    return None


def _flags(text: str, slots: Slots) -> None:
    if re.search(r"\bnon[- ]?billable\b|\bnot billable\b|\bunbillable\b", text):
        slots.billable = "non_billable"
    elif re.search(r"\bbill?abl?e\b|\bbillabel\b|\bchargeable\b|\bcharge to clients\b", text):
        slots.billable = "billable"
    if re.search(r"\boverdue\b|\blate tasks\b", text):
        slots.status = "overdue"
    elif re.search(r"\b(?:completed?|finished|closed|done|delivered)\b", text):
        slots.status = "completed"
    elif re.search(r"\b(?:open|remaining|outstanding|still to do|not done)\b", text):
        slots.status = "open"
    elif re.search(r"\b(?:creat(?:e|ed|ing)|added|new tasks|opened)\b", text):
        slots.status = "created"
    words = set(_WORD.findall(text))
    if words & _DAYS_OFF:
        slots.entry_kind = "weekend"
    elif re.search(
        r"\bfuture(?:[- ]dated)?\b|\bin the future\b|\bnext week already\b|\bin advance\b|\bdated after today\b",
        text,
    ):
        slots.entry_kind = "future_date"
    elif re.search(
        r"\bdup+l?i?c?ates?\b|\bdupliate\b|\bdupes?\b|\btwice\b|\bdouble[- ]logged\b|\bdouble\b", text
    ):
        slots.entry_kind = "duplicate"
    elif re.search(r"\bzero[- ](?:minute|hour|duration)", text):
        slots.entry_kind = "zero_duration"
    elif re.search(r"\blonger than a (?:working )?day\b|\bimplausible\b|\btoo long\b", text):
        slots.entry_kind = "implausible_duration"


def extract(question: str, ws: Workspace, index: EntityIndex, today: date) -> Slots:
    """Every slot ``question`` names, and the question with them masked (see module doc)."""
    question = _ABBREVIATIONS.sub(lambda m: _EXPAND[m.group(0).lower()], question)
    text = normalise(question)
    slots = Slots()
    masks: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []

    def claim(start: int, end: int, placeholder: str) -> None:
        masks.append((start, end, placeholder))
        taken.append((start, end))

    # Whole names: people, projects, clients, project types; tags and sections need a cue word
    # ("tagged design", "the QA section") because they are ordinary words otherwise.
    for key, entity in index.names:
        for start, end in _find_all(text, key):
            if not _free(taken, start, end):
                continue
            if entity.kind in ("tag", "section") and not _cued(text, start, end, entity.kind):
                continue
            if entity.kind == "project_type" and not _type_cued(text, start, end):
                continue
            bucket = getattr(slots, entity.kind)
            if entity not in bucket:
                bucket.append(entity)
            claim(start, end, f"[{'type' if entity.kind == 'project_type' else entity.kind}]")

    for m in re.finditer(r"\b(?:after|beyond|later than) today\b", text):  # future-dated, not a period
        claim(m.start(), m.end(), "in the future")
    # Periods: the one grammar; "next 3 weeks" is a capacity horizon, not a past period.
    for m in _HORIZON.finditer(text):
        slots.horizon_weeks = _number(m.group(1))
        claim(m.start(), m.end(), "the next [number] weeks")
    if slots.horizon_weeks is None and re.search(r"\bnext month\b", text):
        slots.horizon_weeks = 4
    try:
        for start, end, period in find_period_spans(question, today):
            if _free(taken, start, end):
                slots.periods.append(period)
                claim(start, end, "[period]")
    except PeriodError as exc:
        slots.period_error = str(exc)
    # The grammar leaves a bare "may" alone (usually the verb); after "in/during/for/of" it is the month.
    for m in re.finditer(r"\b(?:in|during|for|of|since|until)\s+(may)\b(?!\s+\d{4})", text):
        if _free(taken, m.start(1), m.end(1)):
            slots.periods.append(parse_period("May", today))
            claim(m.start(1), m.end(1), "[period]")
    if re.search(r"\bnext (?:week|month)\b", text) and slots.horizon_weeks is None:
        slots.horizon_weeks = 1 if "next week" in text else 4

    # A period-like phrase the grammar could not read ("since Monday", "last sprint") is asked about,
    # never answered for all time.
    for m in _PERIODISH.finditer(text):
        if _free(taken, m.start(), m.end()) and m.group(2) not in _NOT_PERIODS and slots.period_error is None:
            slots.period_error = (
                f"\u2018{m.group(0)}\u2019 is not a period I can read; try e.g. \u2018last week\u2019, "
                "\u2018since 1 Sept\u2019, \u2018last 14 days\u2019 or \u20182026-10\u2019"
            )

    # Tasks by gid; a gid of a project or person counts as that.
    for m in GID.finditer(text):
        gid = m.group(1)
        if gid in index.tasks_by_gid:
            slots.task.append(index.tasks_by_gid[gid])
            claim(m.start(), m.end(), "[task]")
        elif gid in index.projects_by_gid:
            slots.project.append(index.projects_by_gid[gid])
            claim(m.start(), m.end(), "[project]")
        elif gid in index.people_by_gid:
            slots.person.append(index.people_by_gid[gid])
            claim(m.start(), m.end(), "[person]")
        else:
            slots.unknown.append(f"gid {gid}")
            claim(m.start(), m.end(), "[task]")

    # Quoted task names and "task <name>" phrases.
    _tasks_from_phrases(question, text, index, slots, taken, claim)

    # Near misses of multi-word names ("websit redesign"), window by window.
    for entity, start, end in fuzzy_phrases(text, index, taken):
        bucket = getattr(slots, entity.kind)
        if entity not in bucket:
            bucket.append(entity)
        claim(start, end, f"[{'type' if entity.kind == 'project_type' else entity.kind}]")

    # First and last names, then near misses (typos) of names and single-word projects or clients.
    for m in _WORD.finditer(text):
        start, end, word = m.start(), m.end(), m.group(0)
        if not _free(taken, start, end) or word.isdigit():
            continue
        hits = index.first_names.get(word) or index.last_names.get(word)
        capital = capitalised(question, word)
        if hits and (word not in VOCABULARY or capital):
            _person_hit(slots, word, hits)
            claim(start, end, "[person]")
            continue
        if len(word) < 4 or word in VOCABULARY:
            continue
        near = fuzzy(word, index)
        if near is not None:
            kind, entities = near
            if kind == "person":
                _person_hit(slots, word, entities)
            else:
                bucket = getattr(slots, kind)
                if entities[0] not in bucket:
                    bucket.append(entities[0])
            claim(start, end, f"[{kind}]")

    # Names in filter position that matched nothing ("did Zed log", "Zed's hours").
    for m in _FILTER_CUE.finditer(question):
        word = m.group(1) or m.group(2)
        low = word.lower()
        if low in VOCABULARY or low in MONTHS:
            continue
        spans = _find_all(text, low)
        if spans and all(_free(taken, s, e) for s, e in spans):
            slots.unknown.append(word)
            for s, e in spans:
                claim(s, e, "[person]")

    top = _TOP.search(text)
    if top:
        slots.top_n = max(1, min(_number(top.group(1) or top.group(2)), 50))
    slots.compare = bool(_COMPARE.search(text)) or len(slots.periods) > 1
    slots.group_by = _group_by(text)
    _flags(text, slots)
    masked = text
    for start, end, placeholder in sorted(masks, key=lambda x: -x[0]):
        masked = masked[:start] + placeholder + masked[end:]
    slots.masked = re.sub(r"\d+", "[number]", masked)
    return slots


def _cued(text: str, start: int, end: int, kind: str) -> bool:
    before, after = text[max(0, start - 20) : start], text[end : end + 12]
    if kind == "tag":
        return bool(
            re.search(r"(?:tag(?:ged)?|label(?:led)?|#)\s*(?:as\s+|with\s+)?$", before)
            or re.match(r"\s*(?:tag|tags|label|tasks|work|items)\b", after)
        )
    return bool(
        re.search(r"(?:section|column|stage)\s*$", before)
        or re.match(r"\s*(?:section|column|stage)\b", after)
    )


def _type_cued(text: str, start: int, end: int) -> bool:
    after = text[end : end + 14]
    before = text[max(0, start - 12) : start]
    return bool(
        re.match(r"\s*(?:projects?|work|tasks?|type|estimates?|clients?)\b", after)
        or re.search(r"type\s*$", before)
        or " " in text[start:end]  # a two-word type ("client build", "internal tool") is distinctive
    )


def _person_hit(slots: Slots, word: str, hits: list[Entity]) -> None:
    if len(hits) == 1:
        if hits[0] not in slots.person:
            slots.person.append(hits[0])
    else:
        slots.ambiguous[word] = sorted(e.value for e in hits)


def _tasks_from_phrases(
    question: str,
    text: str,
    index: EntityIndex,
    slots: Slots,
    taken: list[tuple[int, int]],
    claim: Any,
) -> None:
    phrases: list[tuple[int, int, str]] = []
    for m in _QUOTED.finditer(question):
        phrase = normalise(m.group(1))
        for start, end in _find_all(text, phrase):
            phrases.append((start, end, phrase))
    for m in _TASK_CUE.finditer(text):
        phrases.append((m.start("x"), m.end("x"), m.group("x").strip(" '\"")))
    titles = [(m.start("x"), m.end("x")) for m in _TITLE_CUE.finditer(text)]
    phrases += [(start, end, text[start:end].strip(" '\"")) for start, end in titles]
    for start, end, phrase in phrases:
        if not phrase or not _free(taken, start, end) or GID.fullmatch(phrase):
            continue
        exact = [t for name, t in index.task_names if name == phrase]
        found = exact or [t for name, t in index.task_names if phrase in name]
        if len(found) == 1 or (found and len({t.name for t in found}) == 1 and exact):
            slots.task.append(found[0])
            claim(start, end, "[task]")
        elif found:
            slots.task_candidates = found
            claim(start, end, "[task]")
        else:
            slots.task_phrase = phrase
            if (start, end) in titles:  # a new task's title is masked too ("... export for invoices")
                claim(start, end, "[task]")
    # A task named in full without a cue ("how long did Fix login page take?").
    if not slots.task and not slots.task_candidates:
        for name, task in index.task_names:
            if len(name) >= 12 and name in text:
                spans = [s for s in _find_all(text, name) if _free(taken, *s)]
                if spans:
                    slots.task.append(task)
                    claim(spans[0][0], spans[0][1], "[task]")
                    break


def people_named(ws: Workspace, names: list[str]) -> list[Person]:
    wanted = {normalise(n) for n in names}
    return [p for p in ws.people if normalise(p.name) in wanted]
