"""Generator steps for the work: tasks (estimate vs actual biased per person and project type), their
daily time entries with seeded anomalies, estimate-change stories and comments, hostile text, and CSV
timesheet attachments consistent with the entries.

The draws happen in a fixed order per task (``tasks`` -> ``_task`` -> ``_entries`` -> ``_stories``), so
a seed always gives the same workspace.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sandbox import templates as T
from sandbox.gen_structure import TYPE_BIAS_MU, Gen, at, business_days_after, next_business_day
from sandbox.state import Obj, iso

ENTRY_ANOMALIES = ("weekend", "duplicate", "implausible_duration", "zero_duration", "future_date")
BASE_RATES = {
    "weekend": 0.005,
    "duplicate": 0.004,
    "implausible_duration": 0.0015,
    "zero_duration": 0.001,
    "future_date": 0.0015,
    "missing_logs": 0.015,
    "huge_variance": 0.015,
}
MERGE_BELOW = 30  # minutes: a shorter same-day piece of a task joins that day's entry for it
BILLABLE_SHARE = {"client build": 0.92, "marketing": 0.6, "internal tool": 0.0, "support": 0.5}


@dataclass
class _Plan:
    """One task's plan: the task object, its time entries' days and minutes, what is anomalous."""

    task: Obj
    project: Obj
    assignee: str
    planned: list[tuple[date, int]]
    start_day: date
    anomaly: str | None
    creep: tuple[float, float] | None


def tasks(g: Gen) -> None:
    rates = {k: v * g.anomaly_rate for k, v in BASE_RATES.items()}
    load: dict[tuple[str, date], int] = {}
    weights = [2.0 if p.get("_at_risk") else 1.0 for p in g.projects]
    task_project = g.rng.choices(range(len(g.projects)), weights, k=g.n_tasks)
    for ti in range(g.n_tasks):
        plan = _task(g, g.projects[task_project[ti]], load, rates)
        last_change = _entries(g, plan, rates)
        last_change = _stories(g, plan, last_change)
        plan.task["modified_at"] = iso(min(last_change, at(g.as_of, 18)))


def _task(g: Gen, p: Obj, load: dict[tuple[str, date], int], rates: dict[str, float]) -> _Plan:
    rng, truth, as_of = g.rng, g.truth, g.as_of
    ptype = str(p["_type"])
    pstart, pdue = date.fromisoformat(p["start_on"]), date.fromisoformat(p["due_on"])
    title_t, sec_i, tags, est_median = rng.choice(T.TASKS[ptype])
    g.fmt.update(
        client=p["_client"] or "the client",
        feature=rng.choice(T.FEATURES),
        component=rng.choice(T.COMPONENTS),
        system=rng.choice(T.SYSTEMS),
        platform=rng.choice(T.PLATFORMS),
        channel=rng.choice(T.CHANNELS),
        topic=rng.choice(T.TOPICS),
        month=rng.choice(T.MONTHS),
        person=truth.person_names[rng.choice(g.people)].split()[0],
    )
    name = title_t.format(**g.fmt)
    notes = rng.choice(T.DESCRIPTIONS[ptype]).format(**g.fmt)
    assignee = rng.choice(p["_members"])
    span_days = max(1, (min(pdue, as_of) - pstart).days)
    created = pstart + timedelta(days=int(span_days * rng.random() ** 0.8))
    if created > as_of:
        created = as_of - timedelta(days=rng.randint(0, 10))
    t_gid = g.gid()
    # estimate and actual (hours): lognormal around the template's median, biased per person and type
    orig_est = max(0.5, round(est_median * math.exp(rng.gauss(0, 0.6)) * 2) / 2)
    ratio = truth.person_bias[assignee] * math.exp(
        TYPE_BIAS_MU[ptype] + rng.gauss(0, truth.person_sigma[assignee])
    )
    anomaly: str | None = None
    if rng.random() < rates["huge_variance"]:
        ratio *= rng.choice((3.5, 4.5, 0.15))
        anomaly = "huge_variance"
    est = orig_est
    creep: tuple[float, float] | None = None
    if rng.random() < 0.08:
        old = float(max(1, round(orig_est)))
        new = float(max(old + 1, round(old * rng.uniform(1.3, 2.0))))
        creep, est, orig_est = (old, new), new, old
        ratio *= rng.uniform(1.1, 1.5)  # scope creep: the work grew too
    actual_min = max(15, round(orig_est * ratio * 4) * 15)
    # sessions: ~entries_per_task, each at most ~7h and at least 15 min
    # (x1.45: compensates for short tasks capped at 10-minute entries and open tasks cut at as_of,
    # so that the workspace-wide mean lands near entries_per_task; short same-day pieces are then
    # logged as one entry, see _entries, which leaves about 0.7 entries per session)
    n = round(rng.gauss(g.entries_per_task * 1.45, g.entries_per_task * 0.4))
    n = max(math.ceil(actual_min / 420), min(max(1, n), max(1, actual_min // 10)))
    cuts = sorted(rng.random() for _ in range(n - 1))
    parts, prev, acc = [], 0.0, 0
    for c in [*cuts, 1.0]:
        m = max(5, round((c - prev) * actual_min / 5) * 5)
        parts.append(m)
        acc += m
        prev = c
    parts[-1] = max(5, parts[-1] + actual_min - acc)
    start_day = created if created.weekday() < 5 else next_business_day(created)
    start_day = business_days_after(start_day, rng.choice((0, 0, 1, 2, 3)))
    day = start_day
    planned: list[tuple[date, int]] = []
    for m in parts:
        while load.get((assignee, day), 0) > 0 and load.get((assignee, day), 0) + m > 600:
            day = next_business_day(day)
        planned.append((day, m))
        load[(assignee, day)] = load.get((assignee, day), 0) + m
        if rng.random() < 0.55:
            day = business_days_after(day, rng.choice((1, 1, 1, 2, 3)))
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
        anomaly = "missing_logs"
    clean_minutes = sum(m for _, m in planned)
    completed_at = at(end_day, rng.randint(15, 18), rng.randint(0, 59)) if completed else None
    sec = p["_sections"][min(sec_i, len(p["_sections"]) - 1)]
    if not completed and sec_i == len(p["_sections"]) - 1:
        sec = p["_sections"][max(0, sec_i - 1)]
    cfv: dict[str, Any] = {}
    if rng.random() > 0.1 or creep:  # ~10% of tasks have no human estimate
        cfv[g.fields["Estimated Hours"]["gid"]] = float(est)
    if completed and (rng.random() < 0.7 or anomaly == "missing_logs"):
        hours = round(clean_minutes / 60, 1) if clean_minutes else round(actual_min / 60, 1)
        cfv[g.fields["Actual Hours"]["gid"]] = hours
    if rng.random() < 0.6:
        cfv[g.fields["Priority"]["gid"]] = rng.choice(list(truth.enum_options["Priority"].values()))
    due_on: str | None = None
    if not completed:
        due_on = max(as_of + timedelta(days=rng.randint(-3, 30)), created + timedelta(days=3)).isoformat()
        if p.get("_at_risk"):
            due_on = min(date.fromisoformat(due_on), pdue).isoformat()
    elif rng.random() < 0.6:
        due_on = (end_day + timedelta(days=rng.randint(-5, 7))).isoformat()
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
        "created_at": iso(at(created, rng.randint(8, 11), rng.randint(0, 59))),
        "created_by": p["owner"],
        "modified_at": "",
        "due_on": due_on,
        "due_at": None,
        "start_on": None if not_started else start_day.isoformat(),
        "start_at": None,
        "projects": [p["gid"]],
        "memberships": [{"project": p["gid"], "section": sec}],
        "parent": None,
        "tags": [g.tag_gids[t] for t in tags] + ([g.tag_gids["urgent"]] if rng.random() < 0.05 else []),
        "workspace": g.ws,
        "followers": [assignee],
        "custom_field_values": cfv,
        "_completed_at": completed_at,
    }
    task["tags"] = list(dict.fromkeys(task["tags"]))
    if anomaly:
        truth.anomalies[t_gid] = anomaly
    # subtasks: about 5% of tasks become subtasks of the previous top-level task in the same project
    if g.top_level and rng.random() < 0.05:
        parent_gid, parent = g.top_level[-1]
        if parent["projects"] == task["projects"]:
            task["parent"] = parent_gid
    if task["parent"] is None:
        g.top_level.append((t_gid, task))
    if creep:
        truth.scope_creep[t_gid] = [creep[0], creep[1]]
    return _Plan(task, p, assignee, planned, start_day, anomaly, creep)


def _entries(g: Gen, plan: _Plan, rates: dict[str, float]) -> datetime:
    """The task's time entries (billable status by project type, a note, seeded anomalies); returns the
    task's last change so far."""
    rng, p, task = g.rng, plan.project, plan.task
    completed_at = task.pop("_completed_at")
    g.add("task", task)
    last_change = completed_at or at(date.fromisoformat(task["created_at"][:10]), 10)
    entries_here: list[Obj] = []
    if plan.anomaly != "missing_logs":
        ptype = str(p["_type"])
        billable_p = BILLABLE_SHARE[ptype] if ptype != "marketing" or p["_client"] else 0.0
        for d, m in plan.planned:
            created_at = at(d, rng.randint(16, 19), rng.randint(0, 59))
            r = rng.random()
            billable = (
                "billable" if r < billable_p else ("nonBillable" if ptype != "support" else "notApplicable")
            )
            e: Obj = {
                "gid": g.gid(),
                "resource_type": "time_tracking_entry",
                "duration_minutes": m,
                "entered_on": d.isoformat(),
                "attributable_to": p["gid"],
                "created_by": plan.assignee,
                "categories": [],
                "task": task["gid"],
                "created_at": iso(created_at),
                "approval_status": "APPROVED" if d < g.as_of - timedelta(days=14) else "SUBMITTED",
                "billable_status": billable,
                "description": rng.choice(T.ENTRY_NOTES),
            }
            kind = _entry_anomaly(g, rates)
            if kind == "weekend":
                wd = d + timedelta(days=5 - d.weekday() + rng.randint(0, 1))
                if wd > g.as_of:
                    wd -= timedelta(days=7)
                e["entered_on"] = wd.isoformat()
            elif kind == "implausible_duration":
                e["duration_minutes"] = rng.randint(1000, 1400)
            elif kind == "zero_duration":
                e["duration_minutes"] = 0
            elif kind == "future_date":
                e["entered_on"] = (g.as_of + timedelta(days=rng.randint(2, 30))).isoformat()
            if kind and kind != "duplicate":
                g.truth.anomalies[e["gid"]] = kind
            prev = entries_here[-1] if entries_here else None
            if (
                kind is None
                and prev is not None
                and prev["gid"] not in g.truth.anomalies
                and prev["entered_on"] == e["entered_on"]
                and min(prev["duration_minutes"], m) < MERGE_BELOW
            ):
                # Nobody logs a short piece of a task twice in a day: it is one entry, logged once.
                # (The draws and the gid above still happen, so everything generated later is unchanged.)
                prev["duration_minutes"] += m
                prev["created_at"] = max(prev["created_at"], e["created_at"])
                last_change = max(last_change, created_at)
                continue
            entries_here.append(e)
            if kind == "duplicate":
                dup = dict(e, gid=g.gid(), created_at=iso(created_at + timedelta(minutes=rng.randint(1, 9))))
                g.truth.anomalies[dup["gid"]] = "duplicate"
                entries_here.append(dup)
            last_change = max(last_change, created_at)
    for e in entries_here:
        g.add("time_tracking_entry", e)
    return last_change


def _entry_anomaly(g: Gen, rates: dict[str, float]) -> str | None:
    r = g.rng.random()
    for kind in ENTRY_ANOMALIES:
        if r < rates[kind]:
            return kind
        r -= rates[kind]
    return None


def _stories(g: Gen, plan: _Plan, last_change: datetime) -> datetime:
    """The estimate change of a scope-creep task, and 0-3 comments."""
    rng, p, t_gid = g.rng, plan.project, plan.task["gid"]
    if plan.creep:
        old, new = plan.creep
        when = at(business_days_after(plan.start_day, rng.randint(1, 4)), 11, rng.randint(0, 59))
        g.add(
            "story",
            {
                "gid": g.gid(),
                "resource_type": "story",
                "created_at": iso(when),
                "created_by": p["owner"],
                "resource_subtype": "number_custom_field_changed",
                "type": "system",
                "text": f'changed Estimated Hours from "{old:g}" to "{new:g}"',
                "target": t_gid,
                "source": "web",
                "custom_field": g.fields["Estimated Hours"]["gid"],
                "old_number_value": old,
                "new_number_value": new,
            },
        )
        last_change = max(last_change, when)
    for _ in range(rng.choices((0, 1, 2, 3), (0.7, 0.18, 0.08, 0.04))[0]):
        g.fmt["person"] = g.truth.person_names[rng.choice(g.people)].split()[0]
        text = rng.choice(T.COMMENTS).format(**g.fmt)
        when = at(plan.start_day + timedelta(days=rng.randint(0, 10)), rng.randint(9, 17), rng.randint(0, 59))
        author = rng.choice((plan.assignee, plan.assignee, p["owner"]))
        g.add(
            "story",
            {
                "gid": g.gid(),
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
        last_change = max(last_change, when)
    return last_change


def hostile_text(g: Gen) -> None:
    """Prompt injection and HTML in a few tasks' notes: the product must treat it as data."""
    for i, (t_gid, task) in enumerate(g.top_level[3 : 3 + len(T.HOSTILE_TEXTS)]):
        task["notes"] = task["notes"] + "\n\n" + T.HOSTILE_TEXTS[i]
        g.truth.hostile_tasks.append(t_gid)


def timesheet_attachments(g: Gen) -> None:
    """CSV timesheets: a person's month on a project, consistent with their entries."""
    entries_by_key: dict[tuple[str, str, str], list[Obj]] = {}
    task_by_gid = {o["gid"]: o for k, o in g.objs if k == "task"}
    for kind, o in g.objs:
        if kind == "time_tracking_entry":
            entries_by_key.setdefault(
                (o["created_by"], o["attributable_to"], o["entered_on"][:7]), []
            ).append(o)
    keys = sorted(k for k, v in entries_by_key.items() if len(v) >= 5)
    for key in g.rng.sample(keys, k=min(len(keys), max(3, g.n_tasks // 150))):
        person, proj, month = key
        rows = sorted(entries_by_key[key], key=lambda e: (e["entered_on"], int(e["gid"])))
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["date", "person", "project", "task", "hours", "billable", "notes"])
        pname = next(p["name"] for p in g.projects if p["gid"] == proj)
        for e in rows:
            w.writerow(
                [
                    e["entered_on"],
                    g.truth.person_names[person],
                    pname,
                    task_by_gid[e["task"]]["name"],
                    f"{e['duration_minutes'] / 60:.2f}",
                    e["billable_status"] == "billable",
                    e["description"],
                ]
            )
        content = buf.getvalue().encode()
        a_gid = g.gid()
        fname = f"timesheet_{month}_{g.truth.person_names[person].split()[0].lower()}.csv"
        g.add(
            "attachment",
            {
                "gid": a_gid,
                "resource_type": "attachment",
                "name": fname,
                "resource_subtype": "asana",
                "created_at": iso(at(date.fromisoformat(rows[-1]["entered_on"]), 18)),
                "host": "asana",
                "parent": rows[-1]["task"],
                "size": len(content),
            },
        )
        g.files[a_gid] = content
        g.truth.timesheet_attachments.append(a_gid)
