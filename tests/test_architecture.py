"""The architecture, held by tests: import contracts (pyproject's [tool.importlinter], the layers of the
data flow), no test that could silently skip because one of our own modules was renamed, and the test
tree mirroring the modules it tests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests import REPO

OWN_PACKAGES = ("agent", "tools", "sandbox", "evals", "prompts", "tests")


def test_import_contracts_are_kept() -> None:
    """tools never imports agent, the product never imports evals, the sandbox knows nothing of the
    product, and the data flow inside tools goes one way (pyproject.toml, [tool.importlinter])."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-logo", "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout


def test_no_test_skips_when_one_of_our_modules_is_missing() -> None:
    """``pytest.importorskip`` on our own modules would turn a renamed module into skipped tests."""
    pattern = re.compile(r"importorskip\(\s*[\"']([\w.]+)[\"']")
    offenders = [
        f"{path.relative_to(REPO)}: {module}"
        for path in (REPO / "tests").rglob("*.py")
        for module in pattern.findall(path.read_text(encoding="utf-8"))
        if module.split(".")[0] in OWN_PACKAGES
    ]
    assert offenders == []


# Tests about the whole repository; every other test lives in the mirrored tree or a cross-cutting suite.
REPOSITORY_WIDE_TESTS = {"test_architecture.py", "test_readme.py"}
CROSS_CUTTING_SUITES = {"adversarial", "properties", "e2e"}
MIRRORED_ROOTS = {"agent", "tools", "sandbox", "evals", "prompts"}


def test_tests_mirror_the_modules_they_test() -> None:
    """A new test lands next to its module's mirror (``tests/tools/sync/`` for ``tools/sync/``) or in a
    cross-cutting suite; only the repository-wide tests sit directly in ``tests/``. Every test folder is
    a package (so two ``test_store.py`` cannot collide) and mirrors a folder that exists."""
    tests = REPO / "tests"
    assert sorted(p.name for p in tests.glob("test_*.py")) == sorted(REPOSITORY_WIDE_TESTS)
    folders = [p for p in tests.rglob("*") if p.is_dir() and p.name != "__pycache__"]
    assert [str(p.relative_to(REPO)) for p in folders if not (p / "__init__.py").exists()] == []
    top = {p.name for p in tests.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert top - {"fixtures"} <= MIRRORED_ROOTS | CROSS_CUTTING_SUITES, top
    orphans = [
        str(p.relative_to(tests))
        for p in folders
        if p.relative_to(tests).parts[0] in MIRRORED_ROOTS and not (REPO / p.relative_to(tests)).is_dir()
    ]
    assert orphans == []
