"""Seeded generator of realistic Asana workspaces, with the ground truth that made them.

`generate(seed, tasks, ...)` builds a team with per-person and per-project-type estimation bias (the
actual/estimate ratio is lognormal), projects of four types with their custom fields, tasks from templates,
daily native time entries, comments, estimate-change stories (scope creep), CSV timesheet attachments,
and seeded anomalies whose kind is recorded in `truth.anomalies`; then (from a separate RNG, gids after
everything else, so older seeds keep their workspace) out-of-office ranges and project allocations per
person (`truth.ooo`, `truth.allocations`). Everything derives from `seed` and
`as_of`, so the same arguments always give the same workspace (gids included).

`populate(state, ...)` loads the result into a SandboxState; `export_payloads(state)` renders every object
as the API's full record, so a benchmark can map them to records without HTTP.
"""

from __future__ import annotations

import csv
import io
import math
import random
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sandbox import templates as T
from sandbox.state import FIRST_GID, Obj, SandboxState, iso

DEFAULT_AS_OF = date(2026, 11, 27)
TYPE_BIAS_MU = {"client build": 0.15, "internal tool": 0.25, "marketing": 0.0, "support": -0.05}
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


class _Gids:
    def __init__(self, first: int) -> None:
        self.n = first

    def __call__(self) -> str:
        gid = str(self.n)
        self.n += 1
        return gid


def _business_days_after(d: date, n: int) -> date:
    while n > 0:
        d += timedelta(days=1)
        if d.weekday() < 5:
            n -= 1
    return d


def _next_business_day(d: date) -> date:
    d += timedelta(days=1)
    while d.weekday() >= 5:
        d += timedelta(days=1)
    return d


def _at(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(d, time(hour, minute), tzinfo=UTC)


def generate(
    seed: int = 1,
    tasks: int = 400,
    entries_per_task: float = 10.0,
    as_of: date = DEFAULT_AS_OF,
    first_gid: int = FIRST_GID,
    anomaly_rate: float = 1.0,
) -> GeneratedWorkspace:
    """Build a workspace (see module doc). `anomaly_rate` scales every anomaly probability (0 = clean)."""
    rng = random.Random(seed)
    gid = _Gids(first_gid)
    objs: list[tuple[str, Obj]] = []
    files: dict[str, bytes] = {}
    truth = Truth(as_of=as_of.isoformat())
    add = objs.append
    fmt = {
        "client": "",
        "feature": "",
        "component": "",
        "system": "",
        "platform": "",
        "channel": "",
        "topic": "",
        "month": "",
        "person": "",
        "year": "",
        "q": "",
    }

    # --- workspace and team -------------------------------------------------------------------
    ws = gid()
    add(
        (
            "workspace",
            {
                "gid": ws,
                "resource_type": "workspace",
                "name": "Northwind Studio",
                "email_domains": ["northwind.example"],
                "is_organization": True,
            },
        )
    )
    mean_task_hours = 9.0
    total_hours = tasks * mean_task_hours
    n_people = rng.randint(8, 14)
    history_days = int(min(1460, max(365, total_hours / (n_people * 5.0) * 7 / 5)))
    n_people = max(n_people, math.ceil(total_hours / (history_days * 5 / 7 * 5.0)))
    start_of_history = as_of - timedelta(days=history_days)
    people: list[str] = []
    used_names: set[str] = set()
    for i in range(n_people):
        while True:
            name = f"{rng.choice(T.FIRST_NAMES)} {rng.choice(T.LAST_NAMES)}"
            if name not in used_names:
                used_names.add(name)
                break
        u = gid()
        email = name.lower().replace(" ", ".") + "@northwind.example"
        add(
            (
                "user",
                {
                    "gid": u,
                    "resource_type": "user",
                    "name": name,
                    "email": email,
                    "photo": None,
                    "workspaces": [ws],
                },
            )
        )
        people.append(u)
        truth.person_names[u] = name
        truth.person_bias[u] = round(math.exp(rng.gauss(0.12, 0.2)), 4)
        truth.person_sigma[u] = round(rng.uniform(0.18, 0.45), 4)
        truth.capacity_hours[u] = 24.0 if i == n_people - 1 else (32.0 if rng.random() < 0.2 else 40.0)
    n_leads = max(2, n_people // 5)
    truth.leads = people[:n_leads]
    me = people[0]
    truth.me = me
    for t, mu in TYPE_BIAS_MU.items():
        truth.type_bias[t] = round(math.exp(mu), 4)

    # --- custom fields ------------------------------------------------------------------------
    def custom_field(name: str, subtype: str, **extra: Any) -> Obj:
        f: Obj = {
            "gid": gid(),
            "resource_type": "custom_field",
            "name": name,
            "resource_subtype": subtype,
            "description": "",
            "workspace": ws,
            "created_by": me,
            "is_global_to_workspace": False,
            "has_notifications_enabled": True,
            "is_formula_field": False,
            "is_value_read_only": False,
            "privacy_setting": "public_with_guests",
            **extra,
        }
        if "enum_options" in f:
            f["enum_options"] = [
                {"gid": gid(), "resource_type": "enum_option", "name": n, "enabled": True, "color": c}
                for n, c in f["enum_options"]
            ]
            truth.enum_options[name] = {o["name"]: o["gid"] for o in f["enum_options"]}
        add(("custom_field", f))
        truth.field_gids[name] = f["gid"]
        return f

    cf_type = custom_field(
        "Project Type",
        "enum",
        enum_options=[
            (T.PROJECT_TYPE_LABELS[t], c)
            for t, c in zip(T.PROJECT_TYPES, ("blue", "purple", "orange", "green"), strict=True)
        ],
    )
    cf_client = custom_field("Client", "text")
    cf_rate = custom_field(
        "Hourly Rate",
        "number",
        precision=2,
        format="currency",
        currency_code="EUR",
        custom_label=None,
        custom_label_position=None,
    )
    cf_est = custom_field(
        "Estimated Hours",
        "number",
        precision=1,
        format="custom",
        currency_code=None,
        custom_label="h",
        custom_label_position="suffix",
    )
    cf_act = custom_field(
        "Actual Hours",
        "number",
        precision=1,
        format="custom",
        currency_code=None,
        custom_label="h",
        custom_label_position="suffix",
    )
    cf_prio = custom_field(
        "Priority", "enum", enum_options=[("Low", "cool-gray"), ("Medium", "yellow"), ("High", "red")]
    )
    type_opt = truth.enum_options["Project Type"]
    prio_opts = list(truth.enum_options["Priority"].values())

    # --- tags, portfolios ---------------------------------------------------------------------
    tag_gids: dict[str, str] = {}
    for name in T.TAGS:
        tg = gid()
        tag_gids[name] = tg
        add(
            (
                "tag",
                {
                    "gid": tg,
                    "resource_type": "tag",
                    "name": name,
                    "color": "light-blue",
                    "notes": "",
                    "created_at": iso(_at(start_of_history, 9)),
                    "followers": [],
                    "workspace": ws,
                },
            )
        )
    portfolios: dict[str, Obj] = {}
    for pname, owner in (("Client Work", truth.leads[0]), ("Internal & Support", truth.leads[-1])):
        pf: Obj = {
            "gid": gid(),
            "resource_type": "portfolio",
            "name": pname,
            "archived": False,
            "color": "dark-blue",
            "start_on": None,
            "due_on": None,
            "created_at": iso(_at(start_of_history, 9)),
            "created_by": owner,
            "owner": owner,
            "members": list(truth.leads),
            "workspace": ws,
            "public": True,
            "privacy_setting": "members_only",
            "items": [],
            "custom_field_values": {},
        }
        portfolios[pname] = pf
        add(("portfolio", pf))
        for f in (cf_type, cf_client, cf_rate):
            add(
                (
                    "custom_field_setting",
                    {
                        "gid": gid(),
                        "resource_type": "custom_field_setting",
                        "custom_field": f["gid"],
                        "parent": pf["gid"],
                        "is_important": True,
                    },
                )
            )

    # --- projects -----------------------------------------------------------------------------
    n_projects = max(4, min(120, tasks // 45))
    projects: list[Obj] = []
    used_pnames: set[str] = set()
    type_weights = (0.4, 0.2, 0.2, 0.2)
    for i in range(n_projects):
        ptype = T.PROJECT_TYPES[i % 4] if i < 4 else rng.choices(T.PROJECT_TYPES, type_weights)[0]
        client = rng.choice(T.CLIENTS) if ptype in ("client build", "support") or rng.random() < 0.5 else None
        if i == 0:
            client = "Acme"
        span = rng.randint(60, 300)
        # The first projects are active (due after as_of); the rest spread over the history.
        if i < max(2, n_projects // 4):
            start = as_of - timedelta(days=rng.randint(20, max(21, span - 20)))
        else:
            start = start_of_history + timedelta(days=rng.randint(0, max(1, history_days - 60)))
        due = start + timedelta(days=span)
        year = start.year
        tmpl = rng.choice(T.PROJECT_NAMES[ptype])
        name = tmpl.format(client=client or rng.choice(T.CLIENTS), year=year, q=(start.month - 1) // 3 + 1)
        if ptype == "client build" and i == 0:
            name = "Website Redesign"
        base, k = name, 2
        while name in used_pnames:
            name, k = f"{base} ({k})", k + 1
        used_pnames.add(name)
        owner = truth.leads[i % len(truth.leads)]
        members = sorted(set([*rng.sample(people, k=min(len(people), rng.randint(3, 7))), owner]), key=int)
        pg = gid()
        cfv: dict[str, Any] = {cf_type["gid"]: type_opt[T.PROJECT_TYPE_LABELS[ptype]]}
        if client:
            cfv[cf_client["gid"]] = client
        if ptype == "client build" or (client and ptype != "internal tool"):
            cfv[cf_rate["gid"]] = float(rng.choice((85, 95, 110, 120, 135, 150)))
        finished = due < as_of - timedelta(days=14)
        project: Obj = {
            "gid": pg,
            "resource_type": "project",
            "name": name,
            "archived": finished and rng.random() < 0.3,
            "color": rng.choice(("dark-blue", "dark-green", "dark-orange", "light-purple", "dark-teal")),
            "icon": "list",
            "created_at": iso(_at(start - timedelta(days=3), 10)),
            "modified_at": iso(_at(min(due, as_of), 12)),
            "default_view": "list",
            "due_on": due.isoformat(),
            "start_on": start.isoformat(),
            "notes": f"{T.PROJECT_TYPE_LABELS[ptype]} project" + (f" for {client}." if client else "."),
            "members": members,
            "followers": [owner],
            "public": True,
            "privacy_setting": "public_to_workspace",
            "completed": finished,
            "completed_at": iso(_at(due, 16)) if finished else None,
            "completed_by": owner if finished else None,
            "owner": owner,
            "workspace": ws,
            "team": "1",
            "custom_field_values": cfv,
            "_type": ptype,
            "_client": client,
            "_members": members,
        }
        projects.append(project)
        truth.project_types[pg] = ptype
        pf = portfolios["Client Work" if ptype in ("client build", "marketing") else "Internal & Support"]
        pf["items"].append(pg)
        for f in (cf_est, cf_act, cf_prio):
            add(
                (
                    "custom_field_setting",
                    {
                        "gid": gid(),
                        "resource_type": "custom_field_setting",
                        "custom_field": f["gid"],
                        "parent": pg,
                        "is_important": f is not cf_prio,
                    },
                )
            )
        project["_sections"] = []
        for sname in T.SECTIONS[ptype]:
            sg = gid()
            project["_sections"].append(sg)
            add(
                (
                    "section",
                    {
                        "gid": sg,
                        "resource_type": "section",
                        "name": sname,
                        "project": pg,
                        "created_at": project["created_at"],
                    },
                )
            )
    # at-risk: some active projects get an early due date while plenty of work is still open
    active = [p for p in projects if date.fromisoformat(p["due_on"]) > as_of]
    for p in active[: max(1, len(active) // 3)]:
        p["due_on"] = (as_of + timedelta(days=rng.randint(5, 15))).isoformat()
        p["_at_risk"] = True
        truth.at_risk_projects.append(p["gid"])
    for p in projects:
        add(("project", {k: v for k, v in p.items() if not k.startswith("_")}))
    # Where approved retrospective summaries are posted (Settings.retro_project): no tasks of its own.
    retro_lead = truth.leads[0]
    truth.retro_project = gid()
    add(
        (
            "project",
            {
                "gid": truth.retro_project,
                "resource_type": "project",
                "name": "Retro Insights",
                "archived": False,
                "color": "light-teal",
                "icon": "list",
                "created_at": iso(_at(start_of_history, 9)),
                "modified_at": iso(_at(start_of_history, 9)),
                "default_view": "list",
                "due_on": None,
                "start_on": None,
                "notes": "Retrospective and weekly summaries posted by Effort Copilot after approval.",
                "members": [retro_lead],
                "followers": [retro_lead],
                "public": True,
                "privacy_setting": "public_to_workspace",
                "completed": False,
                "completed_at": None,
                "completed_by": None,
                "owner": retro_lead,
                "workspace": ws,
                "team": "1",
                "custom_field_values": {},
            },
        )
    )

    # --- tasks, entries, stories --------------------------------------------------------------
    load: dict[tuple[str, date], int] = {}
    weights = [2.0 if p.get("_at_risk") else 1.0 for p in projects]
    task_project = rng.choices(range(len(projects)), weights, k=tasks)
    rates = {
        k: v * anomaly_rate
        for k, v in (
            ("weekend", 0.005),
            ("duplicate", 0.004),
            ("implausible_duration", 0.0015),
            ("zero_duration", 0.001),
            ("future_date", 0.0015),
            ("missing_logs", 0.015),
            ("huge_variance", 0.015),
        )
    }
    entry_count = 0
    top_level: list[tuple[str, Obj]] = []
    for ti in range(tasks):
        p = projects[task_project[ti]]
        ptype = str(p["_type"])
        pstart = date.fromisoformat(p["start_on"])
        pdue = date.fromisoformat(p["due_on"])
        title_t, sec_i, tags, est_median = rng.choice(T.TASKS[ptype])
        fmt.update(
            client=p["_client"] or "the client",
            feature=rng.choice(T.FEATURES),
            component=rng.choice(T.COMPONENTS),
            system=rng.choice(T.SYSTEMS),
            platform=rng.choice(T.PLATFORMS),
            channel=rng.choice(T.CHANNELS),
            topic=rng.choice(T.TOPICS),
            month=rng.choice(T.MONTHS),
            person=truth.person_names[rng.choice(people)].split()[0],
        )
        name = title_t.format(**fmt)
        notes = rng.choice(T.DESCRIPTIONS[ptype]).format(**fmt)
        assignee = rng.choice(p["_members"])
        window_end = min(pdue, as_of)
        span_days = max(1, (window_end - pstart).days)
        created = pstart + timedelta(days=int(span_days * rng.random() ** 0.8))
        if created > as_of:
            created = as_of - timedelta(days=rng.randint(0, 10))
        t_gid = gid()
        # estimate and actual (hours): lognormal around the template's median, biased per person and type
        orig_est = max(0.5, round(est_median * math.exp(rng.gauss(0, 0.6)) * 2) / 2)
        ratio = truth.person_bias[assignee] * math.exp(
            TYPE_BIAS_MU[ptype] + rng.gauss(0, truth.person_sigma[assignee])
        )
        anomaly_task: str | None = None
        if rng.random() < rates["huge_variance"]:
            ratio *= rng.choice((3.5, 4.5, 0.15))
            anomaly_task = "huge_variance"
        est = orig_est
        creep: tuple[float, float] | None = None
        if rng.random() < 0.08:
            old = float(max(1, round(orig_est)))
            new = float(max(old + 1, round(old * rng.uniform(1.3, 2.0))))
            creep, est, orig_est = (old, new), new, old
            ratio *= rng.uniform(1.1, 1.5)  # scope creep: the work grew too
        actual_min = max(15, round(orig_est * ratio * 4) * 15)
        # entries: ~entries_per_task, each at most ~7h and at least 15 min
        # (x1.45: compensates for short tasks capped at 10-minute entries and open tasks cut at as_of,
        # so that the workspace-wide mean lands near entries_per_task)
        n = round(rng.gauss(entries_per_task * 1.45, entries_per_task * 0.4))
        n = max(math.ceil(actual_min / 420), min(max(1, n), max(1, actual_min // 10)))
        cuts = sorted(rng.random() for _ in range(n - 1))
        parts, prev, acc = [], 0.0, 0
        for c in [*cuts, 1.0]:
            m = max(5, round((c - prev) * actual_min / 5) * 5)
            parts.append(m)
            acc += m
            prev = c
        parts[-1] = max(5, parts[-1] + actual_min - acc)
        start_day = created if created.weekday() < 5 else _next_business_day(created)
        start_day = _business_days_after(start_day, rng.choice((0, 0, 1, 2, 3)))
        day = start_day
        planned: list[tuple[date, int]] = []
        for m in parts:
            while load.get((assignee, day), 0) > 0 and load.get((assignee, day), 0) + m > 600:
                day = _next_business_day(day)
            planned.append((day, m))
            load[(assignee, day)] = load.get((assignee, day), 0) + m
            if rng.random() < 0.55:
                day = _business_days_after(day, rng.choice((1, 1, 1, 2, 3)))
        end_day = planned[-1][0]
        completed = end_day < as_of and not (p.get("_at_risk") and rng.random() < 0.5)
        not_started = False
        if not completed:
            planned = [(d, m) for d, m in planned if d <= as_of]
            if p.get("_at_risk"):  # lots of open work left
                not_started = rng.random() < 0.4
                if not_started:
                    planned = []
        if completed and rng.random() < rates["missing_logs"]:
            anomaly_task = "missing_logs"
        clean_minutes = sum(m for _, m in planned)
        completed_at = _at(end_day, rng.randint(15, 18), rng.randint(0, 59)) if completed else None
        sec = p["_sections"][min(sec_i, len(p["_sections"]) - 1)]
        if not completed and sec_i == len(p["_sections"]) - 1:
            sec = p["_sections"][max(0, sec_i - 1)]
        cfv = {}
        if rng.random() > 0.1 or creep:  # ~10% of tasks have no human estimate
            cfv[cf_est["gid"]] = float(est)
        if completed and (rng.random() < 0.7 or anomaly_task == "missing_logs"):
            cfv[cf_act["gid"]] = round(clean_minutes / 60, 1) if clean_minutes else round(actual_min / 60, 1)
        if rng.random() < 0.6:
            cfv[cf_prio["gid"]] = rng.choice(prio_opts)
        due_on: str | None = None
        if not completed:
            due_on = max(as_of + timedelta(days=rng.randint(-3, 30)), created + timedelta(days=3)).isoformat()
            if p.get("_at_risk"):
                due_on = min(date.fromisoformat(due_on), pdue).isoformat()
        elif rng.random() < 0.6:
            due_on = (end_day + timedelta(days=rng.randint(-5, 7))).isoformat()
        last_change = completed_at or _at(created, 10)
        task: Obj = {
            "gid": t_gid,
            "resource_type": "task",
            "name": name,
            "resource_subtype": "default_task",
            "notes": notes,
            "completed": completed,
            "completed_at": iso(completed_at) if completed_at else None,
            "completed_by": assignee if completed else None,
            "assignee": assignee,
            "created_at": iso(_at(created, rng.randint(8, 11), rng.randint(0, 59))),
            "created_by": p["owner"],
            "modified_at": "",
            "due_on": due_on,
            "due_at": None,
            "start_on": None if not_started else start_day.isoformat(),
            "start_at": None,
            "projects": [p["gid"]],
            "memberships": [{"project": p["gid"], "section": sec}],
            "parent": None,
            "tags": [tag_gids[t] for t in tags] + ([tag_gids["urgent"]] if rng.random() < 0.05 else []),
            "workspace": ws,
            "followers": [assignee],
            "custom_field_values": cfv,
        }
        task["tags"] = list(dict.fromkeys(task["tags"]))
        if anomaly_task:
            truth.anomalies[t_gid] = anomaly_task
        # subtasks: about 5% of tasks become subtasks of the previous top-level task in the same project
        if top_level and rng.random() < 0.05:
            parent_gid, parent = top_level[-1]
            if parent["projects"] == task["projects"]:
                task["parent"] = parent_gid
        if task["parent"] is None:
            top_level.append((t_gid, task))
        add(("task", task))
        if creep:
            truth.scope_creep[t_gid] = [creep[0], creep[1]]
        # time entries
        entries_here: list[Obj] = []
        if anomaly_task != "missing_logs":
            billable_p = {
                "client build": 0.92,
                "marketing": 0.6 if p["_client"] else 0.0,
                "internal tool": 0.0,
                "support": 0.5,
            }[ptype]
            for d, m in planned:
                created_at = _at(d, rng.randint(16, 19), rng.randint(0, 59))
                r = rng.random()
                billable = (
                    "billable"
                    if r < billable_p
                    else ("nonBillable" if ptype != "support" else "notApplicable")
                )
                e: Obj = {
                    "gid": gid(),
                    "resource_type": "time_tracking_entry",
                    "duration_minutes": m,
                    "entered_on": d.isoformat(),
                    "attributable_to": p["gid"],
                    "created_by": assignee,
                    "categories": [],
                    "task": t_gid,
                    "created_at": iso(created_at),
                    "approval_status": "APPROVED" if d < as_of - timedelta(days=14) else "SUBMITTED",
                    "billable_status": billable,
                    "description": rng.choice(T.ENTRY_NOTES),
                }
                kind = _entry_anomaly(rng, rates)
                if kind == "weekend":
                    wd = d + timedelta(days=5 - d.weekday() + rng.randint(0, 1))
                    if wd > as_of:
                        wd -= timedelta(days=7)
                    e["entered_on"] = wd.isoformat()
                elif kind == "implausible_duration":
                    e["duration_minutes"] = rng.randint(1000, 1400)
                elif kind == "zero_duration":
                    e["duration_minutes"] = 0
                elif kind == "future_date":
                    e["entered_on"] = (as_of + timedelta(days=rng.randint(2, 30))).isoformat()
                if kind and kind != "duplicate":
                    truth.anomalies[e["gid"]] = kind
                entries_here.append(e)
                if kind == "duplicate":
                    dup = dict(
                        e, gid=gid(), created_at=iso(created_at + timedelta(minutes=rng.randint(1, 9)))
                    )
                    truth.anomalies[dup["gid"]] = "duplicate"
                    entries_here.append(dup)
                last_change = max(last_change, created_at)
        for e in entries_here:
            add(("time_tracking_entry", e))
        entry_count += len(entries_here)
        # stories: estimate change (scope creep) and comments
        if creep:
            when = _at(_business_days_after(start_day, rng.randint(1, 4)), 11, rng.randint(0, 59))
            add(
                (
                    "story",
                    {
                        "gid": gid(),
                        "resource_type": "story",
                        "created_at": iso(when),
                        "created_by": p["owner"],
                        "resource_subtype": "number_custom_field_changed",
                        "type": "system",
                        "text": f'changed Estimated Hours from "{creep[0]:g}" to "{creep[1]:g}"',
                        "target": t_gid,
                        "source": "web",
                        "custom_field": cf_est["gid"],
                        "old_number_value": creep[0],
                        "new_number_value": creep[1],
                    },
                )
            )
            last_change = max(last_change, when)
        for _ in range(rng.choices((0, 1, 2, 3), (0.7, 0.18, 0.08, 0.04))[0]):
            fmt["person"] = truth.person_names[rng.choice(people)].split()[0]
            text = rng.choice(T.COMMENTS).format(**fmt)
            when = _at(start_day + timedelta(days=rng.randint(0, 10)), rng.randint(9, 17), rng.randint(0, 59))
            author = rng.choice((assignee, assignee, p["owner"]))
            add(
                (
                    "story",
                    {
                        "gid": gid(),
                        "resource_type": "story",
                        "created_at": iso(when),
                        "created_by": author,
                        "resource_subtype": "comment_added",
                        "type": "comment",
                        "text": text,
                        "html_text": f"<body>{text}</body>",
                        "is_pinned": False,
                        "target": t_gid,
                        "source": "web",
                    },
                )
            )
            last_change = max(last_change, when)
        task["modified_at"] = iso(min(last_change, _at(as_of, 18)))

    # hostile text in a few tasks (prompt injection, HTML): the product must treat it as data
    for i, (t_gid, task) in enumerate(top_level[3 : 3 + len(T.HOSTILE_TEXTS)]):
        task["notes"] = task["notes"] + "\n\n" + T.HOSTILE_TEXTS[i]
        truth.hostile_tasks.append(t_gid)

    # CSV timesheet attachments: a person's month on a project, consistent with their entries
    entries_by_key: dict[tuple[str, str, str], list[Obj]] = {}
    task_by_gid = {o["gid"]: o for k, o in objs if k == "task"}
    for kind, o in objs:
        if kind == "time_tracking_entry":
            entries_by_key.setdefault(
                (o["created_by"], o["attributable_to"], o["entered_on"][:7]), []
            ).append(o)
    keys = sorted(k for k, v in entries_by_key.items() if len(v) >= 5)
    for key in rng.sample(keys, k=min(len(keys), max(3, tasks // 150))):
        person, proj, month = key
        rows = sorted(entries_by_key[key], key=lambda e: (e["entered_on"], int(e["gid"])))
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["date", "person", "project", "task", "hours", "billable", "notes"])
        pname = next(p["name"] for p in projects if p["gid"] == proj)
        for e in rows:
            w.writerow(
                [
                    e["entered_on"],
                    truth.person_names[person],
                    pname,
                    task_by_gid[e["task"]]["name"],
                    f"{e['duration_minutes'] / 60:.2f}",
                    e["billable_status"] == "billable",
                    e["description"],
                ]
            )
        content = buf.getvalue().encode()
        host_task = rows[-1]["task"]
        a_gid = gid()
        fname = f"timesheet_{month}_{truth.person_names[person].split()[0].lower()}.csv"
        add(
            (
                "attachment",
                {
                    "gid": a_gid,
                    "resource_type": "attachment",
                    "name": fname,
                    "resource_subtype": "asana",
                    "created_at": iso(_at(date.fromisoformat(rows[-1]["entered_on"]), 18)),
                    "host": "asana",
                    "parent": host_task,
                    "size": len(content),
                },
            )
        )
        files[a_gid] = content
        truth.timesheet_attachments.append(a_gid)

    _resourcing(seed, objs, gid, people, projects, truth, as_of)

    counts: dict[str, int] = {}
    for kind, _ in objs:
        counts[kind] = counts.get(kind, 0) + 1
    return GeneratedWorkspace(
        workspace_gid=ws, me_gid=me, objects=objs, files=files, truth=truth, counts=counts
    )


def _resourcing(
    seed: int,
    objs: list[tuple[str, Obj]],
    gid: _Gids,
    people: list[str],
    projects: list[Obj],
    truth: Truth,
    as_of: date,
) -> None:
    """Out-of-office ranges and project allocations per person, recorded in ``truth``.

    A separate RNG and gids numbered after every other object: workspaces of existing seeds keep their
    tasks, entries and gids. Past OOO ranges avoid days the person logged time (the history stays
    consistent); each person has an upcoming one with probability 0.6, inside the next eight weeks.
    Allocations: one or two per person on active projects they have open tasks in, hours per week or a
    percentage of capacity, from up to four weeks ago to two to ten weeks ahead.
    """
    rng = random.Random(f"resourcing:{seed}")
    add = objs.append
    logged: dict[str, set[str]] = {}
    open_projects: dict[str, set[str]] = {}
    for kind, o in objs:
        if kind == "time_tracking_entry":
            logged.setdefault(o["created_by"], set()).add(o["entered_on"])
        elif kind == "task" and not o["completed"] and o.get("assignee"):
            open_projects.setdefault(o["assignee"], set()).update(o["projects"])
    active = {p["gid"] for p in projects if date.fromisoformat(p["due_on"]) > as_of}

    def ooo(person: str, start: date, days: int) -> None:
        end = start + timedelta(days=days - 1)
        add(
            (
                "ooo_entry",
                {
                    "gid": gid(),
                    "resource_type": "ooo_entry",
                    "start_date": start.isoformat(),
                    "end_date": end.isoformat(),
                    "user": person,
                    "created_by": person,
                    "_workspace": objs[0][1]["gid"],
                },
            )
        )
        truth.ooo.setdefault(person, []).append([start.isoformat(), end.isoformat()])

    for person in people:
        days_logged = logged.get(person, set())
        for _ in range(rng.randint(1, 3)):  # past: a free Monday-to-Friday stretch in the last year
            for _attempt in range(20):
                monday = as_of - timedelta(days=as_of.weekday() + 7 * rng.randint(2, 52))
                length = rng.choice((1, 2, 3, 5))
                span = [monday + timedelta(days=i) for i in range(length)]
                if not any(d.isoformat() in days_logged for d in span):
                    ooo(person, monday, length)
                    break
        if rng.random() < 0.6:  # upcoming
            start = as_of + timedelta(days=rng.randint(3, 49))
            while start.weekday() >= 5:
                start += timedelta(days=1)
            ooo(person, start, rng.choice((1, 2, 3, 5, 7)))
        candidates = sorted(open_projects.get(person, set()) & active, key=int)
        for project in rng.sample(candidates, k=min(len(candidates), rng.randint(1, 2))):
            start = as_of - timedelta(days=rng.randint(0, 28))
            end = as_of + timedelta(days=rng.randint(14, 70))
            if rng.random() < 0.5:
                effort: Obj = {"type": "hours", "value": float(rng.choice((8, 12, 16, 20, 24)))}
            else:
                effort = {"type": "percent", "value": float(rng.choice((25, 40, 50, 60, 75)))}
            a_gid = gid()
            add(
                (
                    "allocation",
                    {
                        "gid": a_gid,
                        "resource_type": "allocation",
                        "start_date": start.isoformat(),
                        "end_date": end.isoformat(),
                        "effort": effort,
                        "assignee": person,
                        "parent": project,
                        "created_by": truth.leads[0] if truth.leads else person,
                        "resource_subtype": "project_allocation",
                    },
                )
            )
            truth.allocations[a_gid] = {
                "person": person,
                "project": project,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "type": effort["type"],
                "value": effort["value"],
            }


def _entry_anomaly(rng: random.Random, rates: dict[str, float]) -> str | None:
    r = rng.random()
    for kind in ("weekend", "duplicate", "implausible_duration", "zero_duration", "future_date"):
        if r < rates[kind]:
            return kind
        r -= rates[kind]
    return None


def populate(state: SandboxState, seed: int = 1, tasks: int = 400, **kwargs: Any) -> GeneratedWorkspace:
    """Generate a workspace into an empty state (gids continue from the state's counter)."""
    first = state.reserve_gids(0)
    ws = generate(seed=seed, tasks=tasks, first_gid=first, **kwargs)
    state.bulk_load(ws.objects, ws.files)
    state.set_meta("truth", ws.truth.to_json())
    state.set_meta("me", ws.me_gid)
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
