"""Rate limiting (429 + Retry-After), seeded fault injection (deterministic, before any state change)."""

from __future__ import annotations

from typing import Any

import asana
import httpx
import pytest
from urllib3.util.retry import Retry

from sandbox import Sandbox
from sandbox.faults import FaultSpec, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _get(sb: Sandbox, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{sb.base_url}{path}", params=params, headers={"Authorization": f"Bearer {sb.token}"})


def test_rate_limit_429_with_retry_after(sandbox: Sandbox) -> None:
    clock = FakeClock()
    sandbox.api.limiter = RateLimiter(60, burst=2, clock=clock)
    assert _get(sandbox, "/workspaces").status_code == 200
    assert _get(sandbox, "/workspaces").status_code == 200
    limited = _get(sandbox, "/workspaces")
    assert limited.status_code == 429
    retry_after = limited.headers["Retry-After"]
    assert retry_after.isdigit() and int(retry_after) >= 1
    assert limited.json()["errors"][0]["message"]
    clock.now += int(retry_after)
    assert _get(sandbox, "/workspaces").status_code == 200
    statuses = [r.status for r in sandbox.requests]
    assert statuses == [200, 200, 429, 200]


def test_rate_limit_is_per_token(sandbox: Sandbox) -> None:
    sandbox.api.limiter = RateLimiter(60, burst=1, clock=FakeClock())
    assert _get(sandbox, "/workspaces").status_code == 200
    assert _get(sandbox, "/workspaces").status_code == 429
    other = httpx.get(
        f"{sandbox.base_url}/workspaces", headers={"Authorization": f"Bearer {sandbox.readonly_token}"}
    )
    assert other.status_code == 200


def test_fault_spec_parsing() -> None:
    spec = FaultSpec.parse("5xx=0.05,429=0.03,slow=0.02,drop=0.02,seed=7")
    assert spec == FaultSpec(0.05, 0.03, 0.02, 0.02, 7)
    assert FaultSpec.parse("") is None
    for bad in ("5xx", "oops=0.1", "5xx=2", "5xx=0.6,429=0.6", "5xx=abc"):
        with pytest.raises(ValueError):
            FaultSpec.parse(bad)


def _run_sequence(sb: Sandbox) -> list[int | str]:
    out: list[int | str] = []
    with httpx.Client(headers={"Authorization": f"Bearer {sb.token}"}) as client:
        for i in range(40):
            try:
                r = client.get(f"{sb.base_url}/workspaces/{sb.workspace_gid}", params={"n": i % 7})
                out.append(r.status_code)
            except httpx.TransportError:
                out.append("drop")
    return out


def test_faults_are_deterministic_for_a_seed(sandbox_factory: Any) -> None:
    spec = "5xx=0.2,429=0.15,drop=0.1,slow=0.05,seed=7,slow_s=0.01"
    a = _run_sequence(sandbox_factory(faults=spec, tasks=10))
    b = _run_sequence(sandbox_factory(faults=spec, tasks=10))
    c = _run_sequence(sandbox_factory(faults=spec.replace("seed=7", "seed=8"), tasks=10))
    assert a == b
    assert a != c
    assert {500, 429, "drop", 200} <= set(a)


def test_injected_faults_never_change_state(sandbox_factory: Any) -> None:
    for spec in ("5xx=1,seed=1", "429=1,seed=1", "drop=1,seed=1"):
        sb = sandbox_factory(faults=spec, tasks=10)
        project = next(iter(sb.truth.project_types))
        before = len(sb.state.objects["task"])
        try:
            r = httpx.post(
                f"{sb.base_url}/tasks",
                json={"data": {"name": "x", "projects": [project]}},
                headers={"Authorization": f"Bearer {sb.token}"},
            )
            assert r.status_code in (500, 429), spec
            if r.status_code == 500:
                assert r.json()["errors"][0]["phrase"]
            else:
                assert int(r.headers["Retry-After"]) >= 1
        except httpx.TransportError:
            assert spec.startswith("drop")
        assert len(sb.state.objects["task"]) == before, spec
        assert sb.write_count() == 1 and sb.write_count(succeeded=True) == 0
        assert sb.requests[-1].fault is not None


def test_sdk_listing_converges_under_faults(sandbox_factory: Any) -> None:
    sb = sandbox_factory(faults="5xx=0.15,429=0.1,drop=0.05,seed=3", tasks=120)
    cfg = asana.Configuration()
    cfg.host = sb.base_url
    cfg.access_token = sb.token
    # No backoff so the test stays fast; Retry-After is still obeyed on the 429s (1 s each).
    cfg.retry_strategy = Retry(
        total=20, backoff_factor=0, status_forcelist=[429, 500, 503], respect_retry_after_header=False
    )
    client = asana.ApiClient(cfg)
    project = max(sb.state.tasks_by_project, key=lambda p: len(sb.state.tasks_by_project[p]))
    got = [t["gid"] for t in asana.TasksApi(client).get_tasks_for_project(project, {"limit": 10})]
    assert got == sorted(sb.state.tasks_by_project[project], key=int)
    assert any(r.fault for r in sb.requests)
