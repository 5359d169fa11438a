"""`effort chat` (a terminal chat with line editing, history and inline approvals) and `effort ask "…"`.

Both run the chat graph (agent/graph.py) with the LLM when OPENAI_API_KEY / OPENAI_BASE_URL is set and
the offline router otherwise. The chat prints its banner at once and loads the workspace and the model
while the first question is typed; answers are rendered (tables, task names) rather than tool text.
When the agent proposes a change, the chat asks approve / reject / edit / later on the spot and resumes
the thread through the same path as `effort approvals` (agent/approvals_service.py: the decisions are
built and validated by ``decisions_for`` and applied by ``resume`` through the one writer). "later"
leaves the batch pending for `effort approvals` and continues in a new thread.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from agent.cli.common import ConfigOpt, fail, print_error, settings_or_exit
from tools.redact import Redactor

if TYPE_CHECKING:  # langchain and the agent context load in the command, not for `effort --help`
    from agent.config import Settings
    from agent.context import AgentContext

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py

GRAPH_TAG = "chat"


@dataclass
class Session:
    """One chat session: compiled graph, run-time context, thread id and run metadata."""

    graph: Any
    ctx: AgentContext
    thread_id: str
    mode: str  # "llm" | "offline"
    redactor: Redactor
    checkpointer: Any = None
    prompt_ref: str = ""

    def config(self) -> dict[str, Any]:
        return {
            "configurable": {"thread_id": self.thread_id, "approver": self.ctx.settings.approver},
            "metadata": {"effort_graph": GRAPH_TAG, "mode": self.mode, "prompt": self.prompt_ref},
            "recursion_limit": 40,
        }


def new_thread_id() -> str:
    return f"chat-{uuid.uuid4().hex[:12]}"


@contextmanager
def open_session(
    settings: Settings,
    *,
    offline: bool = False,
    thread_id: str | None = None,
    synthetic_tasks: int = 0,
    ctx: AgentContext | None = None,
) -> Iterator[Session]:
    """Build the graph over the configured store (or a synthetic workspace, or a context already
    loaded) with its checkpointer."""
    from agent.checkpoint import open_checkpointer
    from agent.context import AgentContext
    from agent.graph import SYSTEM_PROMPT, build_chat_graph
    from agent.llm import make_llm
    from prompts import load_prompt

    with ExitStack() as stack:
        checkpointer = stack.enter_context(open_checkpointer(settings))
        if ctx is None and synthetic_tasks:
            from tools.agent_tools.synthetic import synthetic_workspace

            ctx = AgentContext.for_workspace(synthetic_workspace(synthetic_tasks), settings)
        elif ctx is None:
            ctx = AgentContext.from_settings(settings)
        use_llm = settings.llm_configured and not offline
        llm = make_llm(settings, streaming=True) if use_llm else None
        yield Session(
            graph=build_chat_graph(llm, checkpointer),
            ctx=ctx,
            thread_id=thread_id or new_thread_id(),
            mode="llm" if use_llm else "offline",
            redactor=Redactor(settings.secrets()),
            checkpointer=checkpointer,
            prompt_ref=load_prompt(SYSTEM_PROMPT).ref if use_llm else "offline-router",
        )


@dataclass
class TurnResult:
    answer: str
    tool_calls: list[dict[str, Any]]
    tool_outputs: list[dict[str, Any]]
    proposals: list[dict[str, Any]]
    interrupt: list[Any] | None
    llm: dict[str, Any] = field(default_factory=dict)  # the LLM node's record (agent/llm_node.TurnInfo)
    seconds: float = 0.0


def run_turn(
    session: Session,
    question: str,
    *,
    on_token: Callable[[str], None] | None = None,
    on_tool: Callable[[str], None] | None = None,
) -> TurnResult:
    """Stream one user turn through the graph; ``on_token(text)`` gets the model's tokens as they arrive
    (a draft: the checked answer may replace it), ``on_tool(name)`` each tool as it starts."""
    from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage

    from agent.approval import pending_proposals
    from tools.agent_tools.budget import count_tokens

    started = time.perf_counter()
    tool_calls: list[dict[str, Any]] = []
    tool_outputs: list[dict[str, Any]] = []
    interrupt: list[Any] | None = None
    answer = ""
    stream = session.graph.stream(
        {"messages": [HumanMessage(question)], "run_id": session.thread_id},
        session.config(),
        context=session.ctx,
        stream_mode=["messages", "updates"],
    )
    for mode, chunk in stream:
        if mode == "messages":
            message, meta = chunk
            if meta.get("langgraph_node") == "agent" and isinstance(message, AIMessageChunk):
                text = message.content if isinstance(message.content, str) else ""
                if text and on_token is not None:
                    on_token(text)
            continue
        for node, update in chunk.items():
            if node == "__interrupt__":
                interrupt = [i.value for i in update]
                continue
            for m in (update or {}).get("messages", []) if isinstance(update, dict) else []:
                if isinstance(m, AIMessage) and m.tool_calls:
                    tool_calls += [{"name": c["name"], "args": c["args"]} for c in m.tool_calls]
                    if on_tool is not None:
                        for c in m.tool_calls:
                            on_tool(c["name"])
                elif isinstance(m, AIMessage):
                    answer = m.content if isinstance(m.content, str) else str(m.content)
                elif isinstance(m, ToolMessage):
                    content = m.content if isinstance(m.content, str) else str(m.content)
                    tool_outputs.append({"name": m.name, "tokens": count_tokens(content), "status": m.status})
    state = session.graph.get_state(session.config()).values
    proposals = [p.model_dump(mode="json") for p in pending_proposals(state)]
    return TurnResult(
        answer=answer,
        tool_calls=tool_calls,
        tool_outputs=tool_outputs,
        proposals=proposals,
        interrupt=interrupt,
        llm=dict(state.get("llm_turn") or {}) if session.mode == "llm" else {},
        seconds=round(time.perf_counter() - started, 2),
    )


def llm_hint(result: TurnResult) -> str | None:
    """What to tell a person whose model failed this turn (the answer itself already says why)."""
    if result.llm.get("llm_error"):
        return "The model failed, so the rule-based router answered. Run with --offline to skip the model."
    return None


# Options shared by `ask` and `chat`.
OfflineOpt = Annotated[bool, typer.Option("--offline", help="Use the offline router even if an LLM is set.")]
ThreadOpt = Annotated[str | None, typer.Option("--thread", help="Continue this thread id.")]
SyntheticTasksOpt = Annotated[int, typer.Option("--synthetic-tasks", hidden=True)]


@app.command("ask")
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    offline: OfflineOpt = False,
    thread: ThreadOpt = None,
    config: ConfigOpt = None,
    synthetic_tasks: SyntheticTasksOpt = 0,
) -> None:
    """Answer one question about the team's effort (with tool calls, links and any proposals)."""
    from agent.cli.chat_view import print_answer, proposals_table

    settings = settings_or_exit(config)
    redactor = Redactor(settings.secrets())
    if (
        (offline or not settings.llm_configured)
        and thread is None
        and _ask_fast(settings, question, as_json, redactor, synthetic_tasks)
    ):
        return  # a read-only offline answer: no graph, no checkpoint (agent/offline.py ask_offline)
    console = Console(highlight=False)
    try:
        with open_session(
            settings, offline=offline, thread_id=thread, synthetic_tasks=synthetic_tasks
        ) as session:
            result = run_turn(session, question)
            if as_json:
                out = {
                    "answer": result.answer,
                    "thread_id": session.thread_id,
                    "mode": session.mode,
                    "prompt": session.prompt_ref,
                    "tool_calls": result.tool_calls,
                    "tool_outputs": result.tool_outputs,
                    "tool_output_tokens": sum(o["tokens"] for o in result.tool_outputs),
                    "proposals": result.proposals,
                    "awaiting_approval": result.interrupt is not None,
                    "llm": result.llm,
                    "seconds": result.seconds,
                }
                typer.echo(redactor(json.dumps(out, default=str, ensure_ascii=False)))
                return
            print_answer(console, redactor(result.answer))
            if result.interrupt:
                console.print(proposals_table(result.proposals))
                console.print(
                    "Nothing is written until approved. Decide with: "
                    f"effort approvals approve {session.thread_id} (or reject / edit)"
                )
            if hint := llm_hint(result):
                print_error(hint)
            typer.echo(f"thread: {session.thread_id}", err=True)
    except typer.Exit:
        raise
    except Exception as exc:  # a clear one-line error, never a traceback holding secrets
        raise fail(redactor(f"{type(exc).__name__}: {exc}"), 1) from None


@app.command("chat")
def chat(
    offline: OfflineOpt = False,
    thread: ThreadOpt = None,
    config: ConfigOpt = None,
    synthetic_tasks: SyntheticTasksOpt = 0,
) -> None:
    """Chat in the terminal: line editing and history, answers as tables, approve proposals inline."""
    from agent.cli.chat_loop import ChatLoop

    settings = settings_or_exit(config)
    redactor = Redactor(settings.secrets())
    try:
        ChatLoop(settings, offline=offline, thread=thread, synthetic_tasks=synthetic_tasks).run()
    except typer.Exit:
        raise
    except Exception as exc:
        raise fail(redactor(f"{type(exc).__name__}: {exc}"), 1) from None


def _ask_fast(
    settings: Settings, question: str, as_json: bool, redactor: Redactor, synthetic_tasks: int
) -> bool:
    """Answer a read-only offline question without the graph; False when it needs the graph."""
    from agent.offline import ask_offline
    from tools.agent_tools.budget import count_tokens

    try:
        result = ask_offline(settings, question, synthetic_tasks=synthetic_tasks)
    except Exception as exc:  # a clear one-line error, never a traceback holding secrets
        raise fail(redactor(f"{type(exc).__name__}: {exc}"), 1) from None
    if result is None:
        return False
    if as_json:
        tokens = [count_tokens(o) for _, _, o in result.calls]
        outputs = [
            {"name": n, "tokens": t, "status": "success"}
            for (n, _, _), t in zip(result.calls, tokens, strict=True)
        ]
        out = {
            "answer": result.text,
            "thread_id": new_thread_id(),  # a run id: nothing waits on this thread
            "mode": "offline",
            "prompt": "offline-router",
            "tool_calls": [{"name": n, "args": a} for n, a, _ in result.calls],
            "tool_outputs": outputs,
            "tool_output_tokens": sum(tokens),
            "proposals": [],
            "awaiting_approval": False,
            "routed": result.plan.routed.model_dump(),
        }
        typer.echo(redactor(json.dumps(out, default=str, ensure_ascii=False)))
    else:
        typer.echo(redactor(result.text))
    return True


@app.command("chat")
def chat(
    offline: OfflineOpt = False,
    thread: ThreadOpt = None,
    config: ConfigOpt = None,
    synthetic_tasks: SyntheticTasksOpt = 0,
) -> None:
    """Chat in the terminal: answers stream as they are written; tools and proposals are shown."""
    settings = settings_or_exit(config)
    console = Console(highlight=False)
    redactor = Redactor(settings.secrets())
    try:
        with open_session(
            settings, offline=offline, thread_id=thread, synthetic_tasks=synthetic_tasks
        ) as session:
            console.print(f"[bold]Effort Copilot[/bold] ({session.mode}) thread: {session.thread_id}")
            console.print("Ask about estimates, capacity, forecasts, billing. Empty line or 'exit' quits.")
            while True:
                try:
                    question = input("you> ").strip()
                except EOFError:
                    break
                if not question or question.lower() in {"exit", "quit", ":q"}:
                    break
                sys.stdout.write("copilot> ")
                try:
                    result = run_turn(
                        session,
                        question,
                        on_token=lambda t: (sys.stdout.write(redactor(t)), sys.stdout.flush()),
                        on_tool=lambda name: console.print(f"\n  [dim]· ran {name}[/dim]"),
                    )
                except Exception as exc:  # one bad turn does not end the session
                    print_error(redactor(f"{type(exc).__name__}: {exc}"))
                    continue
                sys.stdout.write("\n")
                if result.interrupt:
                    console.print(_interrupt_text(session, result.interrupt))
                    break  # the thread waits for a decision; a new question would need a new thread
            console.print(f"thread: {session.thread_id}")
    except Exception as exc:
        raise fail(redactor(f"{type(exc).__name__}: {exc}"), 1) from None


def _background(target: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``target`` on a daemon thread; the box gets its ``value`` or ``error``."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = target()
        except BaseException as exc:  # handed to the main thread, which reports it
            box["error"] = exc

    worker = threading.Thread(target=run, name="effort-chat-loader", daemon=True)
    worker.start()
    return worker, box


__all__ = ["Session", "TurnResult", "ask", "chat", "llm_hint", "new_thread_id", "open_session", "run_turn"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
