"""The similar-task index follows the store: incremental refresh, `effort sync` refreshes it, the
`effort index` commands, and the retro estimator reads stored vectors instead of re-embedding."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.config import Settings
from tools.index import MiniLMInt8, TaskIndex
from tools.index.refresh import refresh_after_sync, refresh_index
from tools.index.store import make_client, task_fingerprint
from tools.records import Task

T0 = datetime(2024, 3, 1, tzinfo=UTC)
NAMES = [
    "Fix login bug on mobile app",
    "Order catering for the team offsite",
    "Update the invoice PDF template",
    "Write release notes for version 2.1",
    "Migrate the billing database to PostgreSQL",
]


def _tasks() -> list[Task]:
    return [
        Task(
            gid=str(i + 1),
            name=name,
            created_at=T0,
            completed=True,
            completed_at=T0 + timedelta(days=i + 1),
            actual_hours=2.0 + i,
            estimate_hours=2.0,
            assignee_gid="u1",
        )
        for i, name in enumerate(NAMES)
    ]


def count_embedded(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """From now on, every MiniLM ``encode`` call appends how many texts it embedded to the list."""
    embedded: list[int] = []
    real = MiniLMInt8.encode

    def counting(self: MiniLMInt8, texts: Any) -> np.ndarray:
        embedded.append(len(texts))
        return real(self, texts)

    monkeypatch.setattr(MiniLMInt8, "encode", counting)
    return embedded


@pytest.fixture
def index(tmp_path: Path, minilm: MiniLMInt8) -> TaskIndex:
    client = make_client(Settings(EFFORT_CHROMA_PATH=tmp_path / "chroma", EFFORT_CHROMA_URL="").index)
    return TaskIndex(client, minilm)


def test_refresh_embeds_only_what_changed_and_converges(
    index: TaskIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded = count_embedded(monkeypatch)
    tasks = _tasks()
    first = refresh_index(index, tasks)
    assert (first.upserted, first.deleted, first.unchanged, first.indexed) == (5, 0, 0, 5)
    again = refresh_index(index, tasks)
    assert (again.upserted, again.deleted, again.unchanged) == (0, 0, 5)
    assert sum(embedded) == 5  # the second refresh embedded nothing

    renamed = tasks[2].model_copy(update={"name": "Rotate the TLS certificates on the load balancer"})
    logged = tasks[0].model_copy(update={"actual_hours": 9.5})  # metadata change only
    current = [logged, tasks[1], renamed, tasks[3]]  # task 5 was deleted in Asana
    step = refresh_index(index, current)
    assert (step.upserted, step.deleted, step.unchanged, step.indexed) == (2, 1, 2, 4)
    assert set(index.fingerprints()) == {"1", "2", "3", "4"}
    assert index.fingerprints()["3"] == task_fingerprint(renamed)
    hit = index.similar("TLS certificate rotation", k=1)[0]
    assert hit.gid == "3"
    assert index.similar("login bug mobile", k=1)[0].actual_hours == 9.5

    rebuilt = refresh_index(index, current, rebuild=True)
    assert rebuilt.upserted == 4 and rebuilt.indexed == 4


def test_stored_vectors_match_fresh_embeddings(tmp_path: Path, minilm: MiniLMInt8) -> None:
    settings = Settings(EFFORT_CHROMA_PATH=tmp_path / "chroma", EFFORT_CHROMA_URL="")
    assert TaskIndex.open_existing(settings.index) is None  # no index yet: the estimator embeds itself
    tasks = _tasks()
    refresh_index(TaskIndex(make_client(settings.index), minilm), tasks)
    index = TaskIndex.open_existing(settings.index)
    assert index is not None
    vectors = index.minilm_vectors([t.gid for t in tasks])
    from tools.analytics.estimator import task_text

    fresh = minilm.encode([task_text(tasks[0])])[0]
    assert set(vectors) == {t.gid for t in tasks}
    assert float(np.dot(vectors["1"], fresh)) > 0.999


def test_refresh_after_sync_never_fails_the_sync(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = Settings(EFFORT_CHROMA_URL="not a url", EFFORT_DATABASE_URL=f"sqlite:///{tmp_path / 'x.db'}")
    assert refresh_after_sync(broken.database_url, broken.index, enabled=broken.index_on_sync) is None
    assert "not refreshed" in caplog.text
    off = Settings(EFFORT_INDEX_ON_SYNC=False, EFFORT_DATABASE_URL=f"sqlite:///{tmp_path / 'y.db'}")
    assert refresh_after_sync(off.database_url, off.index, enabled=off.index_on_sync) is None


def test_sync_builds_the_index_and_index_commands_use_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sandbox_factory: Any
) -> None:
    sb = sandbox_factory(seed=41, tasks=30)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EFFORT_ASANA_BASE_URL", sb.base_url)
    monkeypatch.setenv("ASANA_ACCESS_TOKEN", sb.token)
    monkeypatch.setenv("EFFORT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("EFFORT_CHROMA_PATH", str(tmp_path / "chroma"))
    runner = CliRunner()
    status = runner.invoke(app, ["index", "status"])
    assert status.exit_code == 0 and "no index yet" in status.output

    synced = runner.invoke(app, ["sync", "--full"])
    assert synced.exit_code == 0, synced.output
    line = next(x for x in synced.output.splitlines() if x.startswith("index:"))
    indexed = int(line.split("(")[1].split()[0])
    assert indexed > 0 and " 0 unchanged" in line

    again = runner.invoke(app, ["sync"])
    assert again.exit_code == 0 and "index: 0 upserted, 0 deleted" in again.output

    status = runner.invoke(app, ["index", "status"])
    assert f"{indexed} tasks" in " ".join(status.output.split())  # rich may wrap the line
    from tools.store import Store

    store = Store.open(f"sqlite:///{tmp_path / 'cli.db'}")
    done = next(t for t in store.workspace().tasks if t.completed and t.actual_hours)
    store.close()
    found = runner.invoke(app, ["index", "similar", done.name, "-k", "3", "--json"])
    assert found.exit_code == 0, found.output
    assert done.gid in found.output  # a completed task's own title finds it
    skipped = runner.invoke(app, ["sync", "--no-index"])
    assert skipped.exit_code == 0 and "index:" not in skipped.output
    assert sb.token not in synced.output + again.output + status.output


def test_index_similar_without_an_index_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Nothing synced: say to sync (and create no store file); synced but not indexed: say to refresh."""
    from tests.fixtures.analytics import tiny_workspace
    from tests.fixtures.store import store_workspace

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EFFORT_CHROMA_PATH", str(tmp_path / "nothing-here"))
    monkeypatch.setenv("EFFORT_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")
    for args in (["similar", "anything"], ["refresh"]):
        result = CliRunner().invoke(app, ["index", *args])
        assert result.exit_code == 1 and "nothing synced yet: run `effort sync`" in result.output, args
        assert "Traceback" not in result.output
    status = CliRunner().invoke(app, ["index", "status", "--json"])
    assert status.exit_code == 0 and json.loads(status.output)["exists"] is False
    assert not (tmp_path / "never.db").exists()
    monkeypatch.setenv("EFFORT_DATABASE_URL", store_workspace(tiny_workspace(), tmp_path / "effort.db"))
    result = CliRunner().invoke(app, ["index", "similar", "anything"])
    assert result.exit_code == 1 and "run `effort index refresh` first" in result.output
    status = CliRunner().invoke(app, ["index", "status"])
    assert "store: data as of" in status.output and "effort index refresh" in status.output


def test_retro_estimates_reuse_the_index_vectors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, minilm: MiniLMInt8
) -> None:
    from agent.retro import _estimate_open_tasks
    from tools.records import Workspace

    settings = Settings(EFFORT_CHROMA_PATH=tmp_path / "chroma", EFFORT_CHROMA_URL="")
    history = _tasks()
    refresh_index(TaskIndex(make_client(settings.index), minilm), history)
    open_tasks = [
        Task(gid=f"o{i}", name=f"Fix checkout bug number {i}", created_at=T0, estimate_hours=3.0)
        for i in range(3)
    ]
    embedded = count_embedded(monkeypatch)
    workspace = Workspace(tasks=(*history, *open_tasks), as_of=T0 + timedelta(days=30))
    estimates = _estimate_open_tasks(workspace, 10, True, settings)
    assert [e.task_gid for e in estimates] == ["o0", "o1", "o2"]
    assert sum(embedded) == len(open_tasks)  # the history's vectors came from the index


def test_chat_estimates_cite_similar_tasks_when_an_index_exists(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, minilm: MiniLMInt8
) -> None:
    from agent.context import AgentContext
    from tools.records import Workspace

    settings = Settings(EFFORT_CHROMA_PATH=tmp_path / "chroma", EFFORT_CHROMA_URL="")
    history = _tasks()
    workspace = Workspace(tasks=tuple(history), as_of=T0 + timedelta(days=30))
    plain = AgentContext.for_workspace(workspace, settings).get_estimator()
    new = Task(gid="n1", name="Fix login bug on the tablet app", created_at=T0, estimate_hours=2.0)
    assert plain.predict(new).evidence.similar == []  # no index: track records only

    index = TaskIndex(make_client(settings.index), minilm)
    refresh_index(index, history)
    embedded = count_embedded(monkeypatch)
    estimate = AgentContext.for_workspace(workspace, settings, index=index).get_estimator().predict(new)
    assert estimate.evidence.similar[0].gid == "1"  # the login bug, found through the index's vectors
    assert embedded == [1]  # only the new task's text was embedded


def test_refresh_reports_progress_with_counts(tmp_path: Path, minilm: MiniLMInt8) -> None:
    """`effort index refresh` draws its bar (counts, ETA) from these calls."""
    settings = Settings(EFFORT_CHROMA_PATH=tmp_path / "chroma", EFFORT_CHROMA_URL="")
    tasks = _tasks()
    seen: list[tuple[str, int, int | None]] = []
    refresh_index(
        TaskIndex(make_client(settings.index), minilm),
        tasks,
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    embedding = [(done, total) for stage, done, total in seen if stage == "embedding tasks"]
    assert embedding[0] == (0, len(tasks)) and embedding[-1] == (len(tasks), len(tasks))
    assert [d for d, _ in embedding] == sorted(d for d, _ in embedding)


def test_index_refresh_and_status_print_json(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, minilm: MiniLMInt8
) -> None:
    from tests.fixtures.analytics import tiny_workspace
    from tests.fixtures.store import store_workspace

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EFFORT_CHROMA_PATH", str(tmp_path / "chroma"))
    monkeypatch.setenv("EFFORT_DATABASE_URL", store_workspace(tiny_workspace(), tmp_path / "effort.db"))
    refreshed = CliRunner().invoke(app, ["index", "refresh", "--json"])
    assert refreshed.exit_code == 0, refreshed.output
    data = json.loads(refreshed.stdout)
    assert data["upserted"] == data["indexed"] > 0 and "data as of" in data["data_freshness"]
    status = CliRunner().invoke(app, ["index", "status", "--json"])
    assert json.loads(status.stdout)["tasks"] == data["indexed"]
