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
from dataclasses import dataclass, replace
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from agent.context import AgentContext
from prompts import Prompt
from tools.agent_tools.budget import UNTRUSTED_CLOSE, UNTRUSTED_OPEN
from tools.agent_tools.common import find_project, norm
from tools.periods import find_period
from tools.proposals import AI_FIELDS
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
    ("Flag task <gid or name> for review", "propose_ai_field AI Review Flag=Review -> approval"),
)

_GID = re.compile(r"\b(\d{4,})\b")


@dataclass(frozen=True)
class Plan:
    """What the router decided: tool calls to make, or a direct (clarifying) reply."""

    calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    reply: str | None = None
    intent: str = ""
    note: str | None = None  # appended to the answer (a refused part of an otherwise answerable question)


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


def _variance_filters(ws: Workspace, text: str, group_by: str) -> dict[str, str]:
    """A project type or project the question names ("who overran most on Internal Tool projects?")."""
    t = norm(text)
    out: dict[str, str] = {}
    types = {p.project_type for p in ws.projects if p.project_type}
    named = [x for x in types if re.search(rf"\b{re.escape(norm(x))}\b", t)]
    if group_by != "project_type" and len(named) == 1:
        out["project_type"] = named[0]
    projects = _projects_in(ws, text)
    if group_by != "project" and projects:
        out["project"] = projects[0]
    return out


def _after(text: str, pattern: str) -> str | None:
    m = re.search(pattern, text, re.IGNORECASE)
    return m.group("x").strip(" ?.!'\"") if m and m.group("x").strip(" ?.!'\"") else None


# "Blows through its estimates", "runs over", "biggest overrun": questions about actual vs estimate.
_OVERRUN = re.compile(
    r"overr|under-?estimat|over-?estimat|bias|variance|accura|estimate vs|actual vs|off by|"
    r"blow(?:s|ing)? (?:through|past|out)|blew (?:through|past)|\b(?:runs?|ran|running|go(?:es)?|went) over\b|"
    r"exceed|overshoot|over budget|over (?:the |its |their )?estimates?"
)
_HOW_LONG = re.compile(r"how long (will|would|does|might)")
_REVIEW_FLAG = re.compile(
    r"\b(?:flag|mark)\b(?P<x>.*?)\b(?:for|as needing|as needs|needs?)\s+(?:a\s+)?review\b|"
    r"\bai review flag\b.*?\b(?:on|for|of)\s+(?P<y>.+)$",
    re.IGNORECASE,
)

# Requests the agent never carries out, whatever the wording: it writes only its own AI fields.
_WRITE_VERB = (
    r"\b(?:set|setting|change|changing|update|updating|write|writing|put|putting|edit|modify|overwrite|"
    r"increase|decrease|raise|lower|reduce|zero(?: out)?|clear|reset|fill in|bump)\b"
)
_EXTRA_HUMAN_FIELDS = ("Priority", "Status", "Due Date", "Start Date")
_GENERIC = {"type"}  # too common a word to read as a field name ("which task type ...")
_SECRET = re.compile(
    r"\b(?:post|share|show|give|send|print|reveal|tell|display|paste|leak|expose|comment|what(?:'s| is))\b"
    r".{0,60}\b(?:access token|api key|token|password|secret|credentials?)\b",
    re.IGNORECASE,
)
_DESTRUCTIVE = re.compile(
    r"\b(?:delete|remove|erase|wipe|purge|drop|destroy)\b.{0,60}"
    r"\b(?:entr(?:y|ies)|tasks?|projects?|time|hours|logs?|comments?|fields?|data|records?|stories)\b",
    re.IGNORECASE,
)
_READ_INTENTS = frozenset(
    {"variance", "capacity", "forecast", "billing", "estimate", "similar", "anomalies", "retro", "lookup"}
)


def _ai_fields_line() -> str:
    return ", ".join(AI_FIELDS)


def _human_fields(ctx: AgentContext) -> list[str]:
    """Field names that belong to people: the configured field mapping plus Asana's own task fields."""
    f = ctx.settings.fields
    names = [*f.estimate, *f.actual, *f.billable, *f.client, *f.rate, *f.project_type, *_EXTRA_HUMAN_FIELDS]
    return sorted({n for n in names if n and norm(n) not in _GENERIC}, key=len, reverse=True)


def _human_field_asked(text: str, ctx: AgentContext) -> str | None:
    """The human-owned field ``text`` asks to write ("set the Estimated Hours of task X to 0"), if any."""
    t = text.lower()
    for ai in sorted(AI_FIELDS, key=len, reverse=True):  # "AI Estimated Hours" is the agent's own field
        t = t.replace(ai.lower(), " ")
    t = re.sub(r"\bai estimates?\b", " ", t)
    for name in _human_fields(ctx):
        if re.search(rf"{_WRITE_VERB}[^.?!;]{{0,60}}?\b{re.escape(name.lower())}\b", t):
            return name
    return None


def _refusal(question: str, ctx: AgentContext) -> str | None:
    """Why the agent will not do what ``question`` asks (and what it can do instead), or None."""
    m = _GID.search(question)
    task = f"task {m.group(1)}" if m else "task <gid>"
    rules = (
        f"I only write my own AI fields ({_ai_fields_line()}), comments and approval subtasks, "
        "and only as proposals that a person approves before anything reaches Asana."
    )
    if _SECRET.search(question):
        return (
            "I won't share credentials: access tokens and API keys never appear in answers, comments, "
            f"logs or audit rows. {rules}"
        )
    if _DESTRUCTIVE.search(question):
        return (
            "I won't delete anything: the agent cannot delete tasks, time entries, comments or fields. "
            f"{rules} If something looks wrong, I can propose a review flag: 'Flag {task} for review'."
        )
    field = _human_field_asked(question, ctx)
    if field is None:
        return None
    estimate_like = norm(field) in {
        norm(n) for n in (*ctx.settings.fields.estimate, *ctx.settings.fields.actual)
    }
    alternative = (
        f"'Propose an AI estimate for {task}' (proposes AI Estimated Hours with a P10-P90 range)"
        if estimate_like
        else f"'Propose a comment on {task}: <text>' (a note for the field's owner)"
    )
    return (
        f"I won't change {field}: it is a human-owned field, and the agent never writes human fields. "
        f"{rules} Instead, ask for {alternative} or 'Flag {task} for review' (proposes AI Review Flag = Review)."
    )


def route(question: str, ctx: AgentContext) -> Plan:
    """Map a question to tool calls (deterministic; keywords and regexes), or a clarifying reply.

    A request the agent never carries out (writing a human field, deleting, sharing a secret) gets a
    reply that says why and offers the AI-field alternative; when the same message also asks an
    analysis question, that is answered and the refusal is added as a note.
    """
    plan = _with_other_parts(question.strip(), ctx, _route(question.strip(), ctx))
    refusal = _refusal(question, ctx)
    if refusal is None:
        return plan
    if plan.calls and plan.intent in _READ_INTENTS:
        return replace(plan, note=refusal)
    return Plan(reply=f"{OFFLINE_NOTE}\n\n{refusal}", intent="refuse")


# Where a question asks two things: "…, and is anyone over capacity?", "…; then estimate it".
_PARTS = re.compile(
    r"\s*(?:[,;]\s*(?:and\s+)?(?:then\s+|also\s+)?|\s+and\s+(?:then\s+|also\s+)?(?=(?:is|are|who|which|what|when|how|show|draft|estimate|find|any|list)\b)|\?\s+)",
    re.IGNORECASE,
)


def _with_other_parts(question: str, ctx: AgentContext, first: Plan) -> Plan:
    """Add the read tools that the other parts of a two-part question need (one call per tool)."""
    if first.intent not in _READ_INTENTS:
        return first
    calls = list(first.calls)
    for part in _PARTS.split(question):
        if len(part.strip()) < 8:
            continue
        sub = _route(part.strip(), ctx)
        if sub.intent in _READ_INTENTS:
            calls += [c for c in sub.calls if c[0] not in {name for name, _ in calls}]
    return replace(first, calls=tuple(calls)) if len(calls) > len(first.calls) else first


def _review_flag(q: str, ws: Workspace) -> Plan | None:
    """'Flag task X for review' / 'mark X for review': propose AI Review Flag = Review (approval first)."""
    m = _REVIEW_FLAG.search(q)
    if m is None:
        return None
    phrase = (m.group("x") or m.group("y") or "").strip(" ?.!'\"")
    if not phrase:
        return _clarify("Which task? e.g. 'Flag task 1234 for review'.")
    task, cands = _resolve_task(ws, phrase)
    if task is None:
        return _clarify(_which_task(cands, phrase))
    args = {
        "task_gid": task.gid,
        "field": "AI Review Flag",
        "value": "Review",
        "reason": "asked in chat to flag this task for review",
    }
    return Plan(calls=(("propose_ai_field", args),), intent="propose_review_flag")


def _route(q: str, ctx: AgentContext) -> Plan:
    """The keyword router proper (``route`` adds the refusals)."""
    t = q.lower()
    ws = ctx.workspace
    parsed = find_period(q, ctx.today())
    period = parsed.label if parsed else None  # labels parse back to the same period

    if flagged := _review_flag(q, ws):
        return flagged

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

    if re.search(r"invoice|billing|\bbill\b", t) and not _HOW_LONG.search(t):
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

    if (re.search(r"\bestimate\b", t) or _HOW_LONG.search(t)) and not _OVERRUN.search(t):
        phrase = _after(
            q, r"(?:estimate (?:for|of)?|how long (?:will|would|does|might))\s+(?P<x>.+?)(?:\s+take)?$"
        )
        if not phrase:
            return _clarify("Estimate for which task? Give a task gid or a new task's title.")
        task, _ = _resolve_task(ws, phrase) if _GID.search(phrase) else (None, [])
        args = {"task_gid": task.gid} if task else {"title": phrase}
        return Plan(calls=(("estimate_task", args),), intent="estimate")

    if _OVERRUN.search(t):
        args = {"group_by": _group_by(q)}
        if period:
            args["period"] = period
        args.update(_variance_filters(ws, q, args["group_by"]))
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
    "propose_review_flag": "Proposal:",
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
    if plan.note:
        parts += ["", plan.note]
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
