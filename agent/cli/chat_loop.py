"""The `effort chat` loop: input with line editing, a live draft while the model writes, inline approvals.

Start-up is split so the banner shows at once: a worker thread imports the graph stack, opens the
store, reads the workspace and checks that the model answers, while the person types the first
question (prompt_toolkit gives arrow keys, Ctrl-R search and a history file; plain ``input()`` is used
when stdin is not a terminal). Each turn shows what is happening (tools that run, the model's draft
text, dimmed); the checked answer then replaces the draft. A proposal is decided on the spot.
"""

from __future__ import annotations

import re
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from agent.cli.chat_cmd import Session, _background, llm_hint, new_thread_id, open_session, run_turn
from agent.cli.chat_view import applied_table, print_answer, proposals_table
from agent.cli.common import print_error
from agent.config import Settings
from agent.context import AgentContext
from tools.redact import Redactor

EXIT_WORDS = frozenset({"exit", "quit", ":q", "bye"})
DECISION_HELP = (
    "Decide: [bold]a[/] approve all · [bold]a 1,3[/] approve some · [bold]r[/] reject all · "
    "[bold]e N VALUE[/] edit item N and approve it · [bold]l[/] later (stays pending for `effort approvals`)"
)


def load_context(settings: Settings, synthetic_tasks: int) -> AgentContext:
    """The run-time context with its workspace read (the slow part of start-up), plus the graph stack
    imported, so the first question does not wait for either."""
    import agent.graph  # noqa: F401  (warm the import: langgraph, langchain)

    if synthetic_tasks:
        from tools.agent_tools.synthetic import synthetic_workspace

        ctx = AgentContext.for_workspace(synthetic_workspace(synthetic_tasks), settings)
    else:
        ctx = AgentContext.from_settings(settings)
    _ = ctx.workspace
    return ctx


class ChatLoop:
    """One interactive chat session."""

    def __init__(
        self, settings: Settings, *, offline: bool, thread: str | None, synthetic_tasks: int
    ) -> None:
        self.settings = settings
        self.offline = offline
        self.thread = thread
        self.synthetic_tasks = synthetic_tasks
        self.console = Console(highlight=False)
        self.redactor = Redactor(settings.secrets())
        self.use_llm = settings.llm_configured and not offline

    # -- input -----------------------------------------------------------------------------------------
    def _reader(self) -> Any:
        """prompt_toolkit on a terminal (line editing, history), else plain input()."""
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return None
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory

        path = Path(self.settings.data_dir) / "chat_history"
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600, exist_ok=True)
            return PromptSession(history=FileHistory(str(path)))
        except OSError:  # a read-only data dir: editing without history
            return PromptSession()

    def _read(self, reader: Any, prompt: str) -> str | None:
        try:
            if reader is None:
                self.console.print(prompt, end="")
                line = input()
            else:
                line = reader.prompt(prompt)
        except (EOFError, KeyboardInterrupt):
            return None
        return line.strip()

    # -- start-up --------------------------------------------------------------------------------------
    def _banner(self) -> None:
        from agent.llm import describe_endpoint

        mode = f"LLM: {describe_endpoint(self.settings)}" if self.use_llm else "offline router (no LLM)"
        self.console.print(f"[bold]Effort Copilot[/bold] chat · {escape(mode)}")
        self.console.print(
            "Ask about estimates, capacity, forecasts, billing. Proposals are approved here. "
            "'exit' or Ctrl-D quits. Loading the workspace in the background…"
        )

    def _wait(self, worker: Any, box: dict[str, Any], what: str) -> Any:
        if worker.is_alive():
            started = time.perf_counter()
            with self.console.status(f"{what}…") as status:
                while worker.is_alive():
                    worker.join(0.2)
                    status.update(f"{what}… {time.perf_counter() - started:.0f} s")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def run(self) -> None:
        self._banner()
        loader, loaded = _background(lambda: load_context(self.settings, self.synthetic_tasks))
        probe, probed = None, dict[str, Any]()
        if self.use_llm:
            from agent.llm import probe_llm

            probe, probed = _background(lambda: probe_llm(self.settings))
        reader = self._reader()
        session: Session | None = None
        with ExitStack() as stack:
            while True:
                question = self._read(reader, "you> ")
                if question is None or question.lower() in EXIT_WORDS:
                    break
                if not question:
                    continue
                if session is None:
                    ctx = self._wait(loader, loaded, "loading the workspace")
                    if probe is not None and (problem := self._wait(probe, probed, "checking the model")):
                        print_error(
                            f"{problem}. Answers come from the offline router until it answers; --offline skips it."
                        )
                    session = stack.enter_context(
                        open_session(self.settings, offline=self.offline, thread_id=self.thread, ctx=ctx)
                    )
                    self.console.print(f"[dim]thread {session.thread_id}[/dim]")
                if not self._turn(session, question, reader):
                    session.thread_id = new_thread_id()
                    self.console.print(f"[dim]continuing in a new thread {session.thread_id}[/dim]")
            if session is not None:
                self.console.print(f"thread: {session.thread_id}")

    # -- one turn ----------------------------------------------------------------------------------------
    def _turn(self, session: Session, question: str, reader: Any) -> bool:
        """Ask, show the answer, decide any proposals. False when the thread must be left (pending)."""
        draft: list[str] = []
        status = {"text": "thinking", "started": time.perf_counter()}

        def view() -> Group:
            seconds = time.perf_counter() - status["started"]  # type: ignore[operator]
            head = Text(f"· {status['text']} ({seconds:.0f} s)", style="dim")
            tail = "".join(draft)[-600:]
            return Group(head, Text(self.redactor(tail), style="dim italic")) if tail else Group(head)

        def on_token(token: str) -> None:
            draft.append(token)
            status["text"] = "the model is writing"

        def on_tool(name: str) -> None:
            draft.clear()
            status["text"] = f"running {name}"

        try:
            with Live(
                view(), console=self.console, transient=True, refresh_per_second=8, get_renderable=view
            ):
                result = run_turn(session, question, on_token=on_token, on_tool=on_tool)
        except KeyboardInterrupt:
            self.console.print("[yellow]interrupted[/yellow]")
            return False
        except Exception as exc:  # one bad turn does not end the session
            print_error(self.redactor(f"{type(exc).__name__}: {exc}"))
            return True
        print_answer(self.console, self.redactor(result.answer))
        tools = ", ".join(dict.fromkeys(c["name"] for c in result.tool_calls)) or "none"
        self.console.print(f"[dim]{result.seconds:.1f} s · tools: {escape(tools)}[/dim]")
        if hint := llm_hint(result):
            print_error(hint)
        if result.interrupt:
            return self._decide(session, result.proposals, reader)
        return True

    # -- inline approval -----------------------------------------------------------------------------------
    def _decide(self, session: Session, proposals: list[dict[str, Any]], reader: Any) -> bool:
        from agent.approval import ApprovalResumeError
        from agent.approvals_service import ApprovalNotFound, decisions_for, get_pending

        self.console.print(proposals_table(proposals))
        while True:
            self.console.print(DECISION_HELP)
            answer = self._read(reader, "decide> ")
            parsed = parse_decision(answer)
            if parsed is None:
                self.console.print("[yellow]Not understood.[/yellow]")
                continue
            action, items, edits = parsed
            if action == "later":
                self.console.print(
                    f"Left pending. Decide later with: effort approvals show {session.thread_id}"
                )
                return False
            try:
                pending = get_pending(session.checkpointer, session.thread_id)
                decisions = decisions_for(
                    pending, action, approver=self.settings.approver, items=items, edits=edits, via="chat"
                )
            except (ApprovalNotFound, ApprovalResumeError) as exc:
                self.console.print(f"[yellow]{escape(str(exc))}[/yellow]")
                continue
            return self._apply(session, pending, decisions)

    def _apply(self, session: Session, pending: Any, decisions: list[Any]) -> bool:
        from agent.approvals_service import resume
        from agent.writer import writer_from_settings

        try:
            writer = writer_from_settings(self.settings, store=session.ctx.store)
        except Exception as exc:  # no Asana token / unreachable: nothing is lost, the batch waits
            print_error(
                self.redactor(
                    f"cannot apply now ({type(exc).__name__}: {exc}); the batch stays pending: "
                    f"effort approvals show {session.thread_id}"
                )
            )
            return False
        try:
            with self.console.status("applying through the writer…"):
                out = resume(
                    session.checkpointer,
                    pending,
                    decisions,
                    writer=writer,
                    settings=self.settings,
                    approver=self.settings.approver,
                )
        finally:
            writer.gateway.close()
        ids = {p.id for p in pending.proposals}
        self.console.print(
            applied_table([a for a in out.get("applied") or [] if a.get("proposal_id") in ids])
        )
        return True


_ITEMS = re.compile(r"^\s*(\d+(?:\s*,\s*\d+)*)\s*$")


def parse_decision(text: str | None) -> tuple[Any, list[str] | None, dict[str, str] | None] | None:
    """``a`` / ``a 1,3`` / ``r`` / ``e N VALUE`` / ``l`` -> (action, items, edits); None if not understood.
    An empty answer or end of input means later (nothing is decided by accident)."""
    if text is None or not text.strip():
        return ("later", None, None)
    word, _, rest = text.strip().partition(" ")
    word = word.lower()
    if word in {"a", "approve", "y", "yes"}:
        if not rest.strip():
            return ("approve", None, None)
        m = _ITEMS.match(rest)
        return ("approve", [x.strip() for x in m.group(1).split(",")], None) if m else None
    if word in {"r", "reject", "n", "no"}:
        return ("reject", None, None)
    if word in {"l", "later", "skip"}:
        return ("later", None, None)
    if word in {"e", "edit"}:
        item, _, value = rest.strip().partition(" ")
        if item.isdigit() and value.strip():
            return ("edit", None, {item: value.strip()})
    return None


__all__ = ["ChatLoop", "load_context", "parse_decision"]
