"""One planner per intent: the tool calls that answer it with every slot the tool can apply, or the
clarifying question when something it needs is missing (which project, which period, which task).

A planner returns ``Planned`` (calls; slot kinds the intent satisfies by nature; a follow-up step) or a
string to ask back. It does not decide what was applied: ``routing.audit`` reads that off the calls.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agent.chat.routing import TOOL_SLOTS
from agent.chat.slots import Slots
from tools.agent_tools.budget import TOP_N

if TYPE_CHECKING:
    from agent.context import AgentContext

Call = tuple[str, dict[str, Any]]
MAX_SPLIT_CALLS = 3  # "compare A and B": one call per value, at most this many


@dataclass(frozen=True)
class Planned:
    calls: tuple[Call, ...]
    inherent: tuple[str, ...] = ()
    follow_up: str | None = None


Planner = Callable[[str, Slots, "AgentContext"], "Planned | str"]
_ENTITY_KINDS = ("person", "project", "client", "tag", "section", "project_type")


def _base(tool: str, slots: Slots, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The filter arguments ``tool`` accepts, from the first value of each slot."""
    accepts = TOOL_SLOTS.get(tool, {})
    args: dict[str, Any] = {}
    for kind in _ENTITY_KINDS:
        values = getattr(slots, kind)
        if values and kind in accepts and kind not in skip:
            args[accepts[kind]] = values[0].value
    if slots.task and "task" in accepts and "task" not in skip:
        args[accepts["task"]] = slots.task[0].gid
    if slots.periods and "period" in accepts and "period" not in skip:
        args["period"] = slots.periods[0].label
    if slots.top_n and "top_n" in accepts:
        args[accepts["top_n"]] = min(slots.top_n, 25 if tool != "similar_tasks" else 10)
    return args


def _split(tool: str, slots: Slots, args: dict[str, Any]) -> tuple[Call, ...]:
    """One call per value when a slot names several (comparing two projects or people)."""
    accepts = TOOL_SLOTS.get(tool, {})
    for kind in _ENTITY_KINDS:
        values = getattr(slots, kind)
        if len(values) > 1 and kind in accepts:
            return tuple((tool, {**args, accepts[kind]: v.value}) for v in values[:MAX_SPLIT_CALLS])
    return ((tool, args),)


def _compare(slots: Slots, args: dict[str, Any]) -> None:
    if len(slots.periods) > 1:
        args["compare_period"] = slots.periods[1].label
    elif slots.compare and slots.periods and not any(len(getattr(slots, k)) > 1 for k in _ENTITY_KINDS):
        args["compare_period"] = "previous"  # "this month vs last"; "A vs B" compares the two instead


_GROUPS_TIME = {
    "person",
    "project",
    "client",
    "tag",
    "section",
    "project_type",
    "task",
    "month",
    "week",
    "day",
}


def hours_logged(
    text: str, slots: Slots, ctx: AgentContext, *, billable: str | None = None, group: str | None = None
) -> Planned:
    args = _base("time_logged", slots)
    _compare(slots, args)
    group_by = group or slots.group_by
    if group_by in _GROUPS_TIME:
        args["group_by"] = group_by
    inherent: tuple[str, ...] = ()
    flag = billable or slots.billable
    both = r"\bbillable\s+(?:vs\.?|versus|and|or)\s+non|\bratio\b|\bshare\b|\bpercent|%|\bproportion\b|\butili[sz]ation\b"
    if flag and not re.search(both, text, re.I):  # a share needs both figures: the tool shows both
        args["billable"] = flag
    elif billable:
        inherent = ("billable",)
    if slots.billable and "billable" not in args:
        inherent = ("billable",)
    return Planned(_split("time_logged", slots, args), inherent=inherent)


def billable_hours(text: str, slots: Slots, ctx: AgentContext) -> Planned:
    # Only a question that says "billable" gets the billable filter; otherwise both figures are shown.
    return hours_logged(text, slots, ctx, billable=slots.billable)


def work_summary(text: str, slots: Slots, ctx: AgentContext) -> Planned:
    return hours_logged(text, slots, ctx, group="task")


def task_hours(text: str, slots: Slots, ctx: AgentContext) -> Planned | str:
    if not slots.task:
        if slots.task_candidates or slots.task_phrase:
            return _which_task(slots, "")
        return hours_logged(text, slots, ctx, group="task")  # "which tasks took the most hours"
    args = _base("time_logged", slots)
    args["group_by"] = "person"
    return Planned(_split("time_logged", slots, args))


def task_count(text: str, slots: Slots, ctx: AgentContext) -> Planned:
    args = _base("task_counts", slots)
    status = slots.status or ("completed" if slots.periods else "open")
    args["status"] = status
    slots.status = status
    _compare(slots, args)
    if slots.group_by in _GROUPS_TIME:
        args["group_by"] = slots.group_by
    return Planned(_split("task_counts", slots, args))


def open_work(text: str, slots: Slots, ctx: AgentContext) -> Planned:
    args = _base("open_work", slots)
    if slots.group_by in _GROUPS_TIME:
        args["group_by"] = slots.group_by
    elif re.search(r"\bwhich (?:project|person|client)\b", text, re.I):
        args["group_by"] = re.search(r"\bwhich (project|person|client)\b", text, re.I).group(1).lower()  # type: ignore[union-attr]
    return Planned(_split("open_work", slots, args), inherent=("status",))


_VARIANCE_GROUPS = {
    "person": "assignee",
    "project_type": "project_type",
    "tag": "tag",
    "section": "section",
    "month": "month",
    "project": "project",
}


def variance(text: str, slots: Slots, ctx: AgentContext) -> Planned:
    args = _base("variance", slots)
    group = _VARIANCE_GROUPS.get(slots.group_by or "")
    if group is None:
        group = "assignee" if re.search(r"\bwho\b|\bperson\b|\bpeople\b", text, re.I) else "project_type"
    if group == "project_type" and len(slots.project_type) > 1:
        group = "assignee"
    args["group_by"] = group
    return Planned(_split("variance", slots, args), inherent=("status",))


def capacity(text: str, slots: Slots, ctx: AgentContext) -> Planned:
    args: dict[str, Any] = {"weeks_ahead": max(1, min(slots.horizon_weeks or 3, 12))}
    if slots.person:
        args["person"] = slots.person[0].value
    return Planned(_split("capacity", slots, args), inherent=("period",) if not slots.periods else ())


def forecast(text: str, slots: Slots, ctx: AgentContext) -> Planned | str:
    if not slots.project:
        live = sorted(p.name for p in ctx.workspace.projects if not p.archived)
        return f"Which project? e.g. \u2018When will {live[0] if live else '<project>'} finish?\u2019. Projects: {', '.join(live[:10])}."
    return Planned(_split("completion_forecast", slots, {"project": slots.project[0].value}))


def deadline_risk(text: str, slots: Slots, ctx: AgentContext) -> Planned:
    args = _base("at_risk_projects", slots)
    return Planned(_split("at_risk_projects", slots, args))


def budget(text: str, slots: Slots, ctx: AgentContext) -> Planned | str:
    if not slots.project:
        budgets = {b.project_gid for b in ctx.workspace.budgets}
        named = sorted(p.name for p in ctx.workspace.projects if p.gid in budgets)[:10]
        return (
            f"Which project? e.g. \u2018Are we on budget on {named[0] if named else '<project>'}?\u2019."
            + (f" Projects with an Asana budget: {', '.join(named)}." if named else "")
        )
    return Planned(_split("budget_status", slots, {"project": slots.project[0].value}))


def budget_risk(text: str, slots: Slots, ctx: AgentContext) -> Planned:
    return Planned((("budget_status", _base("budget_status", slots)),))


def billing(text: str, slots: Slots, ctx: AgentContext) -> Planned | str:
    if not slots.periods:
        return "For which period? e.g. \u2018Draft March's invoice for Acme\u2019 or \u2018billing for 2026-03\u2019."
    if not slots.client and not slots.project and re.search(r"\bthe client\b|\bthe invoice\b", text, re.I):
        clients = sorted({p.client for p in ctx.workspace.projects if p.client})
        return f"For which client? Known clients: {', '.join(clients[:10]) or 'none set'}."
    args = _base("billing_draft", slots)
    return Planned(_split("billing_draft", slots, args), inherent=("billable",))


_VAGUE = {"this", "that", "it", "one", "this one", "that one", "this task", "it for me"}
_ESTIMATE_PHRASE = re.compile(
    r"(?:estimate(?:s)?(?:\s+a\s+new\s+task)?(?:\s+(?:for|of))?|how long (?:will|would|does|might|could)(?: it take to)?|"
    r"how many hours (?:should we plan for|would|will)|how much time (?:will|would) it take to|how big is|"
    r"good estimate for)\s*:?\s+(?P<x>.+?)(?:\s+take)?\s*[?.!]*$",
    re.IGNORECASE,
)


def _phrase(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    if not m:
        return None
    phrase = re.sub(r"^(?:the\s+)?(?:new\s+)?task\s+", "", m.group("x").strip(" '\"?.!"), flags=re.I)
    return phrase if len(phrase) >= 3 else None


def _which_task(slots: Slots, ask: str) -> str:
    if slots.task_candidates:
        listed = "; ".join(f"{t.gid} (\u2018{t.name[:50]}\u2019)" for t in slots.task_candidates[:5])
        more = f" and {len(slots.task_candidates) - 5} more" if len(slots.task_candidates) > 5 else ""
        return f"{len(slots.task_candidates)} tasks match: {listed}{more}. Which one (gid)?"
    if slots.task_phrase:
        return f"I found no task named \u2018{slots.task_phrase[:60]}\u2019. Give the task gid (try \u2018find task <words>\u2019)."
    return ask


def estimate(text: str, slots: Slots, ctx: AgentContext) -> Planned | str:
    if slots.task:
        return Planned((("estimate_task", {"task_gid": slots.task[0].gid}),))
    if slots.task_candidates:
        return _which_task(slots, "")
    phrase = slots.task_phrase or _phrase(_ESTIMATE_PHRASE, text)
    if not phrase or phrase.lower() in _VAGUE:
        return "Estimate for which task? Give a task gid or a new task's title."
    return Planned((("estimate_task", {"title": phrase}),))


_SIMILAR_PHRASE = re.compile(
    r"(?:similar(?:\s+tasks)?\s+to|tasks\s+like|work\s+like|comparable(?:\s+tasks)?\s+to|similar\s+to|resemble|"
    r"something\s+like|similiar\s+tasks\s+to)\s+(?P<x>.+?)(?:\s+before)?\s*[?.!]*$",
    re.IGNORECASE,
)


def similar(text: str, slots: Slots, ctx: AgentContext) -> Planned | str:
    k = {"k": min(slots.top_n, 10)} if slots.top_n else {}
    if slots.task:
        return Planned((("similar_tasks", {"task_gid": slots.task[0].gid, **k}),))
    phrase = _phrase(_SIMILAR_PHRASE, text) or slots.task_phrase
    if not phrase:
        return "Similar to what? e.g. \u2018Similar tasks to checkout page redesign\u2019."
    return Planned((("similar_tasks", {"query": phrase, **k}),))


def anomalies(text: str, slots: Slots, ctx: AgentContext) -> Planned:
    args = _base("anomalies", slots)
    if slots.entry_kind:
        args["kind"] = slots.entry_kind
    return Planned(_split("anomalies", slots, args))


def overhead(text: str, slots: Slots, ctx: AgentContext) -> Planned:
    args = _base("overhead", slots)
    return Planned(_split("overhead", slots, args))


def retro(text: str, slots: Slots, ctx: AgentContext) -> Planned:
    args = _base("retrospective", slots)
    args.setdefault("period", "last month")
    return Planned(_split("retrospective", slots, args))


_LOOKUP_PHRASE = re.compile(
    r"(?:find|show|look ?up|open|details of|tell me about|status of|fnd)\s+(?:the\s+)?(?:task\s+)?(?:called\s+|named\s+)?(?P<x>.+?)\s*[?.!]*$",
    re.IGNORECASE,
)


def lookup(text: str, slots: Slots, ctx: AgentContext) -> Planned | str:
    if slots.task:
        return Planned((("task_lookup", {"query": slots.task[0].gid}),))
    if not slots.task_candidates and any(getattr(slots, k) for k in _ENTITY_KINDS):
        # "show me Dmitri's tasks": a list of someone's (or a project's) tasks, not a name search
        return task_count(text, slots, ctx)
    phrase = slots.task_phrase or _phrase(_LOOKUP_PHRASE, text)
    if slots.task_candidates and phrase:
        return Planned((("task_lookup", {"query": phrase}),))
    if not phrase:
        return "Which task? Give its name or gid, e.g. \u2018find task login page\u2019."
    return Planned((("task_lookup", {"query": phrase}),))


def propose_estimate(text: str, slots: Slots, ctx: AgentContext) -> Planned | str:
    if len(slots.task) != 1:
        return _which_task(slots, "Which task? e.g. \u2018Propose an AI estimate for task 1234\u2019.")
    return Planned((("estimate_task", {"task_gid": slots.task[0].gid}),), follow_up="propose_estimate")


_COMMENT_TEXT = re.compile(r"(?::|\bsaying\b|\bthat says\b)\s*(?P<text>.+)$", re.IGNORECASE | re.DOTALL)


def propose_comment(text: str, slots: Slots, ctx: AgentContext) -> Planned | str:
    m = _COMMENT_TEXT.search(text)
    if len(slots.task) != 1 or not m or not m.group("text").strip():
        if len(slots.task) != 1:
            return _which_task(
                slots,
                "Which task, and what text? e.g. \u2018Propose a comment on task 1234: Please log your hours.\u2019",
            )
        return "What should the comment say? e.g. \u2018Propose a comment on task 1234: Please log your hours.\u2019"
    return Planned((("propose_comment", {"task_gid": slots.task[0].gid, "text": m.group("text").strip()}),))


def propose_review_flag(text: str, slots: Slots, ctx: AgentContext) -> Planned | str:
    if len(slots.task) != 1:
        return _which_task(slots, "Which task? e.g. \u2018Flag task 1234 for review\u2019.")
    args = {
        "task_gid": slots.task[0].gid,
        "field": "AI Review Flag",
        "value": "Review",
        "reason": "asked in chat to flag this task for review",
    }
    return Planned((("propose_ai_field", args),))


PLANNERS: dict[str, Callable[..., Planned | str]] = {
    "hours_logged": hours_logged,
    "billable_hours": billable_hours,
    "work_summary": work_summary,
    "task_hours": task_hours,
    "task_count": task_count,
    "open_work": open_work,
    "variance": variance,
    "capacity": capacity,
    "forecast": forecast,
    "deadline_risk": deadline_risk,
    "budget": budget,
    "budget_risk": budget_risk,
    "billing": billing,
    "estimate": estimate,
    "similar": similar,
    "anomalies": anomalies,
    "entry_check": anomalies,
    "overhead": overhead,
    "retro": retro,
    "lookup": lookup,
    "propose_estimate": propose_estimate,
    "propose_comment": propose_comment,
    "propose_review_flag": propose_review_flag,
}

__all__ = ["PLANNERS", "TOP_N", "Planned"]
