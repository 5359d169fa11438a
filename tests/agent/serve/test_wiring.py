"""The production wiring over real analytics: anomaly findings for one task, capacity alerts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from agent.config import Settings
from agent.serve.alerts import capacity_proposal
from agent.serve.reactions import review_proposals
from agent.serve.wiring import capacity_alerts_from, findings_for_task
from tools.records import Person, Project, Task, TimeEntry, Workspace

AS_OF = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday


def _workspace() -> Workspace:
    people = (Person(gid="u1", name="Dana"), Person(gid="u2", name="Eli"))
    project = Project(gid="p1", name="Launch", project_type="client build")
    tasks = [
        # Dana: 120 h of open work due next week -> far over a 40 h week.
        *(
            Task(
                gid=f"d{i}",
                name=f"Big item {i}",
                project_gid="p1",
                assignee_gid="u1",
                assignee_name="Dana",
                created_at=AS_OF - timedelta(days=20),
                due_on=date(2026, 12, 4),
                estimate_hours=40.0,
            )
            for i in range(3)
        ),
        Task(
            gid="e1",
            name="Small item",
            project_gid="p1",
            assignee_gid="u2",
            assignee_name="Eli",
            created_at=AS_OF - timedelta(days=20),
            due_on=date(2026, 12, 4),
            estimate_hours=4.0,
        ),
        Task(
            gid="t9",
            name="Logged task",
            project_gid="p1",
            assignee_gid="u2",
            assignee_name="Eli",
            created_at=AS_OF - timedelta(days=30),
            estimate_hours=2.0,
        ),
    ]
    entries = [
        TimeEntry(gid="x1", task_gid="t9", user_gid="u2", entered_on=date(2026, 11, 20), duration_minutes=60),
        # 20 hours in one day, dated in the future: implausible and future.
        TimeEntry(
            gid="x2", task_gid="t9", user_gid="u2", entered_on=date(2026, 12, 20), duration_minutes=1200
        ),
    ]
    return Workspace(
        people=people, projects=(project,), tasks=tuple(tasks), entries=tuple(entries), as_of=AS_OF
    )


def test_findings_for_one_task_feed_a_review_proposal() -> None:
    findings = findings_for_task(_workspace(), "t9", settings=Settings())
    kinds = {f.kind for f in findings}
    assert {"future_date", "implausible_duration"} <= kinds
    assert all(f.task_gid == "t9" and f.project_gid == "p1" for f in findings)
    assert review_proposals("t9", findings, 0.7)  # high enough to propose the flag
    assert findings_for_task(_workspace(), "e1", settings=Settings()) == []


def test_capacity_alerts_target_the_most_urgent_open_task() -> None:
    alerts = capacity_alerts_from(_workspace(), Settings())
    dana = [a for a in alerts if a.person_gid == "u1"]
    assert dana and all(a.planned_hours > a.capacity_hours for a in dana)
    assert all(a.task_gid == "d0" and a.project_gid == "p1" for a in dana)
    assert not [a for a in alerts if a.person_gid == "u2"]
    proposal = capacity_proposal(dana[0])
    assert proposal is not None and proposal.target_gid == "d0" and "Dana" in (proposal.text or "")
