"""The test suite. Tests mirror the module they test (``tests/tools/sync/test_mapping.py`` tests
``tools/sync/mapping.py``); cross-cutting suites have their own folders (``adversarial/``, ``properties/``,
``e2e/``); tests about the whole repository stay at this level (see tests/test_architecture.py).

``REPO`` is the checkout's root, for tests that read the repository's files or run commands in it: one
definition, so a test file can move to another depth without its paths silently pointing elsewhere."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
