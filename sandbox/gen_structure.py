"""Generator steps for the workspace's structure: the team, custom fields, tags, portfolios, projects.

Each step draws from the shared RNG in a fixed order (``Gen.rng``), so a seed always gives the same
workspace, gids included; the order of the steps is ``sandbox.generator.generate``'s.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sandbox import templates as T
from sandbox.state import Obj, iso

if TYPE_CHECKING:
    from sandbox.generator import Truth

FMT_KEYS = ("client", "feature", "component", "system", "platform", "channel", "topic", "month", "person")
TYPE_BIAS_MU = {"client build": 0.15, "internal tool": 0.25, "marketing": 0.0, "support": -0.05}


class Gids:
    """Consecutive gids from ``first``: objects are numbered in the order they are made."""

    def __init__(self, first: int) -> None:
        self.n = first

    def __call__(self) -> str:
        gid = str(self.n)
        self.n += 1
        return gid


@dataclass
class Gen:
    """What the generator steps share: the RNG, the gid counter, the output and the ground truth."""

    rng: random.Random
    gid: Gids
    truth: Truth
    as_of: date
    n_tasks: int
    entries_per_task: float
    anomaly_rate: float
    objs: list[tuple[str, Obj]] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    ws: str = ""
    people: list[str] = field(default_factory=list)
    me: str = ""
    history_days: int = 0
    start_of_history: date = date(2000, 1, 1)
    fields: dict[str, Obj] = field(default_factory=dict)  # by name
    tag_gids: dict[str, str] = field(default_factory=dict)
    portfolios: dict[str, Obj] = field(default_factory=dict)
    projects: list[Obj] = field(default_factory=list)  # with private "_type", "_client", ... keys
    top_level: list[tuple[str, Obj]] = field(default_factory=list)  # (gid, task) of non-subtasks
    fmt: dict[str, str] = field(default_factory=lambda: dict.fromkeys(FMT_KEYS, ""))

    def add(self, kind: str, obj: Obj) -> None:
        self.objs.append((kind, obj))


def at(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(d, time(hour, minute), tzinfo=UTC)


def business_days_after(d: date, n: int) -> date:
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def next_business_day(d: date) -> date:
    d += timedelta(days=1)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def team(g: Gen) -> None:
    """The workspace and its people: per-person estimation bias and spread, capacity, the leads."""
    rng, truth = g.rng, g.truth
    g.ws = g.gid()
    g.add(
        "workspace",
        {
            "gid": g.ws,
            "resource_type": "workspace",
            "name": "Northwind Studio",
            "email_domains": ["northwind.example"],
            "is_organization": True,
        },
    )
    total_hours = g.n_tasks * 9.0  # mean hours per task
    n_people = rng.randint(8, 14)
    g.history_days = int(min(1460, max(365, total_hours / (n_people * 5.0) * 7 / 5)))
    n_people = max(n_people, math.ceil(total_hours / (g.history_days * 5 / 7 * 5.0)))
    g.start_of_history = g.as_of - timedelta(days=g.history_days)
    used_names: set[str] = set()
    for i in range(n_people):
        while True:
            name = f"{rng.choice(T.FIRST_NAMES)} {rng.choice(T.LAST_NAMES)}"
            if name not in used_names:
                used_names.add(name)
                break
        u = g.gid()
        email = name.lower().replace(" ", ".") + "@northwind.example"
        g.add(
            "user",
            {
                "gid": u,
                "resource_type": "user",
                "name": name,
                "email": email,
                "photo": None,
                "workspaces": [g.ws],
            },
        )
        g.people.append(u)
        truth.person_names[u] = name
        truth.person_bias[u] = round(math.exp(rng.gauss(0.12, 0.2)), 4)
        truth.person_sigma[u] = round(rng.uniform(0.18, 0.45), 4)
        truth.capacity_hours[u] = 24.0 if i == n_people - 1 else (32.0 if rng.random() < 0.2 else 40.0)
    truth.leads = g.people[: max(2, n_people // 5)]
    g.me = truth.me = g.people[0]
    for t, mu in TYPE_BIAS_MU.items():
        truth.type_bias[t] = round(math.exp(mu), 4)


def custom_fields(g: Gen) -> None:
    """Project type, client, hourly rate (projects); estimated and actual hours, priority (tasks)."""

    def custom_field(name: str, subtype: str, **extra: Any) -> None:
        f: Obj = {
            "gid": g.gid(),
            "resource_type": "custom_field",
            "name": name,
            "resource_subtype": subtype,
            "description": "",
            "workspace": g.ws,
            "created_by": g.me,
            "is_global_to_workspace": False,
            "has_notifications_enabled": True,
            "is_formula_field": False,
            "is_value_read_only": False,
            "privacy_setting": "public_with_guests",
            **extra,
        }
        if "enum_options" in f:
            f["enum_options"] = [
                {"gid": g.gid(), "resource_type": "enum_option", "name": n, "enabled": True, "color": c}
                for n, c in f["enum_options"]
            ]
            g.truth.enum_options[name] = {o["name"]: o["gid"] for o in f["enum_options"]}
        g.add("custom_field", f)
        g.truth.field_gids[name] = f["gid"]
        g.fields[name] = f

    colours = ("blue", "purple", "orange", "green")
    custom_field(
        "Project Type",
        "enum",
        enum_options=[(T.PROJECT_TYPE_LABELS[t], c) for t, c in zip(T.PROJECT_TYPES, colours, strict=True)],
    )
    custom_field("Client", "text")
    money = {"custom_label": None, "custom_label_position": None}
    custom_field("Hourly Rate", "number", precision=2, format="currency", currency_code="EUR", **money)
    hours = {
        "format": "custom",
        "currency_code": None,
        "custom_label": "h",
        "custom_label_position": "suffix",
    }
    custom_field("Estimated Hours", "number", precision=1, **hours)
    custom_field("Actual Hours", "number", precision=1, **hours)
    custom_field(
        "Priority", "enum", enum_options=[("Low", "cool-gray"), ("Medium", "yellow"), ("High", "red")]
    )


def _setting(g: Gen, field_gid: str, parent: str, important: bool) -> None:
    g.add(
        "custom_field_setting",
        {
            "gid": g.gid(),
            "resource_type": "custom_field_setting",
            "custom_field": field_gid,
            "parent": parent,
            "is_important": important,
        },
    )


def tags_and_portfolios(g: Gen) -> None:
    created = iso(at(g.start_of_history, 9))
    for name in T.TAGS:
        tg = g.gid()
        g.tag_gids[name] = tg
        g.add(
            "tag",
            {
                "gid": tg,
                "resource_type": "tag",
                "name": name,
                "color": "light-blue",
                "notes": "",
                "created_at": created,
                "followers": [],
                "workspace": g.ws,
            },
        )
    leads = g.truth.leads
    for pname, owner in (("Client Work", leads[0]), ("Internal & Support", leads[-1])):
        pf: Obj = {
            "gid": g.gid(),
            "resource_type": "portfolio",
            "name": pname,
            "archived": False,
            "color": "dark-blue",
            "start_on": None,
            "due_on": None,
            "created_at": created,
            "created_by": owner,
            "owner": owner,
            "members": list(leads),
            "workspace": g.ws,
            "public": True,
            "privacy_setting": "members_only",
            "items": [],
            "custom_field_values": {},
        }
        g.portfolios[pname] = pf
        g.add("portfolio", pf)
        for name in ("Project Type", "Client", "Hourly Rate"):
            _setting(g, g.fields[name]["gid"], pf["gid"], True)


def projects(g: Gen) -> None:
    """Projects of four types (a client, a rate, sections, custom field settings), some at risk, and
    the empty "Retro Insights" project approved summaries go to."""
    rng, truth, as_of = g.rng, g.truth, g.as_of
    type_opt = truth.enum_options["Project Type"]
    n_projects = max(4, min(120, g.n_tasks // 45))
    used_pnames: set[str] = set()
    for i in range(n_projects):
        ptype = T.PROJECT_TYPES[i % 4] if i < 4 else rng.choices(T.PROJECT_TYPES, (0.4, 0.2, 0.2, 0.2))[0]
        client = rng.choice(T.CLIENTS) if ptype in ("client build", "support") or rng.random() < 0.5 else None
        if i == 0:
            client = "Acme"
        span = rng.randint(60, 300)
        # The first projects are active (due after as_of); the rest spread over the history.
        if i < max(2, n_projects // 4):
            start = as_of - timedelta(days=rng.randint(20, max(21, span - 20)))
        else:
            start = g.start_of_history + timedelta(days=rng.randint(0, max(1, g.history_days - 60)))
        due = start + timedelta(days=span)
        tmpl = rng.choice(T.PROJECT_NAMES[ptype])
        name = tmpl.format(
            client=client or rng.choice(T.CLIENTS), year=start.year, q=(start.month - 1) // 3 + 1
        )
        if ptype == "client build" and i == 0:
            name = "Website Redesign"
        base, k = name, 2
        while name in used_pnames:
            name, k = f"{base} ({k})", k + 1
        used_pnames.add(name)
        owner = truth.leads[i % len(truth.leads)]
        members = sorted({*rng.sample(g.people, k=min(len(g.people), rng.randint(3, 7))), owner}, key=int)
        pg = g.gid()
        cfv: dict[str, Any] = {g.fields["Project Type"]["gid"]: type_opt[T.PROJECT_TYPE_LABELS[ptype]]}
        if client:
            cfv[g.fields["Client"]["gid"]] = client
        if ptype == "client build" or (client and ptype != "internal tool"):
            cfv[g.fields["Hourly Rate"]["gid"]] = float(rng.choice((85, 95, 110, 120, 135, 150)))
        finished = due < as_of - timedelta(days=14)
        project: Obj = {
            "gid": pg,
            "resource_type": "project",
            "name": name,
            "archived": finished and rng.random() < 0.3,
            "color": rng.choice(("dark-blue", "dark-green", "dark-orange", "light-purple", "dark-teal")),
            "icon": "list",
            "created_at": iso(at(start - timedelta(days=3), 10)),
            "modified_at": iso(at(min(due, as_of), 12)),
            "default_view": "list",
            "due_on": due.isoformat(),
            "start_on": start.isoformat(),
            "notes": f"{T.PROJECT_TYPE_LABELS[ptype]} project" + (f" for {client}." if client else "."),
            "members": members,
            "followers": [owner],
            "public": True,
            "privacy_setting": "public_to_workspace",
            "completed": finished,
            "completed_at": iso(at(due, 16)) if finished else None,
            "completed_by": owner if finished else None,
            "owner": owner,
            "workspace": g.ws,
            "team": "1",
            "custom_field_values": cfv,
            "_type": ptype,
            "_client": client,
            "_members": members,
        }
        g.projects.append(project)
        truth.project_types[pg] = ptype
        pf = g.portfolios["Client Work" if ptype in ("client build", "marketing") else "Internal & Support"]
        pf["items"].append(pg)
        for fname in ("Estimated Hours", "Actual Hours", "Priority"):
            _setting(g, g.fields[fname]["gid"], pg, fname != "Priority")
        project["_sections"] = []
        for sname in T.SECTIONS[ptype]:
            sg = g.gid()
            project["_sections"].append(sg)
            g.add(
                "section",
                {
                    "gid": sg,
                    "resource_type": "section",
                    "name": sname,
                    "project": pg,
                    "created_at": project["created_at"],
                },
            )
    # at-risk: some active projects get an early due date while plenty of work is still open
    active = [p for p in g.projects if date.fromisoformat(p["due_on"]) > as_of]
    for p in active[: max(1, len(active) // 3)]:
        p["due_on"] = (as_of + timedelta(days=rng.randint(5, 15))).isoformat()
        p["_at_risk"] = True
        truth.at_risk_projects.append(p["gid"])
    for p in g.projects:
        g.add("project", {k: v for k, v in p.items() if not k.startswith("_")})
    lead = truth.leads[0]
    truth.retro_project = g.gid()
    g.add(
        "project",
        {
            "gid": truth.retro_project,
            "resource_type": "project",
            "name": "Retro Insights",
            "archived": False,
            "color": "light-teal",
            "icon": "list",
            "created_at": iso(at(g.start_of_history, 9)),
            "modified_at": iso(at(g.start_of_history, 9)),
            "default_view": "list",
            "due_on": None,
            "start_on": None,
            "notes": "Retrospective and weekly summaries posted by Effort Copilot after approval.",
            "members": [lead],
            "followers": [lead],
            "public": True,
            "privacy_setting": "public_to_workspace",
            "completed": False,
            "completed_at": None,
            "completed_by": None,
            "owner": lead,
            "workspace": g.ws,
            "team": "1",
            "custom_field_values": {},
        },
    )
