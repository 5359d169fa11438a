"""Rate limits as a budget, and a sync that keeps what it read (issue 17 items 4 and 18).

Time is scaled, not waited for: the sandbox's token bucket and the gateway share a clock that runs
``SCALE`` times faster than the wall clock, so "150 requests per minute" takes seconds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.store import fast_gateway, sync_settings
from tests.tools.sync.test_engine import FAST, expected, stored
from tools.gateway import AsanaGateway, ConnectionFailed, RateBudget
from tools.store import Store
from tools.sync import sync_workspace

SCALE = 120.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_budget_sizes_itself_from_429s_and_paces_under_the_limit() -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock, sleep=clock.sleep)
    for _ in range(150):  # an unpaced burst spends a 150/min quota
        budget.succeeded(budget.acquire())
    sent = [budget.acquire() for _ in range(10)]
    for at in sent:  # then 429s become the rule (eight threads in flight, and the first retries)
        budget.rate_limited(1.0, at, max_pause=120)
    assert budget.limit == 150 and budget.source == "learnt from 429s"
    start = clock.now
    for _ in range(285):
        budget.succeeded(budget.acquire())
    per_minute = 285 / ((clock.now - start) / 60)
    assert 135 <= per_minute <= 150  # 95% of the limit: the server's bucket refills faster than it drains
    one = RateBudget(clock=clock, sleep=clock.sleep)
    one.rate_limited(2.0, one.acquire(), max_pause=120)  # a stray 429 only pauses everyone
    assert one.limit is None and one.acquire() >= clock.now - 1e-9
    assert RateBudget(1500, clock=clock, sleep=clock.sleep).describe() == "1,500 requests/min (configured)"


def _scaled(sb_factory: Any, **kw: Any) -> tuple[Any, Any, Any]:
    t0 = time.monotonic()

    def clock() -> float:
        return (time.monotonic() - t0) * SCALE

    def sleep(seconds: float) -> None:
        time.sleep(seconds / SCALE)

    sb = sb_factory(rate_limit_clock=clock, **kw)
    return sb, clock, sleep


def test_a_400_task_sync_converges_at_150_requests_per_minute(tmp_path: Path, sandbox_factory: Any) -> None:
    """Default settings (8 threads, the default retry policy): all threads share one budget, so the
    sync finishes instead of failing with 'nothing was lost' twice (issue 17 item 4)."""
    sb, clock, sleep = _scaled(sandbox_factory, seed=47, tasks=400, entries_per_task=3, rate_limit=150)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    with AsanaGateway(sb.base_url, sb.token, sleep=sleep, clock=clock) as gw:
        summary = sync_workspace(gw, store, sync_settings(sb), full=True)
    assert summary.status == "ok" and stored(store) == expected(sb)
    assert summary.rate_limit.startswith("150 requests/min")
    assert summary.rate_limited < 0.05 * summary.requests  # a handful of 429s, then none


def test_a_crawl_that_fails_half_way_is_continued_by_the_next_run(
    tmp_path: Path, sandbox_factory: Any
) -> None:
    sb = sandbox_factory(seed=48, tasks=120)
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    with fast_gateway(sb, retry=FAST, max_concurrency=1) as gw:
        original, calls = gw.iter_time_entries_for_task, [0]

        def failing(task_gid: str, fields: Any = None) -> Any:
            calls[0] += 1
            if calls[0] > 40:
                raise ConnectionFailed("network gone")
            return original(task_gid, fields)

        gw.iter_time_entries_for_task = failing  # type: ignore[method-assign]
        with pytest.raises(ConnectionFailed):
            sync_workspace(gw, store, sync_settings(sb), full=True)
    kept = len(store.workspace().tasks)
    assert kept > 0  # the projects finished before the failure are stored
    with fast_gateway(sb, retry=FAST) as gw:
        resumed = sync_workspace(gw, store, sync_settings(sb), full=False)
    assert resumed.resumed and "continuing an interrupted crawl" in resumed.mode
    assert resumed.requests_by_endpoint["GET /projects/{gid}/tasks"] < len(sb.state.objects["project"])
    assert stored(store) == expected(sb)
    assert store.sync_state(f"crawl:{sb.workspace_gid}") is None  # the checkpoint is gone once complete
    assert _sync_again(sb, store).changed() == 0


def _sync_again(sb: Any, store: Store) -> Any:
    with fast_gateway(sb, retry=FAST) as gw:
        return sync_workspace(gw, store, sync_settings(sb), full=False)


def test_a_run_whose_process_died_is_marked_interrupted(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    run = store.start_sync_run(full=True)
    with store.engine.begin() as conn:  # as if a process that has exited (kill -9) had started it
        conn.exec_driver_sql(f"UPDATE effort_sync_runs SET pid = {int(dead.stdout)} WHERE id = {run}")
    live = store.start_sync_run(full=False)  # the next start notices
    runs = {r.id: r.status for r in store.sync_runs()}
    assert runs[run] == "interrupted" and runs[live] == "running"
    assert store.mark_interrupted_runs() == 0  # this process's own run stays running
    assert os.getpid() > 0
