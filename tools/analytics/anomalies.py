"""Time-entry anomalies: each flag has a kind, a score in [0, 1] and a reason a person can read.

Kinds: variance over the estimate (task level), pace far from the person's own history (robust
median/MAD of their daily hours), weekend and holiday/time-off entries, duplicates, implausible
durations, future dates, missing logs. Confirmed-normal feedback (:class:`DetectorFeedback`) raises that
person's threshold for that kind: continuous kinds get a higher threshold, binary kinds a lower score.
Vectorised over a :class:`~tools.analytics.frame.Frame` (numpy grouping; Python loops only over flags and person-weeks).
"""

from __future__ import annotations

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
    DUPLICATE = "duplicate"  # same person, task, day and duration; scored by timing, note, rarity
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

    variance_threshold: float = 0.5  # |actual - estimate| / estimate: the product rule, decides the flag
    variance_z: float = (
        3.5  # robust z of log(actual/estimate) from which a miss is an outlier (scores >= 0.5)
    )
    variance_min_tasks: int = 8  # completed tasks needed before a person's (or type's) own spread is used
    variance_sigma_floor: float = 0.1  # log units: a very consistent history does not make 15% extreme
    variance_default_sigma: float = 0.5  # log units, with no history at all (about a factor 1.65)
    pace_z: float = 3.5  # robust z of a day's hours against the person's own days
    pace_min_excess_hours: float = 2.0  # and at least this many hours above their median day
    pace_min_days: int = 8  # history needed before pace is judged
    pace_sigma_floor_hours: float = 0.5
    max_day_hours: float = 16.0
    weekend_score: float = 0.5
    holiday_score: float = 0.6
    time_off_score: float = 0.7
    duplicate_score: float = 0.8  # an exact match with decisive evidence (2 bans); half of it with none
    duplicate_window_minutes: float = 15.0  # created further apart than this: probably two real sessions
    duplicate_note_mismatch_lr: float = 0.1  # a copy with a note dropped or added (one side blank)
    duplicate_min_null_gaps: int = 20  # a person's own creation gaps needed; fewer: the team's
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
        from tools.analytics.duplicates import find_duplicates  # it builds on this module's context

        find_duplicates(ctx, in_window)
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


def _robust_centre(log_ratios: NDArray[np.float64], config: AnomalyConfig) -> tuple[float, float] | None:
    """(median, sigma) of log(actual/estimate) with sigma = 1.4826 MAD, or None below the sample floor."""
    if log_ratios.size < config.variance_min_tasks:
        return None
    median = float(np.median(log_ratios))
    sigma = MAD_TO_SD * float(np.median(np.abs(log_ratios - median)))
    return median, max(sigma, config.variance_sigma_floor)


def _variance(ctx: _Ctx, lo: int, hi: int) -> None:
    """The product rule (actual more than 50% off the estimate) decides *whether* a task is flagged; how
    surprising the miss is for that person decides the score.

    Surprise is a robust z of log(actual/estimate) against the assignee's own completed tasks (median,
    1.4826 MAD), else their project type's, else the whole team's: a person whose tasks routinely run
    2x gets a low score for another 2x, a 4x overrun from someone who usually lands within 20% a high
    one. Below the outlier cut-off (``variance_z``, Iglewicz-Hoaglin's 3.5) a flag scores between
    ``min_score`` and 0.5 (listed, not proposed); above it, 0.5 at the cut-off and 1.0 at twice it.
    """
    frame = ctx.frame
    config = ctx.config
    logged_hours = frame.task_logged_minutes() / 60.0
    # No actual field and nothing logged: the actual is unknown, not zero.
    known = np.isfinite(frame.act) | (logged_hours > 0)
    actual = np.where(np.isnan(frame.act), logged_hours, frame.act)
    # A single entry longer than a plausible day is flagged as implausible on its own (usually a typo,
    # 20 h for 20 min): counted into an actual summed from entries it would also fake a huge overrun.
    # An actual typed into a custom field is a person's figure and stays as it is.
    typo = (frame.e_task >= 0) & (frame.e_minutes > config.max_day_hours * 60)
    if typo.any():
        typo_hours = (
            np.bincount(
                frame.e_task[typo], weights=frame.e_minutes[typo].astype(np.float64), minlength=frame.n_tasks
            )
            / 60.0
        )
        summed = np.fromiter(
            (t.actual_source is not ActualSource.CUSTOM_FIELD for t in frame.tasks), np.bool_, frame.n_tasks
        )
        actual = np.where(summed, np.maximum(actual - typo_hours, 0.0), actual)
    ref = np.where(frame.completed, frame.completed_day, frame.as_of_day)
    est = frame.est
    ok = (est > 0) & (ref >= lo) & (ref <= hi) & np.isfinite(actual) & known
    # Completed tasks both ways; open tasks only once they already ran over.
    ok &= frame.completed | (actual > est)
    idx = np.flatnonzero(ok)
    deviation = np.abs(actual[idx] - est[idx]) / est[idx]
    fired = np.flatnonzero(deviation > config.variance_threshold)
    if fired.size == 0:
        return
    # History: completed tasks with both figures, up to the end of the window (no peeking ahead).
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.log(actual / est)
    history = (
        frame.completed & (est > 0) & (actual > 0) & np.isfinite(log_ratio) & (frame.completed_day <= hi)
    )
    hist = np.flatnonzero(history)
    types = [frame.tasks[i].project_type or "" for i in hist.tolist()]
    by_person: dict[int, tuple[float, float] | None] = {}
    by_type: dict[str, tuple[float, float] | None] = {}
    team = _robust_centre(log_ratio[hist], config)

    def baseline(i: int) -> tuple[float, float, str]:
        code = int(frame.task_person[i])
        if code >= 0 and code not in by_person:
            by_person[code] = _robust_centre(log_ratio[hist[frame.task_person[hist] == code]], config)
        if code >= 0 and by_person[code] is not None:
            median, sigma = by_person[code]  # type: ignore[misc]
            return median, sigma, f"{frame.person_name(code)}'s tasks"
        kind = frame.tasks[i].project_type or ""
        if kind not in by_type:
            mask = np.fromiter((t == kind for t in types), np.bool_, len(types))
            by_type[kind] = _robust_centre(log_ratio[hist[mask]], config)
        found = by_type[kind]
        if found is not None:
            return found[0], found[1], f"{kind or 'untyped'} tasks"
        if team is not None:
            return team[0], team[1], "the team's tasks"
        return 0.0, config.variance_default_sigma, "no history yet"

    for pos in fired.tolist():
        i = int(idx[pos])
        code = int(frame.task_person[i])
        factor = ctx.factor(code, AnomalyKind.VARIANCE)
        dev = float(deviation[pos])
        if dev <= config.variance_threshold * factor:
            continue
        median, sigma, basis = baseline(i)
        # A completed task with nothing logged against an estimate: as far off as a minute would be.
        ratio = float(np.log(max(float(actual[i]), 1.0 / 60.0) / float(est[i])))
        z = abs(ratio - median) / sigma
        z_limit = config.variance_z * factor
        if z >= z_limit:
            score = ramp_score(z, z_limit)
        else:
            score = config.min_score + (0.5 - config.min_score) * z / z_limit
        task = frame.tasks[i]
        pct = (actual[i] - est[i]) / est[i] * 100.0
        state = "" if task.completed else " so far (still open)"
        ctx.add_flag(
            AnomalyKind.VARIANCE,
            max(config.min_score, score),
            f"{actual[i]:.1f} h against an estimate of {est[i]:.1f} h ({pct:+.0f}%){state}; "
            f"robust z {z:.1f} against {basis} (usually {math.exp(median):.2f}x the estimate)",
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
