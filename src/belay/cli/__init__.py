"""The ``belay`` command line: a thin Typer layer that parses arguments and calls the packages.

Each command group lives in its own module and registers itself on :data:`app` here.
"""

from __future__ import annotations

from typing import Any

import typer
import typer.core

from belay import __version__

__all__ = ["app", "main"]


def _hide_flag_placeholders() -> None:
    """Typer shows a ``<bool>`` placeholder after every flag (``--wait <bool>``), as if the flag
    took a value; a flag takes none, so help shows nothing there."""
    shown = typer.core.TyperOption.display_type_rich
    if getattr(shown, "_belay", False):
        return

    def display_type_rich(self: typer.core.TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich._belay = True  # type: ignore[attr-defined]
    typer.core.TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_placeholders()

app = typer.Typer(
    name="belay",
    help="Belay: a security gate and incident-evidence service for Argo CD.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"belay {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
    log_level: str = typer.Option(
        "WARNING", "--log-level", envvar="BELAY_LOG_LEVEL", help="DEBUG, INFO, WARNING or ERROR."
    ),
    log_format: str = typer.Option(
        "console", "--log-format", envvar="BELAY_LOG_FORMAT", help="console or json (to stderr)."
    ),
) -> None:
    """Belay: a security gate and incident-evidence service for Argo CD."""
    from belay.cli._common import die
    from belay.logs import configure_logging

    level = log_level.upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        die(f"--log-level: {log_level!r} is not one of DEBUG, INFO, WARNING, ERROR")
    if log_format not in ("console", "json"):
        die(f"--log-format: {log_format!r} is not console or json")
    configure_logging(level=level, fmt="json" if log_format == "json" else "console")


def _register() -> None:
    # Imported here, not at module top, so `belay --help` stays cheap and import cycles cannot form.
    from belay.cli import (
        attest,
        audit,
        demo,
        gate,
        integrations,
        investigate,
        serve,
        sim,
        submissions,
        sync,
    )

    for module in (
        integrations,
        sim,
        gate,
        demo,
        serve,
        audit,
        sync,
        submissions,
        investigate,
        attest,
    ):
        module.register(app)


_register()


def main() -> None:
    """Console-script entry point."""
    app()
