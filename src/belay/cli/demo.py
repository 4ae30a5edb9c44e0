"""``belay demo``: the whole flow in one command (built with the web page, see docs)."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to ``app``."""

    @app.command()
    def demo(
        once: bool = typer.Option(False, "--once", help="Exit after printing the audit trail."),
    ) -> None:
        """Run the gate against the built-in Argo CD simulator with two sample bundles."""
        typer.echo(
            "belay demo is not built yet. When it is, it will start the Argo CD simulator with a\n"
            "sample application, start the gate on SQLite, submit one passing and one failing\n"
            "Portage bundle, show both verdicts, follow the passing one to Synced+Healthy, print\n"
            "the audit trail and the web page's address.",
            err=True,
        )
        raise typer.Exit(1)
