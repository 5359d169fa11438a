"""The time and task read tools: figures equal a hand count, every filter applied or refused by name,
and a figure resting on unknown billable status says how many entries and hours that concerns."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from agent.config import ScopeConfig, Settings
from agent.context import AgentContext
from tools.agent_tools.registry import run_read
from tools.records import BillableStatus, Person, Project, Task, TimeEntry, Workspace

AS_OF = datetime(2026, 6, 15, 12, tzinfo=UTC)
PEOPLE = (Person(gid="1", name="Ana Lima"), Person(gid="2", name="Ben Okafor"))
PROJECTS = (
    Project(gid="10", name="Website Redesign", client="Acme", hourly_rate=100.0, project_type="client build"),
    Project(gid="11", name="Internal Wiki", project_type="internal tool"),
)


def _task(
    gid: str, project: str, *, done: date | None = None, est: float | None = None, tags: tuple[str, ...] = ()
) -> Task:
    return Task(
        gid=gid,
        name=f"Task {gid}",
        project_gid=project,
        project_name=next(p.name for p in PROJECTS if p.gid == project),
        assignee_gid="1",
        assignee_name="Ana Lima",
        created_at=datetime(2026, 4, 1, tzinfo=UTC),
        completed=done is not None,
        completed_at=datetime.combine(done, datetime.min.time(), UTC) if done else None,
        estimate_hours=est,
        tags=tags,
    )


def _entry(
    gid: str,
    task: str,
    person: str,
    day: date,
    minutes: int,
    project: str,
    status: BillableStatus | None,
    read: bool = True,
) -> TimeEntry:
    return TimeEntry(
        gid=gid,
        task_gid=task,
        user_gid=person,
        entered_on=day,
        duration_minutes=minutes,
        project_gid=project,
        billable_status=status,
        details_read_at=AS_OF if read else None,
    )


TASKS = (
    _task("100", "10", done=date(2026, 5, 20), est=10, tags=("frontend",)),
    _task("101", "10", est=8),
    _task("102", "11", done=date(2026, 6, 2), est=4),
    _task("103", "11"),
)
ENTRIES = (
    _entry("1", "100", "1", date(2026, 5, 4), 120, "10", BillableStatus.BILLABLE),
    _entry("2", "100", "2", date(2026, 5, 5), 90, "10", None, read=False),  # never read: unknown
    _entry("3", "101", "1", date(2026, 5, 6), 60, "10", BillableStatus.NON_BILLABLE),
    _entry("4", "102", "1", date(2026, 4, 28), 30, "11", BillableStatus.NON_BILLABLE),
    _entry("5", "102", "2", date(2026, 6, 1), 45, "11", None, read=False),
)


def _ctx() -> AgentContext:
    ws = Workspace(people=PEOPLE, projects=PROJECTS, tasks=TASKS, entries=ENTRIES, as_of=AS_OF)
    return AgentContext.for_workspace(ws, Settings(scope=ScopeConfig(projects=["*"])))


def _hours(text: str, label: str) -> float:
    m = re.search(rf"{label} ([\d.]+)h", text)
    assert m, text
    return float(m.group(1))


def test_hours_by_person_and_period_equal_a_hand_count() -> None:
    out = run_read("time_logged", _ctx(), {"period": "May", "person": "ana"})
    assert "period May 2026 (2026-05-01 to 2026-05-31)" in out and "filters: person=Ana Lima" in out
    assert _hours(out, "total") == 3.0  # entries 1 and 3: 120 + 60 minutes
    assert out.splitlines()[-1].startswith("dates: today is 2026-06-15")


def test_unknown_billable_status_is_stated_with_its_amount() -> None:
    out = run_read("time_logged", _ctx(), {"period": "May", "client": "Acme", "billable": "billable"})
    # Entry 2's status was never read; the billing rule counts it (the project has a client and a rate).
    assert _hours(out, "total") == 3.5
    assert "billable status unknown for 1 entries (1.5h; its details were never read)" in out
    assert "1 counted as billable by the billing rule" in out


def test_a_filter_that_names_nothing_is_refused_not_dropped() -> None:
    for args, needle in (
        ({"person": "Zed"}, "no person matches 'Zed'"),
        ({"client": "Globex"}, "no client matches 'Globex'"),
        ({"tag": "backend"}, "no tag matches 'backend'"),
        ({"task_gid": "999"}, "no task with gid '999'"),
    ):
        out = run_read("time_logged", _ctx(), args)
        assert needle in out and "nothing was counted" in out and "total" not in out


def test_comparison_and_grouping() -> None:
    out = run_read(
        "time_logged", _ctx(), {"period": "June", "compare_period": "previous", "group_by": "project"}
    )
    assert _hours(out, "total") == 0.75
    assert "compared with 2026-05-01 to 2026-05-31: 4.50h (-3.75h, -83%)" in out
    assert re.search(r"Internal Wiki<</task-text>> \| 0\.75h \| 100%", out)


def test_task_counts_and_open_work() -> None:
    ctx = _ctx()
    done = run_read("task_counts", ctx, {"status": "completed", "period": "last month"})
    assert "period last month (2026-05-01 to 2026-05-31)" in done and "| 1 tasks" in done
    open_ = run_read("open_work", ctx, {"project": "Website Redesign"})
    assert "1 open tasks, 0 without an estimate" in open_ and "estimated 8.00h on open tasks" in open_
    assert "remaining after hours already logged 8.00h" in open_
