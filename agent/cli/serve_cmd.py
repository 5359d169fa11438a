"""`effort serve` (schedules + webhooks + health) and `effort webhooks register|list`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from agent.cli.common import ConfigOpt, settings_or_exit

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py

webhooks_app = typer.Typer(help="Asana webhooks that feed `effort serve`.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port (0 = any free port)")] = 8088,
    config: ConfigOpt = None,
    schedules: Annotated[bool, typer.Option("--schedules/--no-schedules", help="run the cron jobs")] = True,
) -> None:
    """Run the scheduler (sync, weekly summary, monthly retro), the webhook receiver and /healthz."""
    import uvicorn

    from agent.serve.app import create_app
    from agent.serve.scheduler import ScheduleError, parse_schedules
    from agent.serve.wiring import build_deps, report_job
    from agent.telemetry import setup_telemetry
    from tools.redact import install_redaction

    settings = settings_or_exit(config)
    setup_telemetry(settings, default_level="INFO")
    install_redaction(settings.secrets())
    try:
        parse_schedules(settings.schedules)
    except ScheduleError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    # Scheduled runs of the retro graph: report files plus one approval batch per period.
    summary: Callable[[], Any] = report_job(settings, "summary")
    retro: Callable[[], Any] = report_job(settings, "retro")
    try:
        deps = build_deps(settings, summary=summary, retro=retro)
    except Exception as exc:
        typer.echo(f"error: cannot start: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    application = create_app(settings, deps, start_scheduler=schedules)
    uvicorn.run(application, host=host, port=port, log_level="info", access_log=False)


@webhooks_app.command("register")
def register(
    target: Annotated[
        str, typer.Option("--target", help="public URL of the receiver, e.g. https://host/webhooks/asana")
    ],
    project: Annotated[
        list[str] | None, typer.Option("--project", help="project gid (repeatable; default: scope)")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Create one Asana webhook per project in scope, pointed at TARGET/<project gid>.

    `effort serve` must already be running at TARGET: Asana's handshake arrives during the create call.
    """
    from agent.serve.register import register_webhooks
    from agent.serve.store import ServeStore
    from tools.gateway import AsanaGateway, GatewayError

    if not target.lower().startswith(("https://", "http://")):
        typer.echo("error: --target must be an http(s) URL", err=True)
        raise typer.Exit(2)
    from agent.telemetry import setup_telemetry

    settings = settings_or_exit(config)
    setup_telemetry(settings, default_level="INFO")
    try:
        with AsanaGateway.from_settings(settings) as gateway:
            projects = list(project or settings.scope.projects)
            if not projects:
                workspace = settings.workspace or gateway.workspaces()[0].gid
                projects = [p.gid for p in gateway.projects(workspace)]
            store = ServeStore.for_settings(settings)
            results = register_webhooks(gateway, store, projects, target)
    except GatewayError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for r in results:
        status = f"webhook {r.webhook_gid}" if r.webhook_gid else f"FAILED: {r.error}"
        typer.echo(f"{r.resource_gid} -> {r.target}: {status}")
    if any(r.error for r in results):
        raise typer.Exit(1)


@webhooks_app.command("list")
def list_hooks(config: ConfigOpt = None) -> None:
    """Webhooks this server holds secrets for (secrets are never printed)."""
    from agent.serve.store import ServeStore

    settings = settings_or_exit(config)
    for hook in ServeStore.for_settings(settings).hooks():
        typer.echo(f"{hook['hook_key']}\twebhook={hook['webhook_gid'] or '?'}\tsince={hook['created_at']}")
