"""Generator steps drawn from their own RNGs after everything else: resourcing (out-of-office ranges,
project allocations) and Timesheets & Budgets (time-tracking categories, placeholders, rates, budgets,
weekly timesheet approvals).

Separate RNGs and gids numbered after every other object: the tasks, entries and gids of existing seeds
stay as they were. The categories and approval statuses they give entries change only those fields.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sandbox.gen_structure import Gen, at
from sandbox.state import Obj, iso

CURRENCY = "EUR"  # the domain's currency (Asana sets it per domain): rates and cost budgets use it
CATEGORIES = ("Development", "Design", "Meetings", "Testing", "Project management", "Support")
CATEGORY_COLOURS = ("blue", "purple", "yellow", "green", "orange", "red")
# How each project type's time splits over the categories (same order as CATEGORIES).
CATEGORY_MIX = {
    "client build": (0.55, 0.15, 0.1, 0.12, 0.08, 0.0),
    "internal tool": (0.6, 0.05, 0.1, 0.15, 0.1, 0.0),
    "marketing": (0.05, 0.5, 0.25, 0.0, 0.2, 0.0),
    "support": (0.15, 0.0, 0.1, 0.05, 0.05, 0.65),
}
PLACEHOLDERS = ("Senior developer (to hire)", "Designer (to hire)")


def resourcing(g: Gen, seed: int) -> None:
    """Out-of-office ranges and project allocations per person, recorded in ``truth``.

    Past OOO ranges avoid days the person logged time (the history stays consistent); each person has
    an upcoming one with probability 0.6, inside the next eight weeks. Allocations: one or two per person
    on active projects they have open tasks in, hours per week or a percentage of capacity, from up to
    four weeks ago to two to ten weeks ahead.
    """
    rng = random.Random(f"resourcing:{seed}")
    truth, as_of = g.truth, g.as_of
    logged: dict[str, set[str]] = {}
    open_projects: dict[str, set[str]] = {}
    for kind, o in g.objs:
        if kind == "time_tracking_entry":
            logged.setdefault(o["created_by"], set()).add(o["entered_on"])
        elif kind == "task" and not o["completed"] and o.get("assignee"):
            open_projects.setdefault(o["assignee"], set()).update(o["projects"])
    active = {p["gid"] for p in g.projects if date.fromisoformat(p["due_on"]) > as_of}

    def ooo(person: str, start: date, days: int) -> None:
        end = start + timedelta(days=days - 1)
        g.add(
            "ooo_entry",
            {
                "gid": g.gid(),
                "resource_type": "ooo_entry",
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "user": person,
                "created_by": person,
                "_workspace": g.ws,
            },
        )
        truth.ooo.setdefault(person, []).append([start.isoformat(), end.isoformat()])

    for person in g.people:
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
            a_gid = g.gid()
            g.add(
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
            truth.allocations[a_gid] = {
                "person": person,
                "project": project,
                "start": start.isoformat(),
                "end": end.isoformat(),
                "type": effort["type"],
                "value": effort["value"],
            }


def timesheets_and_budgets(g: Gen, seed: int) -> None:
    """Categories (one archived) on ~85% of entries, placeholders, a rate for every member of every
    project with a client (and for the placeholders), budgets on most client projects and some internal
    ones, and a weekly timesheet approval per person-week with entries: approved when the week ended
    more than two weeks before ``as_of`` (about 2% rejected), submitted after, draft for the current
    week; each entry takes its week's status."""
    rng = random.Random(f"budgets:{seed}")
    as_of = g.as_of
    categories: list[str] = []
    for name, colour in zip(CATEGORIES, CATEGORY_COLOURS, strict=True):
        gid = g.gid()
        categories.append(gid)
        g.add(
            "time_tracking_category",
            {"gid": gid, "resource_type": "time_tracking_category", "name": name, "color": colour,
             "is_archived": False, "_workspace": g.ws},
        )  # fmt: skip
    legacy = g.gid()
    g.add(
        "time_tracking_category",
        {"gid": legacy, "resource_type": "time_tracking_category", "name": "Legacy billing code",
         "color": "cool-gray", "is_archived": True, "_workspace": g.ws},
    )  # fmt: skip
    placeholders = []
    for name in PLACEHOLDERS:
        gid = g.gid()
        placeholders.append(gid)
        g.add("placeholder", {"gid": gid, "resource_type": "placeholder", "name": name})
    project_type = {p["gid"]: str(p["_type"]) for p in g.projects}
    entries = [o for k, o in g.objs if k == "time_tracking_entry"]
    previous: Obj | None = None
    for e in entries:
        if rng.random() < 0.85:
            mix = CATEGORY_MIX[project_type.get(e["attributable_to"], "client build")]
            e["categories"] = [rng.choices(categories, mix)[0]]
        if g.truth.anomalies.get(e["gid"]) == "duplicate" and previous is not None:
            e["categories"] = list(previous["categories"])  # a second submission copies every field
        previous = e
    rate_field = g.fields["Hourly Rate"]["gid"]
    estimate_field = g.fields["Estimated Hours"]["gid"]
    estimates: dict[str, float] = {}
    for k, o in g.objs:
        if k == "task" and o["projects"]:
            estimates[o["projects"][0]] = estimates.get(o["projects"][0], 0.0) + float(
                o["custom_field_values"].get(estimate_field) or 0.0
            )
    for p in g.projects:
        base = p["custom_field_values"].get(rate_field)
        if p["_client"] or base:
            base = float(base or rng.choice((90, 100, 115)))
            for person in p["_members"]:
                _rate(g, p["gid"], person, round(base * rng.uniform(0.8, 1.3) / 5) * 5)
            for ph in placeholders:
                _rate(g, p["gid"], ph, round(base * rng.uniform(0.9, 1.2) / 5) * 5)
        planned = estimates.get(p["gid"], 0.0)
        if not planned or rng.random() < (0.3 if p["_client"] else 0.7):
            continue
        cost = bool(p["_client"]) and rng.random() < 0.4
        total = planned * rng.uniform(0.9, 1.4) * (float(base or 100) if cost else 60.0)
        g.add(
            "budget",
            {
                "gid": g.gid(),
                "resource_type": "budget",
                "budget_type": "cost" if cost else "time",
                "parent": p["gid"],
                "total": {"enabled": True, "value": round(total, -1)},
                "actual": {"billable_status_filter": "billable" if p["_client"] else "any"},
                "estimate": {"enabled": True, "source": "tasks", "billable_status_filter": "any"},
            },
        )
    _timesheets(g, rng, entries, as_of)


def _rate(g: Gen, project: str, resource: str, rate: float) -> None:
    g.add(
        "rate",
        {
            "gid": g.gid(),
            "resource_type": "rate",
            "parent": project,
            "resource": resource,
            "rate": float(rate),
            "currency_code": CURRENCY,
            "created_by": g.me,
        },
    )


def _timesheets(g: Gen, rng: random.Random, entries: list[Obj], as_of: date) -> None:
    weeks: dict[tuple[str, date], list[Obj]] = {}
    for e in entries:
        day = date.fromisoformat(e["entered_on"])
        weeks.setdefault((e["created_by"], day - timedelta(days=day.weekday())), []).append(e)
    this_week = as_of - timedelta(days=as_of.weekday())
    for (person, monday), items in sorted(weeks.items(), key=lambda kv: (kv[0][1], int(kv[0][0]))):
        sunday = monday + timedelta(days=6)
        if monday > this_week:
            continue  # future-dated entries: no timesheet yet (they keep the status they were given)
        if monday == this_week:
            status = "DRAFT"
        elif sunday < as_of - timedelta(days=14):
            status = "REJECTED" if rng.random() < 0.02 else "APPROVED"
        else:
            status = "SUBMITTED"
        g.add(
            "timesheet_approval_status",
            {
                "gid": g.gid(),
                "resource_type": "timesheet_approval_status",
                "user": person,
                "workspace": g.ws,
                "start_date": monday.isoformat(),
                "end_date": sunday.isoformat(),
                "approval_status": status,
                "created_at": iso(at(monday, 8)),
            },
        )
        for e in items:
            e["approval_status"] = status
