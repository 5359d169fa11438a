"""What the estimator knows about a task from a set of completed tasks: the features of one prediction.

A ``Reference`` holds a history's group statistics (track records by assignee, project, category, ...,
all-time and recent) and its text vectors. ``features`` turns one task into the deviations of each
component from the history's global median, for both modes: cold start (log actual hours) and
calibration of a human estimate (log actual / estimate). The estimator (``estimator.py``) builds one
reference per calibration block (only the tasks completed before the block, so every calibration
feature is out of sample) and one over the whole history for prediction.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from tools.analytics.estimator_math import shrunk, weighted_median, within
from tools.records import Task

# Hours below this are treated as this much in log space (a 0 h actual would be -inf).
MIN_HOURS = 0.1
FACETS = ("assignee", "project", "category", "section", "tag", "assignee_category")
# Track records by the size of the human estimate (calibrated mode only): big and small estimates are
# typically biased differently (and differently per person).
SIZE_FACETS = ("size", "assignee_size")
# Recent track records (the last `recent` tasks of the group): people and teams drift over the years.
RECENT_FACETS = ("assignee", "project", "category", "assignee_category", "all")

# Component names, in feature order (after the intercept).
_RECENT_NAMES = tuple(f"recent_{f}" for f in RECENT_FACETS)
COLD_COMPONENTS = (*FACETS, *_RECENT_NAMES, "similar", "similar_x_sim", "similar_by_assignee", "text_model")
CAL_COMPONENTS = (*COLD_COMPONENTS[:-1], *SIZE_FACETS, "cold_view")
SIM = len(FACETS) + len(RECENT_FACETS)  # position of the "similar" component
_ASSIGNEE = FACETS.index("assignee")
_BY_ASSIGNEE = COLD_COMPONENTS.index("similar_by_assignee")
_TEXT = COLD_COMPONENTS.index("text_model")


def task_text(task: Task) -> str:
    """The text embedded for similarity (the same document as the Chroma index)."""
    from tools.index.store import task_document  # local: keeps chromadb out of pure-analytics imports

    return task_document(task)


def assignee_of(task: Task) -> str | None:
    return task.assignee_gid or task.assignee_name


def project_of(task: Task) -> str | None:
    return task.project_gid or task.project_name


def task_facets(task: Task) -> list[tuple[str, str]]:
    """(facet, value) pairs whose track record applies to this task."""
    out: list[tuple[str, str]] = []
    assignee, project = assignee_of(task), project_of(task)
    if assignee:
        out.append(("assignee", assignee))
    if project:
        out.append(("project", project))
    if task.project_type:
        out.append(("category", task.project_type))
    if task.section:
        # Section names repeat across projects ("Backlog"): a section means something within its project.
        out.append(("section", f"{project or ''}/{task.section}"))
    out.extend(("tag", tag) for tag in task.tags)
    if assignee and task.project_type:
        out.append(("assignee_category", f"{assignee}/{task.project_type}"))
    return out


def has_estimate(task: Task) -> bool:
    return task.estimate_hours is not None and math.isfinite(task.estimate_hours) and task.estimate_hours > 0


def size_bucket(hours: float) -> str:
    """A factor-of-two bucket of an estimate's size."""
    return str(round(math.log2(max(hours, 1e-3))))


def value_key(hours: float) -> str:
    """An estimate's exact value as a group key (people's round numbers: 0.5, 1, 8, ...)."""
    return f"{round(hours, 2):g}"


def size_facets(task: Task) -> list[tuple[str, str]]:
    """Facets keyed by the human estimate's size; empty without an estimate."""
    if not has_estimate(task):
        return []
    bucket = size_bucket(task.estimate_hours or 1.0)
    assignee = assignee_of(task)
    return [("size", bucket)] + ([("assignee_size", f"{assignee}/{bucket}")] if assignee else [])


def value_facets(task: Task) -> list[tuple[str, str]]:
    """Facets keyed by the human estimate's exact value (whether such estimates come true)."""
    if not has_estimate(task):
        return []
    assignee = assignee_of(task) or ""
    return [("assignee_value", f"{assignee}/{value_key(task.estimate_hours or 0.0)}")]


def log_hours(hours: float) -> float:
    return math.log(max(hours, MIN_HOURS))


@dataclass
class GroupStats:
    count: int
    median_log_actual: float
    ratio_count: int
    median_log_ratio: float
    recent_count: int = 0
    recent_log_actual: float = math.nan
    recent_ratio_count: int = 0
    recent_log_ratio: float = math.nan
    hits: int = 0  # tasks whose actual landed within +-25% of the human estimate


@dataclass
class TextModel:
    """A ridge regression of log actual hours on the text vector (fitted on the reference's tasks)."""

    weights: np.ndarray
    center: float

    def __call__(self, vector: np.ndarray) -> float:
        return self.center + float(vector @ self.weights)


@dataclass
class Reference:
    """What is known from a set of completed tasks: group medians and the text vectors."""

    tasks: list[Task]
    log_actual: np.ndarray
    log_ratio: np.ndarray  # NaN where the task had no estimate
    vectors: np.ndarray | None
    groups: dict[tuple[str, str], GroupStats]
    global_log_actual: float
    global_log_ratio: float
    gid_row: dict[str, int] = field(default_factory=dict)
    assignee_rows: dict[str, np.ndarray] = field(default_factory=dict)
    text_model: TextModel | None = None


def build_reference(
    tasks: list[Task], vectors: np.ndarray | None, recent: int = 30, text_model: TextModel | None = None
) -> Reference:
    """Group statistics over ``tasks``, which must be in completion order (recent = last rows)."""
    log_actual = np.array([log_hours(t.actual_hours or 0.0) for t in tasks], dtype=float)
    log_ratio = np.array(
        [
            log_hours(t.actual_hours or 0.0) - log_hours(t.estimate_hours or 0.0)
            if has_estimate(t)
            else math.nan
            for t in tasks
        ],
        dtype=float,
    )
    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row, task in enumerate(tasks):
        for key in [*task_facets(task), *size_facets(task), *value_facets(task)]:
            members[key].append(row)
        members[("all", "")].append(row)
    groups: dict[tuple[str, str], GroupStats] = {}
    for key, rows in members.items():
        ratios = log_ratio[rows]
        ratios = ratios[~np.isnan(ratios)]
        last = rows[-recent:]
        last_ratios = ratios[-recent:]
        groups[key] = GroupStats(
            count=len(rows),
            median_log_actual=float(np.median(log_actual[rows])),
            ratio_count=len(ratios),
            median_log_ratio=float(np.median(ratios)) if len(ratios) else math.nan,
            recent_count=len(last),
            recent_log_actual=float(np.median(log_actual[last])),
            recent_ratio_count=len(last_ratios),
            recent_log_ratio=float(np.median(last_ratios)) if len(last_ratios) else math.nan,
            hits=int(within(ratios).sum()),
        )
    finite_ratios = log_ratio[~np.isnan(log_ratio)]
    return Reference(
        tasks=tasks,
        log_actual=log_actual,
        log_ratio=log_ratio,
        vectors=vectors,
        groups=groups,
        global_log_actual=float(np.median(log_actual)) if len(tasks) else math.log(4.0),
        global_log_ratio=float(np.median(finite_ratios)) if len(finite_ratios) else 0.0,
        gid_row={t.gid: i for i, t in enumerate(tasks)},
        assignee_rows={
            value: np.array(rows, dtype=int)
            for (facet, value), rows in members.items()
            if facet == "assignee"
        },
        text_model=text_model,
    )


@dataclass
class Neighbours:
    rows: np.ndarray  # indices into the reference
    sims: np.ndarray


def neighbours(
    ref: Reference, query: np.ndarray | None, k: int, exclude: str | None, among: np.ndarray | None = None
) -> Neighbours:
    """The ``k`` most similar reference rows (optionally only ``among`` these rows), best first."""
    if ref.vectors is None or query is None or not len(ref.tasks):
        return Neighbours(np.zeros(0, dtype=int), np.zeros(0))
    rows = np.arange(len(ref.tasks)) if among is None else among
    sims = ref.vectors[rows] @ query if among is not None else ref.vectors @ query
    if exclude is not None and exclude in ref.gid_row:
        sims = np.where(rows == ref.gid_row[exclude], -np.inf, sims)
    if not len(sims):
        return Neighbours(np.zeros(0, dtype=int), np.zeros(0))
    take = min(k, len(sims))
    top = np.argpartition(-sims, take - 1)[:take]
    top = top[np.argsort(-sims[top], kind="stable")]
    keep = np.isfinite(sims[top])
    return Neighbours(rows[top][keep], sims[top][keep])


@dataclass
class Features:
    cold: np.ndarray  # deviations from the global median log actual, COLD_COMPONENTS order
    ratio: np.ndarray  # deviations from the global median log ratio, CAL_COMPONENTS order minus cold_view
    top_sim: float
    neighbours: Neighbours
    hit: float = 0.0  # how often estimates like this one (person, value, similar tasks) came true
    project_history: str = "none"  # how many past tasks the project has: none, few (< 20), some


def features(
    ref: Reference,
    task: Task,
    query: np.ndarray | None,
    *,
    k: int,
    shrinkage: float,
    temperature: float,
) -> Features:
    cold = np.zeros(len(COLD_COMPONENTS))
    ratio = np.zeros(len(CAL_COMPONENTS) - 1)
    by_facet: dict[str, list[tuple[float, float]]] = defaultdict(list)
    recent: dict[str, tuple[float, float]] = {}
    for key in [*task_facets(task), ("all", "")]:
        stats = ref.groups.get(key)
        if stats is None:
            continue
        a = shrunk(stats.median_log_actual, stats.count, ref.global_log_actual, shrinkage)
        r = shrunk(stats.median_log_ratio, stats.ratio_count, ref.global_log_ratio, shrinkage)
        if key[0] != "all":
            by_facet[key[0]].append((a - ref.global_log_actual, r - ref.global_log_ratio))
        if key[0] in RECENT_FACETS:
            # The recent record is shrunk toward the group's all-time one.
            ra = shrunk(stats.recent_log_actual, stats.recent_count, a, shrinkage)
            rr = shrunk(stats.recent_log_ratio, stats.recent_ratio_count, r, shrinkage)
            recent[key[0]] = (ra - ref.global_log_actual, rr - ref.global_log_ratio)
    for i, facet in enumerate(FACETS):
        if by_facet[facet]:  # several tags: their average
            cold[i] = float(np.mean([a for a, _ in by_facet[facet]]))
            ratio[i] = float(np.mean([r for _, r in by_facet[facet]]))
    for j, facet in enumerate(RECENT_FACETS):
        if facet in recent:
            cold[len(FACETS) + j], ratio[len(FACETS) + j] = recent[facet]
    size_at = len(COLD_COMPONENTS) - 1
    for key in size_facets(task):
        stats = ref.groups.get(key)
        if stats is not None:
            r = shrunk(stats.median_log_ratio, stats.ratio_count, ref.global_log_ratio, shrinkage)
            ratio[size_at + SIZE_FACETS.index(key[0])] = r - ref.global_log_ratio
    nb = neighbours(ref, query, k, task.gid)
    top_sim = float(nb.sims[0]) if len(nb.sims) else 0.0
    if len(nb.rows):
        weights = np.exp((nb.sims - nb.sims[0]) / temperature) * np.clip(nb.sims, 0.0, None)
        sim_a = weighted_median(ref.log_actual[nb.rows], weights)
        if math.isfinite(sim_a):
            cold[SIM] = sim_a - ref.global_log_actual
            cold[SIM + 1] = cold[SIM] * max(top_sim, 0.0)
        r_vals = ref.log_ratio[nb.rows]
        has = ~np.isnan(r_vals)
        sim_r = weighted_median(r_vals[has], weights[has]) if has.any() else math.nan
        if math.isfinite(sim_r):
            ratio[SIM] = sim_r - ref.global_log_ratio
            ratio[SIM + 1] = ratio[SIM] * max(top_sim, 0.0)
    assignee = assignee_of(task)
    own = ref.assignee_rows.get(assignee) if assignee else None
    hit = _hit_rate(ref, task, shrinkage)
    if own is not None:
        mine = neighbours(ref, query, k, task.gid, among=own)
        if len(mine.rows):
            # Shrunk toward the person's overall record: a few neighbours say little on their own.
            person_a = ref.global_log_actual + cold[_ASSIGNEE]
            a = shrunk(float(np.median(ref.log_actual[mine.rows])), len(mine.rows), person_a, shrinkage)
            cold[_BY_ASSIGNEE] = a - ref.global_log_actual
            r_mine = ref.log_ratio[mine.rows]
            r_mine = r_mine[~np.isnan(r_mine)]
            if len(r_mine):
                person_r = ref.global_log_ratio + ratio[_ASSIGNEE]
                r = shrunk(float(np.median(r_mine)), len(r_mine), person_r, shrinkage)
                ratio[_BY_ASSIGNEE] = r - ref.global_log_ratio
                hit = shrunk(float(within(r_mine).mean()), len(r_mine), hit, shrinkage)
    if ref.text_model is not None and query is not None:
        cold[_TEXT] = ref.text_model(query) - ref.global_log_actual
    project = ref.groups.get(("project", project_of(task) or ""))
    history = "none" if project is None else ("few" if project.count < 20 else "some")
    return Features(
        cold=cold,
        ratio=ratio,
        top_sim=top_sim,
        neighbours=nb,
        hit=hit,
        project_history=history,
    )


def _hit_rate(ref: Reference, task: Task, shrinkage: float) -> float:
    """Share of the person's past estimates (of this very value, else any) that came true, shrunk
    toward the team's share."""
    rate = _share(ref.groups.get(("all", "")), 0.0, 0.0)
    if not has_estimate(task):
        return rate
    assignee = assignee_of(task)
    if assignee:
        rate = _share(ref.groups.get(("assignee", assignee)), rate, shrinkage)
    return _share(ref.groups.get(value_facets(task)[0]), rate, shrinkage)


def _share(stats: GroupStats | None, parent: float, strength: float) -> float:
    if stats is None or not stats.ratio_count:
        return parent
    return shrunk(stats.hits / stats.ratio_count, stats.ratio_count, parent, strength)
