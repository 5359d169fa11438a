"""`effort doctor`: what the token can read (scopes, paid features), what is missing and what that costs,
and what the store knows (per-field coverage, the last sync of each kind).

Exit 0 when the token works and the store opens; 1 otherwise (each problem is one line, no traceback).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agent.cli.common import ConfigOpt, JsonOpt, settings_or_exit

app = typer.Typer()  # merged into `effort` by agent/cli/commands.py


@app.command("doctor")
def doctor_command(
    as_json: JsonOpt = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Only report on the store; make no request to Asana.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Check the Asana token's access (about 13 requests) and the store's coverage."""
    from sqlalchemy.exc import SQLAlchemyError

    from tools.gateway import AsanaGateway, AuthError, ConnectionFailed, GatewayError
    from tools.redact import install_redaction
    from tools.store import Store, StoreError, describe_store_error, safe_url
    from tools.sync import SyncOptions
    from tools.sync.doctor import probe_token, store_report

    err = Console(stderr=True)
    settings = settings_or_exit(config, err)
    redact = install_redaction(settings.secrets())
    problems: list[str] = []
    result: dict[str, Any] = {"asana": None, "checks": [], "store": None, "problems": problems}
    options = SyncOptions.of(settings)
    store: Store | None = None
    try:
        store = Store.open(settings.database_url)
        report = store_report(store, options, safe_url(settings.database_url))
        result["store"] = report.model_dump(mode="json")
    except (StoreError, SQLAlchemyError, OSError) as exc:
        problems.append(redact(describe_store_error(exc, settings.database_url)))
    token = settings.asana_access_token.get_secret_value() if settings.asana_access_token else ""
    if offline:
        pass
    elif not token:
        problems.append("no Asana token: set ASANA_ACCESS_TOKEN")
    else:
        try:
            with AsanaGateway.from_settings(settings) as gw:
                me = gw.me()
                ws = settings.workspace or (me.workspaces[0].gid if me.workspaces else "")
                task = next(iter(store.task_gids()), None) if store is not None else None
                project = next((p.gid for p in store.projects()), None) if store is not None else None
                if project is None:
                    project = next((p["gid"] for p in gw.iter_projects(ws)), None)
                result["asana"] = {"user": me.name, "workspace": ws, "base_url": settings.asana_base_url}
                checks = probe_token(gw, ws, task_gid=task, project_gid=project, user_gid=me.gid)
                result["checks"] = [c.model_dump() for c in checks]
        except AuthError as exc:
            problems.append(f"Asana refused the token ({exc.status}): check ASANA_ACCESS_TOKEN")
        except ConnectionFailed:
            problems.append(f"cannot reach {redact(settings.asana_base_url)}")
        except GatewayError as exc:
            problems.append(redact(f"Asana failed: {exc}"))
    if store is not None:
        store.close()
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
    else:
        _print(result, Console())
        for line in problems:
            err.print(f"[red]error:[/red] {line}", soft_wrap=True)
    if problems:
        raise typer.Exit(1)


def _print(result: dict[str, Any], out: Console) -> None:
    from tools.sync.summary import CoverageLine

    asana = result.get("asana")
    if asana:
        out.print(f"Asana: {asana['base_url']} as {asana['user']} (workspace {asana['workspace']})")
    if result["checks"]:
        table = Table(title="what the token can read")
        for col in ("feature", "needs", "", "detail"):
            table.add_column(col)
        for c in result["checks"]:
            table.add_row(
                c["name"], c["needs"], "[green]ok[/green]" if c["ok"] else "[red]missing[/red]", c["detail"]
            )
        out.print(table)
    store = result.get("store")
    if store:
        out.print(f"store: {store['url']}")
        counts = store["counts"]
        out.print(
            "  "
            + ", ".join(
                f"{counts.get(k, 0):,} {k.replace('_', ' ')}"
                for k in ("tasks", "entries", "budgets", "rates")
            )
        )
        for cov in store["coverage"]:
            out.print(f"  {CoverageLine.model_validate(cov).describe()}")
        for last in store["last"]:
            when = last["at"] or "never"
            note = f" ({last['note']})" if last.get("note") else ""
            out.print(
                f"  last {last['kind']}: {when}{note}"
                + (f" [{last['status']}]" if last["status"] not in ("ok", "never") else "")
            )
        if store.get("rate_limit"):
            out.print(f"  rate limit met: {store['rate_limit']}")
