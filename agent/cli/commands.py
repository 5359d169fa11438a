"""Imports every command module so that each registers its commands on the `effort` app."""

from agent.cli import (
    analyze_cmd,  # noqa: F401
    approvals_cmd,  # noqa: F401
    bench_cmd,  # noqa: F401
    chat_cmd,  # noqa: F401
    demo_cmd,  # noqa: F401
    index_cmd,  # noqa: F401
    retro_cmd,  # noqa: F401
    sandbox_cmd,  # noqa: F401
    serve_cmd,  # noqa: F401
    sync_cmd,  # noqa: F401
    timesheet_cmd,  # noqa: F401
)
