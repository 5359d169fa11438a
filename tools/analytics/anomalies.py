"""Time-entry anomalies: each flag has a kind, a score in [0, 1] and a reason a person can read.

Kinds: variance over the estimate (task level), pace far from the person's own history (robust
median/MAD of their daily hours), weekend and holiday/time-off entries, duplicates, implausible
durations, future dates, missing logs. Confirmed-normal feedback (:class:`DetectorFeedback`) raises that
person's threshold for that kind: continuous kinds get a higher threshold, binary kinds a lower score.
Vectorised over a :class:`~tools.analytics.frame.Frame` (numpy grouping; Python loops only over flags and person-weeks).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from tools.analytics.calendar import WorkCalendar
from tools.analytics.frame import Frame, build_frame, date_of, day_of, week_start
from tools.analytics.stats import MAD_TO_SD, ramp_score
from tools.records import ActualSource, Workspace


class AnomalyKind(StrEnum):
    VARIANCE = "variance"  # actual more than 50% away from the estimate
    PACE = "pace"  # a day far above the person's own usual daily hours
    WEEKEND = "weekend"
    HOLIDAY = "holiday"  # public holiday or the person's own time off
    DUPLICATE = "duplicate"  # same person, task, day and duration
    IMPLAUSIBLE = "implausible_duration"  # zero/negative, or more than 16 h in a day
    FUTURE = "future_date"  # entered_on after the snapshot's as_of
    MISSING_LOG = "missing_log"  # completed task with actual hours but no entries; a silent working week


class DetectorFeedback(BaseModel):
    """A reviewer's verdict on a flag pattern; the approval flow stores these, detection consumes them."""

    model_config = ConfigDict(frozen=True)

    person_gid: str
    kind: AnomalyKind
    confirmed_normal: bool = True  # True: "this is normal for them" -> raise their threshold
    note: str | None = None


class AnomalyConfig(BaseModel):
    model_config = ConfigDict(frozen=True)

    variance_threshold: float = 0.5  # |actual - estimate| / estimate
    pace_z: float = 3.5  # robust z of a day's hours against the person's own days
    pace_min_excess_hours: float = 2.0  # and at least this many hours above their median day
    pace_min_days: int = 8  # history needed before pace is judged
    pace_sigma_floor_hours: float = 0.5
    max_day_hours: float = 16.0
    weekend_score: float = 0.5
    holiday_score: float = 0.6
    time_off_score: float = 0.7
    duplicate_score: float = 0.8
    duplicate_window_minutes: float = 15.0  # created further apart than this: probably two real sessions
    future_score: float = 0.9
    missing_entries_score: float = 0.6
    silent_week_score: float = 0.5
    feedback_step: float = 1.5  # each net confirmed-normal multiplies the threshold by this
    feedback_max: float = 4.0
    min_score: float = 0.35  # flags scoring below this are dropped (feedback pushes them under)
    kinds: tuple[AnomalyKind, ...] = tuple(AnomalyKind)


class AnomalyFlag(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: AnomalyKind
    score: float = Field(ge=0.0, le=1.0)
    reason: str
    entry_gid: str | None = None
    task_gid: str | None = None
    person_gid: str | None = None
    day: date | None = None
    hours: float | None = None


class AnomalySummary(BaseModel):
    """Compact digest for reports and chat: counts plus the highest-scoring flags."""

    model_config = ConfigDict(frozen=True)

    total: int
    by_kind: dict[str, int]
    by_person: list[tuple[str, int]]  # (name, flags), most first, top-N
    top: list[AnomalyFlag]


def feedback_factors(
    feedback: Iterable[DetectorFeedback], config: AnomalyConfig
) -> dict[tuple[str, str], float]:
    """Threshold multiplier per (person gid, kind): step ** (confirmed normal - confirmed anomalous)."""
    net: Counter[tuple[str, str]] = Counter()
    for item in feedback:
        net[(item.person_gid, str(item.kind))] += 1 if item.confirmed_normal else -1
    return {
        key: float(min(config.feedback_max, config.feedback_step ** max(0, count)))
        for key, count in net.items()
    }


def _hours(minutes: float) -> str:
    return f"{minutes / 60.0:.1f} h"


class _Ctx:
    """Shared lookups for one detection run (kept off the hot path)."""

    def __init__(self, frame: Frame, factors: dict[tuple[str, str], float], config: AnomalyConfig) -> None:
        self.frame = frame
        self.factors = factors
        self.config = config
        self.entries = frame.workspace.entries
        self.flags: list[AnomalyFlag] = []

    def factor(self, person_code: int, kind: AnomalyKind) -> float:
        if person_code < 0 or not self.factors:
            return 1.0
        return self.factors.get((self.frame.person_gids[person_code], str(kind)), 1.0)

    def person_gid(self, code: int) -> str | None:
        return self.frame.person_gids[code] if code >= 0 else None

    def task_label(self, code: int) -> str:
        return f"'{self.frame.tasks[code].name[:60]}'" if code >= 0 else "an unknown task"

    def add_flag(
        self,
        kind: AnomalyKind,
        score: float,
        reason: str,
        *,
        entry_gid: str | None = None,
        task_gid: str | None = None,
        person_gid: str | None = None,
        day: date | None = None,
        hours: float | None = None,
    ) -> None:
        """Keep a flag unless it scores under ``min_score`` (feedback pushes false alarms there)."""
        if score < self.config.min_score:
            return
        self.flags.append(
            AnomalyFlag(
                kind=kind,
                score=round(score, 3),
                reason=reason,
                entry_gid=entry_gid,
                task_gid=task_gid,
                person_gid=person_gid,
                day=day,
                hours=hours,
            )
        )

    def add_entry_flag(self, kind: AnomalyKind, i: int, score: float, reason: str) -> None:
        entry = self.entries[i]
        self.add_flag(
            kind,
            min(1.0, score),
            reason,
            entry_gid=entry.gid,
            task_gid=entry.task_gid,
            person_gid=entry.user_gid,
            day=entry.entered_on,
            hours=round(entry.duration_minutes / 60.0, 2),
        )

    def add_binary(self, kind: AnomalyKind, idx: NDArray[np.intp], base: float, reason_of: object) -> None:
        person = self.frame.e_person
        for i in idx:
            code = int(person[i])
            score = base / self.factor(code, kind)
            if score >= self.config.min_score:
                self.add_entry_flag(kind, int(i), score, reason_of(int(i)))  # type: ignore[operator]


def detect_anomalies(
    workspace: Workspace,
    *,
    calendar: WorkCalendar | None = None,
    config: AnomalyConfig | None = None,
    feedback: Sequence[DetectorFeedback] = (),
    start: date | None = None,
    end: date | None = None,
    frame: Frame | None = None,
) -> list[AnomalyFlag]:
    """All flags for entries dated in ``[start, end]`` (all by default), highest score first.

    Pace history uses every entry up to ``end``; ``as_of`` (the workspace's) decides what is "future".
    """
    frame = frame or build_frame(workspace)
    config = config or AnomalyConfig()
    calendar = calendar or WorkCalendar()
    ctx = _Ctx(frame, feedback_factors(feedback, config), config)
    lo = day_of(start) if start else -(2**30)
    hi = day_of(end) if end else 2**30
    in_window = (frame.e_day >= lo) & (frame.e_day <= hi)
    kinds = set(config.kinds)
    if AnomalyKind.FUTURE in kinds:
        _future(ctx, in_window)
    if AnomalyKind.IMPLAUSIBLE in kinds:
        _implausible(ctx, in_window)
    if AnomalyKind.DUPLICATE in kinds:
        _duplicates(ctx, in_window)
    if AnomalyKind.WEEKEND in kinds or AnomalyKind.HOLIDAY in kinds:
        _calendar_days(ctx, in_window, calendar, kinds)
    if AnomalyKind.PACE in kinds:
        _pace(ctx, in_window, hi)
    if AnomalyKind.VARIANCE in kinds:
        _variance(ctx, lo, hi)
    if AnomalyKind.MISSING_LOG in kinds:
        _missing_logs(ctx, lo, hi, calendar)
    ctx.flags.sort(key=lambda f: (-f.score, f.kind.value, f.entry_gid or f.task_gid or f.person_gid or ""))
    return ctx.flags


def _biggest_per_group(
    inverse: NDArray[np.intp], minutes: NDArray[np.int64], idx: NDArray[np.intp]
) -> NDArray[np.intp]:
    """For grouped entries ``idx`` (group ids ``inverse``), the entry with the longest duration per group."""
    order = np.lexsort((-minutes[idx], inverse))
    _, first = np.unique(inverse[order], return_index=True)
    return idx[order[first]]


def _future(ctx: _Ctx, window: NDArray[np.bool_]) -> None:
    frame = ctx.frame
    as_of = date_of(frame.as_of_day)
    idx = np.flatnonzero(window & (frame.e_day > frame.as_of_day))
    ctx.add_binary(
        AnomalyKind.FUTURE,
        idx,
        ctx.config.future_score,
        lambda i: f"dated {ctx.entries[i].entered_on}, after the snapshot date {as_of}",
    )


def _implausible(ctx: _Ctx, window: NDArray[np.bool_]) -> None:
    frame = ctx.frame
    minutes = frame.e_minutes
    bad = np.flatnonzero(window & (minutes <= 0))
    for bad_i in bad.tolist():
        ctx.add_entry_flag(
            AnomalyKind.IMPLAUSIBLE,
            bad_i,
            1.0,
            f"duration of {int(minutes[bad_i])} minutes (zero or negative)",
        )
    # Day totals per person: more than max_day_hours (times their feedback factor) is implausible.
    positive = window & (minutes > 0) & (frame.e_person >= 0)
    idx = np.flatnonzero(positive)
    if idx.size == 0:
        return
    code = (frame.e_person[idx].astype(np.int64) << 32) | (frame.e_day[idx].astype(np.int64) & 0xFFFFFFFF)
    _, inverse = np.unique(code, return_inverse=True)
    totals = np.bincount(inverse, weights=minutes[idx].astype(np.float64))
    limit = ctx.config.max_day_hours * 60.0
    over = np.flatnonzero(totals > limit)
    if over.size == 0:
        return
    biggest_of = _biggest_per_group(inverse, minutes, idx)
    sizes = np.bincount(inverse)
    grouped = idx[np.argsort(inverse, kind="stable")]  # group g is grouped[starts[g] : starts[g] + sizes[g]]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    for g in over.tolist():
        members = grouped[starts[g] : starts[g] + sizes[g]]
        person_code = int(frame.e_person[members[0]])
        threshold = limit * ctx.factor(person_code, AnomalyKind.IMPLAUSIBLE)
        if totals[g] <= threshold:
            continue
        name = frame.person_name(person_code)
        day = date_of(int(frame.e_day[members[0]]))
        # Each single entry over the limit is its own flag; otherwise the day's biggest entry carries it.
        singles = [int(i) for i in members if minutes[i] > threshold]
        for single in singles:
            ctx.add_entry_flag(
                AnomalyKind.IMPLAUSIBLE,
                single,
                ramp_score(float(minutes[single]), threshold),
                f"one entry of {_hours(float(minutes[single]))} on {day} (over {threshold / 60:.0f} h in one day)",
            )
        if not singles:
            biggest = int(biggest_of[g])
            ctx.add_entry_flag(
                AnomalyKind.IMPLAUSIBLE,
                biggest,
                ramp_score(float(totals[g]), threshold),
                f"{name} logged {_hours(float(totals[g]))} on {day} "
                f"(over {threshold / 60:.0f} h in one day, {int(sizes[g])} entries)",
            )


def _duplicates(ctx: _Ctx, window: NDArray[np.bool_]) -> None:
    frame = ctx.frame
    idx = np.flatnonzero(window & (frame.e_minutes > 0))
    if idx.size < 2:
        return
    keys = (frame.e_minutes[idx], frame.e_day[idx], frame.e_task[idx], frame.e_person[idx])
    order = idx[np.lexsort(keys)]  # last key is primary; ties keep input order (stable)
    same = (
        (frame.e_person[order[1:]] == frame.e_person[order[:-1]])
        & (frame.e_task[order[1:]] == frame.e_task[order[:-1]])
        & (frame.e_day[order[1:]] == frame.e_day[order[:-1]])
        & (frame.e_minutes[order[1:]] == frame.e_minutes[order[:-1]])
    )
    # An unknown task (-1) can't be compared meaningfully: require a known task.
    same &= frame.e_task[order[1:]] >= 0
    # Runs of equal keys in ``order``: each run is one (person, task, day, duration) group.
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    ends = np.concatenate((starts[1:], [order.size]))
    max_gap = ctx.config.duplicate_window_minutes
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        if e - s < 2:
            continue
        members = [ctx.entries[int(i)] for i in order[s:e]]
        codes = [int(i) for i in order[s:e]]
        # Compare each entry with the one created just before it (input order when unknown).
        stamps = [m.created_at.timestamp() if m.created_at is not None else math.inf for m in members]
        ranked = sorted(range(len(members)), key=lambda k: (stamps[k], k))
        for prev_k, k in itertools.pairwise(ranked):
            entry, original = members[k], members[prev_k]
            # Two sessions of the same length on one day happen; an accidental double entry is made
            # within minutes of the first and carries the same note. Evidence against it lowers the score.
            score = ctx.config.duplicate_score
            evidence = ""
            if entry.created_at is not None and original.created_at is not None:
                gap = abs((entry.created_at - original.created_at).total_seconds()) / 60.0
                if gap > max_gap:
                    score *= 0.4
                else:
                    evidence = f", created {gap:.0f} min apart"
            if (
                entry.description is not None
                and original.description is not None
                and entry.description != original.description
            ):
                score *= 0.6
            score /= ctx.factor(int(frame.e_person[codes[k]]), AnomalyKind.DUPLICATE)
            ctx.add_entry_flag(
                AnomalyKind.DUPLICATE,
                codes[k],
                score,
                f"same person, task, day and duration ({_hours(entry.duration_minutes)}) as entry "
                f"{original.gid}{evidence}",
            )


def _calendar_days(
    ctx: _Ctx, window: NDArray[np.bool_], calendar: WorkCalendar, kinds: set[AnomalyKind]
) -> None:
    frame = ctx.frame
    base = window & (frame.e_minutes > 0)
    holidays = calendar.holiday_days()
    holiday_mask = np.isin(frame.e_day, holidays) if holidays.size else np.zeros_like(base)
    if AnomalyKind.WEEKEND in kinds and calendar.weekend_days:
        weekday = (frame.e_day + 3) % 7
        weekend = base & np.isin(weekday, np.asarray(calendar.weekend_days)) & ~holiday_mask
        ctx.add_binary(
            AnomalyKind.WEEKEND,
            np.flatnonzero(weekend),
            ctx.config.weekend_score,
            lambda i: (
                f"{_hours(ctx.entries[i].duration_minutes)} logged on a weekend "
                f"({ctx.entries[i].entered_on:%A %Y-%m-%d})"
            ),
        )
    if AnomalyKind.HOLIDAY not in kinds:
        return
    ctx.add_binary(
        AnomalyKind.HOLIDAY,
        np.flatnonzero(base & holiday_mask),
        ctx.config.holiday_score,
        lambda i: (
            f"{_hours(ctx.entries[i].duration_minutes)} logged on a holiday ({ctx.entries[i].entered_on})"
        ),
    )
    for gid, days in calendar.time_off_days().items():
        code = frame.person_index.get(gid)
        if code is None:
            continue
        off = base & ~holiday_mask & (frame.e_person == code) & np.isin(frame.e_day, days)
        person_name = frame.person_name(code)
        ctx.add_binary(
            AnomalyKind.HOLIDAY,
            np.flatnonzero(off),
            ctx.config.time_off_score,
            lambda i, n=person_name: (
                f"{_hours(ctx.entries[i].duration_minutes)} logged during {n}'s time off "
                f"({ctx.entries[i].entered_on})"
            ),
        )


def _pace(ctx: _Ctx, window: NDArray[np.bool_], hi: int) -> None:
    frame = ctx.frame
    config = ctx.config
    history = (frame.e_minutes > 0) & (frame.e_person >= 0) & (frame.e_day <= hi)
    idx = np.flatnonzero(history)
    if idx.size == 0:
        return
    code = (frame.e_person[idx].astype(np.int64) << 32) | (frame.e_day[idx].astype(np.int64) & 0xFFFFFFFF)
    uniq, inverse = np.unique(code, return_inverse=True)
    day_hours = np.bincount(inverse, weights=frame.e_minutes[idx].astype(np.float64)) / 60.0
    day_person = (uniq >> 32).astype(np.int64)
    day_day = (uniq & 0xFFFFFFFF).astype(np.int64)
    day_in_window = np.zeros(uniq.size, dtype=np.bool_)
    np.logical_or.at(day_in_window, inverse, window[idx])
    # uniq is sorted, so each person's days are one contiguous run.
    biggest_of = _biggest_per_group(inverse, frame.e_minutes, idx)
    cuts = np.flatnonzero(np.diff(day_person)) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [uniq.size]))
    for s, e in zip(starts, ends, strict=True):
        if e - s < config.pace_min_days:
            continue
        hours = day_hours[s:e]
        median = float(np.median(hours))
        sigma = max(MAD_TO_SD * float(np.median(np.abs(hours - median))), config.pace_sigma_floor_hours)
        person_code = int(day_person[s])
        z_limit = config.pace_z * ctx.factor(person_code, AnomalyKind.PACE)
        z = (hours - median) / sigma
        candidate = (z > z_limit) & (hours - median >= config.pace_min_excess_hours) & day_in_window[s:e]
        if AnomalyKind.IMPLAUSIBLE in config.kinds:
            candidate &= hours <= config.max_day_hours  # over 16 h is flagged once, as implausible
        hits = np.flatnonzero(candidate)
        name = frame.person_name(person_code)
        for h in hits:
            g = s + int(h)
            biggest = int(biggest_of[g])
            ctx.add_entry_flag(
                AnomalyKind.PACE,
                biggest,
                ramp_score(float(z[h]), z_limit),
                f"{name} logged {hours[h]:.1f} h on {date_of(int(day_day[g]))}; their usual day is "
                f"{median:.1f} h (robust z {z[h]:.1f} over {e - s} days)",
            )


def _variance(ctx: _Ctx, lo: int, hi: int) -> None:
    frame = ctx.frame
    logged_hours = frame.task_logged_minutes() / 60.0
    actual = np.where(np.isnan(frame.act), logged_hours, frame.act)
    ref = np.where(frame.completed, frame.completed_day, frame.as_of_day)
    est = frame.est
    ok = (est > 0) & (ref >= lo) & (ref <= hi) & np.isfinite(actual)
    # Completed tasks both ways; open tasks only once they already ran over.
    ok &= frame.completed | (actual > est)
    idx = np.flatnonzero(ok)
    deviation = np.abs(actual[idx] - est[idx]) / est[idx]
    for pos in np.flatnonzero(deviation > ctx.config.variance_threshold):
        i = int(idx[pos])
        code = int(frame.task_person[i])
        threshold = ctx.config.variance_threshold * ctx.factor(code, AnomalyKind.VARIANCE)
        dev = float(deviation[pos])
        if dev <= threshold:
            continue
        task = frame.tasks[i]
        pct = (actual[i] - est[i]) / est[i] * 100.0
        state = "" if task.completed else " so far (still open)"
        ctx.add_flag(
            AnomalyKind.VARIANCE,
            ramp_score(dev, threshold),
            f"{actual[i]:.1f} h against an estimate of {est[i]:.1f} h ({pct:+.0f}%){state}",
            task_gid=task.gid,
            person_gid=ctx.person_gid(code),
            day=date_of(int(ref[i])),
            hours=round(float(actual[i]), 2),
        )


def _missing_logs(ctx: _Ctx, lo: int, hi: int, calendar: WorkCalendar) -> None:
    frame = ctx.frame
    config = ctx.config
    if frame.n_entries == 0:
        return  # a team that does not use time entries is not missing any
    counts = frame.task_entry_counts()
    projects_with_entries = np.unique(frame.e_project[frame.e_project >= 0])
    tracked_project = np.isin(frame.task_project, projects_with_entries)
    cand = (
        frame.completed
        & (frame.act > 0)
        & (counts == 0)
        & tracked_project
        & (frame.completed_day >= lo)
        & (frame.completed_day <= hi)
    )
    for i in np.flatnonzero(cand):
        task = frame.tasks[int(i)]
        if task.actual_source is ActualSource.ENTRIES:
            continue
        code = int(frame.task_person[i])
        ctx.add_flag(
            AnomalyKind.MISSING_LOG,
            config.missing_entries_score / ctx.factor(code, AnomalyKind.MISSING_LOG),
            f"completed with {frame.act[i]:.1f} actual hours but no time entries",
            task_gid=task.gid,
            person_gid=ctx.person_gid(code),
            day=date_of(int(frame.completed_day[i])),
            hours=round(float(frame.act[i]), 2),
        )
    _silent_weeks(ctx, lo, hi, calendar)


def _silent_weeks(ctx: _Ctx, lo: int, hi: int, calendar: WorkCalendar) -> None:
    """A person who logs time, has open assigned work in a full past working week, and logged nothing."""
    frame = ctx.frame
    config = ctx.config
    valid = (frame.e_person >= 0) & (frame.e_minutes > 0)
    person = frame.e_person[valid]
    week = frame.e_day[valid] - (frame.e_day[valid] + 3) % 7
    last_full_week = week_start(frame.as_of_day) - 7
    first_week_all = int(week.min()) if week.size else last_full_week + 7
    logged_weeks: dict[int, set[int]] = {}
    pairs = np.unique((person.astype(np.int64) << 32) | (week.astype(np.int64) & 0xFFFFFFFF))
    for p, w in zip((pairs >> 32).tolist(), (pairs & 0xFFFFFFFF).astype(np.int32).tolist(), strict=True):
        logged_weeks.setdefault(int(p), set()).add(int(w))
    for code, weeks in logged_weeks.items():
        first = max(min(weeks), first_week_all)  # a person's first week starts their history
        gid = frame.person_gids[code]
        tasks = np.flatnonzero(frame.task_person == code)
        if tasks.size == 0:
            continue
        created = frame.created_day[tasks]
        done = np.where(frame.completed[tasks], frame.completed_day[tasks], 2**30)
        for w in range(first, last_full_week + 1, 7):
            if w in weeks or w + 6 < lo or w > hi:
                continue
            # Weekends, holidays and the person's time off are not working days.
            if not calendar.day_mask(w, 7, gid).any():
                continue
            if not np.any((created <= w + 4) & (done >= w)):
                continue
            ctx.add_flag(
                AnomalyKind.MISSING_LOG,
                config.silent_week_score / ctx.factor(code, AnomalyKind.MISSING_LOG),
                f"{frame.person_name(code)} had open assigned tasks in the week of {date_of(w)} "
                "but logged no time",
                person_gid=gid,
                day=date_of(w),
            )


def summarize_anomalies(
    flags: Sequence[AnomalyFlag], *, top: int = 15, frame: Frame | None = None
) -> AnomalySummary:
    """Counts by kind and by person plus the ``top`` highest-scoring flags."""
    by_kind = Counter(f.kind.value for f in flags)
    by_person_gid = Counter(f.person_gid or "(unknown)" for f in flags)

    def name(gid: str) -> str:
        if frame is not None and gid in frame.people:
            return frame.people[gid].name
        return gid

    return AnomalySummary(
        total=len(flags),
        by_kind=dict(sorted(by_kind.items())),
        by_person=[(name(g), c) for g, c in by_person_gid.most_common(top)],
        top=list(flags[:top]),
    )


__all__ = [
    "AnomalyConfig",
    "AnomalyFlag",
    "AnomalyKind",
    "AnomalySummary",
    "DetectorFeedback",
    "detect_anomalies",
    "feedback_factors",
    "summarize_anomalies",
]
