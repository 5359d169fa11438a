"""The chat model: ``ChatOpenAI`` against any OpenAI-compatible endpoint (OpenAI, Azure, vLLM, Ollama...).

Token counting stays offline: tiktoken has no offline o200k (gpt-4o family) file, so the model counts
with cl100k via ``tiktoken_model_name="gpt-4"`` (an approximation, close enough for budgets).
"""

from __future__ import annotations

from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from agent.config import Settings
from tools._offline import configure_offline_environment


class LLMNotConfigured(RuntimeError):
    """No OPENAI_API_KEY / OPENAI_BASE_URL: callers switch to offline mode (agent/offline.py)."""


def make_llm(
    settings: Settings, *, streaming: bool = True, timeout: float = 60.0, max_retries: int = 2
) -> ChatOpenAI:
    """A ChatOpenAI for the configured endpoint and model. The key never leaves the SecretStr."""
    if not settings.llm_configured:
        raise LLMNotConfigured("no LLM configured: set OPENAI_API_KEY and/or OPENAI_BASE_URL")
    configure_offline_environment()
    # Local servers (Ollama, llama.cpp) accept any key; the client still insists on one.
    key = settings.openai_api_key or SecretStr("not-needed")
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.openai_base_url,
        api_key=key,
        streaming=streaming,
        timeout=timeout,
        max_retries=max_retries,
        temperature=0,
        tiktoken_model_name="gpt-4",
    )
