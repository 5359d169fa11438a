"""Test-wide setup: offline environment, and fixture modules from tests/fixtures/ (one per concern)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Fixture modules import each other; register them all for assertion rewriting before any is imported.
pytest.register_assert_rewrite("tests.fixtures")

for _key, _value in {
    "ORT_DISABLE_TELEMETRY": "1",
    "DEEPEVAL_TELEMETRY_OPT_OUT": "1",
    "DEEPEVAL_DISABLE_DOTENV": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_OFFLINE": "1",
    "LANGSMITH_TRACING": "false",
}.items():
    os.environ[_key] = _value
for _key in (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ASANA_ACCESS_TOKEN",
    "EFFORT_DATABASE_URL",
    "EFFORT_CHROMA_URL",
):
    os.environ.pop(_key, None)

# Every module in tests/fixtures/ is a fixture plugin; each concern owns its own module.
pytest_plugins = sorted(
    f"tests.fixtures.{path.stem}"
    for path in (Path(__file__).parent / "fixtures").glob("*.py")
    if path.stem != "__init__"
)


@pytest.fixture(autouse=True)
def _chroma_path_per_test(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every sync refreshes the similar-task index: keep each test's index out of the checkout."""
    monkeypatch.setenv("EFFORT_CHROMA_PATH", str(tmp_path_factory.mktemp("chroma") / "index"))
