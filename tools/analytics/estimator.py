"""Predictive estimation (capability 4): a point estimate, a P10-P90 range and a confidence per task,
with the evidence behind them.

Two modes, both learned only from tasks completed before ``as_of``:

* **calibrated** (a human estimate exists): evidence-based scheduling. The log ratio
  log(actual/estimate) is predicted from the track records of the task's assignee, project, category,
  section, tags and assignee-in-category (group medians shrunk toward the global median by sample size)
  and from the ratios of the most similar past tasks (text kNN); a cold-start view of the task pulls
  very large or small estimates toward what such tasks usually take.
* **cold start** (no human estimate): log actual hours from similar tasks' actuals (similarity-weighted
  median in log space), from the assignee's own most similar past tasks (how long such work took *this
  person*), and the same groups' medians of actual hours.

Each mode combines its components with weights fitted by median (least-absolute-deviation) regression
on the most recent slice of the history, with features computed only from the older part, so the
weights reflect how well each signal predicted the *next* tasks. The P10-P90 range comes from the
empirical residuals on that slice (split conformal, grouped by how close the nearest past task is),
which keeps 80% nominal coverage without assuming a distribution. The confidence is the calibrated
probability that the actual lands within +-25% of the point estimate.

Deliberately absent: any use of a task's own dates or elapsed time (not known when estimating), any
rounding to "typical" values of a particular dataset.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.analytics.estimator_math import conformal_quantile, lad_fit, shrunk, weighted_median
from tools.records import Task

Mode = Literal["calibrated", "cold_start"]
Embed = Callable[[Sequence[str]], np.ndarray]

# Hours below this are treated as this much in log space (a 0 h actual would be -inf).
MIN_HOURS = 0.1
PRED_TOLERANCE = math.log(1.25)  # |log(actual/estimate)| within this ~ "within 25%"
FACETS = ("assignee", "project", "category", "section", "tag", "assignee_category")
# Track records by the size of the human estimate (calibrated mode only): big and small estimates are
# typically biased differently (and differently per person).
SIZE_FACETS = ("size", "assignee_size")
# Recent track records (the last `recent` tasks of the group): people and teams drift over the years.
RECENT_FACETS = ("assignee", "project", "category", "assignee_category", "all")


# --------------------------------------------------------------------------- public records


class SimilarEvidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    gid: str
    title: str
    similarity: float
    actual_hours: float
    estimate_hours: float | None = None


class TrackRecord(BaseModel):
    """A group's history: how many tasks, median actual hours, median actual/estimate ratio."""

    model_config = ConfigDict(frozen=True)

    facet: str  # assignee, project, category, section, tag, assignee_category
    value: str
    tasks: int
    median_actual_hours: float
    median_ratio: float | None = None  # actual / estimate, over tasks that had an estimate
    ratio_tasks: int = 0


class Evidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    similar: list[SimilarEvidence] = Field(default_factory=list)
    track_records: list[TrackRecord] = Field(default_factory=list)
    # Each component's own prediction (hours) and the weight the fitted combination gives it.
    components: dict[str, float] = Field(default_factory=dict)
    weights: dict[str, float] = Field(default_factory=dict)
    history_tasks: int = 0
    note: str = ""


class Estimate(BaseModel):
    """The estimator's answer for one task."""

    model_config = ConfigDict(frozen=True)

    task_gid: str
    mode: Mode
    hours: float
    p10_hours: float
    p90_hours: float
    confidence: float  # calibrated P(actual within +-25% of `hours`), 0-1
    human_estimate_hours: float | None = None
    bias_applied: float | None = None  # hours / human estimate (1.0 = no change)
    evidence: Evidence = Field(default_factory=Evidence)


@dataclass(frozen=True)
class EstimatorConfig:
    k: int = 10  # neighbours from the text index (among all tasks, and among the assignee's own)
    shrinkage: float = 8.0  # pseudo-observations pulling a group median toward the global one
    temperature: float = 0.05  # kNN weights exp((sim - best) / temperature)
    calibration_fraction: float = 0.5  # most recent share of the history used to fit weights/ranges
    max_calibration: int = 4000
    min_fit_tasks: int = 40  # below this, fixed weights and prior ranges (low confidence)
    coverage: float = 0.8  # P10-P90
    ridge: float = 4.0
    max_similar_evidence: int = 5
    recent: int = 30  # window of a recent track record, in tasks
    # Adjustments of a human estimate smaller than this (relative) are not worth suggesting: the
    # human's figure is kept (a 4% nudge is noise next to the range, and looks like it).
    min_adjustment: float = 0.0


# --------------------------------------------------------------------------- features


def task_text(task: Task) -> str:
    """The text embedded for similarity (the same document as the Chroma index)."""
    from tools.index.store import task_document  # local: keeps chromadb out of pure-analytics imports

    return task_document(task)


def task_facets(task: Task) -> list[tuple[str, str]]:
    """(facet, value) pairs whose track record applies to this task."""
    out: list[tuple[str, str]] = []
    assignee = task.assignee_gid or task.assignee_name
    project = task.project_gid or task.project_name
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


def size_facets(task: Task) -> list[tuple[str, str]]:
    """Facets keyed by the human estimate's size (a factor-of-two bucket); empty without an estimate."""
    if not _has_estimate(task):
        return []
    bucket = str(round(math.log2(task.estimate_hours or 1.0)))
    assignee = task.assignee_gid or task.assignee_name
    return [("size", bucket)] + ([("assignee_size", f"{assignee}/{bucket}")] if assignee else [])


def _log_hours(hours: float) -> float:
    return math.log(max(hours, MIN_HOURS))


def _has_estimate(task: Task) -> bool:
    return task.estimate_hours is not None and math.isfinite(task.estimate_hours) and task.estimate_hours > 0


@dataclass
class _GroupStats:
    count: int
    median_log_actual: float
    ratio_count: int
    median_log_ratio: float
    recent_count: int = 0
    recent_log_actual: float = math.nan
    recent_ratio_count: int = 0
    recent_log_ratio: float = math.nan


@dataclass
class _Reference:
    """What is known from a set of completed tasks: group medians and the text vectors."""

    tasks: list[Task]
    log_actual: np.ndarray
    log_ratio: np.ndarray  # NaN where the task had no estimate
    vectors: np.ndarray | None
    groups: dict[tuple[str, str], _GroupStats]
    global_log_actual: float
    global_log_ratio: float
    gid_row: dict[str, int] = field(default_factory=dict)
    assignee_rows: dict[str, np.ndarray] = field(default_factory=dict)


def _build_reference(tasks: list[Task], vectors: np.ndarray | None, recent: int = 30) -> _Reference:
    """Group statistics over ``tasks``, which must be in completion order (recent = last rows)."""
    log_actual = np.array([_log_hours(t.actual_hours or 0.0) for t in tasks], dtype=float)
    log_ratio = np.array(
        [
            _log_hours(t.actual_hours or 0.0) - _log_hours(t.estimate_hours or 0.0)
            if _has_estimate(t)
            else math.nan
            for t in tasks
        ],
        dtype=float,
    )
    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    for row, task in enumerate(tasks):
        for key in [*task_facets(task), *size_facets(task)]:
            members[key].append(row)
        members[("all", "")].append(row)
    groups: dict[tuple[str, str], _GroupStats] = {}
    for key, rows in members.items():
        ratios = log_ratio[rows]
        ratios = ratios[~np.isnan(ratios)]
        last = rows[-recent:]
        last_ratios = ratios[-recent:]
        groups[key] = _GroupStats(
            count=len(rows),
            median_log_actual=float(np.median(log_actual[rows])),
            ratio_count=len(ratios),
            median_log_ratio=float(np.median(ratios)) if len(ratios) else math.nan,
            recent_count=len(last),
            recent_log_actual=float(np.median(log_actual[last])),
            recent_ratio_count=len(last_ratios),
            recent_log_ratio=float(np.median(last_ratios)) if len(last_ratios) else math.nan,
        )
    finite_ratios = log_ratio[~np.isnan(log_ratio)]
    return _Reference(
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
    )


@dataclass
class _Neighbours:
    rows: np.ndarray  # indices into the reference
    sims: np.ndarray


def _neighbours(
    ref: _Reference,
    query: np.ndarray | None,
    k: int,
    exclude: str | None,
    among: np.ndarray | None = None,
) -> _Neighbours:
    """The ``k`` most similar reference rows (optionally only ``among`` these rows), best first."""
    if ref.vectors is None or query is None or not len(ref.tasks):
        return _Neighbours(np.zeros(0, dtype=int), np.zeros(0))
    rows = np.arange(len(ref.tasks)) if among is None else among
    sims = ref.vectors[rows] @ query if among is not None else ref.vectors @ query
    if exclude is not None and exclude in ref.gid_row:
        sims = np.where(rows == ref.gid_row[exclude], -np.inf, sims)
    if not len(sims):
        return _Neighbours(np.zeros(0, dtype=int), np.zeros(0))
    take = min(k, len(sims))
    top = np.argpartition(-sims, take - 1)[:take]
    top = top[np.argsort(-sims[top], kind="stable")]
    keep = np.isfinite(sims[top])
    return _Neighbours(rows[top][keep], sims[top][keep])


# Component names, in feature order (after the intercept).
_RECENT_NAMES = tuple(f"recent_{f}" for f in RECENT_FACETS)
COLD_COMPONENTS = (*FACETS, *_RECENT_NAMES, "similar", "similar_x_sim", "similar_by_assignee")
CAL_COMPONENTS = (*COLD_COMPONENTS, *SIZE_FACETS, "cold_view")
_SIM = len(FACETS) + len(RECENT_FACETS)  # position of the "similar" component
_ASSIGNEE = FACETS.index("assignee")
_BY_ASSIGNEE = COLD_COMPONENTS.index("similar_by_assignee")


@dataclass
class _Features:
    cold: np.ndarray  # deviations from the global median log actual, COLD_COMPONENTS order
    ratio: np.ndarray  # deviations from the global median log ratio, FACETS + similar order
    top_sim: float
    neighbours: _Neighbours


def _features(ref: _Reference, task: Task, query: np.ndarray | None, cfg: EstimatorConfig) -> _Features:
    cold = np.zeros(len(COLD_COMPONENTS))
    ratio = np.zeros(len(COLD_COMPONENTS) + len(SIZE_FACETS))
    by_facet: dict[str, list[tuple[float, float]]] = defaultdict(list)
    recent: dict[str, tuple[float, float]] = {}
    for key in [*task_facets(task), ("all", "")]:
        stats = ref.groups.get(key)
        if stats is None:
            continue
        a = shrunk(stats.median_log_actual, stats.count, ref.global_log_actual, cfg.shrinkage)
        r = shrunk(stats.median_log_ratio, stats.ratio_count, ref.global_log_ratio, cfg.shrinkage)
        if key[0] != "all":
            by_facet[key[0]].append((a - ref.global_log_actual, r - ref.global_log_ratio))
        if key[0] in RECENT_FACETS:
            # The recent record is shrunk toward the group's all-time one.
            ra = shrunk(stats.recent_log_actual, stats.recent_count, a, cfg.shrinkage)
            rr = shrunk(stats.recent_log_ratio, stats.recent_ratio_count, r, cfg.shrinkage)
            recent[key[0]] = (ra - ref.global_log_actual, rr - ref.global_log_ratio)
    for i, facet in enumerate(FACETS):
        if by_facet[facet]:  # several tags: their average
            cold[i] = float(np.mean([a for a, _ in by_facet[facet]]))
            ratio[i] = float(np.mean([r for _, r in by_facet[facet]]))
    for j, facet in enumerate(RECENT_FACETS):
        if facet in recent:
            cold[len(FACETS) + j], ratio[len(FACETS) + j] = recent[facet]
    for key in size_facets(task):
        stats = ref.groups.get(key)
        if stats is not None:
            r = shrunk(stats.median_log_ratio, stats.ratio_count, ref.global_log_ratio, cfg.shrinkage)
            ratio[len(COLD_COMPONENTS) + SIZE_FACETS.index(key[0])] = r - ref.global_log_ratio
    nb = _neighbours(ref, query, cfg.k, task.gid)
    top_sim = float(nb.sims[0]) if len(nb.sims) else 0.0
    if len(nb.rows):
        weights = np.exp((nb.sims - nb.sims[0]) / cfg.temperature) * np.clip(nb.sims, 0.0, None)
        sim_a = weighted_median(ref.log_actual[nb.rows], weights)
        if math.isfinite(sim_a):
            cold[_SIM] = sim_a - ref.global_log_actual
            cold[_SIM + 1] = cold[_SIM] * max(top_sim, 0.0)
        r_vals = ref.log_ratio[nb.rows]
        has = ~np.isnan(r_vals)
        sim_r = weighted_median(r_vals[has], weights[has]) if has.any() else math.nan
        if math.isfinite(sim_r):
            ratio[_SIM] = sim_r - ref.global_log_ratio
            ratio[_SIM + 1] = ratio[_SIM] * max(top_sim, 0.0)
    assignee = task.assignee_gid or task.assignee_name
    own = ref.assignee_rows.get(assignee) if assignee else None
    if own is not None:
        mine = _neighbours(ref, query, cfg.k, task.gid, among=own)
        if len(mine.rows):
            # Shrunk toward the person's overall record: a few neighbours say little on their own.
            person_a = ref.global_log_actual + cold[_ASSIGNEE]
            a = shrunk(float(np.median(ref.log_actual[mine.rows])), len(mine.rows), person_a, cfg.shrinkage)
            cold[_BY_ASSIGNEE] = a - ref.global_log_actual
            r_mine = ref.log_ratio[mine.rows]
            r_mine = r_mine[~np.isnan(r_mine)]
            if len(r_mine):
                person_r = ref.global_log_ratio + ratio[_ASSIGNEE]
                r = shrunk(float(np.median(r_mine)), len(r_mine), person_r, cfg.shrinkage)
                ratio[_BY_ASSIGNEE] = r - ref.global_log_ratio
    return _Features(cold=cold, ratio=ratio, top_sim=top_sim, neighbours=nb)


# --------------------------------------------------------------------------- calibration of one mode


@dataclass
class _ModeModel:
    """Fitted combination weights plus residual quantiles per similarity bin for one mode."""

    weights: np.ndarray  # intercept first
    bin_edges: np.ndarray  # top-similarity edges between bins (len = bins - 1)
    q_low: np.ndarray  # per bin
    q_high: np.ndarray
    p_within: np.ndarray  # per bin: share of calibration residuals within +-25%
    calibration_tasks: int
    fitted: bool


def _prior_model(n_features: int, spread: float, history: int) -> _ModeModel:
    """Fixed equal weights and a wide prior range, for too little history to fit anything."""
    weights = np.zeros(n_features + 1)
    weights[1 : 1 + _SIM + 1] = 1.0 / (_SIM + 1) if history else 0.0
    return _ModeModel(
        weights=weights,
        bin_edges=np.zeros(0),
        q_low=np.array([-spread]),
        q_high=np.array([spread]),
        p_within=np.array([0.1 * min(1.0, history / 40)]),
        calibration_tasks=0,
        fitted=False,
    )


def _fit_mode(x: np.ndarray, y: np.ndarray, top_sim: np.ndarray, cfg: EstimatorConfig) -> _ModeModel:
    """Weights by LAD on all rows; residuals cross-fitted (2 folds of alternating time blocks)."""
    n = len(y)
    design = np.column_stack([np.ones(n), x])
    weights = lad_fit(design, y, ridge=cfg.ridge)
    block = np.arange(n) * 10 // max(n, 1) % 2
    residual = np.empty(n)
    for fold in (0, 1):
        train, test = block != fold, block == fold
        if train.sum() < 10 or test.sum() == 0:
            residual[test] = y[test] - design[test] @ weights
            continue
        beta = lad_fit(design[train], y[train], ridge=cfg.ridge)
        residual[test] = y[test] - design[test] @ beta
    # Mondrian bins by the closeness of the nearest past task: near-duplicates get their own ranges.
    bins = max(1, min(4, n // 150))
    edges = np.quantile(top_sim, np.linspace(0, 1, bins + 1)[1:-1]) if bins > 1 else np.zeros(0)
    which = np.searchsorted(edges, top_sim, side="right")
    alpha = (1.0 - cfg.coverage) / 2
    q_low, q_high, p_within = [], [], []
    overall_within = float(np.mean(np.abs(residual) <= PRED_TOLERANCE))
    for b in range(bins):
        res = residual[which == b]
        q_low.append(min(0.0, conformal_quantile(res, alpha)))
        q_high.append(max(0.0, conformal_quantile(res, 1 - alpha)))
        # Smoothed toward the overall share so a small bin does not claim certainty.
        p_within.append((np.sum(np.abs(res) <= PRED_TOLERANCE) + 20 * overall_within) / (len(res) + 20))
    return _ModeModel(
        weights=weights,
        bin_edges=edges,
        q_low=np.array(q_low),
        q_high=np.array(q_high),
        p_within=np.array(p_within),
        calibration_tasks=n,
        fitted=True,
    )


def _cold_x(f: _Features) -> np.ndarray:
    return f.cold


def _cal_x(f: _Features, log_estimate: float, cold_pred: float) -> np.ndarray:
    return np.concatenate([f.ratio, [cold_pred - log_estimate]])


# --------------------------------------------------------------------------- the estimator


class Estimator:
    """Fit on a history, then predict any task. ``embed`` turns texts into unit vectors (e.g.
    ``MiniLMInt8().encode``); without it the text-similarity component is left out."""

    def __init__(self, config: EstimatorConfig | None = None, embed: Embed | None = None) -> None:
        self.config = config or EstimatorConfig()
        self._embed = embed
        self._ref: _Reference = _build_reference([], None)
        self._cold: _ModeModel = _prior_model(len(COLD_COMPONENTS), 1.5, 0)
        self._cal: _ModeModel = _prior_model(len(CAL_COMPONENTS), 0.7, 0)
        self.as_of: datetime | None = None

    @classmethod
    def with_minilm(cls, config: EstimatorConfig | None = None) -> Estimator:
        """An estimator using the offline MiniLM embeddings for task similarity."""
        from tools.index.embedding import MiniLMInt8

        return cls(config, MiniLMInt8().encode)

    # ------------------------------------------------------------------ fitting

    def _vectors(self, tasks: Sequence[Task], cache: Mapping[str, np.ndarray] | None) -> np.ndarray | None:
        if self._embed is None:
            return None
        if not tasks:
            return np.zeros((0, 1), dtype=np.float32)
        cache = cache or {}
        missing = [t for t in tasks if t.gid not in cache]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            fresh = dict(
                zip((t.gid for t in missing), self._embed([task_text(t) for t in missing]), strict=True)
            )
        return np.vstack([cache[t.gid] if t.gid in cache else fresh[t.gid] for t in tasks]).astype(np.float32)

    def fit(
        self,
        history: Iterable[Task],
        as_of: datetime | None = None,
        *,
        vectors: Mapping[str, np.ndarray] | None = None,
    ) -> Estimator:
        """Learn from the completed tasks of ``history`` finished before ``as_of`` (default: all).

        Tasks without actual hours, not completed, or completed at/after ``as_of`` are ignored, so a
        caller may pass a whole workspace. ``vectors`` are precomputed text vectors by gid (e.g. from
        :meth:`tools.index.TaskIndex.embeddings`) to skip re-embedding.
        """
        cfg = self.config
        cutoff = _utc(as_of) if as_of is not None else None
        usable = [
            t
            for t in history
            if t.completed_at is not None
            and t.actual_hours is not None
            and math.isfinite(t.actual_hours)
            and t.actual_hours >= 0
            and (cutoff is None or _utc(t.completed_at) < cutoff)
        ]
        usable.sort(key=lambda t: (_utc(t.completed_at or t.created_at), t.gid))
        self.as_of = cutoff
        all_vectors = self._vectors(usable, vectors)
        n_cal = min(cfg.max_calibration, int(len(usable) * cfg.calibration_fraction))
        if len(usable) < cfg.min_fit_tasks or n_cal < 20:
            self._ref = _build_reference(usable, all_vectors, cfg.recent)
            self._cold = _prior_model(len(COLD_COMPONENTS), 1.5, len(usable))
            self._cal = _prior_model(len(CAL_COMPONENTS), 0.7, len(usable))
            self._cal.weights[:] = 0.0
            self._cal.weights[1] = 1.0  # the assignee's shrunk ratio: plain evidence-based scheduling
            return self
        base, cal = usable[:-n_cal], usable[-n_cal:]
        base_ref = _build_reference(
            base, all_vectors[: len(base)] if all_vectors is not None else None, cfg.recent
        )
        cal_vectors = all_vectors[len(base) :] if all_vectors is not None else None
        feats = [
            _features(base_ref, t, cal_vectors[i] if cal_vectors is not None else None, cfg)
            for i, t in enumerate(cal)
        ]
        y = np.array([_log_hours(t.actual_hours or 0.0) for t in cal])
        top = np.array([f.top_sim for f in feats])
        cold_x = np.array([_cold_x(f) for f in feats])
        self._cold = _fit_mode(cold_x, y - base_ref.global_log_actual, top, cfg)
        with_est = [i for i, t in enumerate(cal) if _has_estimate(t)]
        if len(with_est) >= 20:
            cold_pred = (
                base_ref.global_log_actual + np.column_stack([np.ones(len(cal)), cold_x]) @ self._cold.weights
            )
            log_e = np.array([_log_hours(cal[i].estimate_hours or 0.0) for i in with_est])
            cal_x = np.array([_cal_x(feats[i], log_e[j], cold_pred[i]) for j, i in enumerate(with_est)])
            target = y[with_est] - log_e - base_ref.global_log_ratio
            self._cal = _fit_mode(cal_x, target, top[with_est], cfg)
        else:
            self._cal = _prior_model(len(CAL_COMPONENTS), 0.7, len(with_est))
            self._cal.weights[:] = 0.0
            self._cal.weights[1] = 1.0
        self._ref = _build_reference(usable, all_vectors, cfg.recent)
        return self

    # ------------------------------------------------------------------ prediction

    def predict(self, task: Task, *, use_estimate: bool = True, vector: np.ndarray | None = None) -> Estimate:
        """Estimate one task. Calibrates its human estimate when it has one (and ``use_estimate``),
        otherwise cold start. Never reads the task's own actual hours."""
        if vector is None and self._embed is not None and self._ref.vectors is not None:
            vector = self._embed([task_text(task)])[0]
        return self._predict(task, vector, use_estimate)

    def predict_many(
        self,
        tasks: Sequence[Task],
        *,
        use_estimate: bool = True,
        vectors: Mapping[str, np.ndarray] | None = None,
    ) -> list[Estimate]:
        """Estimate many tasks (texts embedded in one batch)."""
        matrix = self._vectors(tasks, vectors) if self._ref.vectors is not None else None
        return [
            self._predict(t, matrix[i] if matrix is not None else None, use_estimate)
            for i, t in enumerate(tasks)
        ]

    def _predict(self, task: Task, vector: np.ndarray | None, use_estimate: bool) -> Estimate:
        cfg, ref = self.config, self._ref
        f = _features(ref, task, vector, cfg)
        cold_log = ref.global_log_actual + float(np.concatenate([[1.0], _cold_x(f)]) @ self._cold.weights)
        human = task.estimate_hours if use_estimate and _has_estimate(task) else None
        if human is not None:
            log_e = _log_hours(human)
            x = _cal_x(f, log_e, cold_log)
            model = self._cal
            mode: Mode = "calibrated"
            center = log_e + ref.global_log_ratio + float(np.concatenate([[1.0], x]) @ model.weights)
            if abs(center - log_e) < math.log1p(cfg.min_adjustment):
                center = log_e
            names = CAL_COMPONENTS
            component_logs = [log_e + ref.global_log_ratio + v for v in x[:-1]] + [cold_log]
        else:
            x = _cold_x(f)
            model, mode = self._cold, "cold_start"
            center = cold_log
            names = COLD_COMPONENTS
            component_logs = [ref.global_log_actual + v for v in x]
        b = int(np.searchsorted(model.bin_edges, f.top_sim, side="right"))
        low, high = center + model.q_low[b], center + model.q_high[b]
        confidence = float(model.p_within[b])
        if not len(ref.tasks):
            confidence = 0.0
        hours = math.exp(center)
        return Estimate(
            task_gid=task.gid,
            mode=mode,
            hours=round(hours, 3),
            p10_hours=round(min(math.exp(low), hours), 3),
            p90_hours=round(max(math.exp(high), hours), 3),
            confidence=round(min(max(confidence, 0.0), 1.0), 3),
            human_estimate_hours=human,
            bias_applied=round(hours / human, 4) if human else None,
            evidence=self._evidence(task, f, names, component_logs, model),
        )

    def _evidence(
        self, task: Task, f: _Features, names: Sequence[str], logs: Sequence[float], model: _ModeModel
    ) -> Evidence:
        ref = self._ref
        similar = [
            SimilarEvidence(
                gid=ref.tasks[row].gid,
                title=ref.tasks[row].name[:200],
                similarity=round(float(sim), 4),
                actual_hours=float(ref.tasks[row].actual_hours or 0.0),
                estimate_hours=ref.tasks[row].estimate_hours,
            )
            for row, sim in zip(
                f.neighbours.rows[: self.config.max_similar_evidence], f.neighbours.sims, strict=False
            )
        ]
        records = []
        for key in task_facets(task):
            stats = ref.groups.get(key)
            if stats is None:
                continue
            records.append(
                TrackRecord(
                    facet=key[0],
                    value=key[1],
                    tasks=stats.count,
                    median_actual_hours=round(math.exp(stats.median_log_actual), 3),
                    median_ratio=round(math.exp(stats.median_log_ratio), 4) if stats.ratio_count else None,
                    ratio_tasks=stats.ratio_count,
                )
            )
        components = {
            name: round(math.exp(v), 3) for name, v in zip(names, logs, strict=False) if "_x_" not in name
        }
        weights = {name: round(float(w), 4) for name, w in zip(names, model.weights[1:], strict=False)}
        note = "" if model.fitted else f"little history ({len(ref.tasks)} completed tasks): wide prior range"
        return Evidence(
            similar=similar,
            track_records=records,
            components=components,
            weights=weights,
            history_tasks=len(ref.tasks),
            note=note,
        )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def fit_estimator(
    history: Iterable[Task],
    as_of: datetime | None = None,
    *,
    with_text: bool = True,
    vectors: Mapping[str, np.ndarray] | None = None,
) -> Estimator:
    """Convenience: an estimator (MiniLM text similarity unless ``with_text`` is False) fitted on
    ``history`` as of ``as_of``; ``vectors`` are MiniLM vectors already computed (e.g. by the index)."""
    estimator = Estimator.with_minilm() if with_text else Estimator()
    return estimator.fit(history, as_of, vectors=vectors if with_text else None)
