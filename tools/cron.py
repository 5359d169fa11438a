"""Cron expressions: THE reading of a 5-field crontab line (``effort serve``'s schedules), used by the
config check at load time and by the scheduler.

APScheduler does the parsing; two things are ours: crontab's day-of-week numbering (0 and 7 = Sunday,
where APScheduler 3 counts 0 = Monday), and refusing an expression that can never fire ("0 7 30 2 *",
30 February), which APScheduler accepts and then never runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def crontab_dow_to_apscheduler(field: str) -> str:
    """Translate a crontab day-of-week field (0 or 7 = Sunday) into day names for APScheduler.

    APScheduler 3's ``CronTrigger`` (and its ``from_crontab``) counts 0 = Monday, so a literal "1" in
    a crontab ("Mondays") would fire on Tuesdays. Names are unambiguous in both, so numbers, ranges
    and steps are expanded to names; names (``mon-fri``) pass through unchanged.
    """
    field = field.strip().lower()
    if field in {"*", "?"}:
        return "*"
    days: list[str] = []
    for token in field.split(","):
        base, _, step_text = token.partition("/")
        step = int(step_text) if step_text.isdigit() else 1
        if step_text and not step_text.isdigit():
            raise ValueError(f"bad step in day-of-week {token!r}")
        if base == "*":
            lo, hi = 0, 6
        elif "-" in base:
            a, _, b = base.partition("-")
            if not (a.isdigit() and b.isdigit()):
                days.append(token)  # a named range such as mon-fri
                continue
            lo, hi = int(a), int(b)
        elif base.isdigit():
            lo = int(base)
            hi = 6 if step_text else lo
        else:
            days.append(token)
            continue
        if not (0 <= lo <= 7 and 0 <= hi <= 7 and lo <= hi and step >= 1):
            raise ValueError(f"day-of-week out of range in {token!r}")
        days += [_DOW_NAMES[d % 7] for d in range(lo, hi + 1, step)]
    return ",".join(dict.fromkeys(days))


def cron_trigger(expr: str, tz: ZoneInfo) -> CronTrigger:
    """A standard 5-field crontab line as an APScheduler trigger (like ``from_crontab``, but with
    crontab's Sunday = 0 day numbering)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"expected 5 fields, got {len(fields)}")
    minute, hour, day, month, dow = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_dow_to_apscheduler(dow),
        timezone=tz,
    )


def check_cron(expr: str, timezone: str = "UTC") -> None:
    """Raise ``ValueError`` (saying why) unless ``expr`` is a 5-field crontab line that fires at least
    once (a date such as 30 February never comes)."""
    trigger = cron_trigger(expr, ZoneInfo(timezone))
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
        raise ValueError("it never fires (no date matches its day and month)")
