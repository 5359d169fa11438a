"""`effort sandbox …`: run the built-in Asana-compatible sandbox (demo, tests, benchmarks)."""

from __future__ import annotations

import signal
import threading
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py


sandbox_app = typer.Typer(
    name="sandbox", help="The built-in Asana-compatible sandbox server.", no_args_is_help=True
)
app.add_typer(sandbox_app, name="sandbox")


@sandbox_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind; 0 picks a free one.")] = 8765,
    seed: Annotated[int, typer.Option(help="Generator seed (same seed, same workspace).")] = 1,
    tasks: Annotated[int, typer.Option(help="Number of tasks to generate.")] = 400,
    faults: Annotated[
        str | None, typer.Option(help="Seeded faults, e.g. 5xx=0.05,429=0.03,slow=0.02,drop=0.02,seed=7")
    ] = None,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests per minute per token (429 beyond).")
    ] = None,
    db: Annotated[Path | None, typer.Option(help="SQLite file: keeps the workspace across restarts.")] = None,
    token: Annotated[str | None, typer.Option(help="Bearer token to accept (default: random).")] = None,
    readonly_token: Annotated[
        str | None, typer.Option(help="A second token whose writes get 403 (default: random).")
    ] = None,
    entries_per_task: Annotated[float, typer.Option(help="Mean time entries per task.")] = 10.0,
    free_tier: Annotated[bool, typer.Option(help="Answer premium-only routes with 402.")] = False,
    as_of: Annotated[
        str | None, typer.Option(help="The generated workspace's 'today' (YYYY-MM-DD; default 2026-11-27).")
    ] = None,
) -> None:
    """Serve the sandbox until interrupted; prints `sandbox: URL token=TOKEN` once ready."""
    from sandbox import Sandbox
    from sandbox.faults import FaultSpec
    from sandbox.generator import DEFAULT_AS_OF

    try:
        spec = FaultSpec.parse(faults)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--faults") from None
    try:
        today = date.fromisoformat(as_of) if as_of else DEFAULT_AS_OF
    except ValueError:
        raise typer.BadParameter(f"not a date: {as_of!r}", param_hint="--as-of") from None
    try:
        sb = Sandbox.start(
            seed=seed,
            tasks=tasks,
            faults=spec,
            rate_limit=rate_limit,
            db_path=db,
            host=host,
            port=port,
            token=token,
            readonly_token=readonly_token,
            entries_per_task=entries_per_task,
            as_of=today,
            premium=not free_tier,
        )
    except (OSError, RuntimeError) as exc:
        typer.echo(f"sandbox: could not start: {exc}", err=True)
        raise typer.Exit(1) from None
    # The one line other tools parse; the token is the sandbox's own, never a real Asana secret.
    typer.echo(f"sandbox: {sb.base_url} token={sb.token}")
    typer.echo(f"sandbox: read-only token={sb.readonly_token}", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()  # until SIGTERM or Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
