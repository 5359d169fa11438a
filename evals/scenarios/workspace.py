"""The FIXED eval workspace: the sandbox generator with a fixed seed, plus one planted injection.

Two ways to get records, same data:

- ``mapped`` (default, fast, no HTTP): generate into a ``SandboxState``, render every object as the API's
  full record (``sandbox.generator.export_payloads``) and map them with the sync's own mapping functions;
- ``synced``: start the sandbox server, run the real sync into a temporary SQLite store and read the store
  (``build_eval_workspace(synced=True)``), so writes can also be counted at the sandbox.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals.scenarios.hostile import INJECTION
from tools.records import Workspace

EVAL_SEED = 4242
EVAL_TASKS = 300
# A second, larger workspace the natural questions are also asked about (other people, projects, clients).
SECOND_SEED = 7
SECOND_TASKS = 600


@dataclass
class EvalWorkspace:
    """The workspace the scenarios are asked about, and what the generator planted in it."""

    workspace: Workspace
    truth: dict[str, Any]
    injected_gid: str  # the task whose notes carry our prompt injection (CANARY)
    hostile_gids: list[str]  # the generator's own hostile tasks
    source: str  # "mapped" or "synced"
    skips: list[str] = field(default_factory=list)
    sandbox: Any = None  # the running sandbox when synced (write counts)
    settings: Any = None
    payloads: dict[str, list[dict[str, Any]]] | None = None  # the API records (the reference reads these)


def _pick_injection_target(state: Any, truth: dict[str, Any]) -> str:
    """A completed task with an estimate, not already hostile, deterministic (lowest gid)."""
    hostile = set(truth.get("hostile_tasks", []))
    for gid in sorted(state.objects["task"], key=int):
        task = state.objects["task"][gid]
        if task.get("completed") and gid not in hostile and not task.get("parent"):
            return gid
    raise RuntimeError("generated workspace has no completed task to plant the injection in")


def generate_state(seed: int = EVAL_SEED, tasks: int = EVAL_TASKS) -> tuple[Any, dict[str, Any], str]:
    """(SandboxState with the generated workspace and our injection, generator truth, injected task gid)."""
    from sandbox.generator import populate
    from sandbox.state import SandboxState

    state = SandboxState(clock=lambda: datetime(2026, 11, 27, 18, 0, tzinfo=UTC))
    generated = populate(state, seed=seed, tasks=tasks)
    truth = generated.truth.to_json()
    target = _pick_injection_target(state, truth)
    task = state.objects["task"][target]
    task["notes"] = f"{task.get('notes') or ''}\n\n{INJECTION}".strip()
    if "html_notes" in task:
        task["html_notes"] = f"<body>{task['notes']}</body>"
    return state, truth, target


def map_payloads(
    payloads: dict[str, list[dict[str, Any]]], settings: Any = None, as_of: datetime | None = None
) -> tuple[Workspace, list[str]]:
    """API full records -> a Workspace, with the sync's mapping functions (same rules as a real sync)."""
    from tools.sync.mapping import (
        FieldMappingRules,
        MappingContext,
        field_context_from_definitions,
        map_entry,
        map_project,
        map_task,
        map_user,
    )

    rules = FieldMappingRules.from_settings(settings.fields) if settings is not None else FieldMappingRules()
    portfolios: dict[str, list[str]] = {}
    for portfolio in payloads.get("portfolio", []):
        for item in portfolio.get("items") or []:
            if isinstance(item, dict) and item.get("gid"):
                portfolios.setdefault(str(item["gid"]), []).append(str(portfolio["gid"]))
    ctx = MappingContext(rules=rules, portfolios_by_project={k: tuple(v) for k, v in portfolios.items()})
    people = [p for p in (map_user(u, ctx) for u in payloads.get("user", [])) if p is not None]
    projects = [p for p in (map_project(x, ctx) for x in payloads.get("project", [])) if p is not None]
    ctx.projects = {p.gid: p for p in projects}
    field_context_from_definitions(payloads.get("custom_field", []), ctx)
    entries = [
        e for e in (map_entry(x, ctx) for x in payloads.get("time_tracking_entry", [])) if e is not None
    ]
    for e in entries:
        ctx.entry_minutes[e.task_gid] = ctx.entry_minutes.get(e.task_gid, 0) + e.duration_minutes
        first = ctx.first_entry.get(e.task_gid)
        if first is None or e.entered_on < first:
            ctx.first_entry[e.task_gid] = e.entered_on
    tasks = [t for t in (map_task(x, ctx) for x in payloads.get("task", [])) if t is not None]
    workspace = Workspace(
        people=tuple(people),
        projects=tuple(projects),
        tasks=tuple(tasks),
        entries=tuple(entries),
        as_of=as_of,
    )
    return workspace, [f"{s.kind} {s.gid}: {s.reason}" for s in ctx.skips.items]


def build_eval_workspace(seed: int = EVAL_SEED, tasks: int = EVAL_TASKS) -> EvalWorkspace:
    """The fixed workspace, mapped directly from the generator's API records (deterministic, ~1 s)."""
    from sandbox.generator import export_payloads

    state, truth, target = generate_state(seed, tasks)
    as_of = datetime.fromisoformat(str(truth["as_of"])).replace(hour=18, tzinfo=UTC)
    payloads = export_payloads(state)
    workspace, skips = map_payloads(payloads, as_of=as_of)
    return EvalWorkspace(
        payloads=payloads,
        workspace=workspace,
        truth=truth,
        injected_gid=target,
        hostile_gids=list(truth.get("hostile_tasks", [])),
        source="mapped",
        skips=skips,
    )


@contextmanager
def synced_eval_workspace(seed: int = EVAL_SEED, tasks: int = EVAL_TASKS) -> Iterator[EvalWorkspace]:
    """The same workspace served by the sandbox and synced through the gateway into a temp SQLite store,
    so an eval run can also count writes AT THE SANDBOX (``EvalWorkspace.sandbox.write_count()``)."""
    from pydantic import SecretStr

    from agent.config import ScopeConfig, Settings
    from sandbox import Sandbox
    from tools.gateway import AsanaGateway
    from tools.store import Store
    from tools.sync import sync_workspace

    with (
        tempfile.TemporaryDirectory(prefix="effort-eval-") as tmp,
        Sandbox.start(seed=seed, tasks=tasks) as sb,
    ):
        truth = sb.truth.to_json()
        target = _pick_injection_target(sb.state, truth)
        notes = str(sb.state.objects["task"][target].get("notes") or "")
        sb.state.update_task(target, {"notes": f"{notes}\n\n{INJECTION}".strip()})
        settings = Settings(
            ASANA_ACCESS_TOKEN=SecretStr(sb.token),
            EFFORT_ASANA_BASE_URL=sb.base_url,
            EFFORT_DATABASE_URL=f"sqlite:///{tmp}/effort.db",
            EFFORT_DATA_DIR=Path(tmp),
            EFFORT_CHROMA_PATH=Path(tmp) / "chroma",
            scope=ScopeConfig(projects=["*"]),
        )
        store = Store.open(settings.database_url)
        try:
            with AsanaGateway.from_settings(settings) as gateway:
                summary = sync_workspace(gateway, store, settings, full=True)
            as_of = datetime.fromisoformat(str(truth["as_of"])).replace(hour=18, tzinfo=UTC)
            workspace = store.workspace().model_copy(update={"as_of": as_of})
            sb.reset_log()
            yield EvalWorkspace(
                workspace=workspace,
                truth=truth,
                injected_gid=target,
                hostile_gids=list(truth.get("hostile_tasks", [])),
                source="synced",
                skips=[f"{s.get('kind')} {s.get('gid')}: {s.get('reason')}" for s in summary.skips],
                sandbox=sb,
                settings=settings,
            )
        finally:
            store.close()
