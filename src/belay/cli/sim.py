"""`belay sim argocd`: serve the Argo CD API simulator (state file: docs/simulator.md)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from belay.cli._common import handle_errors
from belay.logs import route_library_logs

__all__ = ["register"]

sim_app = typer.Typer(help="Simulators of the services Belay talks to.", no_args_is_help=True)


@sim_app.command("argocd")
@handle_errors
def argocd(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0 = a free one).")
    ] = 8085,
    state: Annotated[
        Path | None,
        typer.Option("--state", help="State file (JSON or YAML); default: one healthy sample app."),
    ] = None,
    tls: Annotated[bool, typer.Option("--tls", help="Serve HTTPS with a throw-away CA.")] = False,
) -> None:
    """Serve a simulated Argo CD API server until interrupted."""
    import socket

    import uvicorn

    from belay.sim import (
        load_state,
        make_tls_files,
        parse_state,
        quiet_dropped_connections,
        sample_state,
        serve_config,
    )

    sim_state = load_state(state) if state else parse_state(sample_state(), source="sample")
    quiet_dropped_connections()
    with tempfile.TemporaryDirectory(prefix="belay-sim-") as tmp:
        tls_files = make_tls_files(Path(tmp)) if tls else None
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            from belay.errors import BadInput

            raise BadInput(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
        bound = sock.getsockname()[1]
        config, _store = serve_config(
            sim_state, host=host, port=bound, tls_files=tls_files[:2] if tls_files else None
        )
        # uvicorn's Config installed its own plain-text handlers: back through Belay's logging.
        route_library_logs()
        scheme = "https" if tls else "http"
        shown = f"[{host}]" if ":" in host else host
        typer.echo(f"Argo CD simulator listening on {scheme}://{shown}:{bound}", err=False)
        if tls_files:
            typer.echo(f"CA certificate: {tls_files[2]}")
        uvicorn.Server(config).run(sockets=[sock])


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.add_typer(sim_app, name="sim")
