"""``belay demo``: the whole flow in one command, against the built-in Argo CD simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command to ``app``."""

    @app.command()
    def demo(
        once: Annotated[
            bool, typer.Option("--once", help="Exit after printing the audit trail.")
        ] = False,
        port: Annotated[
            int,
            typer.Option(
                min=0, max=65535, help="Port of the gate and its page (busy: any free one)."
            ),
        ] = 8080,
        work_dir: Annotated[
            Path | None,
            typer.Option("--dir", help="Keep the demo's files here (default: a temp folder)."),
        ] = None,
    ) -> None:
        """Run the gate against the built-in Argo CD simulator with two sample bundles."""
        from belay.demo import run_demo

        result = run_demo(once=once, port=port, work_dir=work_dir)
        raise typer.Exit(0 if result.deployed else 1)
