"""The chat model: ``ChatOpenAI`` against any OpenAI-compatible endpoint (OpenAI, Azure's v1 API, vLLM,
Ollama, llama.cpp's ``llama-server``), plus how its failures are explained to a person.

Streaming is on by default: the first tokens reach the terminal as soon as the server sends them, and
the read timeout (``EFFORT_LLM_TIMEOUT``, default 120 s) applies between chunks, so a local model that
needs a minute to read a long prompt the first time is not cut off while it is still working. A refused
connection fails fast (one retry, a 10 s connect timeout) instead of hanging for minutes.

Token counting stays offline: tiktoken has no offline o200k (gpt-4o family) file, so the model counts
with cl100k via ``tiktoken_model_name="gpt-4"`` (an approximation, close enough for budgets).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from agent.config import Settings
from tools._offline import configure_offline_environment

if TYPE_CHECKING:  # the client stack is imported when a model is made, not for a banner or an error text
    from langchain_openai import ChatOpenAI

DEFAULT_BASE_URL = "https://api.openai.com/v1"
CONNECT_TIMEOUT = 10.0  # seconds: a server that does not accept the connection by then is not there
MAX_ANSWER_TOKENS = 200  # short answers; also bounds a small model that starts repeating itself


class LLMNotConfigured(RuntimeError):
    """No OPENAI_API_KEY / OPENAI_BASE_URL: callers switch to offline mode (agent/offline.py)."""


def make_llm(
    settings: Settings,
    *,
    streaming: bool = True,
    timeout: float | None = None,
    max_retries: int = 1,
) -> ChatOpenAI:
    """A ChatOpenAI for the configured endpoint and model. The key never leaves the SecretStr."""
    if not settings.llm_configured:
        raise LLMNotConfigured("no LLM configured: set OPENAI_API_KEY and/or OPENAI_BASE_URL")
    import openai
    from langchain_openai import ChatOpenAI

    configure_offline_environment()
    read = settings.llm_timeout if timeout is None else timeout
    # Local servers (Ollama, llama.cpp) accept any key; the client still insists on one.
    key = settings.openai_api_key or SecretStr("not-needed")
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.openai_base_url,
        api_key=key,
        streaming=streaming,
        timeout=openai.Timeout(read, connect=min(CONNECT_TIMEOUT, read)),
        max_retries=max_retries,
        max_tokens=MAX_ANSWER_TOKENS,  # type: ignore[call-arg]  # alias of max_completion_tokens
        temperature=0,
        tiktoken_model_name="gpt-4",
    )


def endpoint_url(settings: Settings) -> str:
    """The endpoint as it may be shown: scheme, host, port and path; no user, password or query."""
    raw = settings.openai_base_url or DEFAULT_BASE_URL
    try:
        parts = urlsplit(raw)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", "")) or "(unparsable URL)"
    except ValueError:
        return "(unparsable URL)"


def describe_endpoint(settings: Settings) -> str:
    """``model at URL``, for banners and errors."""
    return f"{settings.llm_model} at {endpoint_url(settings)}"


def probe_llm(settings: Settings, timeout: float = 5.0) -> str | None:
    """None when the endpoint answers ``GET /models``; else why not, in the words of ``llm_error_text``.
    A quick start-up check, so a dead server is reported before the first question, not after it."""
    base = (settings.openai_base_url or DEFAULT_BASE_URL).rstrip("/")
    headers = {}
    if settings.openai_api_key is not None:
        headers["Authorization"] = f"Bearer {settings.openai_api_key.get_secret_value()}"
    import openai

    try:
        import httpx

        response = httpx.get(f"{base}/models", headers=headers, timeout=timeout)
    except Exception as exc:  # unreachable, refused, timed out: all mean "not there"
        return llm_error_text(ConnectionError(type(exc).__name__), settings)
    if response.status_code in (401, 403, 404, 429) or response.status_code >= 500:
        error = openai.APIStatusError("probe", response=response, body=None)  # type: ignore[arg-type]
        return llm_error_text(error, settings)
    return None


def _status(exc: BaseException) -> int | None:
    code = getattr(exc, "status_code", None)
    return code if isinstance(code, int) else None


def llm_error_text(exc: BaseException, settings: Settings) -> str:
    """One sentence on why the model failed, naming the endpoint (never a key), without a traceback."""
    import openai

    where = endpoint_url(settings)
    seconds = f"{settings.llm_timeout:g}"
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return (
            f"the LLM at {where} did not answer within {seconds} s "
            "(EFFORT_LLM_TIMEOUT sets the limit; a local model reads a long prompt slowly the first time)"
        )
    if isinstance(exc, openai.APIConnectionError | ConnectionError):
        return f"the LLM at {where} cannot be reached (is the server running? is OPENAI_BASE_URL right?)"
    status = _status(exc)
    if status in (401, 403):
        return f"the LLM at {where} refused the API key (HTTP {status}); check OPENAI_API_KEY"
    if status == 404:
        return f"the LLM at {where} has no model {settings.llm_model!r} (HTTP 404); check EFFORT_LLM_MODEL"
    if status == 429:
        return f"the LLM at {where} is rate-limiting or out of quota (HTTP 429)"
    if status is not None:
        return f"the LLM at {where} answered HTTP {status}"
    return f"the LLM at {where} failed ({type(exc).__name__})"


__all__ = [
    "LLMNotConfigured",
    "describe_endpoint",
    "endpoint_url",
    "llm_error_text",
    "make_llm",
    "probe_llm",
]
