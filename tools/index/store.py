"""The similar-task index: a Chroma collection of tasks, embedded offline, queried by text or task.

Embedded ``chromadb.PersistentClient`` at ``IndexConfig.chroma_path`` by default; ``chromadb.HttpClient``
when ``EFFORT_CHROMA_URL`` is set. Documents are title + description + project type + section + tags;
metadata carry what the estimator needs (actuals, estimate, assignee, project type, completion epoch)
so a query returns evidence without a second lookup.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Literal, cast
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaSettings
from pydantic import BaseModel, ConfigDict

from tools.config_types import IndexConfig
from tools.index.embedding import MiniLMInt8, OpenAIEmbedder
from tools.records import Task

log = logging.getLogger(__name__)

DEFAULT_COLLECTION = "effort_tasks"
EmbeddingChoice = Literal["auto", "minilm", "openai"]
Embedder = MiniLMInt8 | OpenAIEmbedder


class IndexError_(RuntimeError):
    """The index cannot be opened or used (bad URL, server down, incompatible collection)."""


class SimilarTask(BaseModel):
    """One neighbour returned by :meth:`TaskIndex.similar`."""

    model_config = ConfigDict(frozen=True)

    gid: str
    title: str
    similarity: float  # cosine similarity in [-1, 1]
    actual_hours: float | None = None
    estimate_hours: float | None = None
    assignee: str | None = None  # gid (or name when the gid is unknown)
    assignee_name: str | None = None
    project: str | None = None
    project_type: str | None = None
    section: str | None = None
    completed_at: datetime | None = None


def task_document(task: Task) -> str:
    """The text embedded for a task: title, then project type, section and tags, then description.

    The short, telling parts come first: the embedder keeps only the first 128 word pieces, so a long
    description is what gets cut, never the title or the context.
    """
    parts = [task.name.strip()]
    context = [p for p in (task.project_type, task.section, *task.tags) if p]
    if context:
        parts.append(" | ".join(context))
    if task.notes.strip():
        # Long descriptions add little to similarity and cost embedding time: keep the opening (500
        # characters is about 100-125 word pieces, roughly what fits in the model's window anyway).
        parts.append(task.notes.strip()[:500])
    return "\n".join(parts)


def to_epoch(moment: datetime) -> int:
    """Seconds since the epoch; naive datetimes are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def task_metadata(task: Task) -> dict[str, str | int | float | bool]:
    """Chroma metadata for a task (Chroma metadata cannot hold None: absent values are omitted)."""
    meta: dict[str, str | int | float | bool] = {"gid": task.gid, "title": task.name[:500]}
    optional: dict[str, Any] = {
        "actual_hours": task.actual_hours,
        "estimate_hours": task.estimate_hours,
        "assignee": task.assignee_gid or task.assignee_name,
        "assignee_name": task.assignee_name,
        "project": task.project_gid,
        "project_type": task.project_type,
        "section": task.section,
        "completed_at": to_epoch(task.completed_at) if task.completed_at else None,
    }
    for key, value in optional.items():
        if value is None:
            continue
        if isinstance(value, float) and not np.isfinite(value):
            continue
        meta[key] = value
    meta["completed"] = bool(task.completed or task.completed_at is not None)
    return meta


def task_fingerprint(task: Task) -> str:
    """A digest of everything the index holds for a task (document and metadata): a refresh re-embeds
    a task only when this changes."""
    payload = json.dumps([task_document(task), task_metadata(task)], sort_keys=True, default=str)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=12).hexdigest()


def make_embedder(config: IndexConfig, choice: EmbeddingChoice = "auto") -> Embedder:
    """The embedding function to use: ``config.embeddings`` for auto (offline MiniLM by default).

    Switching models changes the vector space, so each model has its own collection."""
    if choice == "auto":
        choice = config.embeddings
    if choice == "openai":
        key = config.openai_api_key.get_secret_value() if config.openai_api_key else ""
        return OpenAIEmbedder(model=config.embedding_model, base_url=config.openai_base_url, api_key=key)
    return MiniLMInt8()


def make_client(config: IndexConfig) -> ClientAPI:
    """Embedded persistent client, or an HTTP client when ``EFFORT_CHROMA_URL`` is set."""
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if config.chroma_url:
        url = urlparse(config.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise IndexError_(f"EFFORT_CHROMA_URL must look like http://host:port, got {config.chroma_url!r}")
        port = url.port or (443 if url.scheme == "https" else 8000)
        try:
            return chromadb.HttpClient(
                host=url.hostname, port=port, ssl=url.scheme == "https", settings=chroma_settings
            )
        except Exception as exc:  # chromadb raises plain ValueError/ConnectError when the server is down
            raise IndexError_(f"cannot reach the Chroma server at {url.hostname}:{port}: {exc}") from None
    path = config.chroma_path
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class TaskIndex:
    """A Chroma collection of tasks with incremental upserts and time-bounded similarity search."""

    def __init__(self, client: ClientAPI, embedder: Embedder, collection: str = DEFAULT_COLLECTION) -> None:
        self._client = client
        self.embedder = embedder
        # One collection per embedding model: vectors of different models must never mix.
        name = collection if isinstance(embedder, MiniLMInt8) else f"{collection}_{embedder.name()}"
        self._collection = client.get_or_create_collection(
            name=name,
            embedding_function=cast(Any, embedder),  # chromadb's generic EF type is narrower than ours
            # HNSW parameters stay at Chroma's defaults: at 100k tasks its insert is ~1 ms of CPU per
            # task against ~5 ms for embedding, and a larger hnsw:batch_size / sync_threshold
            # (2000 / 1e6) measured 60% *more* CPU for the same recall.
            metadata={"hnsw:space": "cosine"},
        )

    @classmethod
    def open(
        cls,
        config: IndexConfig,
        *,
        embedding: EmbeddingChoice = "auto",
        collection: str = DEFAULT_COLLECTION,
    ) -> TaskIndex:
        """Open (or create) the index ``config`` describes."""
        return cls(make_client(config), make_embedder(config, embedding), collection)

    @classmethod
    def open_existing(cls, config: IndexConfig, *, embedding: EmbeddingChoice = "auto") -> TaskIndex | None:
        """The configured index if one has been built and can be opened, else None (logged): callers
        then do without it (word-overlap search, or embedding what they need themselves)."""
        if not config.configured:
            return None
        try:
            return cls.open(config, embedding=embedding)
        except Exception as exc:  # the index is derived data: never fatal for its readers
            log.warning("similar-task index not usable (%s)", exc)
            return None

    def count(self) -> int:
        """Number of tasks in the index."""
        return int(self._collection.count())

    def upsert_tasks(
        self,
        tasks: Iterable[Task],
        *,
        batch_size: int = 1000,
        on_batch: Callable[[int], None] | None = None,
    ) -> int:
        """Insert or update tasks (by gid); returns how many were written. Idempotent.
        ``on_batch(n)`` is called as each batch of ``n`` tasks has been embedded (for progress)."""
        limit = max(1, min(batch_size, int(self._client.get_max_batch_size())))
        written = 0
        # Embedding a batch (onnxruntime, all cores) overlaps Chroma writing the previous one (its Rust
        # core also runs without the GIL). One writer thread keeps the writes in order, so the last
        # version of a task repeated across batches still wins.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="chroma-upsert") as writer:
            pending: Future[int] | None = None
            for batch in _chunks(tasks, limit):
                prepared = self._prepare(batch)
                if on_batch is not None:
                    on_batch(len(batch))
                if pending is not None:
                    written += pending.result()
                pending = writer.submit(self._write, *prepared)
            if pending is not None:
                written += pending.result()
        return written

    def _prepare(
        self, tasks: Sequence[Task]
    ) -> tuple[list[str], list[str], np.ndarray, list[dict[str, str | int | float | bool]]]:
        # Last write wins for a gid repeated inside one batch (Chroma rejects duplicate ids).
        unique = list({t.gid: t for t in tasks}.values())
        documents = [task_document(t) for t in unique]
        vectors = self.embedder.encode(documents)
        metadatas = [{**task_metadata(t), "fp": task_fingerprint(t)} for t in unique]
        return [t.gid for t in unique], documents, vectors, metadatas

    def _write(
        self,
        ids: list[str],
        documents: list[str],
        vectors: np.ndarray,
        metadatas: list[dict[str, str | int | float | bool]],
    ) -> int:
        self._collection.upsert(
            ids=ids,
            documents=documents,
            embeddings=vectors,
            metadatas=metadatas,  # type: ignore[arg-type]
        )
        return len(ids)

    def delete(self, gids: Iterable[str]) -> None:
        """Remove tasks by gid (unknown gids are ignored)."""
        ids = list(gids)
        if ids:
            self._collection.delete(ids=ids)

    def similar(
        self,
        text_or_task: str | Task,
        k: int = 10,
        *,
        where: Mapping[str, Any] | None = None,
        before: datetime | None = None,
        completed_only: bool = True,
    ) -> list[SimilarTask]:
        """The ``k`` most similar indexed tasks, best first.

        ``before`` keeps only tasks completed strictly before that moment (no leakage from the future);
        ``where`` is an extra Chroma metadata filter (e.g. ``{"assignee": "u1"}``). A task never finds
        itself.
        """
        if k <= 0:
            return []
        query = task_document(text_or_task) if isinstance(text_or_task, Task) else text_or_task
        own_gid = text_or_task.gid if isinstance(text_or_task, Task) else None
        cutoff = to_epoch(before) if before is not None else None

        def keep(meta: Mapping[str, Any]) -> bool:
            if meta.get("gid") == own_gid:
                return False
            if cutoff is not None:
                done = meta.get("completed_at")
                return done is not None and int(done) < cutoff
            return not completed_only or bool(meta.get("completed"))

        vector = self.embedder.encode([query])
        # A Chroma metadata filter that matches most of a large collection makes it pre-compute the
        # allowed ids (hundreds of ms at 100k). Over-fetch without it and filter here; only when too
        # few candidates survive, run the exact filtered query.
        fetched = self._query(vector, k * 4 + 1, dict(where) if where else None)
        hits = [(m, d) for m, d in fetched if keep(m)]
        if len(hits) < k and len(fetched) == k * 4 + 1:
            clauses: list[dict[str, Any]] = [dict(where)] if where else []
            if cutoff is not None:
                clauses.append({"completed_at": {"$lt": cutoff}})
            elif completed_only:
                clauses.append({"completed": True})
            if own_gid is not None:
                clauses.append({"gid": {"$ne": own_gid}})
            filter_ = None if not clauses else clauses[0] if len(clauses) == 1 else {"$and": clauses}
            hits = self._query(vector, k, filter_)
        return [_to_similar(meta, dist) for meta, dist in hits[:k]]

    def _query(
        self, vector: np.ndarray, n: int, where: dict[str, Any] | None
    ) -> list[tuple[Mapping[str, Any], float]]:
        result = self._collection.query(
            query_embeddings=vector, n_results=n, where=where, include=["metadatas", "distances"]
        )
        metas = (result.get("metadatas") or [[]])[0]
        dists = (result.get("distances") or [[]])[0]
        return list(zip(metas, dists, strict=False))

    def fingerprints(self, page: int = 5000) -> dict[str, str]:
        """Every indexed gid with the fingerprint it was indexed with ("" for entries without one)."""
        out: dict[str, str] = {}
        offset = 0
        while True:
            got = self._collection.get(include=["metadatas"], limit=page, offset=offset)
            ids = got["ids"]
            metas = got.get("metadatas") or []
            for i, gid in enumerate(ids):
                meta = metas[i] if i < len(metas) else None
                out[gid] = str((meta or {}).get("fp", ""))
            if len(ids) < page:
                return out
            offset += page

    def minilm_vectors(self, gids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by gid when this index holds offline-MiniLM ones (the estimator's space), so
        the estimator need not re-embed the history; empty for another model's index or on error."""
        if not isinstance(self.embedder, MiniLMInt8):
            return {}
        try:
            return self.embeddings(gids)
        except Exception as exc:  # a broken index only costs embedding time
            log.warning("similar-task index unreadable (%s): embedding the history instead", exc)
            return {}

    def embeddings(self, gids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors by gid (so the estimator need not re-embed what is indexed)."""
        out: dict[str, np.ndarray] = {}
        for start in range(0, len(gids), 5000):
            got = self._collection.get(ids=list(gids[start : start + 5000]), include=["embeddings"])
            vectors = got.get("embeddings")
            if vectors is None:
                continue
            for gid, vec in zip(got["ids"], vectors, strict=False):
                out[gid] = np.asarray(vec, dtype=np.float32)
        return out


def _to_similar(meta: Mapping[str, Any], distance: float) -> SimilarTask:
    completed = meta.get("completed_at")
    return SimilarTask(
        gid=str(meta.get("gid", "")),
        title=str(meta.get("title", "")),
        similarity=round(1.0 - float(distance), 6),
        actual_hours=_float(meta.get("actual_hours")),
        estimate_hours=_float(meta.get("estimate_hours")),
        assignee=_str(meta.get("assignee")),
        assignee_name=_str(meta.get("assignee_name")),
        project=_str(meta.get("project")),
        project_type=_str(meta.get("project_type")),
        section=_str(meta.get("section")),
        completed_at=datetime.fromtimestamp(int(completed), tz=UTC) if completed is not None else None,
    )


def _chunks(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    batch: list[Task] = []
    for task in tasks:
        batch.append(task)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
