"""How the estimator's parts are calibrated on its own history, out of sample.

Everything here is fitted on the *calibration slice*: the most recent part of the history, cut into
time blocks, each block's features computed only from the tasks completed before it (rolling origin),
so every figure describes how the model did on tasks it had not seen, as it will on the next ones.

* ``fit_weights``: the combination weights of the components (median regression), and cross-fitted
  predictions (each block predicted by weights fitted on the other blocks).
* ``Gate``: how far to trust a correction of a human estimate. The choices are a share of the
  correction and a cap on its size; per kind of task (the person; the person's estimates of that very
  value, round numbers included; how often estimates like it came true; how much history the
  project has; the category and size) the gate measures the |log error| each choice saved against
  the person's own figure on that kind's past tasks, plus a penalty for pushing an actual out of the
  +-25% window the person had hit, pulled toward the parent kind's curve by pseudo-observations. It
  takes the choice with the best lower confidence bound (``caution`` standard errors); when none is
  above zero the human figure is kept. Corrections larger than any that helped before are capped.
* ``verdict``: per assignee, category or project, whether the AI or the person did better.
* ``Spread``: the residual distribution per bin (P10/P90 by split-conformal quantiles, recent tasks
  weighted more, since errors drift), its quantiles on a normal-score grid (for totals), and the
  calibrated probability of landing within +-25%.
(How errors move together, for totals, is in ``estimator_totals``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from tools.analytics.estimator_features import assignee_of, project_of
from tools.analytics.estimator_math import conformal_quantile, lad_fit, within
from tools.records import Task

# The gate's choices: apply ``share * clip(correction, -cap, cap)``. Ordered from the most cautious, so
# that among choices that did equally well the first (most cautious) one wins. Index 0 keeps the human.
GATE_GRID = np.array(
    [
        (0.0, 0.0),
        *sorted(
            (
                (share, cap)
                for share in (0.25, 0.5, 0.75, 1.0)
                for cap in (0.05, 0.1, 0.15, 0.25, 0.4, 0.6, 1.0, 3.0)
            ),
            key=lambda sc: (sc[1], sc[0]),
        ),
    ]
)
# Quantile levels of the residual distribution kept per bin (for totals), and their normal scores.
LEVELS = np.array([0.005, 0.01, 0.025, 0.05, *np.linspace(0.1, 0.9, 17), 0.95, 0.975, 0.99, 0.995])
Z_LEVELS = np.array([NormalDist().inv_cdf(float(p)) for p in LEVELS])

GateKey = tuple[str, str]


# --------------------------------------------------------------------------- combination weights


def fit_weights(
    x: np.ndarray, y: np.ndarray, folds: np.ndarray, ridge: float, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """LAD weights (intercept first) on all rows, and cross-fitted predictions (each fold predicted by
    weights fitted on the other folds; a fold with too little else to learn from uses the full fit)."""
    n = len(y)
    design = np.column_stack([np.ones(n), x])
    beta = lad_fit(design, y, ridge=ridge, weights=weights)
    cross = design @ beta
    for fold in np.unique(folds):
        test = folds == fold
        train = ~test
        if train.sum() < 20:
            continue
        b = lad_fit(design[train], y[train], ridge=ridge, weights=None if weights is None else weights[train])
        cross[test] = design[test] @ b
    return beta, cross


# --------------------------------------------------------------------------- the gate


@dataclass
class GainCurve:
    """Per shrink factor in GATE_GRID: the mean loss saved against the human figure, and its standard
    error (both shrunk toward the parent kind's)."""

    gain: np.ndarray
    se: np.ndarray
    weight: float = 0.0


@dataclass
class Gate:
    """Shrink factors for corrections of human estimates, by kind of task (see the module docstring)."""

    curves: dict[GateKey, GainCurve] = field(default_factory=dict)
    root: GainCurve = field(
        default_factory=lambda: GainCurve(np.zeros(len(GATE_GRID)), np.zeros(len(GATE_GRID)))
    )
    caution: float = 1.0  # standard errors a gain must clear before a correction is trusted

    def choice(self, chains: Sequence[Sequence[GateKey]]) -> tuple[float, float]:
        """(share, cap) for a task whose kinds are ``chains`` (each from general to specific): the choice
        with the best lower confidence bound on the gain over the human figure ((0, 0) if none is > 0)."""
        gain = np.zeros(len(GATE_GRID))
        se = np.zeros(len(GATE_GRID))
        leaves = []
        for chain in chains:
            leaf = self.root
            for key in chain:
                curve = self.curves.get(key)
                if curve is None:
                    break
                leaf = curve
            leaves.append(leaf)
        for leaf in leaves or [self.root]:
            gain += leaf.gain
            se += leaf.se
        bound = (gain - self.caution * se) / max(len(leaves), 1)
        best = int(np.argmax(bound))
        if bound[best] <= 0:
            return (0.0, 0.0)
        return (float(GATE_GRID[best, 0]), float(GATE_GRID[best, 1]))

    def apply(self, correction: float, chains: Sequence[Sequence[GateKey]]) -> float:
        """The part of ``correction`` (log) to apply to a human estimate."""
        share, cap = self.choice(chains)
        return share * max(-cap, min(cap, correction))


def cross_fitted_corrections(
    losses: np.ndarray,
    chains: Sequence[Sequence[Sequence[GateKey]]],
    weights: np.ndarray,
    folds: np.ndarray,
    correction: np.ndarray,
    strength: float,
    caution: float,
    fallback: Gate,
) -> np.ndarray:
    """The part of each row's ``correction`` applied by a gate fitted without the row's fold."""
    applied = np.empty(len(correction))
    for fold in np.unique(folds):
        test = folds == fold
        gate = fallback
        if (~test).sum() >= 20:
            others = [c for c, t in zip(chains, test, strict=True) if not t]
            gate = fit_gate(losses[~test], others, weights[~test], strength, caution)
        applied[test] = [gate.apply(float(correction[j]), chains[j]) for j in np.flatnonzero(test).tolist()]
    return applied


def gate_losses(residual: np.ndarray, correction: np.ndarray, pred_weight: float) -> np.ndarray:
    """Loss of ``human * exp(share * clip(correction, -cap, cap))`` for each choice in GATE_GRID: |log
    error| plus ``pred_weight`` for each task outside the +-25% window. Shape (rows, choices)."""
    share, cap = GATE_GRID[:, 0], GATE_GRID[:, 1]
    applied = share[None, :] * np.clip(correction[:, None], -cap[None, :], cap[None, :])
    err = residual[:, None] - applied
    return np.abs(err) + pred_weight * ~within(err)


def _curve(
    s1: np.ndarray, s2: np.ndarray, w: float, w2: float, parent: GainCurve | None, strength: float
) -> GainCurve:
    """A kind's gain curve from weighted sums of gains (s1) and squared gains (s2), shrunk to its parent."""
    mean = s1 / w if w > 0 else np.zeros_like(s1)
    var = np.maximum(s2 / w - mean**2, 0.0) if w > 0 else np.zeros_like(s1)
    n_eff = w * w / w2 if w2 > 0 else 0.0
    if parent is None:
        return GainCurve(mean, np.sqrt(var / max(n_eff, 1.0)), w)
    k = strength
    parent_var = (parent.se**2) * max(parent.weight, 1.0)  # back from the parent's standard error
    gain = (w * mean + k * parent.gain) / (w + k)
    pooled = (w * var + k * parent_var) / (w + k)
    return GainCurve(gain, np.sqrt(pooled / (n_eff + k)), w)


def fit_gate(
    losses: np.ndarray,
    chains: Sequence[Sequence[Sequence[GateKey]]],
    weights: np.ndarray,
    strength: float,
    caution: float = 1.0,
) -> Gate:
    """Gain curves per kind. ``chains[i]`` are row i's chains of kinds (general to specific); a kind's
    curve is pulled toward its parent's by ``strength`` rows of weight."""
    gains = losses[:, :1] - losses  # loss saved against the human figure, per shrink factor
    w_all = float(weights.sum())
    root = _curve(weights @ gains, weights @ gains**2, w_all, float(weights @ weights), None, strength)
    gate = Gate(root=root, caution=caution)
    sums: dict[GateKey, list[np.ndarray]] = {}
    scalars: dict[GateKey, list[float]] = {}
    parent: dict[GateKey, GateKey | None] = {}
    depth: dict[GateKey, int] = {}
    for i, row_chains in enumerate(chains):
        for chain in row_chains:
            up: GateKey | None = None
            for level, key in enumerate(chain):
                if key not in sums:
                    sums[key] = [np.zeros(losses.shape[1]), np.zeros(losses.shape[1])]
                    scalars[key] = [0.0, 0.0]
                    parent[key], depth[key] = up, level
                sums[key][0] += weights[i] * gains[i]
                sums[key][1] += weights[i] * gains[i] ** 2
                scalars[key][0] += weights[i]
                scalars[key][1] += weights[i] ** 2
                up = key
    for key in sorted(sums, key=lambda k: depth[k]):
        up = parent[key]
        prior = gate.curves[up] if up is not None else root
        gate.curves[key] = _curve(
            sums[key][0], sums[key][1], scalars[key][0], scalars[key][1], prior, strength
        )
    return gate


# --------------------------------------------------------------------------- ranges


@dataclass
class Spread:
    """Residual distribution (log actual/predicted) per bin of a score, for ranges and totals."""

    bin_edges: np.ndarray  # edges between bins of the score (len = bins - 1)
    q_low: np.ndarray  # per bin: conformal lower quantile
    q_high: np.ndarray
    p_within: np.ndarray  # per bin: calibrated share within +-25%
    z_quantiles: np.ndarray  # per bin: residual quantiles at LEVELS (rows = bins)
    tasks: int = 0

    def bin_of(self, score: float) -> int:
        return int(np.searchsorted(self.bin_edges, score, side="right"))


def prior_spread(width: float, history: int) -> Spread:
    """A wide symmetric range for too little history to calibrate anything."""
    return Spread(
        bin_edges=np.zeros(0),
        q_low=np.array([-width]),
        q_high=np.array([width]),
        p_within=np.array([0.1 * min(1.0, history / 40)]),
        z_quantiles=(Z_LEVELS * width / 1.2816)[None, :],
        tasks=0,
    )


def fit_spread(
    residual: np.ndarray, score: np.ndarray, weights: np.ndarray, coverage: float, max_bins: int = 4
) -> Spread:
    """Conformal ranges per bin of ``score`` (quantile bins; at least ~150 residuals per bin)."""
    n = len(residual)
    bins = max(1, min(max_bins, n // 150))
    edges = np.quantile(score, np.linspace(0, 1, bins + 1)[1:-1]) if bins > 1 else np.zeros(0)
    edges = np.unique(edges)
    which = np.searchsorted(edges, score, side="right")
    alpha = (1.0 - coverage) / 2
    overall_within = float(np.average(within(residual), weights=weights)) if n else 0.0
    q_low, q_high, p_within, grids = [], [], [], []
    for b in range(len(edges) + 1):
        mask = which == b
        res, w = residual[mask], weights[mask]
        if not len(res):
            res, w = residual, weights
        low = conformal_quantile(res, alpha, w)
        # Residuals pile up on exact values (actuals logged as estimated): the lower quantile may hold
        # far less than alpha below it. The upper one then takes the rest, so that the range holds the
        # nominal share, not more (a range that is too wide for its label is as wrong as a narrow one).
        below = float(np.sum(w[res < low])) / float(w.sum())
        high = conformal_quantile(res, min(1.0, below + coverage), w)
        q_low.append(min(0.0, low))
        q_high.append(max(0.0, high))
        # Smoothed toward the overall share so a small bin does not claim certainty.
        p_within.append((float(np.sum(w * within(res))) + 20 * overall_within) / (float(w.sum()) + 20))
        grids.append(_weighted_quantiles(res, w, LEVELS))
    return Spread(
        bin_edges=edges,
        q_low=np.array(q_low),
        q_high=np.array(q_high),
        p_within=np.array(p_within),
        z_quantiles=np.array(grids),
        tasks=n,
    )


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, levels: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cumulative = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(levels, cumulative, v)


# --------------------------------------------------------------------------- AI vs person


class GroupVerdict(BaseModel):
    """Did the AI estimate or the person's own do better for a group of tasks (out of sample)?"""

    model_config = ConfigDict(frozen=True)

    facet: str  # assignee, category, project
    value: str
    tasks: int
    person_mean_abs_log: float
    ai_mean_abs_log: float
    person_pred25: float
    ai_pred25: float
    better: Literal["ai", "person", "tie"]


def verdict(facet: str, value: str, person: np.ndarray, ai: np.ndarray) -> GroupVerdict:
    """From residuals log(actual / person's estimate) and log(actual / AI estimate) of one group."""
    p_log, a_log = float(np.abs(person).mean()), float(np.abs(ai).mean())
    better: Literal["ai", "person", "tie"] = (
        "tie" if abs(a_log - p_log) < 0.005 else ("ai" if a_log < p_log else "person")
    )
    return GroupVerdict(
        facet=facet,
        value=value,
        tasks=len(person),
        person_mean_abs_log=round(p_log, 4),
        ai_mean_abs_log=round(a_log, 4),
        person_pred25=round(float(within(person).mean()), 4),
        ai_pred25=round(float(within(ai).mean()), 4),
        better=better,
    )


def verdicts_by_group(
    tasks: Sequence[Task], person: np.ndarray, ai: np.ndarray, min_tasks: int = 5
) -> dict[tuple[str, str], GroupVerdict]:
    """``verdict`` per assignee, category and project with at least ``min_tasks`` tasks."""
    members: dict[tuple[str, str], list[int]] = {}
    for i, t in enumerate(tasks):
        for facet, value in (
            ("assignee", assignee_of(t)),
            ("category", t.project_type),
            ("project", project_of(t)),
        ):
            if value:
                members.setdefault((facet, value), []).append(i)
    return {
        key: verdict(key[0], key[1], person[rows], ai[rows])
        for key, rows in members.items()
        if len(rows) >= min_tasks
    }
