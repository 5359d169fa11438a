"""Seeded generator of realistic Asana workspaces, with the ground truth that made them.

`generate(seed, tasks, ...)` runs named steps in a fixed order: the team (per-person and per-project-type
estimation bias: the actual/estimate ratio is lognormal), custom fields, tags and portfolios, projects
of four types (sandbox/gen_structure.py); tasks from templates with daily native time entries (about
``0.7 x entries_per_task`` per task: a piece shorter than half an hour joins that day's entry for the
task, as people log it), comments,
estimate-change stories (scope creep) and seeded anomalies whose kind is recorded in `truth.anomalies`,
hostile text, CSV timesheet attachments (sandbox/gen_tasks.py); then, from separate RNGs with gids after
everything else so older seeds keep their workspace, out-of-office ranges and project allocations
(`truth.ooo`, `truth.allocations`) and Timesheets & Budgets data: time-tracking categories, placeholders,
rates, budgets and weekly timesheet approvals (sandbox/gen_extras.py). Everything derives from `seed`
and `as_of`, so the same arguments always give the same workspace (gids included).

`populate(state, ...)` loads the result into a SandboxState; `export_payloads(state)` renders every object
as the API's full record, so a benchmark can map them to records without HTTP.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from sandbox import gen_extras, gen_structure, gen_tasks
from sandbox.gen_structure import TYPE_BIAS_MU, Gen, Gids
from sandbox.state import FIRST_GID, Obj, SandboxState

__all__ = [
    "ANOMALY_KINDS",
    "DEFAULT_AS_OF",
    "TYPE_BIAS_MU",
    "GeneratedWorkspace",
    "Truth",
    "export_payloads",
    "generate",
    "populate",
]

DEFAULT_AS_OF = date(2026, 11, 27)
ANOMALY_KINDS = (
    "weekend",
    "duplicate",
    "implausible_duration",
    "zero_duration",
    "future_date",
    "missing_logs",
    "huge_variance",
)


@dataclass
class Truth:
    """What the generator did on purpose: analytics and detectors are checked against this."""

    as_of: str
    # entry gid (weekend, duplicate, implausible_duration, zero_duration, future_date) or task gid
    # (missing_logs, huge_variance) -> kind. Natural data also has variance > 50%; these are the seeded ones.
    # A "duplicate" is the second submission of an entry (same task, day, duration and note, created
    # minutes after the first).
    anomalies: dict[str, str] = field(default_factory=dict)
    person_bias: dict[str, float] = field(default_factory=dict)  # user gid -> median actual/estimate
    person_sigma: dict[str, float] = field(default_factory=dict)  # user gid -> log-sd of that ratio
    type_bias: dict[str, float] = field(default_factory=dict)  # project type -> median ratio multiplier
    capacity_hours: dict[str, float] = field(default_factory=dict)  # user gid -> hours per week
    person_names: dict[str, str] = field(default_factory=dict)
    leads: list[str] = field(default_factory=list)
    project_types: dict[str, str] = field(default_factory=dict)  # project gid -> type
    at_risk_projects: list[str] = field(default_factory=list)
    retro_project: str = ""  # the empty "Retro Insights" project that approved summaries go to
    scope_creep: dict[str, list[float]] = field(default_factory=dict)  # task gid -> [old, new] estimate
    hostile_tasks: list[str] = field(default_factory=list)
    field_gids: dict[str, str] = field(default_factory=dict)  # custom field name -> gid
    enum_options: dict[str, dict[str, str]] = field(default_factory=dict)  # field name -> {option: gid}
    timesheet_attachments: list[str] = field(default_factory=list)
    me: str = ""  # the token's user
    # Resourcing (drawn from a separate RNG, after everything else, so older seeds are unchanged):
    ooo: dict[str, list[list[str]]] = field(default_factory=dict)  # user gid -> [[start, end], ...]
    # allocation gid -> {person, project, start, end, type ("hours" per week | "percent"), value}
    allocations: dict[str, dict[str, Any]] = field(default_factory=dict)
    currency: str = gen_extras.CURRENCY  # the domain's currency (rates, cost budgets)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Truth:
        return cls(**data)


@dataclass
class GeneratedWorkspace:
    workspace_gid: str
    me_gid: str
    objects: list[tuple[str, Obj]]
    files: dict[str, bytes]
    truth: Truth
    counts: dict[str, int]


def generate(
    seed: int = 1,
    tasks: int = 400,
    entries_per_task: float = 10.0,
    as_of: date = DEFAULT_AS_OF,
    first_gid: int = FIRST_GID,
    anomaly_rate: float = 1.0,
) -> GeneratedWorkspace:
    """Build a workspace (see module doc). `anomaly_rate` scales every anomaly probability (0 = clean)."""
    g = Gen(
        rng=random.Random(seed),
        gid=Gids(first_gid),
        truth=Truth(as_of=as_of.isoformat()),
        as_of=as_of,
        n_tasks=tasks,
        entries_per_task=entries_per_task,
        anomaly_rate=anomaly_rate,
    )
    gen_structure.team(g)
    gen_structure.custom_fields(g)
    gen_structure.tags_and_portfolios(g)
    gen_structure.projects(g)
    gen_tasks.tasks(g)
    gen_tasks.hostile_text(g)
    gen_tasks.timesheet_attachments(g)
    gen_extras.resourcing(g, seed)
    gen_extras.timesheets_and_budgets(g, seed)
    counts: dict[str, int] = {}
    for kind, _ in g.objs:
        counts[kind] = counts.get(kind, 0) + 1
    return GeneratedWorkspace(
        workspace_gid=g.ws, me_gid=g.me, objects=g.objs, files=g.files, truth=g.truth, counts=counts
    )


def populate(state: SandboxState, seed: int = 1, tasks: int = 400, **kwargs: Any) -> GeneratedWorkspace:
    """Generate a workspace into an empty state (gids continue from the state's counter)."""
    first = state.reserve_gids(0)
    ws = generate(seed=seed, tasks=tasks, first_gid=first, **kwargs)
    state.bulk_load(ws.objects, ws.files)
    state.set_meta("truth", ws.truth.to_json())
    state.set_meta("me", ws.me_gid)
    state.set_meta("currency", ws.truth.currency)
    return ws


def export_payloads(state: SandboxState, base_url: str = "http://127.0.0.1/api/1.0") -> dict[str, list[Obj]]:
    """Every object as the API's full record (as with all opt_fields), keyed by resource type.

    Tasks, entries, stories etc. are rendered exactly like GET /tasks/{gid} and friends would return them,
    so a benchmark can feed them to the sync's mapping code without HTTP.
    """
    from sandbox.render import Renderer, full_tree

    r = Renderer(state, base_url)
    out: dict[str, list[Obj]] = {}
    with state.lock:
        for kind, objects in state.objects.items():
            tree = full_tree(kind)
            out[kind] = [r.render(kind, o, tree) for o in objects.values()]
    return out
