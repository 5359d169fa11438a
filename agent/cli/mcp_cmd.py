"""`effort mcp`: the Model Context Protocol server (stdio, or streamable HTTP behind a bearer token).

stdio is what desktop clients launch (Claude Desktop, Cursor, VS Code): stdout carries the protocol,
so everything else (logs, the ready line) goes to stderr. HTTP listens on loopback by default and
refuses to start without ``EFFORT_MCP_TOKEN``; every request must carry ``Authorization: Bearer ...``.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Annotated, Literal

import typer

from agent.cli.common import ConfigOpt, fail, settings_or_exit

app = typer.Typer()

MIN_TOKEN_CHARS = 16
TOKEN_HINT = "export EFFORT_MCP_TOKEN=$(python -c 'import secrets; print(secrets.token_urlsafe(32))')"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command("mcp")
def mcp(
    transport: Annotated[
        Literal["stdio", "http"], typer.Option("--transport", help="stdio (for desktop clients) or http")
    ] = "stdio",
    host: Annotated[str, typer.Option("--host", help="http: interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="http: TCP port (0 = any free port)")] = 8765,
    path: Annotated[str, typer.Option("--path", help="http: the MCP endpoint path")] = "/mcp",
    config: ConfigOpt = None,
) -> None:
    """Serve Effort Copilot's read and propose tools to MCP clients. Proposals wait for approval."""
    import anyio

    from agent.checkpoint import open_checkpointer
    from agent.mcp.backend import EffortBackend
    from agent.mcp.server import build_server, http_app, run_stdio
    from agent.telemetry import setup_telemetry

    settings = settings_or_exit(config)
    setup_telemetry(settings, default_level="INFO" if transport == "http" else "WARNING")
    token = settings.mcp_token.get_secret_value() if settings.mcp_token else ""
    if transport == "http" and len(token) < MIN_TOKEN_CHARS:
        state = "is not set" if not token else f"is shorter than {MIN_TOKEN_CHARS} characters"
        raise fail(f"EFFORT_MCP_TOKEN {state}: the HTTP transport needs a bearer token. {TOKEN_HINT}")
    with open_checkpointer(settings) as checkpointer:
        server = build_server(EffortBackend(settings, checkpointer))
        if transport == "stdio":
            anyio.run(run_stdio, server)
            return
        import uvicorn

        if not _is_loopback(host):
            typer.echo(
                f"warning: listening on {host}, not loopback: put TLS in front of it; the bearer token is "
                "the only protection.",
                err=True,
            )
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        sock.listen(128)  # connections queue from now on, so the ready line below is true
        bound = sock.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        print(
            f"effort mcp: http://{shown}:{bound}{path} (bearer token: EFFORT_MCP_TOKEN)",
            file=sys.stderr,
            flush=True,
        )
        application = http_app(server, token=token, host=host, path=path)
        config_ = uvicorn.Config(application, log_level="warning", access_log=False, lifespan="on")
        uvicorn.Server(config_).run(sockets=[sock])
