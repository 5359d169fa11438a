"""Offline mode: with no LLM configured, a deterministic intent router answers the common questions
through the SAME tools, the same token budget and the same approval gate as the LLM graph.

The router is the graph's "agent" node. On a new question it picks a tool and its arguments from
keywords (or asks one clarifying question); once the tool results are in, it answers with template
text around the tool output, so every number in the answer comes from a tool, and it says it is offline.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from agent.context import AgentContext
from prompts import Prompt
from tools.agent_tools.budget import UNTRUSTED_CLOSE, UNTRUSTED_OPEN
from tools.agent_tools.common import find_project, norm, parse_period
from tools.records import Task, Workspace

OFFLINE_NOTE = "Offline mode (no LLM configured): answered by a fixed question router from tool output."

# Quoted in the README: what offline mode understands (each maps to one tool, or two for proposals).
SUPPORTED_QUESTIONS: tuple[tuple[str, str], ...] = (
    ("Which task types overran last quarter?", "variance by project_type"),
    ("Show the estimation bias by assignee / by tag / by section / by month", "variance grouped that way"),
    ("Who is over capacity in the next 3 weeks?", "capacity"),
    ("When will Website Redesign finish?", "completion_forecast"),
    ("Draft March's invoice for Acme", "billing_draft"),
    ("Estimate for <task gid or new task title>", "estimate_task"),
    ("Similar tasks to <text or task gid>", "similar_tasks"),
    ("Any suspicious time entries last month?", "anomalies"),
    ("Retro for last month", "retrospective"),
    ("Find task <name or gid>", "task_lookup"),
    ("Propose an AI estimate for task <gid or name>", "estimate_task, then propose_ai_field -> approval"),
    ("Propose a comment on task <gid>: <text>", "propose_comment -> approval"),
)

_GID = re.compile(r"\b(\d{4,})\b")


@dataclass(frozen=True)
class Plan:
    """What the router decided: tool calls to make, or a direct (clarifying) reply."""

    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    reply: str | None = None
    intent: str = ""


def _clarify(text: str) -> Plan:
    return Plan(reply=f"{OFFLINE_NOTE}\n\n{text}", intent="clarify")


def _help_text() -> str:
    examples = "\n".join(f"- {q}" for q, _ in SUPPORTED_QUESTIONS)
    return f"I could not tell which analysis you want. Offline, I can answer questions like:\n{examples}"


def _projects_in(ws: Workspace, text: str) -> list[str]:
    """Project names mentioned in ``text`` (longest first, so 'Website Redesign 2' beats 'Website')."""
    t = norm(text)
    names = sorted({p.name for p in ws.projects if p.name and norm(p.name) in t}, key=len, reverse=True)
    return names


def _clients_in(ws: Workspace, text: str) -> list[str]:
    t = norm(text)
    return sorted({p.client for p in ws.projects if p.client and norm(p.client) in t}, key=len, reverse=True)


def _resolve_task(ws: Workspace, phrase: str) -> tuple[Task | None, list[Task]]:
    """A task named by gid or by (part of) its name: (the task, []) or (None, candidates)."""
    m = _GID.search(phrase)
    by_gid = {t.gid: t for t in ws.tasks}
    if m and m.group(1) in by_gid:
        return by_gid[m.group(1)], []
    q = norm(re.sub(r"^(the\s+)?task\s+", "", phrase.strip(" ?.!'\"")))
    if not q:
        return None, []
    exact = [t for t in ws.tasks if norm(t.name) == q]
    if len(exact) == 1:
        return exact[0], []
    cands = exact or [t for t in ws.tasks if q in norm(t.name)]
    if len(cands) == 1:
        return cands[0], []
    return None, cands


def _group_by(text: str) -> str:
    t = text.lower()
    for words, group in (
        (("project type", "task type", "type of project", "kind of work", "category"), "project_type"),
        (("assignee", "person", "people", "who ", "by member", "team member"), "assignee"),
        (("by tag", "per tag", "tags"), "tag"),
        (("section",), "section"),
        (("by month", "per month", "monthly", "trend"), "month"),
        (("by project", "per project", "which projects"), "project"),
    ):
        if any(w in t for w in words):
            return group
    return "project_type"


def _after(text: str, pattern: str) -> str | None:
    m = re.search(pattern, text, re.IGNORECASE)
    return m.group("x").strip(" ?.!'\"") if m and m.group("x").strip(" ?.!'\"") else None


def route(question: str, ctx: AgentContext) -> Plan:
    """Map a question to tool calls (deterministic; keywords and regexes), or a clarifying reply."""
    q = question.strip()
    t = q.lower()
    ws = ctx.workspace
    parsed = parse_period(q, ctx.today())
    period = parsed.label if parsed else None  # labels parse back to the same period

    if re.search(r"\bpropose\b|\bsuggest (an? )?(ai )?estimate\b|\bset\b.*\bfield\b", t):
        if "comment" in t:
            m = re.search(r"comment on (?:task )?(?P<x>[^:]+):\s*(?P<text>.+)$", q, re.IGNORECASE | re.DOTALL)
            if not m:
                return _clarify(
                    "Which task, and what text? e.g. 'Propose a comment on task 1234: Please log your hours.'"
                )
            task, cands = _resolve_task(ws, m.group("x"))
            if task is None:
                return _clarify(_which_task(cands, m.group("x")))
            return Plan(
                calls=(("propose_comment", {"task_gid": task.gid, "text": m.group("text").strip()}),),
                intent="propose_comment",
            )
        phrase = _after(q, r"(?:estimate|hours|field)\s+(?:for|on|of)\s+(?P<x>.+)$") or _after(
            q, r"\bfor\s+(?P<x>.+)$"
        )
        if not phrase:
            return _clarify("Which task? e.g. 'Propose an AI estimate for task 1234'.")
        task, cands = _resolve_task(ws, phrase)
        if task is None:
            return _clarify(_which_task(cands, phrase))
        return Plan(calls=(("estimate_task", {"task_gid": task.gid}),), intent="propose_estimate")

    if re.search(r"invoice|billing|\bbill\b", t):
        if period is None:
            return _clarify(
                "For which period? e.g. 'Draft March's invoice for Acme' or 'billing for 2026-03'."
            )
        clients = _clients_in(ws, q)
        projects = _projects_in(ws, q)
        if not clients and not projects:
            known = sorted({p.client for p in ws.projects if p.client})[:10]
            return _clarify(f"For which client? Known clients: {', '.join(known) or 'none set'}.")
        args: dict[str, Any] = {"period": period}
        if clients:
            args["client"] = clients[0]
        else:
            args["project"] = projects[0]
        return Plan(calls=(("billing_draft", args),), intent="billing")

    if re.search(r"capacity|overload|over-?allocated|workload|burn-?out|too much work|bandwidth", t):
        m = re.search(r"next (\d{1,2}) weeks?", t)
        weeks = int(m.group(1)) if m else (4 if "month" in t else 3)
        return Plan(calls=(("capacity", {"weeks_ahead": max(1, min(weeks, 12))}),), intent="capacity")

    if re.search(r"when will|finish date|forecast|completion|be (done|finished)|on track|deadline", t):
        names = _projects_in(ws, q)
        phrase = _after(
            q,
            r"when will (?:the )?(?P<x>.+?)\s+(?:project\s+)?(?:finish|be done|be finished|complete|ship|end|launch|wrap up)",
        )
        if not names and phrase:
            names = [p.name for p in find_project(ws, phrase)]
        if len(names) != 1 and not (names and norm(names[0]) in norm(q)):
            listed = ", ".join(sorted(p.name for p in ws.projects if not p.archived)[:10])
            return _clarify(f"Which project? e.g. 'When will <project> finish?'. Projects: {listed}.")
        return Plan(calls=(("completion_forecast", {"project": names[0]}),), intent="forecast")

    if re.search(r"suspicious|anomal|outlier|odd (time )?entr|weird|strange|duplicate entr", t):
        return Plan(calls=(("anomalies", {"period": period}),), intent="anomalies")

    if re.search(r"\bretro|retrospective|how did .* go|look ?back", t):
        return Plan(calls=(("retrospective", {"period": period or "last month"}),), intent="retro")

    if re.search(r"similar|tasks like|comparable", t):
        phrase = _after(q, r"(?:similar(?: tasks)? to|tasks like|comparable to)\s+(?P<x>.+)$")
        if not phrase:
            return _clarify("Similar to what? e.g. 'Similar tasks to checkout page redesign'.")
        m = _GID.fullmatch(phrase)
        args = {"task_gid": m.group(1)} if m else {"query": phrase}
        return Plan(calls=(("similar_tasks", args),), intent="similar")

    if re.search(r"\bestimate\b|how long (will|would|does|might)", t) and not re.search(
        r"overr|bias|accura|variance", t
    ):
        phrase = _after(
            q, r"(?:estimate (?:for|of)?|how long (?:will|would|does|might))\s+(?P<x>.+?)(?:\s+take)?$"
        )
        if not phrase:
            return _clarify("Estimate for which task? Give a task gid or a new task's title.")
        task, _ = _resolve_task(ws, phrase) if _GID.search(phrase) else (None, [])
        args = {"task_gid": task.gid} if task else {"title": phrase}
        return Plan(calls=(("estimate_task", args),), intent="estimate")

    if re.search(r"overr|under-?estimat|over-?estimat|bias|variance|accura|estimate vs|actual vs|off by", t):
        args = {"group_by": _group_by(q)}
        if period:
            args["period"] = period
        return Plan(calls=(("variance", args),), intent="variance")

    if re.search(r"\b(find|look ?up|show|open)\b.*\btask", t):
        phrase = _after(q, r"\btasks?\s+(?:named\s+|called\s+)?(?P<x>.+)$")
        if phrase:
            return Plan(calls=(("task_lookup", {"query": phrase}),), intent="lookup")

    return _clarify(_help_text())


def _which_task(cands: Sequence[Task], phrase: str) -> str:
    if not cands:
        return f"I found no task matching {phrase[:60]!r}. Give the task gid (try 'find task <words>')."
    listed = "; ".join(f"{t.gid} ({t.name[:50]})" for t in cands[:5])
    more = f" and {len(cands) - 5} more" if len(cands) > 5 else ""
    return f"{len(cands)} tasks match {phrase[:60]!r}: {listed}{more}. Which one (gid)?"


# Anchored on the untrusted-text delimiters: a task name cannot fake the numbers the router reads.
_ESTIMATE = re.compile(
    r"ESTIMATE for (?P<gid>\S+) <<task-text>>.*?<</task-text>> \S+: "
    r"(?P<point>[\d.]+)h \(P10 (?P<p10>[\d.]+)h - P90 (?P<p90>[\d.]+)h\)"
)


def _follow_up(plan: Plan, tool_messages: Sequence[ToolMessage]) -> tuple[tuple[str, dict[str, Any]], ...]:
    """The second step of a two-step intent (propose an estimate: estimate first, then propose it)."""
    if plan.intent != "propose_estimate" or any(m.name == "propose_ai_field" for m in tool_messages):
        return ()
    est = next((m for m in tool_messages if m.name == "estimate_task"), None)
    m = _ESTIMATE.search(str(est.content)) if est else None
    if m is None:
        return ()
    reason = f"estimate_task: {m.group('point')}h (P10 {m.group('p10')}h - P90 {m.group('p90')}h)"
    return (
        (
            "propose_ai_field",
            {
                "task_gid": m.group("gid"),
                "field": "AI Estimated Hours",
                "value": float(m.group("point")),
                "reason": reason,
            },
        ),
    )


_LEADS = {
    "variance": "How actual hours compared with estimates:",
    "capacity": "Load against capacity:",
    "forecast": "Completion forecast:",
    "billing": "Billing draft (nothing has been sent):",
    "estimate": "Estimate:",
    "similar": "Similar completed tasks:",
    "anomalies": "Flagged time entries and tasks:",
    "retro": "Retrospective:",
    "lookup": "Matching tasks:",
    "propose_estimate": "Estimate and proposal:",
    "propose_comment": "Proposal:",
}


def readable(tool_output: str) -> str:
    """Tool output for a person: task text is quoted instead of wrapped in the model-facing markers."""
    return tool_output.replace(UNTRUSTED_OPEN, "\u201c").replace(UNTRUSTED_CLOSE, "\u201d")


def compose_answer(
    plan: Plan, tool_messages: Sequence[ToolMessage], applied: Sequence[dict[str, Any]]
) -> str:
    """Template answer around the tool outputs (verbatim), plus what happened to any proposals."""
    tools = ", ".join(dict.fromkeys(m.name or "tool" for m in tool_messages))
    parts = [f"{OFFLINE_NOTE} Tools used: {tools}.", "", _LEADS.get(plan.intent, "Result:")]
    parts += [readable(str(m.content)) for m in tool_messages]
    if applied:
        parts.append("")
        parts.append("Approval results:")
        parts += [
            f"- {a.get('proposal_id')}: {a.get('status')}"
            + (f" ({a.get('error')})" if a.get("error") else "")
            for a in applied
        ]
    elif any("PROPOSED" in str(m.content) for m in tool_messages):
        parts.append("")
        parts.append("Nothing is written until a person approves it (effort approvals).")
    return "\n".join(parts)


def _calls_message(calls: Sequence[tuple[str, dict[str, Any]]]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[
            {"name": name, "args": args, "id": f"offline_{uuid.uuid4().hex[:12]}", "type": "tool_call"}
            for name, args in calls
        ],
    )


def make_offline_node(prompt: Prompt) -> Callable[..., dict[str, Any]]:
    """The offline "agent" node (same place in the graph as the LLM node)."""

    def agent(
        state: dict[str, Any], config: RunnableConfig, runtime: Runtime[AgentContext]
    ) -> dict[str, Any]:
        """Route a new question to tools, or answer from this turn's tool outputs with template text."""
        messages: list[AnyMessage] = list(state.get("messages", []))
        human_at = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)
        if human_at < 0:
            return {"messages": [AIMessage(content=f"{OFFLINE_NOTE}\n\n{_help_text()}")]}
        question = str(messages[human_at].content)
        plan = route(question, runtime.context)
        turn = messages[human_at + 1 :]
        tool_msgs = [m for m in turn if isinstance(m, ToolMessage)]
        applied = list(state.get("applied") or [])
        seen = int(state.get("applied_seen") or 0)
        update: dict[str, Any] = {
            "prompt_ref": f"offline-router ({prompt.ref} unused)",
            "applied_seen": len(applied),
        }
        if plan.reply is not None:
            update["messages"] = [AIMessage(content=plan.reply)]
        elif not tool_msgs:
            update["messages"] = [_calls_message(plan.calls)]
        elif follow := _follow_up(plan, tool_msgs):
            update["messages"] = [_calls_message(follow)]
        else:
            update["messages"] = [AIMessage(content=compose_answer(plan, tool_msgs, applied[seen:]))]
        return update

    return agent


__all__ = [
    "OFFLINE_NOTE",
    "SUPPORTED_QUESTIONS",
    "Plan",
    "compose_answer",
    "make_offline_node",
    "route",
]
