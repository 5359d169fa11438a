"""How anomaly flags are *scored*: duplicates told apart from two real sessions of the same length, and
variance over 50% scored against the person's own spread (routine misses low, extreme ones high), with
the edge cases (one task, no history, zero estimate, unknown actual) and detector feedback."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest

from evals.bench.anomaly_bench import detectable, proposal_thresholds, score_flags
from tools.analytics import AnomalyFlag, AnomalyKind, DetectorFeedback, detect_anomalies
from tools.analytics.anomalies import AnomalyConfig
from tools.records import ActualSource, Person, Project, Task, TimeEntry, Workspace

AS_OF = datetime(2026, 10, 30, 18, 0, tzinfo=UTC)
FIRST_DAY = date(2026, 9, 1)
RETRO_THRESHOLD = 0.6  # agent.retro.RunLimits.flag_min_score: from here a flag is proposed
MIN_SCORE = AnomalyConfig().min_score


def _task(gid: str, person: str = "u1", **fields: object) -> Task:
    fields.setdefault("created_at", datetime(2026, 8, 20, 9, tzinfo=UTC))
    fields.setdefault("project_type", "client build")
    return Task(gid=gid, name=f"Task {gid}", project_gid="p1", assignee_gid=person, **fields)  # type: ignore[arg-type]


def _entry(
    gid: str,
    task: str,
    day: date,
    minutes: int,
    created: datetime | None,
    note: str | None,
    person: str = "u1",
) -> TimeEntry:
    return TimeEntry(
        gid=gid,
        task_gid=task,
        user_gid=person,
        entered_on=day,
        duration_minutes=minutes,
        created_at=created,
        description=note,
    )


def _history(
    durations: list[int],
    person: str = "u1",
    days: int = 30,
    batch: bool = False,
    notes: tuple[str, ...] = ("", "implementation", "review", "meeting", "research", "testing"),
) -> tuple[list[Task], list[TimeEntry]]:
    """Three entries a working day on three background tasks, lengths drawn from ``durations``, notes
    varied, created through the afternoon (seeded), or all at 17:00 a few minutes apart with ``batch``:
    what "two real sessions" look like for this person."""
    rng = random.Random(7)
    tasks = [_task(f"{person}-bg{k}", person) for k in range(3)]
    entries: list[TimeEntry] = []
    day = FIRST_DAY
    while len(entries) < 3 * days:
        if day.weekday() < 5:
            for k in range(3):
                hour, minute = (
                    (17, 4 * k + rng.randint(0, 3)) if batch else (rng.randint(13, 18), rng.randint(0, 59))
                )
                created = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                entries.append(
                    _entry(
                        f"{person}-h{len(entries)}",
                        tasks[k].gid,
                        day,
                        rng.choice(durations),
                        created,
                        rng.choice(notes) or None,
                        person,
                    )
                )
        day += timedelta(days=1)
    return tasks, entries


def _workspace(tasks: list[Task], entries: list[TimeEntry], people: tuple[str, ...] = ("u1",)) -> Workspace:
    return Workspace(
        people=tuple(Person(gid=p, name=p.upper()) for p in people),
        projects=(Project(gid="p1", name="Launch", project_type="client build"),),
        tasks=tuple(tasks),
        entries=tuple(entries),
        as_of=AS_OF,
    )


def _dup_flags(ws: Workspace, **kwargs: object) -> dict[str, AnomalyFlag]:
    return {f.entry_gid or "": f for f in detect_anomalies(ws, **kwargs) if f.kind is AnomalyKind.DUPLICATE}  # type: ignore[arg-type]


VARIED = [30, 45, 60, 75, 90, 120, 150, 180, 210, 240]
DAY = date(2026, 10, 20)  # a Tuesday inside the history


def _at(hour: int, minute: int) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, hour, minute, tzinfo=UTC)


def _pair_workspace(second: TimeEntry, first: TimeEntry | None = None) -> Workspace:
    tasks, entries = _history(VARIED)
    first = first or _entry("orig", "t", DAY, 135, _at(17, 2), "api review")
    return _workspace([*tasks, _task("t")], [*entries, first, second])


# --- duplicates ----------------------------------------------------------------------------------
def test_a_copy_made_minutes_later_is_flagged_high() -> None:
    flags = _dup_flags(_pair_workspace(_entry("copy", "t", DAY, 135, _at(17, 4), "api review")))
    assert set(flags) == {"copy"}  # the later-created one is the copy, the original is not flagged
    assert flags["copy"].score >= 0.7  # proposed by the retrospective and by `effort serve`
    assert "orig" in flags["copy"].reason and "created 2 min apart" in flags["copy"].reason


@pytest.mark.parametrize(
    ("created", "note", "why"),
    [
        (_at(11, 5), "api review", "created six hours apart: two sessions"),
        (_at(17, 4), "client call", "each with its own note: two pieces of work"),
    ],
)
def test_two_real_sessions_of_the_same_length_are_not_flagged(created: datetime, note: str, why: str) -> None:
    assert _dup_flags(_pair_workspace(_entry("second", "t", DAY, 135, created, note))) == {}, why


def test_a_length_the_person_logs_all_the_time_is_weak_evidence() -> None:
    """Someone who logs mostly 30-minute slots makes two equal 30-minute sessions a day by chance."""
    tasks, entries = _history([30, 30, 30, 30, 60, 90, 120])

    def score(minutes: int) -> float:
        pair = [_entry(g, "t", DAY, minutes, _at(17, m), None) for g, m in (("a", 2), ("b", 9))]
        return _dup_flags(_workspace([*tasks, _task("t")], [*entries, *pair]))["b"].score

    assert score(30) < score(135)


def test_logging_everything_in_one_sitting_makes_close_creation_weak_evidence() -> None:
    """A person who enters the day's time at 17:00 in a row, without notes, creates real sessions of
    their usual length minutes apart."""
    tasks, entries = _history([30, 30, 30, 30, 60], batch=True, notes=("",))
    slots = [_entry(f"s{k}", "t", DAY, 30, _at(17, 2 + 3 * k), None) for k in range(3)]
    common = _dup_flags(_workspace([*tasks, _task("t")], [*entries, *slots]))
    assert set(common) == {"s1", "s2"}  # still listed: the rule "same person, task, day and duration" holds
    assert all(MIN_SCORE <= f.score < RETRO_THRESHOLD for f in common.values())  # listed, not proposed


def test_a_copy_is_found_behind_a_session_logged_in_between() -> None:
    between = _entry("between", "t", DAY, 135, _at(17, 3), "standup notes")
    tasks, entries = _history(VARIED)
    ws = _workspace(
        [*tasks, _task("t")],
        [
            *entries,
            _entry("orig", "t", DAY, 135, _at(17, 2), "api review"),
            between,
            _entry("copy", "t", DAY, 135, _at(17, 5), "api review"),
        ],
    )
    flags = _dup_flags(ws)
    assert "copy" in flags and "as entry orig" in flags["copy"].reason
    assert "between" not in flags  # its own note: a session of its own


def test_without_timestamps_or_history_an_exact_match_is_listed_not_proposed() -> None:
    ws = _workspace(
        [_task("t")],
        [_entry("a", "t", DAY, 90, None, None), _entry("b", "t", DAY, 90, None, None)],
    )
    flags = _dup_flags(ws)
    assert set(flags) == {"b"}
    assert MIN_SCORE <= flags["b"].score < RETRO_THRESHOLD


def test_one_entry_or_an_unknown_author_does_not_break_duplicates() -> None:
    assert _dup_flags(_workspace([_task("t")], [_entry("a", "t", DAY, 90, _at(9, 0), None)])) == {}
    anonymous = [_entry(g, "t", DAY, 90, _at(9, 0), None, person=None) for g in ("a", "b")]  # type: ignore[arg-type]
    flags = _dup_flags(_workspace([_task("t")], anonymous))
    assert set(flags) == {"b"} and flags["b"].person_gid is None


def test_confirmed_normal_duplicates_lower_that_persons_score() -> None:
    ws = _pair_workspace(_entry("copy", "t", DAY, 135, _at(17, 4), "api review"))
    base = _dup_flags(ws)["copy"].score
    once = _dup_flags(ws, feedback=[DetectorFeedback(person_gid="u1", kind=AnomalyKind.DUPLICATE)])
    assert once["copy"].score == pytest.approx(base / 1.5, abs=0.002)
    other = _dup_flags(ws, feedback=[DetectorFeedback(person_gid="u2", kind=AnomalyKind.DUPLICATE)])
    assert other["copy"].score == base


# --- variance ------------------------------------------------------------------------------------
def _variance_workspace(ratios: list[float], target_actual: float, **target: object) -> Workspace:
    """Completed tasks of 10 h estimates with the given actual/estimate ratios, plus target task "x"."""
    done = datetime(2026, 10, 1, 17, tzinfo=UTC)
    tasks = [
        _task(
            f"h{k}",
            estimate_hours=10.0,
            actual_hours=10.0 * r,
            actual_source=ActualSource.CUSTOM_FIELD,
            completed=True,
            completed_at=done,
        )
        for k, r in enumerate(ratios)
    ]
    target.setdefault("estimate_hours", 4.0)
    target.setdefault("completed", True)
    target.setdefault("completed_at", datetime(2026, 10, 20, 17, tzinfo=UTC))
    target.setdefault("actual_source", ActualSource.CUSTOM_FIELD)
    tasks.append(_task("x", actual_hours=target_actual, **target))
    return _workspace(tasks, [])


def _variance(ws: Workspace, **kwargs: object) -> dict[str, AnomalyFlag]:
    return {f.task_gid or "": f for f in detect_anomalies(ws, **kwargs) if f.kind is AnomalyKind.VARIANCE}  # type: ignore[arg-type]


STEADY = [0.95, 1.0, 1.05, 1.1, 0.9, 1.0, 1.02, 0.98, 1.08, 0.97]  # lands within ~10% every time
NOISY = [0.5, 0.7, 1.0, 1.4, 2.0, 2.6, 0.6, 1.8, 1.2, 0.8]  # routinely misses by half or double


def test_the_same_overrun_scores_by_the_persons_own_spread() -> None:
    steady = _variance(_variance_workspace(STEADY, 8.0))["x"]  # +100% from someone always within 10%
    noisy = _variance(_variance_workspace(NOISY, 8.0))["x"]  # +100% from someone who often doubles
    assert steady.score >= 0.7 and "robust z" in steady.reason
    assert MIN_SCORE <= noisy.score < 0.5  # still listed: the product's "over 50%" rule fired
    # Routine misses in the noisy history are listed too, all low.
    assert all(f.score < RETRO_THRESHOLD for f in _variance(_variance_workspace(NOISY, 8.0)).values())


def test_variance_score_grows_with_the_miss() -> None:
    scores = [_variance(_variance_workspace(STEADY, 4.0 * r))["x"].score for r in (1.6, 2.0, 3.0)]
    assert scores == sorted(scores) and scores[0] < scores[-1]
    # Underruns are judged the same way (log scale): a quarter of the estimate is extreme for them.
    assert _variance(_variance_workspace(STEADY, 1.0))["x"].score >= 0.7


def test_person_with_one_task_falls_back_to_the_team_then_to_a_default() -> None:
    # Only one task of theirs, no one else's either: no history, a default spread; still flagged.
    alone = _variance(_variance_workspace([], 8.0))["x"]
    assert "no history yet" in alone.reason and MIN_SCORE <= alone.score <= 1.0
    # One task of theirs, but their project type has history (another person's steady tasks).
    ws = _variance_workspace(STEADY, 8.0, person="u2")
    ws = ws.model_copy(update={"people": (*ws.people, Person(gid="u2", name="U2"))})
    flag = _variance(ws)["x"]
    assert "client build tasks" in flag.reason and flag.score >= 0.7 and flag.person_gid == "u2"


def test_zero_estimate_and_unknown_actual_are_not_variance() -> None:
    assert "x" not in _variance(_variance_workspace(STEADY, 8.0, estimate_hours=0.0))
    # Completed, no actual field and nothing logged: the actual is unknown, not -100%.
    unknown = _variance_workspace(STEADY, 0.0, actual_source=ActualSource.NONE)
    unknown = unknown.model_copy(
        update={"tasks": (*unknown.tasks[:-1], unknown.tasks[-1].model_copy(update={"actual_hours": None}))}
    )
    assert "x" not in _variance(unknown)


def test_one_typo_entry_is_implausible_not_a_variance() -> None:
    """A 20 h entry (for 20 min) is flagged as implausible; it does not also fake a +500% overrun."""
    entries = [
        _entry("ok", "x", DAY, 120, _at(17, 0), None),
        _entry("typo", "x", DAY, 1200, _at(17, 30), None),
    ]
    tasks = [_task("x", estimate_hours=3.0, actual_hours=22.0, actual_source=ActualSource.ENTRIES)]
    flags = detect_anomalies(_workspace(tasks, entries))
    assert {(f.kind, f.entry_gid or f.task_gid) for f in flags} >= {(AnomalyKind.IMPLAUSIBLE, "typo")}
    assert not [f for f in flags if f.kind is AnomalyKind.VARIANCE]


def test_confirmed_normal_variance_raises_that_persons_threshold() -> None:
    ws = _variance_workspace(STEADY, 6.4)  # +60%
    assert "x" in _variance(ws)
    taught = [DetectorFeedback(person_gid="u1", kind=AnomalyKind.VARIANCE)]
    assert "x" not in _variance(ws, feedback=taught)  # threshold 50% -> 75%
    big = _variance_workspace(STEADY, 8.0)  # +100% still flagged, but scored against a higher bar
    assert _variance(big, feedback=taught)["x"].score < _variance(big)["x"].score


# --- the benchmark's scoring ---------------------------------------------------------------------
def test_bench_counts_flags_at_the_proposal_thresholds() -> None:
    truth = {"e1": "duplicate", "t1": "huge_variance", "t2": "huge_variance"}
    flags = [
        AnomalyFlag(kind=AnomalyKind.DUPLICATE, score=0.9, reason="r", entry_gid="e1"),
        AnomalyFlag(kind=AnomalyKind.DUPLICATE, score=0.4, reason="r", entry_gid="e2"),
        AnomalyFlag(kind=AnomalyKind.VARIANCE, score=0.4, reason="r", task_gid="t1"),
        AnomalyFlag(kind=AnomalyKind.PACE, score=0.8, reason="r", entry_gid="e3"),
    ]
    scores = score_flags(flags, truth, thresholds={"retro": 0.6}, visible={"e1", "t1"})
    assert scores["detector:duplicate"] == {
        "flags": 2,
        "true": 1,
        "flags@retro": 1,
        "true@retro": 1,
        "precision": 0.5,
    }
    assert scores["huge_variance"] == {
        "planted": 2,
        "detectable": 1,
        "found": 1,
        "found@retro": 0,
        "recall": 0.5,
    }
    assert scores["unscored"] == {
        "flags": 1,
        "flags@retro": 1,
    }  # pace has no planted truth: counted, not hidden


def test_bench_reads_the_products_thresholds_and_what_is_detectable() -> None:
    from agent.retro import RunLimits

    assert proposal_thresholds() == {"retro": RunLimits().flag_min_score, "serve": 0.7}
    open_under = _task("open", estimate_hours=10.0, actual_hours=2.0)
    no_estimate = _task("noest", completed=True, completed_at=AS_OF, actual_hours=9.0)
    done = _task("done", estimate_hours=1.0, actual_hours=9.0, completed=True, completed_at=AS_OF)
    ws = _workspace([open_under, no_estimate, done], [])
    truth = {"open": "huge_variance", "noest": "huge_variance", "done": "huge_variance", "e": "weekend"}
    assert detectable(ws, truth) == {"done", "e"}
