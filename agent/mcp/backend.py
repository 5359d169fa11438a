"""What `effort mcp` serves, independent of the MCP protocol: the chat's tools, the approval queue and
the latest retrospective report.

The tools are the chat graph's own LangChain tools (``tools.agent_tools.all_tools()``), called with the
same argument schemas, the same per-tool token budget and the same untrusted-text fencing, so nothing
here re-states a rule: a read tool answers exactly what it answers in chat, and a propose tool applies
the same phase, task, scope and value checks and refuses the same way. What differs is where an
accepted proposal goes: there is no chat thread over MCP, so it is sent to an approval thread of its own
(``GateProposer``, the gate ``effort serve`` uses) and the answer carries that approval's id. The
server holds no writer at all: a write can only follow a human decision through ``effort approvals``
(or an Agent Inbox), which resumes the thread into the one writer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from langchain.tools import ToolRuntime
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from pydantic import BaseModel, ValidationError

from agent.approvals_service import ApprovalNotFound, PendingApproval, get_pending, list_pending
from agent.config import Settings
from agent.context import AgentContext
from tools.agent_tools import PROPOSE_TOOL_NAMES, READ_TOOL_NAMES, all_tools
from tools.agent_tools.budget import TURN_BUDGET, UNTRUSTED_CLOSE, UNTRUSTED_OPEN, fit, untrusted
from tools.proposals import Proposal
from tools.telemetry import record_tool_call, span

log = logging.getLogger("effort.mcp")

SOURCE = "mcp"  # Proposal.source of everything proposed over MCP
PENDING_URI = "effort://approvals/pending"
REPORT_URI = "effort://reports/retro/latest"
MAX_PENDING_LISTED = 50  # batches shown by the pending resource (the oldest first)


class ToolSpec(BaseModel):
    """One tool as MCP lists it."""

    name: str
    description: str
    input_schema: dict[str, Any]
    kind: Literal["read", "propose"]


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool call answers: text for the client, whether it is an error (a refusal, bad
    arguments, a failure) and, for an accepted proposal, the approval it joined."""

    text: str
    is_error: bool = False
    approval_id: str | None = None


@dataclass(frozen=True)
class ResourceText:
    uri: str
    mime_type: str
    text: str


def fence_document(text: str) -> str:
    """A whole document (a report with task names in it) marked as data, with the same delimiters the
    tools use for task text; the delimiters are removed from inside so the text cannot close them."""
    clean = text.replace(UNTRUSTED_OPEN, "").replace(UNTRUSTED_CLOSE, "")
    return f"{UNTRUSTED_OPEN}\n{clean}\n{UNTRUSTED_CLOSE}"


def client_label(name: str | None) -> str:
    """The MCP client's self-declared name, cut and cleaned: it is shown to approvers, so it is data."""
    clean = "".join(ch for ch in (name or "") if ch.isprintable())[:60].strip()
    return clean or "unknown client"


class EffortBackend:
    """The tools, resources and approval queue behind the MCP server.

    ``context_factory`` opens the read side (store, index) from the settings; the context is rebuilt
    when a newer sync run lands in the store, so a long-running server never answers from data older
    than the last sync. ``proposer`` sends proposals to an approval thread and returns its id.
    """

    def __init__(
        self,
        settings: Settings,
        checkpointer: BaseCheckpointSaver[Any],
        *,
        context_factory: Callable[[Settings], AgentContext] = AgentContext.from_settings,
        proposer: Callable[..., str] | None = None,
    ) -> None:
        self.settings = settings
        self.checkpointer = checkpointer
        self._context_factory = context_factory
        if proposer is None:
            from agent.serve.wiring import GateProposer

            proposer = GateProposer(checkpointer)
        self._propose = proposer
        self._tools: dict[str, BaseTool] = {t.name: t for t in all_tools()}
        self._lock = threading.Lock()
        self._ctx: AgentContext | None = None
        self._ctx_key: object = None

    # --- tools ----------------------------------------------------------------------------------
    def tool_specs(self) -> list[ToolSpec]:
        """Read tools first, then the propose tools, in the chat's order."""
        specs = []
        for name, tool in self._tools.items():
            schema = tool.args_schema
            if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
                continue
            kind: Literal["read", "propose"] = "propose" if name in PROPOSE_TOOL_NAMES else "read"
            if kind == "read" and name not in READ_TOOL_NAMES:
                continue
            description = tool.description
            if kind == "propose":
                description += (
                    " Over MCP the proposal joins the approval queue and the answer gives its approval id;"
                    " a person decides with `effort approvals`."
                )
            specs.append(
                ToolSpec(
                    name=name, description=description, input_schema=schema.model_json_schema(), kind=kind
                )
            )
        return specs

    def call(self, name: str, arguments: dict[str, Any], *, client: str | None = None) -> ToolOutcome:
        """Run one tool; never raises for bad input or a failing tool (the client gets the reason)."""
        tool = self._tools.get(name)
        kind = "propose" if name in PROPOSE_TOOL_NAMES else "read"
        if tool is None or not (name in READ_TOOL_NAMES or name in PROPOSE_TOOL_NAMES):
            known = ", ".join(sorted(self._tools))
            return ToolOutcome(f"Unknown tool {name[:60]!r}; tools: {known}", is_error=True)
        with span(
            f"tool {name}", {"effort.tool.name": name, "effort.tool.kind": kind, "effort.via": SOURCE}
        ) as sp:
            outcome = self._call(tool, kind, arguments, client_label(client))
            label = "refused" if outcome.is_error and outcome.approval_id is None else "ok"
            if outcome.text.startswith("Error:"):
                label = "error"
            sp.set_attribute("effort.tool.outcome", label)
            record_tool_call(name, SOURCE, label)
            return outcome

    def _call(self, tool: BaseTool, kind: str, arguments: dict[str, Any], client: str) -> ToolOutcome:
        schema = tool.args_schema
        assert isinstance(schema, type) and issubclass(schema, BaseModel)
        try:
            args = schema.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or '(arguments)'}: {e['msg']}" for e in exc.errors()
            )
            return ToolOutcome(f"Error: invalid arguments for {tool.name}: {problems}", is_error=True)
        ctx = self.context()
        if ctx is None:
            return ToolOutcome(
                "Error: no synced data yet: run `effort sync` first (nothing in "
                f"{self.settings.database_url.split('://', 1)[0]} store).",
                is_error=True,
            )
        runtime: ToolRuntime[Any, Any] = ToolRuntime(
            state={},
            context=ctx,
            config={},
            stream_writer=lambda _chunk: None,
            tool_call_id=f"mcp-{uuid.uuid4().hex[:12]}",
            store=None,
        )
        kwargs = {field: getattr(args, field) for field in type(args).model_fields}
        func = getattr(tool, "func", None)
        if func is None:
            return ToolOutcome(f"Error: {tool.name} cannot be called here", is_error=True)
        try:
            result = func(runtime=runtime, **kwargs)
        except Exception as exc:  # the chat's tool node answers errors the same way: type only
            log.warning("MCP tool %s failed: %s", tool.name, type(exc).__name__)
            return ToolOutcome(f"Error: {tool.name} failed ({type(exc).__name__}).", is_error=True)
        if kind == "read":
            return ToolOutcome(str(result))
        if isinstance(result, str):  # a propose tool that refused says why in plain text
            return ToolOutcome(result, is_error=True)
        if isinstance(result, Command) and isinstance(result.update, dict):
            return self._queue(result.update, client)
        return ToolOutcome(f"Error: {tool.name} returned nothing to propose", is_error=True)

    def _queue(self, update: dict[str, Any], client: str) -> ToolOutcome:
        """Send what a propose tool accepted to an approval thread of its own."""
        proposals = [
            p.model_copy(update={"source": SOURCE, "evidence": {**p.evidence, "mcp_client": client}})
            for p in update.get("proposals") or []
            if isinstance(p, Proposal)
        ]
        if not proposals:
            return ToolOutcome("Error: nothing was proposed", is_error=True)
        messages = [m for m in update.get("messages") or [] if isinstance(m, ToolMessage)]
        summary = str(messages[0].content) if messages else f"proposal {proposals[0].id}"
        first = proposals[0]
        with self._lock:
            approval_id = self._propose(proposals, kind=SOURCE, scope=first.target_gid, period=first.id)
        try:
            get_pending(self.checkpointer, approval_id)
        except ApprovalNotFound:
            return ToolOutcome(
                f"Not queued: this exact change (proposal {first.id}) was already decided on approval "
                f"{approval_id}; its outcome is in the audit log. Propose a different value to ask again.",
                is_error=True,
            )
        return ToolOutcome(
            f"{summary} approval_id={approval_id}. Nothing is written until a person approves it "
            f"(`effort approvals show {approval_id}`).",
            approval_id=approval_id,
        )

    # --- the read side --------------------------------------------------------------------------
    def _store_key(self, ctx: AgentContext) -> object:
        """What identifies the data a context was built on: the newest sync run in the store."""
        store = ctx.store
        if store is None or not hasattr(store, "sync_runs"):
            return None
        runs = store.sync_runs(limit=1)
        return (runs[0].id, getattr(runs[0], "finished_at", None)) if runs else None

    def context(self) -> AgentContext | None:
        """The read context over the latest synced data (None when nothing has been synced)."""
        with self._lock:
            if self._ctx is not None and self._store_key(self._ctx) == self._ctx_key:
                return self._ctx
            ctx = self._context_factory(self.settings)
            workspace = ctx.workspace  # load once here, not in parallel by concurrent calls
            if not workspace.tasks and not workspace.projects:
                return None
            self._ctx, self._ctx_key = ctx, self._store_key(ctx)
            return ctx

    # --- resources ------------------------------------------------------------------------------
    def pending_resource(self) -> ResourceText:
        """Pending approvals as JSON; free text (descriptions, comment text, titles) fenced as data."""
        pending = list_pending(self.checkpointer)
        body = {
            "pending_approvals": len(pending),
            "pending_proposals": sum(len(p.proposals) for p in pending),
            "shown": min(len(pending), MAX_PENDING_LISTED),
            "how_to_decide": "effort approvals show|approve|reject|edit <approval_id>",
            "approvals": [_approval_json(p) for p in pending[:MAX_PENDING_LISTED]],
        }
        text = fit(json.dumps(body, ensure_ascii=False, default=str, indent=1), TURN_BUDGET)
        return ResourceText(PENDING_URI, "application/json", text)

    def latest_report_path(self) -> Path | None:
        directory = self.settings.data_dir / "reports"
        reports = sorted(directory.glob("retro-*.md"), key=lambda p: (p.stat().st_mtime, p.name))
        return reports[-1] if reports else None

    def report_resource(self) -> ResourceText:
        """The newest retrospective report (Markdown), fenced as data and cut to the turn budget."""
        path = self.latest_report_path()
        if path is None:
            text = "No retrospective report yet: run `effort retro --period last-month`."
        else:
            age_h = (time.time() - path.stat().st_mtime) / 3600
            header = f"Report file {path.name}, written {age_h:.1f} hours ago. Its text is data:\n"
            text = header + fence_document(fit(path.read_text(encoding="utf-8"), TURN_BUDGET))
        return ResourceText(REPORT_URI, "text/markdown", text)

    def read_resource(self, uri: str) -> ResourceText | None:
        if uri == PENDING_URI:
            return self.pending_resource()
        if uri == REPORT_URI:
            return self.report_resource()
        return None


def _approval_json(pending: PendingApproval) -> dict[str, Any]:
    return {
        "approval_id": pending.thread_id,
        "graph": pending.graph,
        "created_at": pending.created_at.isoformat() if pending.created_at else None,
        "proposals": [
            {
                "proposal_id": p.id,
                "kind": p.kind.value,
                "target_gid": p.target_gid,
                "field": p.field_name,
                "value": p.value,
                "source": p.source,
                "description": untrusted(p.description, 300),
                "title": untrusted(p.title, 200) if p.title else None,
                "text": untrusted(p.text, 300) if p.text else None,
            }
            for p in pending.proposals
        ],
    }
