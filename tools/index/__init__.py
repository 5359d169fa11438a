"""Similar-task index: past tasks in a Chroma collection, embedded offline (MiniLM int8 ONNX)."""

from tools.index.embedding import EmbeddingModelError, MiniLMInt8, OpenAIEmbedder
from tools.index.store import IndexError_, SimilarTask, TaskIndex, task_document, task_metadata

__all__ = [
    "EmbeddingModelError",
    "IndexError_",
    "MiniLMInt8",
    "OpenAIEmbedder",
    "SimilarTask",
    "TaskIndex",
    "task_document",
    "task_metadata",
]
