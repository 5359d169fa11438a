"""The architecture, held by tests: import contracts (pyproject's [tool.importlinter], the layers of the
data flow) and no test that could silently skip because one of our own modules was renamed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN_PACKAGES = ("agent", "tools", "sandbox", "evals", "prompts", "tests")


def test_import_contracts_are_kept() -> None:
    """tools never imports agent, the product never imports evals, the sandbox knows nothing of the
    product, and the data flow inside tools goes one way (pyproject.toml, [tool.importlinter])."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-logo", "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "BROKEN" not in result.stdout


def test_no_test_skips_when_one_of_our_modules_is_missing() -> None:
    """``pytest.importorskip`` on our own modules would turn a renamed module into skipped tests."""
    pattern = re.compile(r"importorskip\(\s*[\"']([\w.]+)[\"']")
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in (ROOT / "tests").rglob("*.py")
        for module in pattern.findall(path.read_text(encoding="utf-8"))
        if module.split(".")[0] in OWN_PACKAGES
    ]
    assert offenders == []
