"""MiniLM embedding throughput features keep the vectors exact: length-sorted batches written back in
order, data-parallel batches, the 128 word-piece cap, the document layout, and pipelined upserts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from agent.config import Settings
from tools.index import MiniLMInt8, TaskIndex, task_document
from tools.index.embedding import MAX_TOKENS
from tools.index.store import make_client
from tools.records import Task

WORDS = [
    "the",
    "login",
    "page",
    "invoice",
    "export",
    "fails",
    "when",
    "a",
    "user",
    "clicks",
    "the",
    "button",
    "on",
    "mobile",
    "after",
    "upgrade",
]


def _texts(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 60))) for _ in range(n)]


T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def parallel() -> MiniLMInt8:
    # Tiny batches on two workers: many batches of mixed widths run concurrently.
    return MiniLMInt8(batch_size=3, threads=2)


def test_batched_parallel_vectors_match_one_by_one(minilm: MiniLMInt8, parallel: MiniLMInt8) -> None:
    texts = [*_texts(40), "", "Fix login bug on mobile app"]
    batched = parallel.encode(texts)
    single = np.vstack([minilm.encode([t]) for t in texts])
    assert batched.shape == (len(texts), 384)
    # Row i is the vector of text i whatever batch (and padding width) it was computed in.
    assert float(np.min(np.sum(batched * single, axis=1))) > 0.9999
    assert np.allclose(np.linalg.norm(batched, axis=1), 1.0, atol=1e-4)


def test_order_and_duplicates_are_preserved(parallel: MiniLMInt8) -> None:
    texts = _texts(12)
    base = parallel.encode(texts)
    perm = list(reversed(range(len(texts))))
    shuffled = parallel.encode([texts[i] for i in perm])
    assert float(np.min(np.sum(shuffled * base[perm], axis=1))) > 0.9999
    repeated = parallel.encode([texts[0], texts[5], texts[0]])
    assert float(repeated[0] @ repeated[2]) > 0.9999 and float(repeated[0] @ repeated[1]) < 0.9999


def test_text_is_cut_at_the_model_window(minilm: MiniLMInt8) -> None:
    head = " ".join(["invoice"] * (MAX_TOKENS + 10))
    a, b, short = minilm.encode([head + " login page", head + " payment gateway", "invoice invoice"])
    # Everything past 128 word pieces is ignored, what comes before it is not.
    assert float(a @ b) > 0.9999
    assert float(a @ short) < 0.9999
    assert MAX_TOKENS == 128


def test_document_puts_title_and_context_before_the_description() -> None:
    task = Task(
        gid="1",
        name="  Export invoices to CSV ",
        created_at=T0,
        notes="x" * 2000,
        project_type="client build",
        section="Backlog",
        tags=("billing", "feature"),
    )
    doc = task_document(task)
    title, context, notes = doc.split("\n")
    assert title == "Export invoices to CSV"
    assert context == "client build | Backlog | billing | feature"
    assert notes == "x" * 500
    assert task_document(Task(gid="2", name="Only a title", created_at=T0)) == "Only a title"


def test_pipelined_upsert_keeps_the_last_version_across_batches(tmp_path: Path, minilm: MiniLMInt8) -> None:
    tasks = [
        Task(
            gid=f"g{i % 7}",
            name=f"Task number {i}",
            completed=True,
            created_at=T0,
            completed_at=T0 + timedelta(days=i),
        )
        for i in range(20)
    ]
    index = TaskIndex(
        make_client(Settings(EFFORT_CHROMA_PATH=tmp_path / "c", EFFORT_CHROMA_URL="").index), minilm
    )
    # Batches of 3 with gids repeating across them: writes run on another thread but stay in order.
    assert index.upsert_tasks(tasks, batch_size=3) == 20
    assert index.count() == 7
    got = index._collection.get(ids=[f"g{i}" for i in range(7)], include=["metadatas"])
    titles = {gid: str(meta["title"]) for gid, meta in zip(got["ids"], got["metadatas"] or [], strict=True)}
    assert titles == {f"g{j}": f"Task number {max(i for i in range(20) if i % 7 == j)}" for j in range(7)}
    assert index.similar("Task number 19", k=1)[0].gid == "g5"


def test_embedding_error_in_a_later_batch_propagates(
    tmp_path: Path, minilm: MiniLMInt8, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = TaskIndex(
        make_client(Settings(EFFORT_CHROMA_PATH=tmp_path / "c", EFFORT_CHROMA_URL="").index), minilm
    )
    real_encode = minilm.encode
    calls: list[int] = []

    def encode(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        if len(calls) == 2:
            raise RuntimeError("boom")
        return real_encode(texts)

    monkeypatch.setattr(minilm, "encode", encode)
    tasks = [Task(gid=str(i), name=f"Write report {i}", created_at=T0, completed=True) for i in range(6)]
    with pytest.raises(RuntimeError, match="boom"):
        index.upsert_tasks(tasks, batch_size=3)
    assert index.count() == 3  # the first batch was written before the error surfaced
