"""Predictive estimation (capability 4): a point estimate, a P10-P90 range and a confidence per task,
with the evidence behind them.

Two modes, both learned only from tasks completed before ``as_of``:

* **calibrated** (a human estimate exists): evidence-based scheduling. The model predicts a correction
  log(actual/estimate) from the track records of the task's assignee, project, category, section, tags
  and size, the ratios of the most similar past tasks (text kNN) and a cold-start view of the task.
  The correction is then shrunk toward zero by how reliable corrections of that kind have been
  out of sample (``estimator_calibration.Gate``): where this person, or this person's estimates of
  this very value, have usually been right, the human figure is kept. Never worse than the person is
  the first duty; the gains on real data are small (see the README's hindsight bounds).
* **cold start** (no human estimate): log actual hours from similar tasks' actuals (similarity-weighted
  median), from the assignee's own most similar past tasks, from a ridge regression of hours on the
  task's text vector, and from the same groups' medians of actual hours.

Everything is calibrated on the most recent part of the history, cut into time blocks whose features
come only from tasks completed before each block (rolling origin), so the weights, the shrink factors
and the ranges describe how each signal predicted the *next* tasks. P10-P90 come from split-conformal
quantiles of those residuals (recent ones weigh more: errors drift); the confidence is the calibrated
probability of landing within +-25%. Errors of tasks in the same project and month move together:
the estimator measures how much (``correlation``), and ``tools.analytics.totals`` draws totals from
that joint distribution. Approvers' edits and rejections (``EstimateFeedback``) shift later estimates
for the same person / project / category until actuals arrive.

Deliberately absent: any use of a task's own dates or elapsed time (not known when estimating), any
rounding to "typical" values of a particular dataset.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tools.analytics.estimator_calibration import (
    Gate,
    GateKey,
    GroupVerdict,
    Spread,
    cross_fitted_corrections,
    fit_gate,
    fit_spread,
    fit_weights,
    gate_losses,
    prior_spread,
    verdicts_by_group,
)
from tools.analytics.estimator_features import (
    CAL_COMPONENTS,
    COLD_COMPONENTS,
    SIM,
    Features,
    Reference,
    TextModel,
    assignee_of,
    build_reference,
    features,
    has_estimate,
    log_hours,
    project_of,
    size_bucket,
    task_facets,
    task_text,
    value_key,
)
from tools.analytics.estimator_feedback import EstimateFeedback, FeedbackModel
from tools.analytics.estimator_math import recency_weights, ridge_fit
from tools.analytics.estimator_totals import Correlation, TotalsFit, correlation_of, fit_totals_on_history
from tools.records import Task

Mode = Literal["calibrated", "cold_start"]
Embed = Callable[[Sequence[str]], np.ndarray]

__all__ = [
    "Estimate",
    "EstimateFeedback",
    "Estimator",
    "EstimatorConfig",
    "Evidence",
    "GroupVerdict",
    "SimilarEvidence",
    "TrackRecord",
    "fit_estimator",
    "task_facets",
    "task_text",
]


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
    # Calibrated mode: the share of the model's correction applied (0 = the human figure is kept).
    trust: float | None = None
    verdict: GroupVerdict | None = None  # the assignee's AI-vs-person record, when known
    feedback_offset: float | None = None  # x factor from approvers' edits (1.0 = none)
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
    # Quantiles of log(actual / hours) at estimator_calibration.LEVELS, for drawing totals. Not part of
    # what is shown or serialised.
    log_quantiles: tuple[float, ...] = Field(default=(), exclude=True, repr=False)


@dataclass(frozen=True)
class EstimatorConfig:
    k: int = 10  # neighbours from the text index (among all tasks, and among the assignee's own)
    shrinkage: float = 8.0  # pseudo-observations pulling a group median toward the global one
    temperature: float = 0.05  # kNN weights exp((sim - best) / temperature)
    calibration_fraction: float = 0.5  # most recent share of the history used to calibrate
    max_calibration: int = 4000
    blocks: int = 5  # rolling-origin time blocks in the calibration slice
    min_fit_tasks: int = 40  # below this, fixed weights and prior ranges (low confidence)
    coverage: float = 0.8  # P10-P90
    ridge: float = 4.0
    text_ridge: float = 10.0  # ridge of the text-vector regression (in units of tasks)
    max_similar_evidence: int = 5
    recent: int = 30  # window of a recent track record, in tasks
    gate_strength: float = 20.0  # pseudo-tasks pulling a kind's shrink curve toward its parent's
    pred_weight: float = 0.5  # gate loss per task pushed out of +-25%, in units of |log error|
    gate_caution: float = 2.0  # standard errors a kind's gain must clear before its correction is used
    recency_half_life: float = 0.5  # of the calibration slice: recent residuals weigh more
    feedback_half_life_days: float = 90.0
    feedback_strength: float = 10.0  # pseudo-decisions of "no change" behind approvers' edits
    # Adjustments of a human estimate smaller than this (relative) are not worth suggesting.
    min_adjustment: float = 0.0


def gate_chains(task: Task, f: Features) -> list[list[GateKey]]:
    """The kinds of a task whose past decides how far to trust a correction (general to specific):
    the person and their estimates of this very value; how often estimates like this one came true
    (in fifths); how much history the task's project has; the category and size."""
    assignee = assignee_of(task) or ""
    value = value_key(task.estimate_hours or 0.0)
    bucket = str(min(4, int(f.hit * 5)))
    chains: list[list[GateKey]] = [
        [("assignee", assignee), ("assignee_value", f"{assignee}/{value}")],
        [("hit", bucket), ("assignee_hit", f"{assignee}/{bucket}")],
        [("project_history", f.project_history)],
    ]
    if task.project_type:
        size = size_bucket(task.estimate_hours or 1.0)
        chains.append([("category", task.project_type), ("category_size", f"{task.project_type}/{size}")])
    return chains


# --------------------------------------------------------------------------- fitted state


@dataclass
class _Mode:
    weights: np.ndarray  # intercept first
    spread: Spread
    fitted: bool
    correlation: Correlation = field(default_factory=Correlation)


def _prior_mode(n_features: int, width: float, history: int, weights: np.ndarray | None = None) -> _Mode:
    if weights is None:
        weights = np.zeros(n_features + 1)
        weights[1 : 1 + SIM + 1] = 1.0 / (SIM + 1) if history else 0.0
    return _Mode(weights=weights, spread=prior_spread(width, history), fitted=False)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _month(task: Task) -> str:
    return _utc(task.completed_at or task.created_at).strftime("%Y-%m")


# --------------------------------------------------------------------------- the estimator


class Estimator:
    """Fit on a history, then predict any task. ``embed`` turns texts into unit vectors (e.g.
    ``MiniLMInt8().encode``); without it the text components are left out."""

    def __init__(self, config: EstimatorConfig | None = None, embed: Embed | None = None) -> None:
        self.config = config or EstimatorConfig()
        self._embed = embed
        self._ref: Reference = build_reference([], None)
        self._cold = _prior_mode(len(COLD_COMPONENTS), 1.5, 0)
        self._cal = _prior_mode(len(CAL_COMPONENTS), 0.7, 0, self._plain_ebs_weights())
        self._gate = Gate()
        self._verdicts: dict[tuple[str, str], GroupVerdict] = {}
        self._totals = TotalsFit()
        self._feedback = self._new_feedback()
        self.as_of: datetime | None = None

    def _new_feedback(self) -> FeedbackModel:
        cfg = self.config
        return FeedbackModel(half_life_days=cfg.feedback_half_life_days, strength=cfg.feedback_strength)

    @classmethod
    def with_minilm(cls, config: EstimatorConfig | None = None) -> Estimator:
        """An estimator using the offline MiniLM embeddings for task similarity."""
        from tools.index.embedding import MiniLMInt8

        return cls(config, MiniLMInt8().encode)

    @staticmethod
    def _plain_ebs_weights() -> np.ndarray:
        weights = np.zeros(len(CAL_COMPONENTS) + 1)
        weights[1] = 1.0  # the assignee's shrunk ratio: plain evidence-based scheduling
        return weights

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

    def _reference(self, tasks: list[Task], vectors: np.ndarray | None) -> Reference:
        text_model = None
        if vectors is not None and len(tasks) >= 20:
            y = np.array([log_hours(t.actual_hours or 0.0) for t in tasks])
            w, center = ridge_fit(vectors.astype(np.float64), y, self.config.text_ridge)
            text_model = TextModel(weights=w, center=center)
        return build_reference(tasks, vectors, self.config.recent, text_model)

    def _features(self, ref: Reference, task: Task, vector: np.ndarray | None) -> Features:
        cfg = self.config
        return features(ref, task, vector, k=cfg.k, shrinkage=cfg.shrinkage, temperature=cfg.temperature)

    def fit(
        self,
        history: Iterable[Task],
        as_of: datetime | None = None,
        *,
        vectors: Mapping[str, np.ndarray] | None = None,
        feedback: Iterable[EstimateFeedback] = (),
    ) -> Estimator:
        """Learn from the completed tasks of ``history`` finished before ``as_of`` (default: all).

        Tasks without actual hours, not completed, or completed at/after ``as_of`` are ignored, so a
        caller may pass a whole workspace. ``vectors`` are precomputed text vectors by gid (e.g. from
        :meth:`tools.index.TaskIndex.embeddings`) to skip re-embedding. ``feedback`` are approvers'
        edits and rejections of earlier AI estimates (see :meth:`add_feedback`).
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
        self._feedback = self._new_feedback()
        self._gate, self._verdicts, self._totals = Gate(), {}, TotalsFit()
        n = len(usable)
        n_cal = min(cfg.max_calibration, int(n * cfg.calibration_fraction))
        if n < cfg.min_fit_tasks or n_cal < 20:
            self._ref = self._reference(usable, all_vectors)
            self._cold = _prior_mode(len(COLD_COMPONENTS), 1.5, n)
            self._cal = _prior_mode(len(CAL_COMPONENTS), 0.7, n, self._plain_ebs_weights())
        else:
            self._calibrate(usable, all_vectors, n - n_cal)
            self._ref = self._reference(usable, all_vectors)
        self.add_feedback(feedback)
        return self

    def _calibrate(self, usable: list[Task], vectors: np.ndarray | None, start: int) -> None:
        """Rolling-origin calibration of both modes on ``usable[start:]``."""
        cfg = self.config
        n = len(usable)
        bounds = np.unique(np.linspace(start, n, cfg.blocks + 1).astype(int))
        feats: list[Features] = []
        folds: list[int] = []
        g_actual: list[float] = []
        g_ratio: list[float] = []
        for b, (lo, hi) in enumerate(itertools.pairwise(bounds.tolist())):
            ref = self._reference(usable[:lo], vectors[:lo] if vectors is not None else None)
            for i in range(lo, hi):
                feats.append(self._features(ref, usable[i], vectors[i] if vectors is not None else None))
                folds.append(b)
                g_actual.append(ref.global_log_actual)
                g_ratio.append(ref.global_log_ratio)
        cal = usable[start:]
        fold = np.array(folds)
        ga, gr = np.array(g_actual), np.array(g_ratio)
        y = np.array([log_hours(t.actual_hours or 0.0) for t in cal])
        recency = recency_weights(len(cal), cfg.recency_half_life * len(cal))
        projects = [project_of(t) or "" for t in cal]
        months = [_month(t) for t in cal]

        cold_x = np.array([f.cold for f in feats])
        cold_beta, cold_cross = fit_weights(cold_x, y - ga, fold, cfg.ridge)
        cold_pred = ga + cold_cross
        cold_res = y - cold_pred
        cold_score = cold_pred  # range bins by the size of the prediction
        cold_spread = fit_spread(cold_res, cold_score, recency, cfg.coverage)
        self._cold = _Mode(
            weights=cold_beta,
            spread=cold_spread,
            fitted=True,
            correlation=correlation_of(
                cold_res, [cold_spread.bin_of(float(v)) for v in cold_score], projects, months
            ),
        )

        rows = [i for i, t in enumerate(cal) if has_estimate(t)]
        if len(rows) < 20:
            self._cal = _prior_mode(len(CAL_COMPONENTS), 0.7, len(rows), self._plain_ebs_weights())
            return
        idx = np.array(rows)
        log_e = np.array([log_hours(cal[i].estimate_hours or 0.0) for i in rows])
        cal_x = np.array(
            [np.concatenate([feats[i].ratio, [cold_pred[i] - log_e[j]]]) for j, i in enumerate(rows)]
        )
        target = y[idx] - log_e - gr[idx]
        cal_beta, cal_cross = fit_weights(cal_x, target, fold[idx], cfg.ridge)
        correction = gr[idx] + cal_cross  # the model's log(ai / human), out of sample
        residual = y[idx] - log_e  # log(actual / human)
        losses = gate_losses(residual, correction, cfg.pred_weight)
        chains = [gate_chains(cal[i], feats[i]) for i in rows]
        weights = recency[idx]
        self._gate = fit_gate(losses, chains, weights, cfg.gate_strength, cfg.gate_caution)
        # The gate's choices as the next tasks will see them: each block's from a gate fitted without it.
        applied = cross_fitted_corrections(
            losses, chains, weights, fold[idx], correction, cfg.gate_strength, cfg.gate_caution, self._gate
        )
        final = residual - applied
        cal_score = log_e  # range bins by the size of the human estimate
        spread = fit_spread(final, cal_score, weights, cfg.coverage)
        cal_projects, cal_months = [projects[i] for i in rows], [months[i] for i in rows]
        correlation = correlation_of(
            final, [spread.bin_of(float(v)) for v in cal_score], cal_projects, cal_months
        )
        self._cal = _Mode(weights=cal_beta, spread=spread, fitted=True, correlation=correlation)
        self._verdicts = verdicts_by_group([cal[i] for i in rows], residual, final)
        human = np.array([cal[i].estimate_hours or 0.0 for i in rows])
        actual = np.array([cal[i].actual_hours or 0.0 for i in rows])
        grids = spread.z_quantiles[[spread.bin_of(float(v)) for v in cal_score]]
        self._totals = fit_totals_on_history(
            human * np.exp(applied),
            grids,
            correlation,
            actual,
            human,
            cal_projects,
            cal_months,
            cfg.gate_caution,
        )

    # ------------------------------------------------------------------ feedback

    def add_feedback(self, feedback: Iterable[EstimateFeedback]) -> Estimator:
        """Learn from approvers' edits and rejections of AI estimates (see ``estimator_feedback``).
        Feedback on tasks already in the fitted history is skipped: their actuals say more."""
        self._feedback.add(feedback, skip_tasks=set(self._ref.gid_row))
        return self

    def without_feedback(self) -> Estimator:
        """A copy of this fitted estimator with no approver feedback (the fit is shared, not copied)."""
        clone = copy.copy(self)
        clone._feedback = self._new_feedback()
        return clone

    @property
    def feedback_records(self) -> int:
        return self._feedback.records

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

    def correlation(self, mode: Mode) -> Correlation:
        """How the errors of tasks in one project (and month) move together, for totals."""
        return (self._cal if mode == "calibrated" else self._cold).correlation

    @property
    def totals_fit(self) -> TotalsFit:
        """How far a total's centre moves from the sum of human estimates toward the simulated median
        (0-1, chosen on past project-months: 0 = the people's sum was as good), and the range scale
        that covered 80% of past project-months."""
        return self._totals

    def verdicts(self) -> list[GroupVerdict]:
        """Per assignee, category and project: whether the AI or the person did better, out of sample."""
        return sorted(self._verdicts.values(), key=lambda v: (v.facet, -v.tasks, v.value))

    def _predict(self, task: Task, vector: np.ndarray | None, use_estimate: bool) -> Estimate:
        cfg, ref = self.config, self._ref
        f = self._features(ref, task, vector)
        cold_log = ref.global_log_actual + float(np.concatenate([[1.0], f.cold]) @ self._cold.weights)
        human = task.estimate_hours if use_estimate and has_estimate(task) else None
        trust: float | None = None
        if human is not None:
            log_e = log_hours(human)
            x = np.concatenate([f.ratio, [cold_log - log_e]])
            mode: Mode = "calibrated"
            model = self._cal
            correction = ref.global_log_ratio + float(np.concatenate([[1.0], x]) @ model.weights)
            applied = self._gate.apply(correction, gate_chains(task, f)) if model.fitted else correction
            trust = round(applied / correction, 3) if abs(correction) > 1e-9 else 1.0
            if abs(applied) < math.log1p(cfg.min_adjustment):
                applied = 0.0
            # The human's own figure (not floored at MIN_HOURS like log_e), above the shown precision.
            center = math.log(max(human, 0.001)) + applied
            names = CAL_COMPONENTS
            component_logs = [log_e + ref.global_log_ratio + v for v in x[:-1]] + [cold_log]
        else:
            mode, model = "cold_start", self._cold
            center = cold_log
            names = COLD_COMPONENTS
            component_logs = [ref.global_log_actual + v for v in f.cold]
        now = self.as_of or _utc(task.created_at)
        offset, _evidence = self._feedback.offset(task, now, calibrated=mode == "calibrated")
        center += offset
        spread = model.spread
        b = spread.bin_of(log_hours(human) if human is not None else cold_log)
        low, high = center + spread.q_low[b], center + spread.q_high[b]
        confidence = float(spread.p_within[b]) if len(ref.tasks) else 0.0
        hours = math.exp(center)
        verdict = self._verdicts.get(("assignee", assignee_of(task) or "")) if mode == "calibrated" else None
        return Estimate(
            task_gid=task.gid,
            mode=mode,
            hours=round(hours, 3),
            p10_hours=round(min(math.exp(low), hours), 3),
            p90_hours=round(max(math.exp(high), hours), 3),
            confidence=round(min(max(confidence, 0.0), 1.0), 3),
            human_estimate_hours=human,
            bias_applied=round(hours / human, 4) if human else None,
            evidence=self._evidence(task, f, names, component_logs, model, trust, verdict, offset),
            log_quantiles=tuple(round(float(q), 4) for q in spread.z_quantiles[b]),
        )

    def _evidence(
        self,
        task: Task,
        f: Features,
        names: Sequence[str],
        logs: Sequence[float],
        model: _Mode,
        trust: float | None,
        verdict: GroupVerdict | None,
        offset: float,
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
            trust=trust,
            verdict=verdict,
            feedback_offset=round(math.exp(offset), 4) if offset else None,
            note=note,
        )


def fit_estimator(
    history: Iterable[Task],
    as_of: datetime | None = None,
    *,
    with_text: bool = True,
    vectors: Mapping[str, np.ndarray] | None = None,
    feedback: Iterable[EstimateFeedback] = (),
) -> Estimator:
    """Convenience: an estimator (MiniLM text similarity unless ``with_text`` is False) fitted on
    ``history`` as of ``as_of``; ``vectors`` are MiniLM vectors already computed (e.g. by the index);
    ``feedback`` are approvers' edits and rejections of earlier AI estimates."""
    estimator = Estimator.with_minilm() if with_text else Estimator()
    return estimator.fit(history, as_of, vectors=vectors if with_text else None, feedback=feedback)
