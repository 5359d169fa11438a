"""The anomaly benchmark's plumbing on a small generated workspace (sandbox generator -> sync mapping ->
detector): every planted entry-level anomaly is found, and the scorer counts matches correctly."""

from __future__ import annotations

from evals.bench.anomaly_bench import generated_workspace, score_flags
from tools.analytics import AnomalyFlag, AnomalyKind, detect_anomalies


def test_planted_entry_anomalies_are_found() -> None:
    workspace, truth = generated_workspace(seed=5, tasks=300)
    assert workspace.tasks and workspace.entries and truth
    scores = score_flags(detect_anomalies(workspace), truth)
    for kind in ("weekend", "duplicate", "zero_duration", "future_date", "missing_logs"):
        assert scores[kind]["found"] == scores[kind]["planted"], (kind, scores[kind])
    assert scores["detector:future_date"]["precision"] in (None, 1.0)


def test_score_flags_counts() -> None:
    truth = {"e1": "weekend", "e2": "duplicate", "t1": "huge_variance"}
    flags = [
        AnomalyFlag(kind=AnomalyKind.WEEKEND, score=0.5, reason="r", entry_gid="e1", task_gid="t9"),
        AnomalyFlag(kind=AnomalyKind.WEEKEND, score=0.5, reason="r", entry_gid="e3", task_gid="t9"),
        AnomalyFlag(kind=AnomalyKind.VARIANCE, score=0.9, reason="r", task_gid="t1"),
    ]
    scores = score_flags(flags, truth)
    assert scores["weekend"] == {"planted": 1, "found": 1, "recall": 1.0}
    assert scores["duplicate"]["found"] == 0
    assert scores["detector:weekend"] == {"flags": 2, "true": 1, "precision": 0.5}
    assert scores["huge_variance"]["recall"] == 1.0
