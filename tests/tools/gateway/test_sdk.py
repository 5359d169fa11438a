"""The gateway through the real asana SDK against the sandbox: paging, retries, errors, redaction, caps."""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

import pytest
import urllib3

from tests.fixtures.store import fast_gateway
from tools.gateway import (
    AsanaGateway,
    AuthError,
    ConnectionFailed,
    NotFoundError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    SyncTokenExpired,
    TransientWriteError,
    WriteGrant,
)
from tools.gateway import models as m
from tools.gateway.fields import TASK_FIELDS

GRANT = WriteGrant(approval_id="A1", run_id="R1", proposal_id="P1")


def _parent_with_subtasks(sb: Any, n: int) -> str:
    project = next(iter(sb.state.objects["project"]))
    parent = sb.state.create_task({"name": f"parent of {n}", "projects": [project]})
    for i in range(n):
        sb.state.create_task({"name": f"sub {i}"}, parent=parent["gid"])
    return str(parent["gid"])


@pytest.mark.parametrize(("n", "pages"), [(100, {1, 2}), (101, {2}), (0, {1})])
def test_pagination_boundaries(sandbox_factory: Any, n: int, pages: set[int]) -> None:
    sb = sandbox_factory(seed=3, tasks=10)
    parent = _parent_with_subtasks(sb, n)
    with fast_gateway(sb) as gw:
        subs = list(gw.iter_subtasks(parent, "name"))
        assert len(subs) == n and len({s["gid"] for s in subs}) == n
        assert gw.stats.requests["GET /tasks/{gid}/subtasks"] in pages


def test_typed_reads_and_events(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=4, tasks=20)
    with fast_gateway(sb) as gw:
        me = gw.me()
        assert any(w.gid == sb.workspace_gid for w in me.workspaces)
        projects = gw.projects(sb.workspace_gid)
        assert projects and all(p.name for p in projects)
        tasks = [m.Task.model_validate(t) for t in gw.iter_tasks_for_project(projects[0].gid, TASK_FIELDS)]
        assert tasks and tasks[0].created_at
        with pytest.raises(SyncTokenExpired) as first:
            gw.events(projects[0].gid, None)
        token = first.value.new_token
        assert token
        sb.state.update_task(tasks[0].gid, {"name": "renamed by a user"})
        events, nxt, more = gw.events(projects[0].gid, token)
        assert any((e.get("resource") or {}).get("gid") == tasks[0].gid for e in events) and nxt and not more
        events2, _, _ = gw.events(projects[0].gid, nxt)
        assert events2 == []  # the token moved on: no event twice, no infinite loop
        with pytest.raises(NotFoundError):
            gw.get_task_raw("999999999")


def test_429_retry_after_is_honoured_on_get_and_post(sandbox_factory: Any) -> None:
    # 60/min with a burst of 3: the 4th request gets 429 with Retry-After >= 1.
    sb = sandbox_factory(seed=5, tasks=5, rate_limit=60, rate_limit_burst=3)
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        time.sleep(s)

    with fast_gateway(sb, sleep=sleep, max_concurrency=1) as gw:
        for _ in range(3):
            gw.me()
        gw.me()  # 429 -> waits Retry-After -> succeeds
        assert gw.stats.rate_limited >= 1 and sum(sleeps) >= 0.95  # the Retry-After (1 s), shared pause
        project = next(iter(sb.state.objects["project"]))
        for _ in range(3):
            gw.me()
        before = gw.stats.rate_limited
        task = gw.create_task(GRANT, {"name": "posted after a 429", "projects": [project]})
        assert task.gid in sb.state.objects["task"]
        assert gw.stats.rate_limited > before  # the POST itself was rate-limited, then retried once
        assert gw.stats.requests["POST /tasks"] >= 2
        created = [t for t in sb.state.objects["task"].values() if t["name"] == "posted after a 429"]
        assert len(created) == 1  # a 429 was never processed: the retry did not duplicate it


def test_429_budget_exhausted_raises_rate_limited(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=6, tasks=5, faults="429=1.0")
    policy = RetryPolicy(max_attempts=3, max_rate_limited=3, max_retry_after=0.01)
    with fast_gateway(sb, retry=policy) as gw:
        with pytest.raises(RateLimitedError) as exc:
            gw.me()
        assert (
            gw.stats.requests["GET /users/{gid}"] == 3
            and exc.value.retry_after
            and exc.value.retry_after >= 1
        )


def test_5xx_backoff_is_bounded_and_post_is_not_retried(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=7, tasks=5, faults="5xx=1.0")
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=5, backoff_initial=0.01, backoff_max=0.04)
    with AsanaGateway(sb.base_url, sb.token, retry=policy, sleep=sleeps.append) as gw:
        with pytest.raises(ServerError):
            gw.me()
        assert gw.stats.requests["GET /users/{gid}"] == 5
        assert len(sleeps) == 4 and all(0 < s <= 0.04 for s in sleeps)  # jittered, capped
        writes_before = sb.write_count()
        with pytest.raises(TransientWriteError):
            gw.create_comment(GRANT, "1", text="hello")
        assert gw.stats.requests["POST /tasks/{gid}/stories"] == 1  # never retried automatically
        assert sb.write_count() == writes_before + 1 and sb.write_count(succeeded=True) == 0


def test_dropped_connections_are_retried_then_wrapped(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=8, tasks=5, faults="drop=1.0")
    with fast_gateway(sb, retry=RetryPolicy(max_attempts=3, backoff_initial=0.001, backoff_max=0.002)) as gw:
        with pytest.raises(ConnectionFailed) as exc:
            gw.me()
        assert gw.stats.connection_errors == 3
        assert not isinstance(exc.value, urllib3.exceptions.HTTPError)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_max_retry_error_is_wrapped_and_token_never_leaks(
    caplog: pytest.LogCaptureFixture, sandbox_factory: Any
) -> None:
    secret = "SECRET-token-0123456789abcdef"
    caplog.set_level(logging.DEBUG)
    failures: list[BaseException] = []
    gw = AsanaGateway(
        f"http://127.0.0.1:{_closed_port()}/api/1.0",
        secret,
        retry=RetryPolicy(max_attempts=2, backoff_initial=0.001),
    )
    with gw, pytest.raises(ConnectionFailed) as exc:
        gw.me()
    failures.append(exc.value)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__
    sb = sandbox_factory(seed=9, tasks=5, faults="5xx=1.0")
    with AsanaGateway(sb.base_url, secret, retry=RetryPolicy(max_attempts=2, backoff_initial=0.001)) as bad:
        with pytest.raises(AuthError) as auth:
            bad.me()  # a wrong token is a 401, not a retry
        failures.append(auth.value)
    with AsanaGateway(sb.base_url, sb.token, retry=RetryPolicy(max_attempts=2, backoff_initial=0.001)) as gw2:
        with pytest.raises(ServerError) as server:
            gw2.me()
        failures.append(server.value)
        assert sb.token not in str(server.value) and sb.token not in repr(server.value)
    for failure in failures:
        assert secret not in str(failure) and secret not in repr(failure)
    assert secret not in caplog.text and sb.token not in caplog.text
    assert AsanaGateway(sb.base_url, secret).redact(f"Bearer {secret} and {secret}") == "Bearer *** and ***"


def test_concurrency_cap_is_honoured(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=10, tasks=30, faults="slow=1.0,slow_s=0.03")
    task_gids = list(sb.state.objects["task"])[:24]
    with fast_gateway(sb, max_concurrency=3) as gw:
        got = gw.map(lambda g: gw.get_task_raw(g, "name")["gid"], task_gids)
        assert got == task_gids  # order kept
        assert 1 <= gw.stats.peak_in_flight <= 3


def test_writes_need_a_grant(sandbox_factory: Any) -> None:
    sb = sandbox_factory(seed=11, tasks=5)
    task_gid = next(iter(sb.state.objects["task"]))
    with fast_gateway(sb) as gw:
        with pytest.raises(PermissionError):
            gw.create_comment({"approval_id": "x"}, task_gid, text="no")  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            WriteGrant(approval_id="", run_id="r", proposal_id="p")
        story = gw.create_comment(GRANT, task_gid, text="approved note")
        assert story.gid and story.text == "approved note"
        sub = gw.create_subtask(GRANT, task_gid, {"name": "AI approval"})
        gw.delete_task(GRANT, sub.gid)
        assert sub.gid not in sb.state.objects["task"]


def test_timesheet_attachment_download_and_parse(sandbox_factory: Any) -> None:
    from tools.sync.timesheets import parse_timesheet

    sb = sandbox_factory(seed=12, tasks=200)
    attachment_gid = sb.truth.timesheet_attachments[0]
    parent = sb.state.objects["attachment"][attachment_gid]["parent"]
    with fast_gateway(sb) as gw:
        found = [a for a in gw.attachments(parent) if a.gid == attachment_gid]
        assert found and found[0].download_url
        sheet = parse_timesheet(gw.download_attachment(found[0].download_url))
        assert sheet.rows and not sheet.problems
        assert gw.stats.requests["GET attachment download"] == 1
