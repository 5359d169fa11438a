"""From a question to a turn plan: refusals, parts, intent per part, slots, and the tool calls that
apply them (or one clarifying question that names the two likeliest readings).

    plan_turn(question, ctx) -> TurnPlan      # .routed is the seam (agent/chat/routing.py)

Order: clean the text (control characters, length, language); refuse what the agent never does
(human fields, deletes, credentials; checked on the whole question, so an injected instruction in a
two-part question is refused while the other part is answered); split into parts; for each part,
extract slots, classify the masked part, and plan calls. ``routing.audit`` then derives what no call
applies, and the answer states it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.chat import refusals
from agent.chat.intents import BY_NAME, INTENTS, PROPOSE_INTENTS
from agent.chat.routing import CLARIFY, UNKNOWN, Routed, audit
from agent.chat.slots import VOCABULARY, EntityIndex, Slots, extract

if TYPE_CHECKING:
    from agent.chat.classify import IntentClassifier, Ranking
    from agent.context import AgentContext

MAX_CHARS = 2000
MIN_SCORE = 0.42  # below: no intent is close enough; say what can be asked
CLARIFY_CONFIDENCE = 0.30  # below, with a close runner-up: ask which of the two was meant
CLARIFY_MARGIN = 0.012
Call = tuple[str, dict[str, Any]]


@dataclass
class PartPlan:
    text: str
    intent: str
    confidence: float
    slots: Slots
    calls: list[Call] = field(default_factory=list)
    reply: str | None = None  # a clarifying question or a refusal for this part
    unapplied: list[str] = field(default_factory=list)
    follow_up: str | None = None  # "propose_estimate": propose the estimate once it is in
    candidates: tuple[str, ...] = ()  # the two likeliest intents (their tools help an LLM ask back)


@dataclass
class TurnPlan:
    question: str
    parts: list[PartPlan]
    reply: str | None = None  # the whole turn is one reply (refusal, clarification, help)
    intent: str | None = None  # the turn's intent when one reply answers it ("refuse_write", "unknown")
    notes: list[str] = field(default_factory=list)  # said after the answers (refused parts)
    routed: Routed = field(default_factory=lambda: Routed(intent=UNKNOWN, confidence=0.0))

    @property
    def calls(self) -> list[Call]:
        return [c for p in self.parts for c in p.calls]


# --- cleaning --------------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def clean(question: str) -> tuple[str, str | None]:
    """(text, why it cannot be answered as it is or None)."""
    text = " ".join(_CONTROL.sub(" ", question or "").split())
    if not text:
        return "", "The question is empty. " + refusals.help_text()
    if len(text) > MAX_CHARS:
        return text[:MAX_CHARS], (
            "The question is too long for me: I answer one question at a time, in a sentence or two. "
            "Ask the part you need first."
        )
    words = re.findall(r"[^\W\d_]{3,}", text.lower())
    english = sum(1 for w in words if w in VOCABULARY or w in refusals.ENGLISH)
    foreign = sum(1 for ch in text if ch.isalpha() and ord(ch) > 0x24F)
    if (len(words) >= 4 and english / len(words) < 0.3) or foreign > len(text) * 0.3:
        return text, (
            "I can only read questions in English for now (offline, the question router is English-only). "
            "For example: 'How many hours did Ana log last week?'"
        )
    return text, None


# --- parts -----------------------------------------------------------------------------------------

_SPLIT = re.compile(
    r"\s*(?:;|\?\s+|\.\s+(?=[A-Z])|,?\s+(?:and|also|then|plus)\s+(?:then\s+|also\s+)?"
    r"(?=(?:is|are|was|were|who|which|what|when|how|show|draft|estimate|find|any|list|did|does|do|flag|"
    r"propose|give|tell|can|will|has|have|set|change|delete)\b)|\s+SYSTEM:\s*)",
    re.IGNORECASE,
)


def split_parts(text: str) -> list[str]:
    parts = [p.strip(" ,;") for p in _SPLIT.split(text) if p and len(p.strip(" ,;?")) >= 3]
    return parts or [text]


# --- the plan --------------------------------------------------------------------------------------


def _tools(ctx: AgentContext) -> tuple[IntentClassifier, EntityIndex]:
    from agent.chat.classify import IntentClassifier

    if "classifier" not in ctx.cache:
        ctx.cache["classifier"] = IntentClassifier.shared()
    if "entities" not in ctx.cache:
        ctx.cache["entities"] = EntityIndex.build(ctx.workspace)
    return ctx.cache["classifier"], ctx.cache["entities"]


def plan_turn(question: str, ctx: AgentContext) -> TurnPlan:
    """Plan one user turn (see module doc). Never raises on odd input: it replies instead."""
    text, problem = clean(question)
    if problem is not None:
        return _finish(TurnPlan(question=text, parts=[], reply=problem, intent=UNKNOWN))
    refusal = refusals.refusal(text, ctx)
    classifier, index = _tools(ctx)
    parts: list[PartPlan] = []
    notes: list[str] = []
    inherited: Slots | None = None
    refused: str | None = "refuse_write" if refusal else None
    for part_text in split_parts(text):
        part = plan_part(part_text, ctx, classifier, index, inherited)
        inherited = part.slots
        if part.intent.startswith("refuse_"):
            notes.append(refusal or refusals.generic(part.intent, part_text, ctx))
            refused = refused or part.intent
            refusal = None
            continue
        parts.append(part)
    answerable = [p for p in parts if p.calls]
    if refusal is not None:
        if answerable and all(
            BY_NAME.get(p.intent) is None or p.intent not in PROPOSE_INTENTS for p in answerable
        ):
            notes.append(refusal)
            parts = answerable
        else:
            return _finish(TurnPlan(question=text, parts=parts, reply=refusal, intent=refused))
    if not answerable:
        if notes:
            return _finish(TurnPlan(question=text, parts=parts, reply="\n\n".join(notes), intent=refused))
        replies = [p.reply for p in parts if p.reply]
        return _finish(
            TurnPlan(question=text, parts=parts, reply=replies[0] if replies else refusals.help_text())
        )
    if any(p.intent == "deadline_risk" and p.calls for p in parts):
        # "which project is most at risk, and when will it finish?": the risk list gives P50/P80 dates.
        parts = [p for p in parts if not (p.intent == "forecast" and not p.calls)]
    for i, part in enumerate(parts, start=1):
        if not part.calls and len(parts) > 1:
            notes.append(
                f"Part {i} (\u2018{part.text[:80]}\u2019) was not answered: {part.reply or 'not understood'}"
            )
    return _finish(TurnPlan(question=text, parts=parts, notes=notes))


def _finish(plan: TurnPlan) -> TurnPlan:
    """Fill the seam's ``Routed`` from the plan: the first answered part (else the first part) speaks
    for the turn; ``tools`` lists the planned calls' tools, then the parts' intents' tools."""
    parts = plan.parts
    first = next((p for p in parts if p.calls), parts[0] if parts else None)
    tools: list[str] = []
    for name in [
        *(n for p in parts for n, _ in p.calls),
        *(n for p in parts for n in (BY_NAME[p.intent].tools if p.intent in BY_NAME else ())),
        *(n for p in parts for c in p.candidates for n in (BY_NAME[c].tools if c in BY_NAME else ())),
    ]:
        if name not in tools:
            tools.append(name)
    intent, confidence, slots = (
        (UNKNOWN, 0.0, {}) if first is None else (first.intent, first.confidence, first.slots.as_dict())
    )
    if plan.intent is not None:
        intent, confidence = plan.intent, max(confidence, 1.0 if plan.intent.startswith("refuse") else 0.0)
    plan.routed = Routed(
        intent=intent,
        confidence=round(max(0.0, min(1.0, confidence)), 3),
        tools=tools[:4],
        slots=slots,
        unapplied=[u for p in parts for u in p.unapplied],
        parts=[p.text for p in parts] or [plan.question],
    )
    return plan


def _clarify_two(ranking: Ranking) -> str:
    """One question that names the two likeliest readings (of the intents that answer something)."""
    readings = [BY_NAME[name] for name, _ in ranking.scores if BY_NAME[name].readme][:2]
    if not readings:
        return refusals.help_text()

    def example(intent_readme: str) -> str:
        return f"\u2018{intent_readme.split(' / ')[0]}\u2019"

    if len(readings) == 1:
        return f"Did you mean {readings[0].reading} (e.g. {example(readings[0].readme or '')})?"
    a, b = readings
    return (
        f"Did you mean {a.reading} (e.g. {example(a.readme or '')}) or {b.reading} "
        f"(e.g. {example(b.readme or '')})?"
    )


def plan_part(
    text: str, ctx: AgentContext, classifier: IntentClassifier, index: EntityIndex, inherited: Slots | None
) -> PartPlan:
    from agent.chat import planners

    slots = extract(text, ctx.workspace, index, ctx.today())
    if (
        inherited is not None
        and not slots.periods
        and re.search(r"\b(?:that|same)\s+(?:month|week|period|quarter|year)\b", text, re.I)
    ):
        slots.periods = list(inherited.periods)
    ranking = classifier.rank(slots.masked)
    intent = ranking.best
    part = PartPlan(
        text=text,
        intent=intent,
        confidence=ranking.confidence,
        slots=slots,
        candidates=(ranking.best, ranking.runner_up[0]),
    )
    if slots.period_error:
        part.intent = CLARIFY
        part.reply = f"I could not read the period: {slots.period_error}"
        return part
    if ranking.best_score < MIN_SCORE:
        part.intent = UNKNOWN
        part.reply = "I could not tell what you want to know. " + _clarify_two(ranking)
        return part
    if ranking.confidence < CLARIFY_CONFIDENCE and ranking.best_score - ranking.runner_up[1] < CLARIFY_MARGIN:
        second = BY_NAME.get(ranking.runner_up[0])
        if second is not None and second.kind == BY_NAME[intent].kind == "read":
            part.intent = CLARIFY
            part.reply = _clarify_two(ranking)
            return part
    meta = BY_NAME[intent]
    if meta.kind == "refuse":
        return part
    if meta.kind == "meta":
        part.reply = refusals.out_of_scope() if intent == "out_of_scope" else refusals.help_text()
        return part
    if slots.ambiguous:
        word, names = next(iter(slots.ambiguous.items()))
        part.intent = CLARIFY
        part.reply = f"Which {word.capitalize()} do you mean: {' or '.join(names)}?"
        return part
    if slots.unknown:
        part.intent = CLARIFY
        part.reply = refusals.unknown_names(slots.unknown, ctx)
        return part
    planner = planners.PLANNERS[intent]
    result = planner(text, slots, ctx)
    if isinstance(result, str):
        part.reply = result
        if intent not in PROPOSE_INTENTS:
            part.intent = CLARIFY
        return part
    part.calls = list(result.calls)
    part.follow_up = result.follow_up
    # Task status is a filter only when counting tasks ("done" in "when will X be done" is not one).
    inherent = result.inherent if intent == "task_count" else (*result.inherent, "status")
    part.unapplied = audit(slots, part.calls, inherent=inherent)
    return part


__all__ = ["INTENTS", "PartPlan", "TurnPlan", "clean", "plan_part", "plan_turn", "split_parts"]
