"""A newcomer's first minutes, scripted (issue 15): in a fresh folder holding only what a clone has,
`make demo` runs, and every next step it prints works exactly as printed, offline, with a real answer.

The folder gets the repository's Makefile, README and pyproject (mtimes kept) and a link to this
checkout's `.venv`, so `make` sees an installed environment and does not reinstall: what is under test
is the path a newcomer takes (make target, printed commands, the demo's config file), not pip.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import REPO

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ASANA_", "EFFORT_"))}
    env["EFFORT_DEMO_TASKS"] = "120"  # a small workspace keeps this test well under a minute
    env["COLUMNS"] = "100"
    return env


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    if not (REPO / ".venv" / "bin" / "effort").exists():
        pytest.skip("no .venv in this checkout (run `make install`)")
    home = tmp_path_factory.mktemp("clone")
    for name in ("Makefile", "README.md", "pyproject.toml"):
        shutil.copy2(REPO / name, home / name)
    (home / ".venv").symlink_to(REPO / ".venv")
    proc = subprocess.run(["make", "demo"], cwd=home, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    return home, proc.stdout


def _steps(output: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^\s*\$ (.+)$", output, re.MULTILINE)]


def test_demo_prints_runnable_next_steps(newcomer: tuple[Path, str]) -> None:
    home, output = newcomer
    steps = _steps(output)
    assert len(steps) >= 5, output[-2000:]
    assert all(s.startswith(".venv/bin/effort --config .effort/demo/effort.toml ") for s in steps), steps
    assert (home / ".effort" / "demo" / "effort.toml").exists()
    assert "ASANA_ACCESS_TOKEN" not in (home / ".effort" / "demo" / "effort.toml").read_text()


def test_every_next_step_works_as_printed(newcomer: tuple[Path, str]) -> None:
    """The sandbox has stopped: each step answers from the demo's store, exit 0, a non-empty answer."""
    home, output = newcomer
    for step in _steps(output):
        stdin = "who is over capacity in the next 3 weeks?\n" if step.endswith(" chat") else ""
        proc = subprocess.run(
            ["bash", "-c", step],
            cwd=home,
            env=_env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        answer = proc.stdout.strip()
        assert proc.returncode == 0, f"{step}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        assert answer, step
        assert "Traceback" not in proc.stdout + proc.stderr, step
        assert not re.search(r"nothing synced|\b0 people|\bno (tasks|projects|people)\b", answer), (
            f"{step}\n{answer[:1000]}"
        )
