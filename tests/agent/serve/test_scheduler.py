"""Schedules: cron from the config fires the injected jobs, driven by a fake clock (no sleeps)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from agent.config import ScheduleConfig, Settings
from agent.serve.app import create_app
from agent.serve.deps import ServeDeps
from agent.serve.scheduler import ScheduleError, Schedules, parse_schedules
from tests.fixtures.serve import FakeChecker, FakeGate


def _at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def _recorder(ran: list[str], name: str) -> Callable[[], None]:
    def job() -> None:
        ran.append(name)

    return job


def test_jobs_fire_at_their_cron_times_with_an_injected_clock() -> None:
    ran: list[str] = []
    now = {"t": _at(29, 0)}  # Sunday 2026-11-29 00:00 UTC
    schedules = Schedules(
        ScheduleConfig(),  # sync 02:00 daily, summary Monday 08:00, retro the 1st at 07:00
        {name: _recorder(ran, name) for name in ("sync", "summary", "retro")},
        clock=lambda: now["t"],
    )
    first = schedules.arm(now["t"])
    assert first == {"sync": _at(29, 2), "summary": _at(30, 8), "retro": _at(1, 7, month=12)}
    assert schedules.fire_due(_at(29, 1, 59)) == []
    assert schedules.fire_due(_at(29, 2)) == ["sync"]
    assert schedules.fire_due(_at(29, 2, 30)) == []  # once per fire time
    # Monday 08:00: the 02:00 sync and the summary are both due.
    assert sorted(schedules.fire_due(_at(30, 8))) == ["summary", "sync"]
    # Two days later with the clock jumping: the missed syncs coalesce into one run.
    assert schedules.fire_due(datetime(2026, 12, 2, 9, 0, tzinfo=UTC)) == ["sync", "retro"]
    assert ran == ["sync", "sync", "summary", "sync", "retro"]
    status = schedules.snapshot()
    assert status["sync"]["runs"] == 3 and status["sync"]["last_ok"] is True
    assert status["sync"]["next_run"] == datetime(2026, 12, 3, 2, 0, tzinfo=UTC).isoformat()


def test_schedules_respect_the_configured_time_zone() -> None:
    schedules = Schedules(
        ScheduleConfig(sync="30 6 * * *", summary=None, retro=None, timezone="Europe/Berlin"),
        {"sync": lambda: None},
    )
    nxt = schedules.arm(_at(29, 0))["sync"]
    assert nxt is not None and nxt.astimezone(UTC) == _at(29, 5, 30)  # 06:30 CET = 05:30 UTC
    assert set(schedules.triggers) == {"sync"}  # disabled jobs are not scheduled


def test_a_failing_job_is_recorded_and_does_not_stop_the_others() -> None:
    def boom() -> None:
        raise RuntimeError("asana down; token=secret-token-123")

    schedules = Schedules(
        ScheduleConfig(sync="0 2 * * *", summary="0 2 * * *", retro=None),
        {"sync": boom, "summary": lambda: "ok"},
        redact=lambda s: s.replace("secret-token-123", "***"),
    )
    schedules.arm(_at(29, 0))
    assert sorted(schedules.fire_due(_at(29, 2))) == ["summary", "sync"]
    snap = schedules.snapshot()
    assert snap["sync"]["last_ok"] is False and "asana down" in snap["sync"]["last_error"]
    assert "secret-token-123" not in snap["sync"]["last_error"]
    assert snap["summary"]["last_ok"] is True and snap["summary"]["last_result"] == "ok"


def test_bad_cron_or_zone_is_refused_when_the_config_is_read() -> None:
    with pytest.raises(ValidationError, match=r"summary: invalid cron expression 'every monday'"):
        ScheduleConfig(summary="every monday")
    with pytest.raises(ValidationError, match=r"retro: .*'0 7 30 2 \*'.*never fires"):  # 30 February
        ScheduleConfig(retro="0 7 30 2 *")
    with pytest.raises(ValidationError, match="time zone"):
        ScheduleConfig(timezone="Mars/Olympus")
    from agent.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="never fires"):  # `effort serve` never starts with it
        load_settings(None, schedules={"retro": "0 7 31 4 *"})  # 31 April
    assert ScheduleConfig(retro="0 7 29 2 *").retro == "0 7 29 2 *"  # leap years have a 29 February
    with pytest.raises(ScheduleError, match=r"schedules\.summary"):  # still caught where triggers are made
        parse_schedules(ScheduleConfig.model_construct(summary="every monday", timezone="UTC"))


def test_apscheduler_runs_the_job_and_healthz_reports_it(serve_settings: Settings) -> None:
    fired = threading.Event()
    calls: list[int] = []

    def sync_job() -> str:
        calls.append(1)
        fired.set()
        return "synced 3 tasks"

    deps = ServeDeps(propose=FakeGate(), check_task=FakeChecker(), jobs={"sync": sync_job})
    app = create_app(serve_settings, deps, start_scheduler=True)
    runtime = app.state.runtime
    with TestClient(app) as client:
        health = client.get("/healthz")
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "ok" and body["scheduler"]["running"] is True and body["db"]["reachable"]
        assert set(body["scheduler"]["jobs"]) == {"sync"}  # only configured jobs with a callable
        assert body["scheduler"]["jobs"]["sync"]["next_run"] is not None
        runtime.schedules.run_soon("sync")  # the real APScheduler fires it on its own thread
        assert fired.wait(10)
        assert runtime.schedules.wait_runs("sync", 1, timeout=10)  # outcome recorded after the job returns
        job = client.get("/healthz").json()["scheduler"]["jobs"]["sync"]
        assert job["last_ok"] is True and job["last_result"] == "synced 3 tasks"
    assert calls == [1]
    assert runtime.schedules.running is False  # shut down with the app


def test_healthz_says_when_deliveries_were_lost_to_max_webhook_bytes(serve_settings: Settings) -> None:
    deps = ServeDeps(propose=FakeGate(), check_task=FakeChecker())
    app = create_app(serve_settings, deps, start_scheduler=False)
    with TestClient(app) as client:
        assert client.get("/healthz").json()["webhooks"]["max_bytes"] == serve_settings.max_webhook_bytes
        big = b"x" * (serve_settings.max_webhook_bytes + 1)
        assert client.post("/webhooks/asana/1", content=big).status_code == 413
        health = client.get("/healthz")
        assert health.status_code == 503 and "raise max_webhook_bytes" in health.json()["webhooks"]["problem"]


def test_healthz_is_503_when_the_database_is_unreachable(serve_settings: Settings) -> None:
    deps = ServeDeps(propose=FakeGate(), check_task=FakeChecker())
    app = create_app(serve_settings, deps, start_scheduler=False)
    with TestClient(app) as client:
        app.state.runtime.store.ping = lambda: False
        response = client.get("/healthz")
        assert response.status_code == 503 and response.json()["status"] == "degraded"


def test_crontab_day_numbers_mean_what_cron_means() -> None:
    from agent.serve.scheduler import crontab_dow_to_apscheduler

    # APScheduler counts 0 = Monday; crontab counts 0 (and 7) = Sunday.
    assert crontab_dow_to_apscheduler("1") == "mon"
    assert crontab_dow_to_apscheduler("0") == crontab_dow_to_apscheduler("7") == "sun"
    assert crontab_dow_to_apscheduler("1-5") == "mon,tue,wed,thu,fri"
    assert crontab_dow_to_apscheduler("*/2") == "sun,tue,thu,sat"
    assert crontab_dow_to_apscheduler("mon-fri") == "mon-fri"
    assert crontab_dow_to_apscheduler("*") == "*"
    with pytest.raises(ValueError):
        crontab_dow_to_apscheduler("9")
    sunday = parse_schedules(ScheduleConfig(sync="0 3 * * 0", summary=None, retro=None))["sync"]
    assert sunday.get_next_fire_time(None, _at(24, 0)) == _at(29, 3)  # 2026-11-29 is a Sunday
