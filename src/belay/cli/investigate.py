"""`belay investigate`: an alert file in, an Argo CD findings report out (read-only).

Exit codes: 0 when a report was made (even one full of problems), 2 for bad input (an alert that
is empty, not JSON or of no known shape; one whose every application name is one Argo CD could
never hold; an unreadable ``--config``).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from belay.cli._common import OutputFormat, handle_errors
from belay.errors import BadInput, cannot_read
from belay.logs import configure_logging

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``investigate`` command to ``app``."""
    app.command("investigate")(investigate_command)


def _read_input(source: str) -> tuple[bytes, str]:
    if source == "-":
        return sys.stdin.buffer.read(), "stdin"
    path = Path(source)
    try:
        return path.read_bytes(), source
    except OSError as err:
        raise BadInput(cannot_read("alert", source, err)) from None


@handle_errors
def investigate_command(
    input_file: Annotated[
        str,
        typer.Option(
            "--input", "-i", help="The alert file (JSON), or - for stdin.", show_default=False
        ),
    ],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="belay.yaml: its investigate thresholds and Belay's own decisions (store).",
        ),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--output", "-o", help="text, json or markdown.")
    ] = OutputFormat.text,
) -> None:
    """Investigate an alert: read Argo CD (read-only) and report findings with their evidence."""
    configure_logging(level="WARNING")
    # Imported here so `belay --help` stays cheap.
    from belay.config import resolve_argocd
    from belay.investigate import InvestigationSettings, parse_notification_bytes, render_many
    from belay.services import investigate_alert

    data, origin = _read_input(input_file)
    alerts = parse_notification_bytes(data, origin=origin)
    settings = InvestigationSettings()
    store = None
    if config is not None:
        # With belay.yaml: its thresholds, and Belay's own decisions from its store.
        from belay.config import load_settings
        from belay.store import Store

        belay_settings = load_settings(config)
        settings = belay_settings.investigate
        store = Store(belay_settings.database_url)
        store.check_ready()
    # Nothing but the report may reach stdout (`-o json` is read by machines).
    with contextlib.redirect_stdout(sys.stderr):
        reports = investigate_alert(
            alerts, resolve_argocd(), settings=settings, store=store, refuse_bad_names=True
        )
    color = output is OutputFormat.text and sys.stdout.isatty()
    sys.stdout.write(render_many(reports, output.value, color=color))
    raise typer.Exit(0)
