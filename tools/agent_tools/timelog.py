"""Read tools over logged time and task counts: hours by person, project, client, tag, section, task
or period (with a comparison period), billable hours, task counts, estimated work still open, admin
overhead month over month, and the projects most at risk of missing their due date.

Each returns compact text: a header with the period's dates and the filters applied (every filter
given is applied, or the tool answers with why it could not be), totals, then top-N rows. A figure
that rests on unknown data says so with the amount affected (entries whose billable status was never
read). Billable status follows the billing rule (tools/analytics/billing.py), never a copy of it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Literal

from pydantic import Field

from tools.agent_tools.budget import TOP_N, more_line, untrusted
from tools.agent_tools.common import link
from tools.agent_tools.filters import FilterArgs, Scope, resolve
from tools.agent_tools.reads import ToolEnv, _run_view, read_period
from tools.periods import Period
from tools.records import Project, Task, TimeEntry, Workspace

Group = Literal[
    "person", "project", "client", "tag", "section", "project_type", "task", "month", "week", "day"
]


class TimeLoggedArgs(FilterArgs):
    period: str | None = Field(None, description='Entry dates in words: "last week", "2026-10", "Q3".')
    compare_period: str | None = Field(
        None, description='Compare with this period ("previous" = the period just before).'
    )
    billable: Literal["billable", "non_billable"] | None = Field(
        None, description="Only billable entries, or only non-billable ones."
    )
    group_by: Group | None = Field(None, description="Break the total down by this.")
    top_n: int = Field(TOP_N, ge=1, le=25, description="Rows to show.")


class TaskCountArgs(FilterArgs):
    status: Literal["completed", "open", "created", "overdue"] = Field(
        "completed",
        description="Which tasks to count: completed (in the period), open, created (in the period), overdue.",
    )
    period: str | None = Field(None, description="Completion or creation dates, in words.")
    compare_period: str | None = Field(None, description='A period to compare with ("previous").')
    group_by: Group | None = Field(None, description="Break the count down by this.")
    top_n: int = Field(TOP_N, ge=1, le=25)


class OpenWorkArgs(FilterArgs):
    group_by: Group | None = Field(None, description="Break remaining work down by this.")
    top_n: int = Field(TOP_N, ge=1, le=25)


class OverheadArgs(FilterArgs):
    months: int = Field(
        6, ge=2, le=24, description="How many months to show, ending with the period's month."
    )
    period: str | None = Field(None, description="The last month to show (default: this month).")


class RiskArgs(FilterArgs):
    top_n: int = Field(5, ge=1, le=15)


# --- shared --------------------------------------------------------------------------------------


def _period(env: ToolEnv, text: str | None) -> Period | str | None:
    if not text:
        return None
    period = read_period(text, env.today())
    return (
        period if period is not None else f"could not read the period {text!r} (try 'last week', '2026-10')"
    )


def _previous(env: ToolEnv, period: Period | None, text: str | None) -> Period | str | None:
    if not text:
        return None
    if text.strip().lower() in ("previous", "prior", "before", "last"):
        return period.previous() if period is not None else "a comparison needs a period"
    return _period(env, text)


def _projects(ws: Workspace) -> dict[str, Project]:
    return {p.gid: p for p in ws.projects}


def _key(
    group: str,
    entry: TimeEntry | None,
    task: Task | None,
    day: date | None,
    env_ws: Workspace,
    names: dict[str, str],
    projects: dict[str, Project],
) -> list[str]:
    """The group label(s) of a row (a task with two tags counts under each)."""
    project_gid = (entry.project_gid if entry else None) or (task.project_gid if task else None)
    project = projects.get(project_gid or "")
    if group == "person":
        gid = entry.user_gid if entry else (task.assignee_gid if task else None)
        return [names.get(gid or "", "(nobody)")]
    if group == "project":
        return [project.name if project else "(no project)"]
    if group == "client":
        return [project.client if project and project.client else "(no client)"]
    if group == "project_type":
        return [project.project_type if project and project.project_type else "(no type)"]
    if group == "tag":
        return list(task.tags) if task and task.tags else ["(no tag)"]
    if group == "section":
        return [task.section if task and task.section else "(no section)"]
    if group == "task":
        return [task.gid if task else "(no task)"]
    if day is None:
        return ["(no date)"]
    if group == "month":
        return [day.strftime("%Y-%m")]
    if group == "week":
        return [f"week of {(day - timedelta(days=day.weekday())).isoformat()}"]
    return [day.isoformat()]


def _label(group: str, key: str, tasks: dict[str, Task]) -> str:
    if group == "task" and key in tasks:
        t = tasks[key]
        return f"{t.gid} {untrusted(t.name, 60)} {link(t)}"
    if group in ("tag", "section", "project", "client", "person"):
        return untrusted(key, 50)
    return key


def _rows(
    group: str,
    totals: dict[str, float],
    tasks: dict[str, Task],
    unit: Callable[[float], str],
    top: int,
    whole: float,
) -> list[str]:
    chronological = group in ("month", "week", "day")
    items = sorted(totals.items(), key=(lambda kv: kv[0]) if chronological else (lambda kv: (-kv[1], kv[0])))
    shown = items[-top:] if chronological else items[:top]
    lines = [f"by {group}: {group} | {'hours' if unit is _h else 'tasks'} | share"]
    for key, value in shown:
        share = f"{value / whole:.0%}" if whole else "-"
        lines.append(f"{_label(group, key, tasks)} | {unit(value)} | {share}")
    left = len(items) - len(shown)
    if left:
        lines.append(more_line(left, "earlier rows" if chronological else f"more {group} rows"))
    return lines


def _people(n: int) -> str:
    return "1 person" if n == 1 else f"{n} people"


def _h(hours: float) -> str:
    return f"{hours:.2f}h"


def _n(count: float) -> str:
    return f"{count:.0f}"


def _change(now: float, before: float, unit: Callable[[float], str]) -> str:
    diff = now - before
    pct = f", {diff / before:+.0%}" if before else ""
    sign = "+" if diff >= 0 else "-"
    return f"{sign}{unit(abs(diff))}{pct}"


def _period_text(period: Period | None, what: str) -> str:
    return period.describe() if period else f"all time (every synced {what})"


# --- hours logged --------------------------------------------------------------------------------


def _billable_of(ws: Workspace) -> Callable[[TimeEntry, Task | None], bool]:
    from tools.analytics.billing import entry_billable  # the billing rule's owner

    projects = _projects(ws)

    def is_billable(entry: TimeEntry, task: Task | None) -> bool:
        project = projects.get(entry.project_gid or (task.project_gid if task else "") or "")
        return entry_billable(entry, task, project)

    return is_billable


def _entries(ws: Workspace, scope: Scope, period: Period | None) -> Iterable[tuple[TimeEntry, Task | None]]:
    tasks = {t.gid: t for t in ws.tasks}
    for e in ws.entries:
        if period is not None and not period.contains(e.entered_on):
            continue
        task = tasks.get(e.task_gid)
        if scope.entry_ok(e, task):
            yield e, task


def _not_applicable_note(
    kept: list[tuple[TimeEntry, Task | None]], is_billable: Callable[[TimeEntry, Task | None], bool]
) -> str | None:
    """Entries Asana marks "not applicable" for billing that the billing rule still counts as billable."""
    from tools.records import BillableStatus

    counted = [e for e, t in kept if e.billable_status is BillableStatus.NOT_APPLICABLE and is_billable(e, t)]
    if not counted:
        return None
    hours = sum(e.duration_minutes for e in counted) / 60
    return (
        f"{len(counted)} entries ({hours:.1f}h) are marked 'not applicable' for billing in Asana and are "
        "counted as billable by the billing rule (the task's billable flag, else a project with a client and a rate)"
    )


def _unknown_note(
    unknown: list[tuple[TimeEntry, Task | None]], is_billable: Callable[[TimeEntry, Task | None], bool]
) -> str | None:
    if not unknown:
        return None
    counted = [(e, t) for e, t in unknown if is_billable(e, t)]
    minutes = sum(e.duration_minutes for e, _ in unknown)
    unread = sum(1 for e, _ in unknown if e.details_read_at is None)
    why = "its details were never read" if unread == len(unknown) else "Asana gave no status"
    return (
        f"billable status unknown for {len(unknown)} entries ({minutes / 60:.1f}h; {why}): {len(counted)} counted as "
        "billable by the billing rule (the task's billable flag, else a project with a client and a rate), "
        f"{len(unknown) - len(counted)} as non-billable"
    )


def time_logged(env: ToolEnv, args: TimeLoggedArgs) -> str:
    """Hours logged, filtered and grouped, with an optional comparison period."""
    ws = env.workspace
    scope = resolve(ws, args)
    if isinstance(scope, str):
        return f"time_logged: {scope}; nothing was counted."
    period = _period(env, args.period)
    if isinstance(period, str):
        return f"time_logged: {period}."
    before = _previous(env, period, args.compare_period)
    if isinstance(before, str):
        return f"time_logged: {before}."

    def view() -> str:
        is_billable = _billable_of(ws)
        tasks = {t.gid: t for t in ws.tasks}
        names = {p.gid: p.name for p in ws.people}
        projects = _projects(ws)

        def total(
            p: Period | None,
        ) -> tuple[
            float, float, float, list[tuple[TimeEntry, Task | None]], list[tuple[TimeEntry, Task | None]]
        ]:
            kept: list[tuple[TimeEntry, Task | None]] = []
            unknown: list[tuple[TimeEntry, Task | None]] = []
            bill = non = 0.0
            for e, t in _entries(ws, scope, p):
                b = is_billable(e, t)
                if (args.billable == "billable" and not b) or (args.billable == "non_billable" and b):
                    continue
                kept.append((e, t))
                if e.billable_status is None:
                    unknown.append((e, t))
                if b:
                    bill += e.duration_minutes / 60
                else:
                    non += e.duration_minutes / 60
            return bill + non, bill, non, kept, unknown

        hours, bill, non, kept, unknown = total(period)
        filters = scope.echo() + (f", billable={args.billable}" if args.billable else "")
        lines = [
            f"HOURS LOGGED | period {_period_text(period, 'entry')} | filters: {filters} | "
            f"{len(kept)} entries on {len({e.task_gid for e, _ in kept})} tasks by {_people(len({e.user_gid for e, _ in kept}))}",
            f"total {_h(hours)}; billable {_h(bill)}, non-billable {_h(non)}",
        ]
        if note := _unknown_note(unknown, is_billable):
            lines.append(note)
        if note := _not_applicable_note(kept, is_billable):
            lines.append(note)
        if before is not None:
            prev_hours = total(before)[0]
            lines.append(
                f"compared with {before.describe()}: {_h(prev_hours)} ({_change(hours, prev_hours, _h)})"
            )
        if args.group_by:
            groups: dict[str, float] = defaultdict(float)
            for e, t in kept:
                for key in _key(args.group_by, e, t, e.entered_on, ws, names, projects):
                    groups[key] += e.duration_minutes / 60
            lines += _rows(args.group_by, groups, tasks, _h, args.top_n, hours)
        if not kept:
            lines.append("no entries match these filters in this period")
        return "\n".join(lines)

    return _run_view(env, "time_logged", view)


# --- task counts ---------------------------------------------------------------------------------


def _counted(task: Task, status: str, period: Period | None, today: date) -> bool:
    if status == "completed":
        return task.completed and (period is None or period.contains(task.completed_at))
    if status == "created":
        return period is None or period.contains(task.created_at)
    if status == "overdue":
        return not task.completed and task.due_on is not None and task.due_on < today
    return not task.completed and (period is None or period.contains(task.created_at))


def task_counts(env: ToolEnv, args: TaskCountArgs) -> str:
    """How many tasks were completed or created in a period, or are open or overdue."""
    ws = env.workspace
    scope = resolve(ws, args)
    if isinstance(scope, str):
        return f"task_counts: {scope}; nothing was counted."
    period = _period(env, args.period)
    if isinstance(period, str):
        return f"task_counts: {period}."
    before = _previous(env, period, args.compare_period)
    if isinstance(before, str):
        return f"task_counts: {before}."
    today = env.today()

    def view() -> str:
        names = {p.gid: p.name for p in ws.people}
        projects = _projects(ws)
        tasks = {t.gid: t for t in ws.tasks}

        def pick(p: Period | None) -> list[Task]:
            return [
                t
                for t in ws.tasks
                if scope.task_ok(t) and scope.assignee_ok(t) and _counted(t, args.status, p, today)
            ]

        found = pick(period)
        when = "completed" if args.status == "completed" else "created"
        if args.status in ("completed", "created") or period is not None:
            dated = f"period {_period_text(period, 'task')} (by {when} date)"
        else:
            dated = f"as of {today.isoformat()}"
        lines = [
            f"TASK COUNT {args.status} | {dated} | filters: {scope.echo()} | {len(found)} tasks",
        ]
        if before is not None:
            lines.append(
                f"compared with {before.describe()}: {len(pick(before))} tasks ({_change(len(found), len(pick(before)), _n)})"
            )
        if args.group_by:
            groups: dict[str, float] = defaultdict(float)
            for t in found:
                day = t.completed_at if args.status == "completed" else t.created_at
                for key in _key(args.group_by, None, t, day.date() if day else None, ws, names, projects):
                    groups[key] += 1
            lines += _rows(args.group_by, groups, tasks, _n, args.top_n, float(len(found)))
        elif found:
            shown = sorted(found, key=lambda t: (t.due_on or date.max, t.gid))[: args.top_n]
            lines.append("tasks: " + "; ".join(f"{t.gid} {untrusted(t.name, 50)} {link(t)}" for t in shown))
            if len(found) > len(shown):
                lines.append(more_line(len(found) - len(shown), "more tasks"))
        return "\n".join(lines)

    return _run_view(env, "task_counts", view)


# --- open work -------------------------------------------------------------------------------------


def open_work(env: ToolEnv, args: OpenWorkArgs) -> str:
    """Estimated hours still open (estimate minus hours logged so far), and open tasks without one."""
    ws = env.workspace
    scope = resolve(ws, args)
    if isinstance(scope, str):
        return f"open_work: {scope}; nothing was counted."

    def view() -> str:
        names = {p.gid: p.name for p in ws.people}
        projects = _projects(ws)
        tasks = {t.gid: t for t in ws.tasks}
        open_tasks = [t for t in ws.tasks if not t.completed and scope.task_ok(t) and scope.assignee_ok(t)]
        estimated = [t for t in open_tasks if t.estimate_hours is not None]
        remaining = {t.gid: max(0.0, (t.estimate_hours or 0.0) - (t.actual_hours or 0.0)) for t in estimated}
        total_est = sum(t.estimate_hours or 0.0 for t in estimated)
        left = sum(remaining.values())
        lines = [
            f"OPEN WORK as of {env.today().isoformat()} | filters: {scope.echo()} | {len(open_tasks)} open tasks, "
            f"{len(open_tasks) - len(estimated)} without an estimate (not counted in the hours)",
            f"estimated {_h(total_est)} on open tasks; remaining after hours already logged {_h(left)}",
        ]
        if args.group_by:
            groups: dict[str, float] = defaultdict(float)
            for t in estimated:
                for key in _key(args.group_by, None, t, t.due_on, ws, names, projects):
                    groups[key] += remaining[t.gid]
            lines += _rows(args.group_by, groups, tasks, _h, args.top_n, left)
        return "\n".join(lines)

    return _run_view(env, "open_work", view)


# --- overhead --------------------------------------------------------------------------------------


def overhead_trend(env: ToolEnv, args: OverheadArgs) -> str:
    """Admin overhead (the retrospective's matcher) per month, oldest first."""
    from tools.analytics.retro import OverheadMatcher

    ws = env.workspace
    scope = resolve(ws, args)
    if isinstance(scope, str):
        return f"overhead: {scope}; nothing was counted."
    period = _period(env, args.period)
    if isinstance(period, str):
        return f"overhead: {period}."
    last = (period.end if period else env.today()).replace(day=1)

    def view() -> str:
        matcher = OverheadMatcher()
        months: list[date] = []
        cursor = last
        for _ in range(args.months):
            months.append(cursor)
            cursor = (cursor - timedelta(days=1)).replace(day=1)
        months.reverse()
        first = months[0]
        totals: dict[str, list[float]] = {m.strftime("%Y-%m"): [0.0, 0.0] for m in months}
        for e, t in _entries(
            ws, scope, Period(start=first, end=period.end if period else env.today(), label="x")
        ):
            key = e.entered_on.strftime("%Y-%m")
            if key in totals:
                totals[key][0] += e.duration_minutes / 60
                if t is not None and matcher.matches(t):
                    totals[key][1] += e.duration_minutes / 60
        end = period.end if period else env.today()
        lines = [
            f"OVERHEAD by month | period {first.isoformat()} to {end.isoformat()} | filters: {scope.echo()} | "
            "overhead = tasks tagged or sectioned admin/meeting/overhead/internal, or named admin/meeting/stand-up/1:1",
            "month | overhead hours | all hours | share",
        ]
        prev_share: float | None = None
        for key, (all_h, over_h) in totals.items():
            share = over_h / all_h if all_h else 0.0
            delta = f" ({(share - prev_share) * 100:+.1f} pts)" if prev_share is not None and all_h else ""
            lines.append(f"{key} | {_h(over_h)} | {_h(all_h)} | {share:.1%}{delta}")
            prev_share = share if all_h else prev_share
        return "\n".join(lines)

    return _run_view(env, "overhead", view)


# --- deadline risk ---------------------------------------------------------------------------------


def at_risk_projects(env: ToolEnv, args: RiskArgs) -> str:
    """Projects ranked by how likely they are to miss their due date (Monte Carlo forecast)."""
    from tools.analytics.forecast import forecast_projects

    ws = env.workspace
    scope = resolve(ws, args)
    if isinstance(scope, str):
        return f"at_risk_projects: {scope}; nothing was forecast."

    def view() -> str:
        wanted = sorted(scope.projects) if scope.projects is not None else None
        live = [p.gid for p in ws.projects if not p.archived and (wanted is None or p.gid in wanted)]
        report = forecast_projects(ws, project_gids=live, config=env.settings.capacity, frame=env.get_frame())
        due = [f for f in report.projects if f.due_on is not None]
        ranked = sorted(
            due, key=lambda f: (f.p_on_time if f.p_on_time is not None else 1.0, f.due_on or date.max)
        )
        lines = [
            f"DEADLINE RISK as of {report.as_of.isoformat()} | filters: {scope.echo()} | {len(report.projects)} projects with open work, "
            f"{len(due)} with a due date, {sum(f.at_risk for f in due)} at risk (P80 after due)",
            "project | P(on time) | due | P50 | P80 | open tasks | verdict",
        ]
        projects = _projects(ws)
        for f in ranked[: args.top_n]:
            url = projects[f.project_gid].permalink_url if f.project_gid in projects else None
            on_time = f"{f.p_on_time:.0%}" if f.p_on_time is not None else "n/a"
            lines.append(
                f"{untrusted(f.name, 50)} {url or ''} | {on_time} | {f.due_on} | {f.p50} | {f.p80} | "
                f"{f.open_tasks} | {'AT RISK' if f.at_risk else 'on track'}"
            )
        if len(ranked) > args.top_n:
            lines.append(more_line(len(ranked) - args.top_n, "more projects"))
        return "\n".join(lines)

    return _run_view(env, "at_risk_projects", view)
