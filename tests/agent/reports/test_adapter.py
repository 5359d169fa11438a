"""`ReportData.from_retro` over a real `tools.analytics.retro.retrospective` result, and the scheduled
report job that writes it from the store."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from agent.config import Settings
from agent.reports import ReportData, render_html, render_markdown
from tools.records import ActualSource, Person, Project, Task, TimeEntry, Workspace

AS_OF = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _workspace(seed: int = 11) -> Workspace:
    rng = random.Random(seed)
    people = tuple(Person(gid=f"u{i}", name=name) for i, name in enumerate(("Ana", "Ben", "<Chen>")))
    projects = (
        Project(
            gid="p1",
            name="Website Redesign",
            project_type="client build",
            client="Acme",
            hourly_rate=120.0,
            currency="EUR",
            due_on=date(2026, 12, 20),
            start_on=date(2026, 9, 1),
        ),
        Project(
            gid="p2",
            name="Helpdesk",
            project_type="support",
            due_on=date(2027, 3, 1),
            start_on=date(2026, 9, 1),
        ),
    )
    tasks: list[Task] = []
    entries: list[TimeEntry] = []
    for i in range(48):
        project = projects[i % 2]
        person = people[i % 3]
        created = datetime(2026, 9, 1, tzinfo=UTC) + timedelta(days=i)
        done = i < 36
        completed_at = datetime(2026, 10, 1, tzinfo=UTC) + timedelta(days=i % 30) if done else None
        estimate = float(rng.choice((2, 4, 6, 8, 12, 16)))
        ratio = (1.4 if project.project_type == "client build" else 0.9) * rng.uniform(0.7, 1.4)
        actual = round(estimate * ratio, 2) if done else round(estimate * rng.uniform(0.1, 0.6), 2)
        gid = f"t{i}"
        minutes, day = int(actual * 60), (completed_at or AS_OF).date() - timedelta(days=3)
        for k, share in enumerate((0.5, 0.3, 0.2)):
            entries.append(
                TimeEntry(
                    gid=f"e{i}-{k}",
                    task_gid=gid,
                    user_gid=person.gid,
                    entered_on=day + timedelta(days=k),
                    duration_minutes=max(int(minutes * share), 1),
                    project_gid=project.gid,
                )
            )
        tasks.append(
            Task(
                gid=gid,
                name=f"Task {i} <b>bold</b>",
                project_gid=project.gid,
                project_name=project.name,
                project_type=project.project_type,
                assignee_gid=person.gid,
                assignee_name=person.name,
                created_at=created,
                completed=done,
                completed_at=completed_at,
                due_on=date(2026, 12, 1) + timedelta(days=i) if not done else None,
                estimate_hours=estimate,
                actual_hours=actual,
                actual_source=ActualSource.ENTRIES,
                billable=True,
            )
        )
    return Workspace(
        people=people, projects=projects, tasks=tuple(tasks), entries=tuple(entries), as_of=AS_OF
    )


@pytest.fixture(scope="module")
def retro_and_ws():  # type: ignore[no-untyped-def]
    from tools.analytics.retro import retrospective

    ws = _workspace()
    return retrospective(ws, date(2026, 10, 1), date(2026, 10, 31), simulations=300), ws


def test_from_retro_maps_every_section(retro_and_ws) -> None:  # type: ignore[no-untyped-def]
    retro, ws = retro_and_ws
    data = ReportData.from_retro(retro, workspace=ws, title="October", generated_at=AS_OF)
    assert {g.group for g in data.bias} == {r.label for r in retro.variance.by["project_type"]}
    completed_in_period = [
        t
        for t in ws.tasks
        if t.completed and t.completed_at and date(2026, 10, 1) <= t.completed_at.date() <= date(2026, 10, 31)
    ]
    assert len(data.points) == len(completed_in_period)
    assert retro.capacity is not None and retro.forecasts is not None
    assert len(data.capacity) == sum(len(p.weeks) for p in retro.capacity.people)
    assert [b.project_gid for b in data.burndowns] == [p.project_gid for p in retro.forecasts.projects]
    for b, f in zip(data.burndowns, retro.forecasts.projects, strict=True):
        assert (b.finish_p50, b.finish_p80, b.finish_p95, b.at_risk) == (f.p50, f.p80, f.p95, f.at_risk)
        assert b.forecast[-1].p95 == 0 and b.forecast[0].p50 == pytest.approx(f.remaining_p50_hours, rel=0.1)
        assert [(p.p50, p.p80, p.p95) for p in b.forecast] == [
            (p.p50_hours, p.p80_hours, p.p95_hours) for p in f.burndown
        ]
        assert b.history and b.history[-1].day == retro.as_of
    assert data.highlights == retro.highlights
    assert any(h.label == "Hours logged" for h in data.headlines)
    assert len(data.anomalies) == len(retro.anomalies.top)
    html, md = render_html(data), render_markdown(data)
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    assert "&lt;Chen&gt;" in html
    assert "## Highlights" in md and "<b>" not in md


def test_from_retro_without_workspace_says_what_is_missing(retro_and_ws) -> None:  # type: ignore[no-untyped-def]
    retro, _ = retro_and_ws
    data = ReportData.from_retro(retro)
    assert any("no workspace snapshot" in n for n in data.notes)
    assert len(data.points) == len(retro.variance.top_overruns) + len(retro.variance.top_underruns)
    assert all(not b.history for b in data.burndowns)
    render_html(data)


def test_scheduled_report_job_writes_markdown_and_html(tmp_path: Path) -> None:
    from agent.serve.wiring import report_job
    from tools.store import Store

    settings = Settings(
        EFFORT_DATA_DIR=tmp_path / "data", EFFORT_DATABASE_URL=f"sqlite:///{tmp_path / 'effort.db'}"
    )
    ws = _workspace()
    store = Store.open(settings.database_url)
    store.upsert_people(ws.people)
    store.upsert_projects(ws.projects)
    store.upsert_tasks(ws.tasks)
    store.upsert_entries(ws.entries)
    store.close()
    result = report_job(settings, "retro", clock=lambda: AS_OF)()
    assert result.startswith("wrote retro-2026-10-01-2026-10-31.md and retro-2026-10-01-2026-10-31.html")
    html = (tmp_path / "data" / "reports" / "retro-2026-10-01-2026-10-31.html").read_text(encoding="utf-8")
    assert "Retrospective 2026-10-01 – 2026-10-31" in html and 'data-chart="scatter"' in html
    summary = report_job(settings, "summary", clock=lambda: AS_OF)()
    assert summary.startswith("wrote summary-2026-11-16-2026-11-22.md")
