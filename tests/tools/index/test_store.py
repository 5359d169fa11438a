"""Similar-task index: round trip, reopen in a new process, similarity sanity, time filter, the HTTP
client against a real Chroma server, the OpenAI embeddings path against a loopback stub, pinned files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import SecretStr

from agent.config import Settings
from tools import minilm as embedding_module  # the encoder (model and tokenizer pins) lives here
from tools.index import EmbeddingModelError, MiniLMInt8, TaskIndex, task_document
from tools.index.store import make_client
from tools.records import Task

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def _task(gid: str, name: str, day: int, actual: float = 2.0, **extra: Any) -> Task:
    return Task(
        gid=gid,
        name=name,
        created_at=T0 + timedelta(days=day - 5),
        completed=True,
        completed_at=T0 + timedelta(days=day),
        actual_hours=actual,
        estimate_hours=actual,
        assignee_gid="u1",
        project_type="client build",
        **extra,
    )


TASKS = [
    _task("1", "Fix login bug on mobile app", 1, 3.0),
    _task("2", "Order catering for the team offsite", 2, 1.0),
    _task("3", "Update the invoice PDF template", 3, 5.0),
    _task("4", "Write release notes for version 2.1", 4, 2.0),
]


@pytest.fixture
def index(tmp_path: Path, minilm: MiniLMInt8) -> TaskIndex:
    return TaskIndex(
        make_client(Settings(EFFORT_CHROMA_PATH=tmp_path / "chroma", EFFORT_CHROMA_URL="").index), minilm
    )


def test_paraphrase_is_closer_than_unrelated(minilm: MiniLMInt8) -> None:
    anchor, para, other = minilm.encode(
        [
            "Fix login bug on mobile app",
            "Resolve sign-in error in the iOS app",
            "Order catering for the team offsite",
        ]
    )
    assert float(anchor @ para) > float(anchor @ other) + 0.2
    assert abs(float(np.linalg.norm(anchor)) - 1.0) < 1e-4


def test_round_trip_upsert_query_delete(index: TaskIndex) -> None:
    assert index.upsert_tasks(TASKS) == 4
    assert index.count() == 4
    hits = index.similar("Resolve sign-in error in the iOS app", k=2)
    assert hits[0].gid == "1"
    assert hits[0].actual_hours == 3.0 and hits[0].assignee == "u1" and hits[0].project_type == "client build"
    assert hits[0].completed_at == T0 + timedelta(days=1)
    # An update replaces the metadata (incremental upsert by gid), no duplicate appears.
    index.upsert_tasks([TASKS[0].model_copy(update={"actual_hours": 7.5})])
    assert index.count() == 4
    assert index.similar("sign-in error on phone", k=1)[0].actual_hours == 7.5
    index.delete(["1", "unknown-gid"])
    assert index.count() == 3
    assert all(h.gid != "1" for h in index.similar("sign-in error on phone", k=3))


def test_before_filter_and_self_exclusion(index: TaskIndex) -> None:
    index.upsert_tasks(TASKS)
    hits = index.similar("release notes", k=4, before=T0 + timedelta(days=2, hours=1))
    assert {h.gid for h in hits} == {"1", "2"}  # completed strictly before the moment
    assert all(h.completed_at is not None and h.completed_at < T0 + timedelta(days=3) for h in hits)
    own = index.similar(TASKS[3], k=4)
    assert "4" not in {h.gid for h in own} and len(own) == 3
    assert index.similar("anything", k=3, where={"assignee": "nobody"}) == []


def test_open_tasks_are_excluded_by_default(index: TaskIndex) -> None:
    open_task = Task(gid="9", name="Fix login bug on mobile app again", created_at=T0)
    index.upsert_tasks([*TASKS, open_task])
    assert "9" not in {h.gid for h in index.similar("login bug mobile", k=5)}
    assert "9" in {h.gid for h in index.similar("login bug mobile", k=5, completed_only=False)}


def test_reopen_in_a_new_process(tmp_path: Path, minilm: MiniLMInt8) -> None:
    settings = Settings(EFFORT_CHROMA_PATH=tmp_path / "chroma", EFFORT_CHROMA_URL="")
    TaskIndex.open(settings.index, embedding="minilm").upsert_tasks(TASKS)
    script = textwrap.dedent(
        f"""
        import json, chromadb
        import tools.index  # registers the embedding function
        from chromadb.config import Settings
        client = chromadb.PersistentClient(path={str(tmp_path / "chroma")!r},
                                           settings=Settings(anonymized_telemetry=False))
        col = client.get_collection("effort_tasks")  # embedding function rebuilt from its stored config
        res = col.query(query_texts=["Resolve sign-in error in the iOS app"], n_results=1)
        print(json.dumps({{"count": col.count(), "top": res["ids"][0][0]}}))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path.cwd(),
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"count": 4, "top": "1"}


def test_embeddings_are_returned_for_the_estimator(index: TaskIndex, minilm: MiniLMInt8) -> None:
    index.upsert_tasks(TASKS)
    vectors = index.embeddings(["2", "3", "missing"])
    assert set(vectors) == {"2", "3"}
    expected = minilm.encode([task_document(TASKS[1])])[0]
    assert float(vectors["2"] @ expected) > 0.999


def test_tampered_tokenizer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding_module, "TOKENIZER_SHA256", "0" * 64)
    with pytest.raises(EmbeddingModelError, match="sha256"):
        MiniLMInt8()


def test_missing_model_file_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(embedding_module, "minilm_model_path", lambda: tmp_path / "nope.onnx")
    with pytest.raises(EmbeddingModelError, match="not found"):
        MiniLMInt8()


@pytest.mark.chroma_server
def test_http_client_against_a_real_chroma_server(
    chroma_server: str, minilm: MiniLMInt8, tmp_path: Path
) -> None:
    settings = Settings(EFFORT_CHROMA_URL=chroma_server, EFFORT_CHROMA_PATH=tmp_path / "unused")
    index = TaskIndex.open(settings.index, embedding="minilm", collection="http_tasks")
    index.upsert_tasks(TASKS)
    assert index.count() == 4
    assert index.similar("sign-in broken on my phone", k=1)[0].gid == "1"
    assert {h.gid for h in index.similar("notes", k=4, before=T0 + timedelta(days=3))} == {"1", "2"}
    # A second client (as another process/machine would) sees the same data.
    again = TaskIndex.open(settings.index, embedding="minilm", collection="http_tasks")
    assert again.count() == 4
    assert not (tmp_path / "unused").exists()  # nothing was written locally


def test_bad_chroma_url_is_a_clear_error() -> None:
    from tools.index.store import IndexError_, make_client

    with pytest.raises(IndexError_, match="EFFORT_CHROMA_URL"):
        make_client(Settings(EFFORT_CHROMA_URL="not a url").index)


# --------------------------------------------------------------------------- OpenAI embeddings path


class _EmbeddingsStub:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []

    @staticmethod
    def vector(text: str) -> list[float]:
        # Deterministic: texts sharing words get similar vectors.
        vec = np.zeros(16)
        for word in text.lower().split():
            vec[sum(map(ord, word)) % 16] += 1
        return list(vec)

    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                stub.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                data = [
                    {"object": "embedding", "index": i, "embedding": stub.vector(t)}
                    for i, t in enumerate(inputs)
                ]
                raw = json.dumps(
                    {
                        "object": "list",
                        "data": data,
                        "model": body.get("model"),
                        "usage": {"prompt_tokens": 1, "total_tokens": 1},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


@pytest.fixture
def embeddings_stub() -> Iterator[tuple[_EmbeddingsStub, str]]:
    stub = _EmbeddingsStub()
    server, url = stub.serve()
    try:
        yield stub, url
    finally:
        server.shutdown()


def test_openai_embeddings_path(
    embeddings_stub: tuple[_EmbeddingsStub, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub, url = embeddings_stub
    monkeypatch.setenv("EFFORT_EMBEDDINGS", "openai")
    settings = Settings(
        OPENAI_API_KEY=SecretStr("sk-test-key"), OPENAI_BASE_URL=url, EFFORT_CHROMA_PATH=tmp_path / "c"
    )
    index = TaskIndex.open(settings.index)
    index.upsert_tasks(TASKS)
    hits = index.similar("fix the login bug", k=1)
    assert hits[0].gid == "1"
    path, headers, body = stub.requests[0]
    assert path == "/v1/embeddings" and headers["authorization"] == "Bearer sk-test-key"
    assert body["model"] == "text-embedding-3-small"
    # Its own collection (vectors of different models never mix), and the key is not in its config.
    assert index._collection.name != "effort_tasks"
    assert "sk-test-key" not in json.dumps(index.embedder.get_config())
