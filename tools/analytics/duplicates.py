"""Duplicate time entries: the same session submitted twice, told apart from two real sessions.

Candidates are entries of the same person, task, day and duration. Evidence is counted in bans (log10
of a likelihood ratio, "copy" against "two real sessions"), each part learnt from the person's own
entries so that habits (fixed-length slots, blank notes, logging everything at 6 pm) weaken it instead
of raising false alarms:

- duration: a copy always matches; an independent session has that exact length with the person's own
  share of entries that long, and any of their other sessions on that task that day could match;
- note: a copy carries the same note (or none); an independent session has it with the person's share
  of that note; a different note is evidence of two pieces of work;
- creation time: a copy is made within ``duplicate_window_minutes``; two different sessions are created
  that close together as often as the person's other same-day entries of different lengths are. A copy
  made later than the window is rare.

Evidence is only what was *read*: notes and creation times come from each entry's single-entry details
(``TimeEntry.details_read_at``). Where they were not read (outside the synced detail window), they add
nothing, the reason says so instead of claiming "same note", and the flag stays under the proposal
threshold: listed for a person to look at, never proposed on duration alone.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from tools.analytics.anomalies import AnomalyKind, _Ctx, _hours
from tools.records import TimeEntry

UNREAD_CAP = 0.5  # the highest score a pair gets when neither note nor creation time could be compared


def details_known(entry: TimeEntry) -> bool:
    """Whether the entry's note and creation time were read (sync), or given (a test, an import)."""
    return entry.details_read_at is not None or entry.description is not None or entry.created_at is not None


def _note(entry: TimeEntry) -> str | None:
    """An entry's note as compared: blank and case differences are the same; None when not read."""
    if not details_known(entry):
        return None
    return (entry.description or "").strip().casefold()


def _created_minutes(entries: Sequence[TimeEntry], idx: NDArray[np.intp]) -> NDArray[np.float64]:
    """``created_at`` of entries ``idx`` in minutes (NaN where unknown)."""
    out = np.full(idx.size, np.nan)
    for k, i in enumerate(idx.tolist()):
        created = entries[i].created_at
        if created is not None:
            out[k] = created.timestamp() / 60.0
    return out


def _bans(probability: float) -> float:
    """Evidence ``-log10(p)`` for an event of probability ``p`` under "two independent sessions"."""
    return -math.log10(min(1.0, max(probability, 1e-9)))


class _Evidence:
    """The person-level statistics the evidence is measured against (see the module docstring)."""

    def __init__(self, ctx: _Ctx, people: set[int]) -> None:
        frame = ctx.frame
        self.config = ctx.config
        base = np.flatnonzero((frame.e_minutes > 0) & (frame.e_person >= 0))
        person = frame.e_person[base].astype(np.int64)
        minutes = frame.e_minutes[base]
        self.person_total = np.bincount(person, minlength=len(frame.person_gids))
        key = (person << 32) | (minutes & 0xFFFFFFFF)
        self.duration_keys, self.duration_counts = np.unique(key, return_counts=True)
        mine = np.isin(person, np.fromiter(people, np.int64, len(people)))
        self.note_counts: Counter[tuple[int, str]] = Counter()
        self.notes_read: Counter[int] = Counter()
        for i, p in zip(base[mine].tolist(), person[mine].tolist(), strict=True):
            note = _note(ctx.entries[int(i)])
            if note is not None:
                self.note_counts[(int(p), note)] += 1
                self.notes_read[int(p)] += 1
        self.note_bans: dict[tuple[int, str], float] = {}
        self.category_counts: Counter[tuple[int, tuple[str, ...]]] = Counter(
            (int(p), ctx.entries[int(i)].categories)
            for i, p in zip(base[mine].tolist(), person[mine].tolist(), strict=True)
        )
        self.gaps = self._null_gaps(ctx, base[mine])
        self.pooled = np.sort(np.concatenate([*self.gaps.values(), np.empty(0)]))

    @staticmethod
    def _null_gaps(ctx: _Ctx, idx: NDArray[np.intp]) -> dict[int, NDArray[np.float64]]:
        """Creation gaps (minutes) between a person's same-day entries of *different* lengths: what
        "two real sessions" look like in this team's logging habits. Sorted, per person."""
        frame = ctx.frame
        created = _created_minutes(ctx.entries, idx)
        known = np.isfinite(created)
        idx, created = idx[known], created[known]
        person, day, minutes = frame.e_person[idx], frame.e_day[idx], frame.e_minutes[idx]
        order = np.lexsort((created, day, person))
        person, day, minutes, created = person[order], day[order], minutes[order], created[order]
        out: dict[int, list[NDArray[np.float64]]] = {}
        # Pairs up to a dozen entries apart in creation order cover any realistic day.
        for offset in range(1, min(12, idx.size)):
            a, b = slice(None, -offset), slice(offset, None)
            pair = (person[a] == person[b]) & (day[a] == day[b]) & (minutes[a] != minutes[b])
            if not pair.any():
                break
            gap = created[b][pair] - created[a][pair]
            who = person[a][pair]
            for code in np.unique(who).tolist():
                out.setdefault(int(code), []).append(gap[who == code])
        return {code: np.sort(np.concatenate(parts)) for code, parts in out.items()}

    def durations(
        self, person: NDArray[np.int64], minutes: NDArray[np.int64], others: NDArray[np.int64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(bans, share) per group: the person's share of entries this long (the copy left out,
        Laplace-smoothed), and how unlikely it is that any of their ``others`` sessions that day on the
        task has that length by chance. Unknown authors (-1) get no evidence."""
        known = person >= 0
        key = (np.maximum(person, 0) << 32) | (minutes & 0xFFFFFFFF)
        pos = np.minimum(np.searchsorted(self.duration_keys, key), max(self.duration_keys.size - 1, 0))
        hit = self.duration_keys[pos] == key if self.duration_keys.size else np.zeros(key.size, np.bool_)
        count = np.where(hit, self.duration_counts[pos] if self.duration_keys.size else 0, 0)
        share = count / (self.person_total[np.maximum(person, 0)] + 1.0)
        chance = 1.0 - (1.0 - share) ** np.maximum(others, 1)
        bans = -np.log10(np.clip(chance, 1e-9, 1.0))
        return np.where(known, bans, 0.0), np.where(known, share, np.nan)

    def note(self, person: int, first: str, second: str) -> float:
        """Bans from the notes of a pair that is not ruled out (same note, or one of them blank)."""
        if first != second:
            return math.log10(self.config.duplicate_note_mismatch_lr)
        if person < 0:
            return 0.0
        cached = self.note_bans.get((person, first))
        if cached is None:
            share = self.note_counts[(person, first)] / (self.notes_read[person] + 1)
            cached = self.note_bans[(person, first)] = _bans(share)
        return cached

    def category(self, person: int, first: tuple[str, ...], second: tuple[str, ...]) -> float:
        """Bans from the time-tracking categories (every list returns them): a copy carries the same;
        two sessions share one with the person's share of it."""
        if first != second:
            return math.log10(self.config.duplicate_note_mismatch_lr)
        if person < 0:
            return 0.0
        share = self.category_counts[(person, first)] / (int(self.person_total[person]) + 1)
        return _bans(share)

    def created(self, person: int, gap: float) -> float:
        """Bans from a creation gap within the window: a copy is made at any moment of the window
        (density 1/window); two real sessions are created this far apart as often as the person's
        other same-day entries of different lengths are (their gaps' density around ``gap``)."""
        if person < 0:
            return 0.0
        null = self.gaps.get(person)
        if null is None or null.size < self.config.duplicate_min_null_gaps:
            null = self.pooled  # too few of their own: the team's habits
        window = self.config.duplicate_window_minutes
        half = window / 2  # the density is read over a window-wide band (timestamps are often minute-rounded)
        lo, hi = max(0.0, gap - half), max(gap, 0.0) + half
        near = int(np.searchsorted(null, hi, side="right") - np.searchsorted(null, lo, side="left"))
        density_null = (near + 1) / ((null.size + 1) * (hi - lo))
        return math.log10((1 / window) / density_null)


def find_duplicates(ctx: _Ctx, window: NDArray[np.bool_]) -> None:
    """Add a duplicate flag for each entry that looks like an earlier one submitted again."""
    frame = ctx.frame
    config = ctx.config
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
    big = (ends - starts) >= 2
    starts, ends = starts[big], ends[big]
    if starts.size == 0:
        return
    # How many entries each person logged on each task and day (any duration): more sessions, more
    # chances that two of them have the same length by coincidence.
    day_key = (
        (frame.e_person[idx].astype(np.int64) << 40)
        | ((frame.e_task[idx].astype(np.int64) & 0xFFFFF) << 20)
        | (frame.e_day[idx].astype(np.int64) & 0xFFFFF)
    )
    day_keys, day_counts = np.unique(day_key, return_counts=True)
    first = order[starts]
    g_person = frame.e_person[first].astype(np.int64)
    sessions = day_counts[np.searchsorted(day_keys, day_key[np.searchsorted(idx, first)])]
    evidence = _Evidence(ctx, set(g_person.tolist()) - {-1})
    dur_bans, dur_share = evidence.durations(g_person, frame.e_minutes[first], sessions - 1)
    for g, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        codes = order[s:e].tolist()
        members = [ctx.entries[i] for i in codes]
        notes = [_note(m) for m in members]
        person = int(g_person[g])
        factor = ctx.factor(person, AnomalyKind.DUPLICATE)
        # Compare each entry with every one created before it (input order when unknown) and keep the
        # strongest case: a real session logged in between must not hide a copy of an earlier one.
        stamps = [m.created_at.timestamp() if m.created_at is not None else math.inf for m in members]
        ranked = sorted(range(len(members)), key=lambda k: (stamps[k], k))
        for pos in range(1, len(ranked)):
            k = ranked[pos]
            best: tuple[float, int, float | None] | None = None  # (bans, earlier member, gap)
            for j in ranked[:pos]:
                case = _pair_case(evidence, person, members[j], members[k], notes[j], notes[k])
                if case is not None and (best is None or case[0] > best[0]):
                    best = (case[0], j, case[1])
            if best is None:
                continue
            bans, j, gap = best
            bans += float(dur_bans[g])
            compared_note = notes[j] is not None and notes[k] is not None
            why = [] if gap is None else [f"created {gap:.0f} min apart"]
            if members[j].categories == members[k].categories and members[k].categories:
                why.append(f"same category ({', '.join(members[k].categories)})")
            if compared_note:
                why.append("same note" if notes[j] == notes[k] else "one of them without a note")
            if person >= 0:
                why.append(f"{dur_share[g]:.0%} of their entries are this long")
            if gap is None and not compared_note:
                why.append("note and creation time not read (entry details outside the synced window)")
            # No evidence either way: half the full score (listed, not proposed); decisive evidence (2
            # bans, a 100:1 likelihood ratio) the full score; evidence against pushes it under min_score.
            score = min(1.0, max(0.0, config.duplicate_score * (0.5 + 0.25 * bans))) / factor
            if gap is None and not compared_note:
                score = min(score, UNREAD_CAP)  # duration alone never makes a proposal
            if score < config.min_score:
                continue
            ctx.add_entry_flag(
                AnomalyKind.DUPLICATE,
                codes[k],
                score,
                f"same person, task, day and duration ({_hours(members[k].duration_minutes)}) as entry "
                f"{members[j].gid}: {', '.join(why)}",
            )


def _pair_case(
    evidence: _Evidence,
    person: int,
    original: TimeEntry,
    entry: TimeEntry,
    note_a: str | None,
    note_b: str | None,
) -> tuple[float, float | None] | None:
    """(bans from creation time and note, creation gap in minutes) that ``entry`` is ``original``
    logged twice; None when they are two sessions (created well apart, or each with its own note).
    Only what was read counts: an unread note or creation time adds nothing."""
    gap: float | None = None
    if entry.created_at is not None and original.created_at is not None:
        gap = abs((entry.created_at - original.created_at).total_seconds()) / 60.0
    if (gap is not None and gap > evidence.config.duplicate_window_minutes) or (
        note_a and note_b and note_a != note_b
    ):
        return None
    bans = evidence.category(person, original.categories, entry.categories)
    if note_a is not None and note_b is not None:
        bans += evidence.note(person, note_a, note_b)
    if gap is not None:
        bans += evidence.created(person, gap)
    return bans, gap
