"""The LLM node of the chat graph, built so that a small local model can drive it.

What a 1.5B model needs, and what a hosted model does not mind:
- a short, static system prompt (prompts/system_chat.v2.md) and only the tools of the routed intent
  (``route_question(...).tools``, at most 4 schemas), so the prompt's beginning (system text, then the
  tools) is the same on every call of a turn and a server's prompt cache can reuse it. The date and phase
  go after the tools, at the end of each question.
- tool calls written as text (fenced JSON, ``<tool_call>`` tags) are parsed; every call is checked against
  the offered tool's schema before it runs; a bad call gets ONE corrective retry.
- a proposal's numeric value must come from a tool result of the turn (no invented estimates).
- the answer is checked: a number that is in no tool result means the model's text is not shown. Then,
  as when the model fails (unreachable, timeout, no usable tool call), the routed offline answer is given
  (agent/offline.py through the same tools) with one line that says why.
- questions the router refuses (human fields, deletes, secrets) or must ask back about are answered by
  the router without the model: a small model is not trusted to refuse.

What happened in each turn is kept in ``state["llm_turn"]`` (intent, tools offered, text calls parsed,
retries, fallback reason) so the CLI can explain it and ``make eval-llm`` can count it.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from agent.chat.routing import Routed, route_question
from agent.config import Phase
from agent.context import AgentContext
from agent.llm import llm_error_text
from agent.offline import OFFLINE_NOTE, make_offline_node
from agent.tool_calls import check_call, parse_text_calls
from prompts import Prompt
from tools.agent_tools.budget import TURN_BUDGET, count_tokens, fit
from tools.grounding import ungrounded_numbers
from tools.proposals import AI_FIELDS

log = logging.getLogger(__name__)

LLM_VIEW_TOKENS = 250  # a tool result as the model reads it; the state keeps it whole for the fallback
EARLIER_ANSWER_TOKENS = 120  # an earlier turn's answer as the model reads it
LLM_HISTORY_TURNS = 2  # earlier turns the model sees, as question + answer pairs only
MAX_MODEL_CALLS_PER_TURN = 6
MAX_RETRIES_PER_TURN = 2  # one corrective retry per model reply, at most two per turn
BUDGET_FLOOR = 80
# Used when the router did not understand the question: the broadest read tools.
DEFAULT_TOOLS = ("variance", "capacity", "completion_forecast", "task_lookup")
# The router answers these itself: a refusal it must give, a question it must ask back.
ROUTER_ANSWERS = ("refuse", "clarify")  # intent names, or their prefixes ("refuse_human_field")
PROPOSE_PREFIX = "propose_"


class TurnInfo(BaseModel):
    """What the LLM node decided in one user turn (stored in the checkpoint as a plain dict)."""

    human_at: int
    intent: str
    tools: list[str] = Field(default_factory=list)
    text_calls: int = 0  # tool calls read from message text rather than the API's tool_calls
    parts: int = 1  # how many questions the router read in the message
    retries: int = 0
    problems: list[str] = Field(default_factory=list)
    model_calls: int = 0
    fallback: str | None = None  # why the answer comes from the router ("" = the router's own answer)
    fallback_at: int | None = None  # message index where the router's own tool calls start
    llm_error: str | None = None  # the model failed (unreachable, timeout, HTTP error)


# --- small helpers -----------------------------------------------------------------------------------
def text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(c if isinstance(c, str) else str(c.get("text", "")) for c in content)
    return str(content)


def _human_at(messages: Sequence[AnyMessage]) -> int:
    return max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)), default=-1)


def _context_line(ctx: AgentContext) -> str:
    """Date and phase, written after each question (not in the system prompt: it would break caching)."""
    phase = ctx.settings.phase
    note = ", read-only: proposals are refused" if phase is Phase.INSIGHT else ""
    return f"(Today is {ctx.today().isoformat()}. Rollout phase: {phase.value}{note}.)"


def system_prompt(prompt: Prompt, ctx: AgentContext) -> str:
    """The system prompt. v2 has no date or phase in it (they follow each question), so its text is the
    same on every call; v1 (still loadable) takes them as placeholders."""
    phase = ctx.settings.phase
    return prompt.render(
        ai_fields=", ".join(AI_FIELDS),
        today=ctx.today().isoformat(),
        phase=phase.value,
        phase_note=" (read-only: proposals are refused)" if phase is Phase.INSIGHT else "",
    )


_URL = re.compile(r"\s*https?://\S+")


def llm_view(tool_output: str) -> str:
    """A tool result as the model reads it: no links (the person sees them in the rendered answer; to a
    model they are ~20 tokens each), cut to ``LLM_VIEW_TOKENS`` (tools print headline figures first)."""
    return fit(_URL.sub("", tool_output), LLM_VIEW_TOKENS)


def _question(message: BaseMessage, ctx: AgentContext) -> HumanMessage:
    return HumanMessage(f"{text_of(message.content)}\n{_context_line(ctx)}")


def _ok_tool_messages(messages: Sequence[AnyMessage]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage) and m.status != "error"]


def _strip_offline_note(text: str) -> str:
    return text[len(OFFLINE_NOTE) :].lstrip() if text.startswith(OFFLINE_NOTE) else text


def approval_report(fresh: Sequence[dict[str, Any]]) -> str:
    """What the writer did with the decided proposals, from its own summaries (no model involved)."""
    lines = ["Approval results:"]
    for a in fresh:
        extra = f" ({a.get('error')})" if a.get("error") else ""
        lines.append(f"- {a.get('proposal_id')}: {a.get('status')}{extra}")
    return "\n".join(lines)


# --- the model's reply, interpreted ------------------------------------------------------------------
class Reading(BaseModel):
    """A model reply read as: calls ready to run, problems worth a retry, or an answer text."""

    calls: list[dict[str, Any]] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)
    repeats: int = 0
    text: str = ""
    from_text: int = 0


def _call_key(name: str, args: dict[str, Any]) -> str:
    return f"{name}:{json.dumps(args, sort_keys=True, default=str)}"


def _proposal_problem(name: str, args: dict[str, Any], evidence: Sequence[str]) -> str | None:
    """A proposed number must come from a tool result of this turn (no invented estimates)."""
    value = args.get("value")
    if not name.startswith(PROPOSE_PREFIX) or isinstance(value, bool) or value is None:
        return None
    shown = str(value)
    try:
        float(shown)
    except ValueError:
        return None
    if ungrounded_numbers(shown, evidence):
        return (
            f"{name}: the value {shown[:20]} is not in any tool result of this question; "
            "call the read tool that gives it (e.g. estimate_task) first"
        )
    return None


def read_reply(
    reply: AIMessage,
    offered: dict[str, BaseTool],
    done: set[str],
    evidence: Sequence[str],
    *,
    proposed: bool = False,
) -> Reading:
    """Native and text-form calls, validated against the offered tools. Repeats of calls already made
    this turn, and a second round of proposals once one was made (or refused), are problems: the
    result is already in the conversation."""
    out = Reading(text=text_of(reply.content))
    raw: list[tuple[str, dict[str, Any], str | None]] = [
        (c["name"], dict(c.get("args") or {}), c.get("id")) for c in reply.tool_calls
    ]
    for bad in reply.invalid_tool_calls:
        out.problems.append(f"{str(bad.get('name') or '?')[:60]}: the arguments are not valid JSON")
    if not raw and not reply.invalid_tool_calls and offered:
        parsed = parse_text_calls(out.text, list(offered))
        raw = [(c.name, c.args, None) for c in parsed.calls]
        out.problems += parsed.errors
        out.from_text = len(parsed.calls)
    seen: set[str] = set()
    for name, args, call_id in raw:
        key = _call_key(name, args)
        if key in seen:
            continue
        seen.add(key)
        if key in done or (proposed and name.startswith(PROPOSE_PREFIX)):  # the result is above
            out.repeats += 1
            out.problems.append(f"{name} was already called in this question; its result is above")
            continue
        problem = check_call(name, args, offered) or _proposal_problem(name, args, evidence)
        if problem:
            out.problems.append(problem)
            continue
        out.calls.append(
            {
                "name": name,
                "args": args,
                "id": call_id or f"call_{uuid.uuid4().hex[:12]}",
                "type": "tool_call",
            }
        )
    return out


def _correction(reading: Reading, offered: Sequence[str], missing: str | None) -> list[AnyMessage]:
    """A corrective retry: the previous attempt, then what was wrong and what to send instead."""
    attempt = reading.text.strip() or "(a tool call)"
    why = missing or ("That tool call cannot be run: " + "; ".join(reading.problems[:3]) + ".")
    shape = '{"name": "<tool>", "arguments": {...}}'
    if reading.repeats and not missing:
        return [AIMessage(content=fit(attempt, 200)), HumanMessage(f"{why} Answer from it now.")]
    ask = f"{why} Call one of these tools: {', '.join(offered)}. Reply with the call only, as {shape}."
    return [AIMessage(content=fit(attempt, 200)), HumanMessage(ask)]


def _why(reading: Reading, missing: str | None) -> str:
    if reading.problems:
        return reading.problems[0]
    return "it answered without using a tool" if missing and "memory" in missing else str(missing or "?")


# --- the node ------------------------------------------------------------------------------------------
class LLMTurn:
    """One call of the agent node: the state, the routed tools, the model, and the fallback."""

    def __init__(
        self,
        llm: BaseChatModel,
        by_name: dict[str, BaseTool],
        prompt: Prompt,
        offline: Callable[..., dict[str, Any]],
        state: dict[str, Any],
        config: RunnableConfig,
        runtime: Runtime[AgentContext],
    ) -> None:
        self.llm, self.by_name, self.offline = llm, by_name, offline
        self.state, self.config, self.runtime = state, config, runtime
        self.ctx = runtime.context
        self.system = system_prompt(prompt, self.ctx)
        self.messages: list[AnyMessage] = list(state.get("messages", []))
        self.human_at = _human_at(self.messages)
        self.turn = self.messages[self.human_at + 1 :]
        self.info = self._info()

    def _info(self) -> TurnInfo:
        stored = self.state.get("llm_turn")
        if isinstance(stored, dict) and stored.get("human_at") == self.human_at:
            return TurnInfo.model_validate(stored)
        question = text_of(self.messages[self.human_at].content) if self.human_at >= 0 else ""
        routed: Routed = route_question(question, self.ctx)
        tools = [t for t in routed.tools if t in self.by_name][:4]
        if not tools and not routed.intent.startswith("refuse"):
            tools = [t for t in DEFAULT_TOOLS if t in self.by_name]
        return TurnInfo(human_at=self.human_at, intent=routed.intent, tools=tools, parts=len(routed.parts))

    def _out(self, messages: list[AnyMessage]) -> dict[str, Any]:
        return {"messages": messages, "llm_turn": self.info.model_dump()}

    # -- evidence: what numbers may be stated -------------------------------------------------------------
    def evidence(self) -> list[str]:
        visible = self.messages[: self.human_at + 1] + self.turn
        texts = [text_of(m.content) for m in visible if isinstance(m, ToolMessage | HumanMessage)]
        ws = self.ctx.workspace  # numbers inside names ("Data Pipeline v2") are not claims
        names = " | ".join([*(p.name for p in ws.projects), *{p.client for p in ws.projects if p.client}])
        return [*texts, _context_line(self.ctx), ", ".join(AI_FIELDS), names]

    # -- the conversation the model reads -------------------------------------------------------------------
    def convo(self) -> list[AnyMessage]:
        earlier: list[AnyMessage] = []
        starts = [i for i, m in enumerate(self.messages[: self.human_at]) if isinstance(m, HumanMessage)]
        for n, start in enumerate(starts[-LLM_HISTORY_TURNS:]):
            ends = [*starts[-LLM_HISTORY_TURNS:][n + 1 :], self.human_at]
            answer = next(
                (
                    m
                    for m in reversed(self.messages[start : ends[0]])
                    if isinstance(m, AIMessage) and not m.tool_calls and text_of(m.content).strip()
                ),
                None,
            )
            if answer is not None:
                earlier += [
                    _question(self.messages[start], self.ctx),
                    AIMessage(fit(text_of(answer.content), EARLIER_ANSWER_TOKENS)),
                ]
        current: list[AnyMessage] = []
        for m in self.turn:
            if isinstance(m, ToolMessage):
                current.append(m.model_copy(update={"content": llm_view(text_of(m.content))}))
            elif isinstance(m, AIMessage) and m.tool_calls:
                current.append(AIMessage(content="", tool_calls=m.tool_calls))
        return [
            SystemMessage(self.system),
            *earlier,
            _question(self.messages[self.human_at], self.ctx),
            *current,
        ]

    # -- calling the model ------------------------------------------------------------------------------------
    def invoke(self, tools: Sequence[BaseTool], convo: list[AnyMessage]) -> AIMessage:
        self.info.model_calls += 1
        runnable = self.llm.bind_tools(list(tools)) if tools else self.llm
        reply = runnable.invoke(convo, self.config)
        if not isinstance(reply, AIMessage):
            reply = AIMessage(content=text_of(reply.content))
        return reply

    def spent(self) -> bool:
        used = sum(count_tokens(text_of(m.content)) for m in self.turn if isinstance(m, ToolMessage))
        calls = sum(isinstance(m, AIMessage) for m in self.turn)
        return TURN_BUDGET - used < BUDGET_FLOOR or calls >= MAX_MODEL_CALLS_PER_TURN

    def run(self) -> dict[str, Any]:
        fresh = list(self.state.get("applied") or [])[int(self.state.get("applied_seen") or 0) :]
        if fresh and not isinstance(self.messages[-1], HumanMessage | ToolMessage):
            return {"messages": [AIMessage(approval_report(fresh))], "llm_turn": self.info.model_dump()}
        if self.info.fallback is not None:
            return self.fallback(self.info.fallback)
        if not self.turn and self.info.intent.startswith(ROUTER_ANSWERS):
            return self.fallback("")
        try:
            return self.ask_model()
        except Exception as exc:  # the model failed: the router answers, and the reason is shown
            reason = llm_error_text(exc, self.ctx.settings)
            log.warning("LLM call failed: %s", reason)
            self.info.llm_error = reason
            return self.fallback(reason)

    def ask_model(self) -> dict[str, Any]:
        offered = {} if self.spent() else {n: self.by_name[n] for n in self.info.tools}
        convo = self.convo()
        done = {
            _call_key(c["name"], dict(c.get("args") or {}))
            for m in self.turn
            if isinstance(m, AIMessage)
            for c in m.tool_calls
        }
        evidence = self.evidence()
        if not offered:  # the turn's budget is spent: whatever it writes now is the answer
            return self.answer(text_of(self.invoke([], convo).content))
        proposed = any(
            isinstance(m, ToolMessage) and str(m.name).startswith(PROPOSE_PREFIX) for m in self.turn
        )
        reading = read_reply(
            self.invoke(list(offered.values()), convo), offered, done, evidence, proposed=proposed
        )
        missing = self.missing(reading)
        if (reading.problems and not reading.calls) or missing:
            if self.info.retries >= MAX_RETRIES_PER_TURN:
                return self.fallback(f"the model did not make a usable tool call ({_why(reading, missing)})")
            self.info.retries += 1
            self.info.problems += reading.problems[:3] or [str(missing)]
            retry = convo + _correction(reading, list(offered), missing)
            reading = read_reply(
                self.invoke(list(offered.values()), retry), offered, done, evidence, proposed=proposed
            )
            missing = self.missing(reading)
            if not reading.calls and (reading.problems or missing):
                return self.fallback(f"the model did not make a usable tool call ({_why(reading, missing)})")
        if reading.calls:
            self.info.text_calls += reading.from_text
            return self._out([AIMessage(content="", tool_calls=reading.calls)])
        return self.answer(reading.text)

    def missing(self, reading: Reading) -> str | None:
        """What a text answer leaves out, for a question the router understood: a tool result at all,
        the proposal the question asks for, another part of a two-part question. None when complete."""
        if reading.calls or reading.problems or self.info.intent == "unknown":
            return None
        ran = {str(m.name) for m in _ok_tool_messages(self.turn)}
        tried = {str(m.name) for m in self.turn if isinstance(m, ToolMessage)}
        if not ran:
            if reading.text.rstrip().endswith("?"):
                return None  # asking back is fine
            return "Answer from a tool result, not from memory."
        propose = [t for t in self.info.tools if t.startswith(PROPOSE_PREFIX)]
        if propose and not any(t.startswith(PROPOSE_PREFIX) for t in tried):
            return f"The question asks for a change: call {propose[0]} with the values from the tool result."
        parts = [t for t in self.info.tools[: self.info.parts] if not t.startswith(PROPOSE_PREFIX)]
        left = [t for t in parts if t not in tried]
        if self.info.parts > 1 and left:
            return f"The question has {self.info.parts} parts; call {left[0]} for the part not answered yet."
        return None

    def answer(self, text: str) -> dict[str, Any]:
        if not text.strip():
            return self.fallback("the model returned an empty answer")
        if parse_text_calls(text, list(self.by_name)).found:
            return self.fallback("the model wrote a tool call instead of an answer")
        bad = ungrounded_numbers(text, self.evidence())
        if bad:
            shown = ", ".join(bad[:4])
            return self.fallback(f"the model's answer stated numbers that are in no tool result ({shown})")
        return self._out([AIMessage(content=text.strip())])

    # -- the router's answer, through the same tools -------------------------------------------------------
    def fallback(self, reason: str) -> dict[str, Any]:
        """The routed offline answer: from this turn's tool results when the model already ran the
        intent's main tool (or made a proposal), else through the router's own tool calls."""
        self.info.fallback = reason
        cut = len(self.messages) if self.info.fallback_at is None else self.info.fallback_at
        base = self.human_at + 1
        earlier = _ok_tool_messages(self.turn[: max(0, cut - base)])
        primary = self.info.tools[0] if self.info.tools else None
        if not any(m.name == primary or str(m.name).startswith(PROPOSE_PREFIX) for m in earlier):
            earlier = []  # the model did not get to the point: the router runs its own calls
        later = [m for m in self.turn[max(0, cut - base) :] if isinstance(m, ToolMessage)]
        mine = [*(m for m in earlier if m.name in self.info.tools), *later]
        view = {**self.state, "messages": [*self.messages[: self.human_at + 1], *mine]}
        out = self.offline(view, self.config, self.runtime)
        [message] = out["messages"]
        if isinstance(message, AIMessage) and message.tool_calls:
            if self.info.fallback_at is None:
                self.info.fallback_at = len(self.messages)
            return self._out([message])
        text = _strip_offline_note(text_of(message.content))
        if reason:
            text = f"Note: {reason}; this answer comes straight from the tool results.\n\n{text}"
        return self._out([AIMessage(content=text)])


def make_llm_node(
    llm: BaseChatModel, tools: Sequence[BaseTool], prompt: Prompt
) -> Callable[..., dict[str, Any]]:
    """The agent node for ``llm``: routed tools, checked calls and answers, the router as fallback."""
    by_name = {t.name: t for t in tools}
    offline = make_offline_node(prompt)

    def agent(
        state: dict[str, Any], config: RunnableConfig, runtime: Runtime[AgentContext]
    ) -> dict[str, Any]:
        turn = LLMTurn(llm, by_name, prompt, offline, state, config, runtime)
        out = turn.run()
        out.setdefault("prompt_ref", prompt.ref)
        out["applied_seen"] = len(state.get("applied") or [])
        return out

    return agent


__all__ = ["DEFAULT_TOOLS", "LLM_VIEW_TOKENS", "TurnInfo", "approval_report", "make_llm_node", "read_reply"]
