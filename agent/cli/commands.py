"""Imports every command module so that each registers its commands on the `effort` app."""

from agent.cli import benchall_cmd  # noqa: E402,F401
from agent.cli import sync_cmd  # noqa: E402,F401
from agent.cli import chat_cmd  # noqa: E402,F401
from agent.cli import serve_cmd  # noqa: E402,F401
from agent.cli import sandbox_cmd  # noqa: E402,F401
from agent.cli import approvals_cmd  # noqa: E402,F401
from agent.cli import analyze_cmd  # noqa: E402,F401
from agent.cli import retro_cmd  # noqa: E402,F401
from agent.cli import demo_cmd  # noqa: E402,F401
from agent.cli import bench_cmd  # noqa: E402,F401
