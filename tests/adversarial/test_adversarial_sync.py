"""Adversarial: hostile task text and poisoned custom-field / entry values served by the sandbox, through
the real gateway + sync into a store: the sync completes, bad values become logged skips, text is kept
as data, and every stored number is finite and non-negative."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sandbox as sandbox_mod
import tools.gateway as gateway_mod
import tools.store as store_mod
import tools.sync as sync_mod
from agent.config import Settings
from evals.scenarios.hostile import HOSTILE_TEXTS, HUGE_NOTES

# NaN and infinity cannot travel in JSON (the sandbox, like Asana, cannot send them); the mapping-level
# tests (test_adversarial_fields.py) cover them.
POISON: dict[str, Any] = {
    "text": "twelve",
    "negative": -3.0,
    "huge": 1e308,
    "bool": True,
    "list": [4],
}
# Zero-minute entries are kept on purpose: the anomaly detector flags them ("zero_duration").
BAD_DURATIONS: dict[str, Any] = {
    "negative-minutes": -30,
    "text-minutes": "sixty",
    "fraction-minutes": 12.5,
    "huge-minutes": 10**12,
}


def _poisoning_renderer(poison: dict[str, Any], durations: dict[str, Any], est_gid: str) -> Any:
    """Wrap the sandbox's renderer so chosen records go out with hostile values: a misbehaving API
    (the sandbox itself validates what it stores, so the poison is applied on the way out)."""
    from sandbox.render import Renderer

    original = Renderer.render

    def render(self: Any, kind: str, obj: dict[str, Any], tree: Any) -> dict[str, Any]:
        out = original(self, kind, obj, tree)
        gid = out.get("gid")
        if kind == "task" and gid in poison:
            for cf in out.get("custom_fields") or []:
                if isinstance(cf, dict) and cf.get("gid") == est_gid:
                    cf["number_value"] = poison[gid]
                    cf["display_value"] = str(poison[gid])
        elif kind == "time_tracking_entry" and gid in durations and "duration_minutes" in out:
            out["duration_minutes"] = durations[gid]
        return out

    return render


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    tmp: Path = tmp_path_factory.mktemp("advsync")
    with sandbox_mod.Sandbox.start(seed=9, tasks=80) as sb, pytest.MonkeyPatch.context() as mp:
        state = sb.state
        est_gid = sb.field_gid("Estimated Hours")
        top = sorted(
            g
            for g, t in state.objects["task"].items()
            if not t.get("parent") and est_gid in t.get("custom_field_values", {})
        )
        texts = {**HOSTILE_TEXTS, "huge-notes": "x"}
        text_tasks: dict[str, str] = {}
        for (kind, text), gid in zip(texts.items(), top, strict=False):
            update = {"notes": HUGE_NOTES} if kind == "huge-notes" else {"name": text[:1024], "notes": text}
            state.update_task(gid, update)
            text_tasks[kind] = gid
        rest = top[len(texts) :]
        poison_tasks = dict(zip(POISON, rest, strict=False))
        with_entries = sorted(state.objects["time_tracking_entry"])
        bad_entries = dict(zip(BAD_DURATIONS, with_entries, strict=False))
        from sandbox.render import Renderer

        mp.setattr(
            Renderer,
            "render",
            _poisoning_renderer(
                {gid: POISON[kind] for kind, gid in poison_tasks.items()},
                {gid: BAD_DURATIONS[kind] for kind, gid in bad_entries.items()},
                est_gid,
            ),
        )
        settings = Settings(
            ASANA_ACCESS_TOKEN=sb.token,
            EFFORT_ASANA_BASE_URL=sb.base_url,
            EFFORT_DATABASE_URL=f"sqlite:///{tmp / 'effort.db'}",
        )
        store = store_mod.Store.open(settings.database_url)
        error: Exception | None = None
        summary = None
        try:
            with gateway_mod.AsanaGateway.from_settings(settings) as gateway:
                summary = sync_mod.sync_workspace(gateway, store, settings, full=True)
        except Exception as exc:  # recorded, asserted below (never a crash)
            error = exc
        yield {
            "summary": summary,
            "error": error,
            "store": store,
            "text_tasks": text_tasks,
            "poison_tasks": poison_tasks,
            "bad_entries": bad_entries,
            "writes": sb.write_count(),
        }
        store.close()


def test_sync_completes(synced: dict[str, Any]) -> None:
    assert synced["error"] is None, repr(synced["error"])
    assert synced["summary"] is not None and synced["summary"].status == "ok"
    assert synced["writes"] == 0  # a sync never writes


@pytest.mark.parametrize("kind", [*HOSTILE_TEXTS, "huge-notes"])
def test_hostile_text_is_kept_as_data(synced: dict[str, Any], kind: str) -> None:
    gid = synced["text_tasks"].get(kind)
    if gid is None:
        pytest.skip("not enough tasks in the sandbox workspace")
    task = synced["store"].task(gid)
    assert task is not None, f"task with {kind} text was dropped"
    assert isinstance(task.name, str) and isinstance(task.notes, str)
    if kind == "huge-notes":
        assert len(task.notes) > 100_000  # kept (bounded later, at the tools)
    elif kind != "control-chars":
        assert task.notes.strip()


@pytest.mark.parametrize("kind", list(POISON))
def test_poisoned_estimate_is_a_logged_skip(synced: dict[str, Any], kind: str) -> None:
    summary = synced["summary"]
    gid = synced["poison_tasks"].get(kind)
    if gid is None:
        pytest.skip("not enough tasks in the sandbox workspace")
    task = synced["store"].task(gid)
    assert task is not None, "one bad field must not drop the task"
    assert task.estimate_hours is None
    assert any(s.get("gid") == gid for s in summary.skips), f"no logged skip for the {kind} value"


@pytest.mark.parametrize("kind", list(BAD_DURATIONS))
def test_bad_entry_duration_is_skipped(synced: dict[str, Any], kind: str) -> None:
    gid = synced["bad_entries"][kind]
    summary = synced["summary"]
    stored = {e.gid for e in synced["store"].workspace().entries}
    assert gid not in stored
    assert any(s.get("gid") == gid for s in summary.skips), f"no logged skip for entry with {kind}"


def test_every_stored_number_is_sane(synced: dict[str, Any]) -> None:
    ws = synced["store"].workspace()
    assert ws.tasks and ws.entries
    for task in ws.tasks:
        for value in (task.estimate_hours, task.actual_hours):
            assert value is None or (math.isfinite(value) and 0 <= value <= 10_000)
    assert all(0 <= e.duration_minutes <= 60 * 24 * 31 for e in ws.entries)
