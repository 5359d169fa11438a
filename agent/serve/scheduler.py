"""Cron schedules for `effort serve` (APScheduler 3.11), with a clock-driven path for tests.

`Schedules` holds one `CronTrigger.from_crontab(...)` per configured job (`ScheduleConfig`: sync,
summary, retro) and runs the injected callables. In production `start()` hands the same triggers to a
`BackgroundScheduler`. `fire_due(now)` drives the very same triggers from a caller's clock, so a test
can prove that "Monday 08:00" fires the summary without waiting for Monday. Every run's outcome is
recorded for `/healthz`; a failing job is logged (redacted) and never stops the scheduler.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from agent.config import ScheduleConfig
from tools.cron import cron_trigger, crontab_dow_to_apscheduler

__all__ = [
    "JOB_NAMES",
    "ScheduleError",
    "Schedules",
    "cron_trigger",
    "crontab_dow_to_apscheduler",
    "parse_schedules",
]

log = logging.getLogger("effort.serve.scheduler")

JOB_NAMES = ("sync", "summary", "retro", "timesheets")


class ScheduleError(ValueError):
    """A cron expression or time zone in the config cannot be used; the message names the job."""


@dataclass
class JobStatus:
    name: str
    cron: str
    next_run: datetime | None = None
    last_run: datetime | None = None
    last_ok: bool | None = None
    last_error: str | None = None
    last_result: str | None = None
    runs: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "cron": self.cron,
            "next_run": self.next_run.isoformat() if self.next_run else None,
            "last_run": self.last_run.isoformat() if self.last_run else None,
            "last_ok": self.last_ok,
            "last_error": self.last_error,
            "last_result": self.last_result,
            "runs": self.runs,
        }


def parse_schedules(config: ScheduleConfig) -> dict[str, CronTrigger]:
    """One trigger per job with a cron expression (5 fields); a bad expression is a clear error."""
    try:
        tz = ZoneInfo(config.timezone)
    except Exception as exc:
        raise ScheduleError(f"schedules.timezone: unknown time zone {config.timezone!r}") from exc
    triggers: dict[str, CronTrigger] = {}
    for name in JOB_NAMES:
        expr = getattr(config, name)
        if not expr:
            continue
        try:
            triggers[name] = cron_trigger(expr, tz)
        except ValueError as exc:
            raise ScheduleError(f"schedules.{name}: invalid cron expression {expr!r} ({exc})") from None
    return triggers


class Schedules:
    """The configured jobs, their triggers, their last results; optionally a running APScheduler."""

    def __init__(
        self,
        config: ScheduleConfig,
        jobs: Mapping[str, Callable[[], Any]],
        *,
        clock: Callable[[], datetime] | None = None,
        redact: Callable[[str], str] = lambda s: s,
    ) -> None:
        self.tz = ZoneInfo(config.timezone) if config.timezone else ZoneInfo("UTC")
        self.triggers = {n: t for n, t in parse_schedules(config).items() if n in jobs}
        self.jobs = dict(jobs)
        self.redact = redact
        self.clock = clock or (lambda: datetime.now(self.tz))
        self.status = {n: JobStatus(n, str(getattr(config, n))) for n in self.triggers}
        self._lock = threading.Condition()
        self._scheduler: BackgroundScheduler | None = None
        self._next: dict[str, datetime | None] = {}

    # -- running one job ------------------------------------------------------------------------------
    def run_job(self, name: str) -> JobStatus:
        """Run job ``name`` now and record the outcome (exceptions are caught and logged)."""
        status = self.status[name]
        started = self.clock()
        try:
            result = self.jobs[name]()
            ok, error, summary = True, None, None if result is None else self.redact(str(result))[:300]
        except Exception as exc:
            ok, error, summary = False, self.redact(f"{type(exc).__name__}: {exc}")[:500], None
            log.error("scheduled job %s failed: %s", name, error)
        with self._lock:
            status.last_run, status.last_ok, status.last_error, status.last_result = (
                started,
                ok,
                error,
                summary,
            )
            status.runs += 1
            self._lock.notify_all()
        return status

    def wait_runs(self, name: str, runs: int, timeout: float = 10.0) -> bool:
        """Block until job ``name`` has completed ``runs`` runs (tests, operators) or ``timeout``."""
        with self._lock:
            return self._lock.wait_for(lambda: self.status[name].runs >= runs, timeout)

    # -- clock-driven (tests, and any caller that owns time) -------------------------------------------
    def arm(self, now: datetime) -> dict[str, datetime | None]:
        """Compute each job's first fire time after ``now``."""
        self._next = {n: t.get_next_fire_time(None, now) for n, t in self.triggers.items()}
        for n, when in self._next.items():
            self.status[n].next_run = when
        return dict(self._next)

    def fire_due(self, now: datetime) -> list[str]:
        """Run every job whose fire time is <= ``now`` (missed runs coalesce into one); return their names."""
        if not self._next:
            raise RuntimeError("call arm(start) before fire_due(now)")
        fired: list[str] = []
        for name, trigger in self.triggers.items():
            due = self._next.get(name)
            if due is None or due > now:
                continue
            self.run_job(name)
            fired.append(name)
            nxt = trigger.get_next_fire_time(due, now)
            while nxt is not None and nxt <= now:
                nxt = trigger.get_next_fire_time(nxt, now)
            self._next[name] = nxt
            self.status[name].next_run = nxt
        return fired

    # -- APScheduler -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start a background APScheduler with the same triggers (coalesced, one instance per job)."""
        if self._scheduler is not None:
            return
        scheduler = BackgroundScheduler(timezone=self.tz)
        for name, trigger in self.triggers.items():
            scheduler.add_job(
                self.run_job,
                trigger,
                args=[name],
                id=name,
                name=f"effort {name}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=3600,
                replace_existing=True,
            )
        scheduler.start()
        self._scheduler = scheduler

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None

    @property
    def running(self) -> bool:
        return self._scheduler is not None and bool(self._scheduler.running)

    def run_soon(self, name: str) -> None:
        """Ask the running scheduler to fire ``name`` now (used by tests and by an operator endpoint)."""
        if self._scheduler is None:
            raise RuntimeError("scheduler is not running")
        self._scheduler.modify_job(name, next_run_time=datetime.now(self.tz))

    def snapshot(self) -> dict[str, Any]:
        """Per job: cron, next run, last run and result (for /healthz)."""
        if self._scheduler is not None:
            for job in self._scheduler.get_jobs():
                if job.id in self.status:
                    self.status[job.id].next_run = job.next_run_time
        with self._lock:
            return {n: s.as_dict() for n, s in self.status.items()}
