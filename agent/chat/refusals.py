"""What the agent never does, and the words it uses to say so (and to ask back or offer help).

It writes only its own ``AI …`` fields, comments and approval subtasks, each after a person approved
it; it never changes a human's field ("Propose a value of Low for Priority" is refused, not turned
into an estimate), never deletes, and never shares credentials. These checks are rules on the whole
question, run before intent classification, so a paraphrase the classifier has not seen cannot slip
past; the classifier's own ``refuse_*`` intents catch the rest.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from agent.chat.intents import readme_questions
from tools.agent_tools.common import norm
from tools.proposals import AI_FIELDS

if TYPE_CHECKING:
    from agent.context import AgentContext

OFFLINE_NOTE = "Offline mode (no LLM configured): answered by a fixed question router from tool output."
ENGLISH = frozenset(
    [
        "the",
        "and",
        "for",
        "what",
        "who",
        "how",
        "many",
        "much",
        "did",
        "does",
        "was",
        "were",
        "is",
        "are",
        "has",
        "have",
        "with",
        "from",
        "this",
        "that",
        "last",
        "next",
        "our",
        "team",
        "time",
        "hours",
        "logged",
        "log",
        "work",
        "worked",
        "spent",
        "show",
        "find",
        "tell",
        "give",
        "list",
        "which",
        "when",
        "where",
        "why",
        "all",
        "any",
        "please",
        "can",
        "could",
        "would",
        "will",
        "should",
        "about",
        "into",
        "over",
        "under",
        "most",
        "more",
        "less",
        "per",
        "each",
        "task",
        "tasks",
        "project",
        "projects",
        "client",
        "clients",
        "week",
        "month",
        "year",
        "today",
        "estimate",
        "estimates",
        "invoice",
        "bill",
        "billing",
        "draft",
    ]
)

_GID = re.compile(r"\b(\d{5,})\b")
_WRITE_VERB = (
    r"\b(?:set|setting|change|changing|update|updating|write|writing|put|putting|edit|modify|overwrite|"
    r"increase|decrease|raise|lower|reduce|zero(?: out)?|clear|reset|fill in|bump|propose|proposing|"
    r"suggest|suggesting|make|mark|give)\b"
)
_EXTRA_HUMAN_FIELDS = ("Priority", "Status", "Due Date", "Start Date", "Assignee", "Due date")
_GENERIC = {"type"}  # too common a word to read as a field name ("which task type ...")
_ALWAYS_FIELDS = {"priority", "status", "assignee"}
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


def help_text() -> str:
    listed = "\n".join(f"- \u2018{q}\u2019" for q in readme_questions())
    return f"Offline, I can answer questions like:\n{listed}"


def out_of_scope() -> str:
    return (
        "That is outside what I know: I answer questions about your team's estimates, logged hours, "
        "capacity, forecasts and billing in Asana, and propose changes to my own AI fields. " + help_text()
    )


def _rules() -> str:
    return (
        f"I only write my own AI fields ({', '.join(AI_FIELDS)}), comments and approval subtasks, "
        "and only as proposals that a person approves before anything reaches Asana."
    )


def _human_fields(ctx: AgentContext) -> list[str]:
    f = ctx.settings.fields
    names = [*f.estimate, *f.actual, *f.billable, *f.client, *f.rate, *f.project_type, *_EXTRA_HUMAN_FIELDS]
    return sorted({n for n in names if n and norm(n) not in _GENERIC}, key=len, reverse=True)


def human_field_asked(text: str, ctx: AgentContext) -> str | None:
    """The human-owned field ``text`` asks to write or propose a value for, if any."""
    t = text.lower()
    for ai in sorted(AI_FIELDS, key=len, reverse=True):  # "AI Estimated Hours" is the agent's own field
        t = t.replace(ai.lower(), " ")
    t = re.sub(r"\bai estimates?\b", " ", t)
    for name in _human_fields(ctx):
        field = re.escape(name.lower())
        named = re.search(rf"{_WRITE_VERB}[^.?!;]{{0,60}}?\b{field}\b", t) or (
            re.search(rf"\b{field}\b[^.?!;]{{0,30}}?\b(?:to|=|as)\s+\S+", t) and re.search(_WRITE_VERB, t)
        )
        if not named:
            continue
        # A one-word field name is also an everyday word ("suggest an estimate", "re-estimate"): it
        # names the field only as "the X field", with a value ("Estimate to 5") or "a value ... X".
        if " " in name or norm(name) in _ALWAYS_FIELDS:
            return name
        if re.search(
            rf"\b{field}\s+field\b|\b{field}\b\s*(?:to|=|as)\s+\S|\bvalue\b[^.?!;]{{0,30}}\b{field}\b", t
        ):
            return name
    return None


def refusal(question: str, ctx: AgentContext) -> str | None:
    """Why the agent will not do what ``question`` asks (and what it can do instead), or None."""
    m = _GID.search(question)
    task = f"task {m.group(1)}" if m else "task <gid>"
    if _SECRET.search(question):
        return (
            "I won't share credentials: access tokens and API keys never appear in answers, comments, "
            f"logs or audit rows. {_rules()}"
        )
    if _DESTRUCTIVE.search(question):
        return (
            "I won't delete anything: the agent cannot delete tasks, time entries, comments or fields. "
            f"{_rules()} If something looks wrong, I can propose a review flag: 'Flag {task} for review'."
        )
    field = human_field_asked(question, ctx)
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
        f"{_rules()} Instead, ask for {alternative} or 'Flag {task} for review' (proposes AI Review Flag = Review)."
    )


def generic(intent: str, text: str, ctx: AgentContext) -> str:
    """The refusal for a ``refuse_*`` intent the rules did not already word."""
    specific = refusal(text, ctx)
    if specific:
        return specific
    m = _GID.search(text)
    task = f"task {m.group(1)}" if m else "task <gid>"
    if intent == "refuse_delete":
        return f"I won't delete anything. {_rules()}"
    if intent == "refuse_secret":
        return f"I won't share credentials. {_rules()}"
    return (
        "I won't change tasks, time entries or human-owned fields (status, assignee, dates, estimates, "
        f"priority): the agent never writes human data. {_rules()} I can propose a comment "
        f"('Propose a comment on {task}: <text>') or a review flag ('Flag {task} for review')."
    )


def unknown_names(names: list[str], ctx: AgentContext) -> str:
    """Ask about names that match nothing synced, instead of answering for everyone."""
    people = ", ".join(sorted(p.name for p in ctx.workspace.people)[:8])
    listed = ", ".join(f"\u2018{n}\u2019" for n in names[:3])
    return (
        f"I found no person, project, client or task named {listed} in the synced workspace, so I "
        f"won't answer for everyone instead. Which one did you mean? People: {people}."
    )
