"""`effort --help` and argument errors answer without loading the heavy stack (issue 13 item 6).

Each case runs the real CLI in a fresh interpreter and lists the heavy packages that ended up in
``sys.modules``: langgraph, chromadb, sqlalchemy, langchain and numpy cost seconds to import, and a
user asking for help or mistyping an option must not pay for them. Timings are not asserted here (they
are benchmarked, see the README); what is asserted is the cause of slowness: what gets imported.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("langgraph", "chromadb", "sqlalchemy", "langchain", "langchain_core", "numpy", "onnxruntime")

_PROBE = """
import json, sys
wanted = set(json.loads(sys.argv[2]))
sys.argv = ["effort", *json.loads(sys.argv[1])]
from agent.cli import app
try:
    app()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted({m.split(".")[0] for m in sys.modules} & wanted)
print("PROBE" + json.dumps({"code": code, "heavy": heavy}))
"""


def _probe(args: list[str]) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = next(x for x in proc.stdout.splitlines()[::-1] if x.startswith("PROBE"))
    return {**json.loads(line[5:]), "stdout": proc.stdout, "stderr": proc.stderr}


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        [],
        ["analyze", "--help"],
        ["analyze", "forecast", "--help"],
        ["index", "--help"],
        ["chat", "--help"],
        ["retro", "--help"],
        ["sync", "--help"],
        ["sandbox", "serve", "--help"],
    ],
    ids=lambda a: " ".join(a) or "no-args",
)
def test_help_loads_no_heavy_module(args: list[str]) -> None:
    result = _probe(args)
    assert result["code"] in (0, 2), result["stderr"]  # no_args_is_help exits 0 or 2 by click version
    assert "Usage" in str(result["stdout"]) + str(result["stderr"])
    assert result["heavy"] == [], f"`effort {' '.join(args)}` imported {result['heavy']}"


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "variance", "--no-such-option"],
        ["index", "similar"],  # missing argument
        ["analyze", "capacity", "--weeks", "zero"],  # not an int
        ["no-such-command"],
        ["retro", "--bogus"],
        ["ask"],
    ],
    ids=lambda a: " ".join(a),
)
def test_argument_errors_load_no_heavy_module(args: list[str]) -> None:
    result = _probe(args)
    assert result["code"] == 2, result["stderr"]
    assert "Traceback" not in str(result["stderr"])
    assert result["heavy"] == [], f"`effort {' '.join(args)}` imported {result['heavy']}"


def test_commands_are_listed_in_reading_order() -> None:
    """The explicit registration list (agent/cli/commands.py) is what `effort --help` shows."""
    from typer.main import get_command

    from agent.cli import app

    names = list(get_command(app).commands)  # type: ignore[attr-defined]
    first = ["demo", "sync", "ask", "chat", "retro"]
    assert names[: len(first)] == first
    assert names.index("analyze") < names.index("index") < names.index("sandbox")
    assert len(names) == len(set(names))
