"""Arbitrary write bodies never crash the sandbox: every answer is a 2xx or a 4xx with an Asana error body."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox import Sandbox

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)


@pytest.fixture(scope="module")
def fuzz_sb() -> Iterator[tuple[Sandbox, httpx.Client]]:
    with (
        Sandbox.start(seed=5, tasks=20) as sb,
        httpx.Client(headers={"Authorization": f"Bearer {sb.token}"}) as c,
    ):
        yield sb, c


def _check(r: httpx.Response) -> None:
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.json()["errors"][0]["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(["Estimated Hours", "Priority", "Client", "nope"]),
    value=json_values,
    extra=st.dictionaries(
        st.sampled_from(["name", "notes", "completed", "due_on", "assignee", "start_on", "projects"]),
        json_values,
        max_size=2,
    ),
)
def test_task_updates_never_500(
    fuzz_sb: tuple[Sandbox, httpx.Client], field: str, value: Any, extra: dict[str, Any]
) -> None:
    sb, client = fuzz_sb
    task = next(iter(sb.state.objects["task"]))
    gid = sb.truth.field_gids.get(field, "123")
    body = {"data": {"custom_fields": {gid: value}, **extra}}
    _check(client.put(f"{sb.base_url}/tasks/{task}", json=body))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=json_values)
def test_entry_and_story_creates_never_500(fuzz_sb: tuple[Sandbox, httpx.Client], data: Any) -> None:
    sb, client = fuzz_sb
    task = next(iter(sb.state.objects["task"]))
    for path in ("time_tracking_entries", "stories", "subtasks"):
        _check(client.post(f"{sb.base_url}/tasks/{task}/{path}", json={"data": data}))
    _check(client.post(f"{sb.base_url}/custom_fields", json={"data": data}))
    _check(client.post(f"{sb.base_url}/webhooks", json={"data": data}))


def test_nan_and_huge_numbers_are_400(fuzz_sb: tuple[Sandbox, httpx.Client]) -> None:
    sb, client = fuzz_sb
    task = next(iter(sb.state.objects["task"]))
    est = sb.truth.field_gids["Estimated Hours"]
    for raw in ("NaN", "Infinity", "1e300", '"12"'):
        body = '{"data": {"custom_fields": {"' + est + '": ' + raw + "}}}"
        r = client.put(f"{sb.base_url}/tasks/{task}", content=body.encode())
        assert r.status_code == 400, raw
