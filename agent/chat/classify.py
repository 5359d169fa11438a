"""Nearest-neighbour intent classification over the intent examples, with the MiniLM encoder.

The examples' vectors are computed once, at build time, into ``intent_vectors.npy`` (float16, shipped
in the package) with a fingerprint of the examples in ``intent_vectors.json``: a question costs one
encoder call (~5 ms) after the model loads (~0.3 s, without graph optimisation). If the examples
changed and the cache was not rebuilt, the vectors are recomputed in memory (and a test fails).

    python -m agent.chat.classify --build     # after editing agent/chat/intents.py
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from agent.chat.intents import INTENTS, examples

VECTORS_PATH = Path(__file__).with_name("intent_vectors.npy")
FINGERPRINT_PATH = Path(__file__).with_name("intent_vectors.json")
TOP_K = 3  # an intent's score: the mean of its best TOP_K example similarities (max weighted)
TEMPERATURE = 0.03  # softmax temperature over intent scores -> confidence


def fingerprint() -> str:
    """sha256 of the (intent, example) rows, in order: the cache is valid only for these."""
    return hashlib.sha256(json.dumps(examples()).encode()).hexdigest()


@dataclass(frozen=True)
class Ranking:
    """Intent scores for one question, best first: (intent, score), and the softmax confidence."""

    scores: tuple[tuple[str, float], ...]
    confidence: float

    @property
    def best(self) -> str:
        return self.scores[0][0]

    @property
    def best_score(self) -> float:
        return self.scores[0][1]

    @property
    def runner_up(self) -> tuple[str, float]:
        return self.scores[1] if len(self.scores) > 1 else ("", 0.0)


class IntentClassifier:
    """Example vectors plus the encoder (loaded on first use, in a background thread if asked)."""

    def __init__(self) -> None:
        self._encoder: object | None = None
        self._lock = threading.Lock()
        self._labels = [name for name, _ in examples()]
        self._names = [i.name for i in INTENTS]
        self._vectors: np.ndarray | None = None

    def _encoder_obj(self) -> object:
        with self._lock:
            if self._encoder is None:
                from tools.minilm import MiniLMEncoder

                self._encoder = MiniLMEncoder(batch_size=64, threads=1, optimize=False)
            return self._encoder

    @staticmethod
    @lru_cache(maxsize=1)
    def shared() -> IntentClassifier:
        """One classifier per process: the model and the vectors are read-only, like tiktoken's
        encoding (tools/agent_tools/budget.py), so every context may share them."""
        return IntentClassifier()

    def preload(self) -> threading.Thread:
        """Load the model in a background thread (onnxruntime releases the GIL while it builds the
        session), so that loading the workspace and the model overlap."""
        thread = threading.Thread(target=self._encoder_obj, name="minilm-load", daemon=True)
        thread.start()
        return thread

    def encode(self, texts: list[str]) -> np.ndarray:
        return self._encoder_obj().encode(texts)  # type: ignore[attr-defined, no-any-return]

    def vectors(self) -> np.ndarray:
        if self._vectors is None:
            self._vectors = load_vectors(self)
        return self._vectors

    def rank(self, masked_question: str) -> Ranking:
        q = self.encode([masked_question])[0]
        sims = self.vectors() @ q
        per: dict[str, list[float]] = {}
        for label, sim in zip(self._labels, sims.tolist(), strict=True):
            per.setdefault(label, []).append(sim)
        scores = []
        for name in self._names:
            best = sorted(per.get(name, [0.0]), reverse=True)[:TOP_K]
            # The best match counts most; the next ones keep one lucky example from deciding alone.
            weights = [0.6, 0.25, 0.15][: len(best)]
            scores.append((name, sum(w * s for w, s in zip(weights, best, strict=False)) / sum(weights)))
        scores.sort(key=lambda item: -item[1])
        raw = np.array([s for _, s in scores])
        exp = np.exp((raw - raw.max()) / TEMPERATURE)
        return Ranking(scores=tuple(scores), confidence=float(exp[0] / exp.sum()))


def load_vectors(classifier: IntentClassifier | None = None) -> np.ndarray:
    """The cached example vectors when their fingerprint matches, else computed now."""
    try:
        meta = json.loads(FINGERPRINT_PATH.read_text(encoding="utf-8"))
        if meta.get("fingerprint") == fingerprint():
            return np.load(VECTORS_PATH).astype(np.float32)
    except (OSError, ValueError):
        pass
    return (classifier or IntentClassifier()).encode([text for _, text in examples()])


def build(classifier: IntentClassifier | None = None) -> Path:
    """Compute the example vectors and write the cache (float16: a third of the size, same ranking)."""
    vectors = (classifier or IntentClassifier()).encode([text for _, text in examples()])
    np.save(VECTORS_PATH, vectors.astype(np.float16))
    FINGERPRINT_PATH.write_text(
        json.dumps({"fingerprint": fingerprint(), "rows": len(examples())}, indent=1) + "\n",
        encoding="utf-8",
    )
    return VECTORS_PATH


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the cached intent-example vectors.")
    parser.add_argument("--build", action="store_true", help="recompute intent_vectors.npy")
    args = parser.parse_args(argv)
    if args.build:
        path = build()
        print(f"wrote {path} ({len(examples())} examples, {len(INTENTS)} intents)")
    else:
        ok = json.loads(FINGERPRINT_PATH.read_text()).get("fingerprint") == fingerprint()
        print("cache up to date" if ok else "cache is stale: run with --build")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
