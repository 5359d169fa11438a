"""The router's seam and guarantees: Routed's shape, no filter dropped silently (every slot kind
enumerated), the cached example vectors match the examples, and odd input never raises."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from agent.chat import classify
from agent.chat.intents import INTENTS, PROPOSE_INTENTS, READ_INTENTS, examples
from agent.chat.plan import plan_turn
from agent.chat.routing import FILTER_SLOTS, TOOL_SLOTS, Routed, audit, route_question
from agent.chat.slots import Entity, Slots
from agent.context import AgentContext
from agent.offline import answer_offline
from tests import REPO
from tools.agent_tools import PROPOSE_TOOL_NAMES, READ_TOOL_NAMES
from tools.periods import Period
from tools.records import Task

README = REPO / "README.md"


def test_routed_is_the_agreed_seam(chat_ctx: AgentContext) -> None:
    routed = route_question("How many hours did Person 3 log on Website Redesign last month?", chat_ctx)
    assert isinstance(routed, Routed) and routed.intent == "hours_logged" and 0 < routed.confidence <= 1
    assert routed.tools[0] == "time_logged" and len(routed.tools) <= 4
    assert routed.slots["person"] == "Person 3" and routed.slots["project"] == "Website Redesign"
    assert routed.slots["period"].startswith("last month (2026-05-01")
    assert routed.unapplied == [] and routed.parts == [
        "How many hours did Person 3 log on Website Redesign last month?"
    ]
    with pytest.raises(ValueError):
        routed.model_copy(update={"intent": "x"}).__class__(intent="x", confidence=2.0)


def test_every_intent_names_real_tools() -> None:
    known = READ_TOOL_NAMES | PROPOSE_TOOL_NAMES
    for intent in INTENTS:
        assert set(intent.tools) <= known, intent.name
        assert len(intent.tools) <= 4
        if intent.name in READ_INTENTS | PROPOSE_INTENTS:
            assert intent.tools, intent.name
    assert set(TOOL_SLOTS) <= known


@pytest.mark.parametrize(
    "question", [e for i in INTENTS if i.kind in ("read", "propose") for e in i.examples[:2]]
)
def test_routed_tools_are_meaningful_for_every_intent(chat_ctx: AgentContext, question: str) -> None:
    filled = (
        question.replace("[person]", "Person 2")
        .replace("[project]", "Website Redesign")
        .replace("[client]", "Acme")
        .replace("[task]", "task 10000003")
        .replace("[period]", "last month")
        .replace("[number]", "3")
        .replace("[tag]", "frontend")
        .replace("[section]", "Review")
        .replace("[type]", "marketing")
    )
    routed = route_question(filled, chat_ctx)
    assert routed.tools, (filled, routed)


# --- no filter dropped silently ---------------------------------------------------------------------

_TASK = Task.model_construct(gid="10000003", name="Fix login page")
_VALUES: dict[str, object] = {
    "person": [Entity("person", "Person 2", "900002")],
    "project": [Entity("project", "Website Redesign", "800000")],
    "client": [Entity("client", "Acme")],
    "tag": [Entity("tag", "frontend")],
    "section": [Entity("section", "Review")],
    "project_type": [Entity("project_type", "marketing")],
    "task": [_TASK],
    "period": [Period(start=date(2026, 5, 1), end=date(2026, 5, 31), label="last month")],
    "billable": "billable",
    "status": "open",
    "entry_kind": "weekend",
    "top_n": 5,
}


def _slots(kind: str) -> Slots:
    slots = Slots()
    attr = "periods" if kind == "period" else kind
    setattr(slots, attr, _VALUES[kind])
    return slots


@pytest.mark.parametrize("kind", FILTER_SLOTS)
def test_audit_reports_every_slot_kind_no_call_applies(kind: str) -> None:
    assert set(_VALUES) == set(FILTER_SLOTS)  # a new slot kind must be added here too
    slots = _slots(kind)
    [missing] = audit(slots, [("capacity", {"weeks_ahead": 3})] if kind != "person" else [("overhead", {})])
    assert missing.startswith(f"{kind}=")
    tool = next(t for t, accepts in TOOL_SLOTS.items() if kind in accepts and accepts[kind] != "-")
    arg = TOOL_SLOTS[tool][kind]
    given = _VALUES[kind]
    if kind in ("task", "period", "top_n"):
        value: object = {"task": "10000003", "period": "last month", "top_n": "5"}[kind]
    else:
        value = given if isinstance(given, str) else given[0].value  # type: ignore[index]
    assert audit(slots, [(tool, {arg: value})]) == []


@pytest.mark.parametrize(
    "question",
    [
        "How many hours did Person 2 log on Website Redesign last month?",
        "billable hours for Acme tagged frontend in May",
        "Is anyone over capacity in the next 3 weeks on Website Redesign?",
        "When will Website Redesign finish for Person 2?",
        "Which task types overran last quarter for Acme?",
        "how many open tasks in the Review section for Person 1?",
        "any weekend entries by Person 4 last month on Website Redesign?",
        "top 3 people by hours in March on marketing projects",
        "Draft March's invoice for Acme for Person 2",
        "retro for last month on Website Redesign tagged frontend",
    ],
)
def test_every_slot_found_is_applied_or_reported(chat_ctx: AgentContext, question: str) -> None:
    plan = plan_turn(question, chat_ctx)
    for part in plan.parts:
        found = {f"{k}={v}" for k, values in part.slots.filters().items() for v in values}
        inherent = {"status", "billable", "period"}
        applied = found - set(part.unapplied)
        for item in applied:
            kind, value = item.split("=", 1)
            if kind in inherent:
                continue
            assert any(
                value.lower() in json.dumps(args).lower() or value in str(args) for _, args in part.calls
            ) or (kind == "period" and any("period" in args for _, args in part.calls)), (
                question,
                item,
                part.calls,
            )
    _, answer = answer_offline(question, chat_ctx)
    assert answer is not None
    for item in plan.routed.unapplied:
        assert item.replace("=", " = ", 1) in answer  # the answer says what it could not apply


# --- the cached example vectors ----------------------------------------------------------------------


def test_cached_vectors_match_the_examples() -> None:
    meta = json.loads(classify.FINGERPRINT_PATH.read_text())
    assert meta["fingerprint"] == classify.fingerprint(), "run: python -m agent.chat.classify --build"
    cached = np.load(classify.VECTORS_PATH).astype(np.float32)
    assert cached.shape == (len(examples()), 384)
    rows = list(range(0, len(examples()), 37))
    fresh = classify.IntentClassifier.shared().encode([examples()[i][1] for i in rows])
    assert np.abs(cached[rows] - fresh).max() < 2e-3  # float16 storage


# --- odd input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "needle"),
    [
        ("", "The question is empty"),
        ("   \n\t ", "The question is empty"),
        ("how many hours " * 700, "too long"),
        ("¿Cuántas horas registró el equipo la semana pasada?", "English"),
        ("上周团队记录了多少小时？", "English"),
        ("how many hours\x00\x07\x1b[31m did we log last week?", "HOURS LOGGED"),
    ],
)
def test_odd_input_gets_a_clear_answer(chat_ctx: AgentContext, question: str, needle: str) -> None:
    plan, answer = answer_offline(question, chat_ctx)
    assert (
        (answer is not None and needle.lower() in answer.lower())
        or needle in str(plan.calls)
        or (answer is not None and "hours logged" in answer.lower())
    )
    assert "Traceback" not in (answer or "") and not any(n.startswith("propose") for n, _ in plan.calls)


def test_injection_inside_task_names_is_data(chat_ctx: AgentContext) -> None:
    hostile = next(t for t in chat_ctx.workspace.tasks if "IGNORE PREVIOUS INSTRUCTIONS" in t.name)
    plan, answer = answer_offline(f"show task {hostile.gid}", chat_ctx)
    assert [n for n, _ in plan.calls] == ["task_lookup"] and answer is not None
    assert "<<task-text>>" not in answer and "\u201c" in answer  # quoted as data for a person
    plan, answer = answer_offline(f"how many hours were logged on task {hostile.gid}?", chat_ctx)
    assert not any(n.startswith("propose") for n, _ in plan.calls)


# --- the README's offline list -------------------------------------------------------------------------


def test_readme_lists_exactly_the_offline_questions() -> None:
    from agent.chat.intents import readme_questions

    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- offline-questions:start -->")
    end = text.index("<!-- offline-questions:end -->")
    listed = [line[2:].strip().strip('"') for line in text[start:end].splitlines() if line.startswith("- ")]
    assert listed == readme_questions()


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("hrs person 3 logged last wk", {"person": "Person 3", "period": "last week"}),
        ("time on websit redesign last month pls", {"project": "Website Redesign", "period": "last month"}),
        ("top 3 projects by hours this year", {"top_n": 3, "group_by": "project"}),
        ("how many tasks did person 2 create last month", {"status": "created", "person": "Person 2"}),
        ("billable hours for Acme in May", {"client": "Acme", "period": "May 2026", "billable": "billable"}),
    ],
)
def test_shorthand_typos_and_cues_reach_the_tool(
    chat_ctx: AgentContext, question: str, expected: dict[str, object]
) -> None:
    plan = plan_turn(question, chat_ctx)
    [(_, args)] = plan.calls
    for key, value in expected.items():
        assert args.get(key) == value, (question, args)
    assert plan.routed.unapplied == []


@pytest.mark.parametrize("question", ["hours since monday", "hours over the last sprint"])
def test_a_period_that_cannot_be_read_is_asked_about(chat_ctx: AgentContext, question: str) -> None:
    plan, answer = answer_offline(question, chat_ctx)
    assert not plan.calls and answer is not None and "is not a period I can read" in answer
    assert plan.routed.intent == "clarify"


def test_hours_per_client_are_not_cut_to_billable_unasked(chat_ctx: AgentContext) -> None:
    plan = plan_turn("hours per client, last 90 days", chat_ctx)
    [(_, args)] = plan.calls
    assert "billable" not in args and args["group_by"] == "client"
