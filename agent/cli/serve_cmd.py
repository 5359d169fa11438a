"""`effort serve` (schedules + webhooks + health) and `effort webhooks register|delete|list`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import typer

from agent.cli.common import ConfigOpt, JsonOpt, fail, settings_or_exit
from agent.cli.failures import clear_errors

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
        raise fail(str(exc)) from None
    # Scheduled runs of the retro graph: report files plus one approval batch per period.
    summary: Callable[[], Any] = report_job(settings, "summary")
    retro: Callable[[], Any] = report_job(settings, "retro")
    try:
        with clear_errors(settings):
            deps = build_deps(settings, summary=summary, retro=retro)
    except typer.Exit:
        raise
    except Exception as exc:
        raise fail(f"cannot start: {type(exc).__name__}: {exc}", code=1) from None
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
    as_json: JsonOpt = False,
) -> None:
    """Create one Asana webhook per project in scope, pointed at TARGET/<project gid>; a webhook that
    already points there (and whose secret this server holds) is kept, not duplicated.

    `effort serve` must already be running at TARGET: Asana's handshake arrives during the create call.
    """
    from agent.serve.register import register_webhooks
    from agent.serve.store import ServeStore
    from agent.writer import writer_from_settings

    if not target.lower().startswith(("https://", "http://")):
        raise fail("--target must be an http(s) URL")
    if project is not None and not [p for p in project if p.strip()]:
        raise fail("--project is empty: name at least one project gid")
    from agent.telemetry import setup_telemetry

    settings = settings_or_exit(config)
    setup_telemetry(settings, default_level="INFO")
    with clear_errors(settings):
        writer = writer_from_settings(settings)
        try:
            projects = [
                p.strip() for p in project or settings.scope.projects if p.strip() and p.strip() != "*"
            ]
            if not projects:
                workspace = settings.workspace or writer.gateway.workspaces()[0].gid
                projects = [p.gid for p in writer.gateway.projects(workspace)]
            store = ServeStore.for_settings(settings)
            results = register_webhooks(writer, store, projects, target, approver=settings.approver)
        finally:
            writer.gateway.close()
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in results], indent=2))
    for r in results if not as_json else []:
        status = (
            f"webhook {r.webhook_gid} (already registered)"
            if r.kept
            else f"webhook {r.webhook_gid}"
            if r.webhook_gid
            else f"FAILED: {r.error}"
        )
        typer.echo(f"{r.resource_gid} -> {r.target}: {status}")
    if any(r.error for r in results):
        raise typer.Exit(1)


@webhooks_app.command("delete")
def delete(
    hooks: Annotated[list[str], typer.Argument(help="webhook gid(s) or resource (project) gid(s)")],
    config: ConfigOpt = None,
) -> None:
    """Delete webhooks in Asana (and forget their secrets here)."""
    from agent.serve.register import delete_webhooks
    from agent.serve.store import ServeStore
    from agent.writer import writer_from_settings

    if not [h for h in hooks if h.strip()]:
        raise fail("name at least one webhook or project gid")
    settings = settings_or_exit(config)
    with clear_errors(settings):
        writer = writer_from_settings(settings)
        try:
            deleted = delete_webhooks(
                writer, ServeStore.for_settings(settings), hooks, approver=settings.approver
            )
        finally:
            writer.gateway.close()
    if not deleted:
        raise fail(f"no webhook matches {', '.join(hooks)} (see `effort webhooks list --remote`)", code=1)
    typer.echo(f"deleted {len(deleted)} webhook(s): {', '.join(deleted)}")


@webhooks_app.command("list")
def list_hooks(
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    remote: Annotated[
        bool, typer.Option("--remote", help="List the webhooks Asana has (needs a token)")
    ] = False,
) -> None:
    """Webhooks this server holds secrets for (secrets are never printed); `--remote`: Asana's list."""
    from agent.serve.store import ServeStore

    settings = settings_or_exit(config)
    with clear_errors(settings):
        if remote:
            from agent.serve.register import existing_webhooks
            from agent.writer import writer_from_settings

            writer = writer_from_settings(settings)
            try:
                rows = [
                    {
                        "webhook_gid": h.gid,
                        "resource": h.resource.gid if h.resource else None,
                        "target": h.target,
                        "active": h.active,
                    }
                    for h in existing_webhooks(writer)
                ]
            finally:
                writer.gateway.close()
        else:
            rows = [
                {"hook_key": h["hook_key"], "webhook_gid": h["webhook_gid"], "since": h["created_at"]}
                for h in ServeStore.for_settings(settings).hooks()
            ]
    if as_json:
        typer.echo(json.dumps(rows, default=str, indent=2))
        return
    for row in rows:
        typer.echo("\t".join(f"{k}={v}" for k, v in row.items()))
