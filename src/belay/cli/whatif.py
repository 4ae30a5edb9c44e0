"""``belay policy whatif`` and ``belay policy diff``: a policy change before it takes effect."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from belay.cli._common import OutputFormat, current_user, handle_errors, open_store

__all__ = ["register"]


def register(policy_app: typer.Typer) -> None:
    """Add ``whatif`` and ``diff`` to the ``policy`` group."""

    @policy_app.command("whatif")
    @handle_errors
    def whatif_command(
        policy: Annotated[Path, typer.Option("--policy", help="The candidate policy file (YAML).")],
        config: Annotated[
            Path | None,
            typer.Option("--config", "-c", help="belay.yaml (default: ./belay.yaml)."),
        ] = None,
        project: Annotated[
            str | None,
            typer.Option(
                "--project",
                help="Replay this project only (default: the projects whose policy file is "
                "--policy, else every project).",
            ),
        ] = None,
        since: Annotated[
            str | None,
            typer.Option("--since", help="30d, 12h, 2w, or a date (default: all history)."),
        ] = None,
        output: Annotated[
            OutputFormat, typer.Option("--output", "-o", help="text, json or markdown.")
        ] = OutputFormat.text,
    ) -> None:
        """Replay stored submissions under a candidate policy; exit 0 nothing flips, 1 something
        flips (or nothing in range could be replayed), 2 bad input. Never writes a decision,
        queues a job or syncs."""
        from datetime import UTC, datetime

        from belay.jsonio import dumps_text
        from belay.whatif import (
            candidate_from_file,
            parse_since,
            render_markdown,
            render_text,
            replay,
        )

        now = datetime.now(UTC)
        start = parse_since(since, now)
        candidate = candidate_from_file(policy)
        settings, store = open_store(config)
        with _progress() as advance:
            result = replay(
                store=store,
                settings=settings,
                candidate=candidate,
                project=project,
                since=start,
                actor=f"cli:{current_user()}",
                now=now,
                on_progress=advance,
            )
        store.dispose()
        if output is OutputFormat.json:
            typer.echo(dumps_text(result.document(), indent=True))
        elif output is OutputFormat.markdown:
            typer.echo(render_markdown(result, link_base=settings.public_url))
        else:
            typer.echo(render_text(result))
        if result.flipped:
            raise typer.Exit(1)
        if result.skipped and not result.evaluated:
            # Nothing could be replayed: "nothing flips" would be a pass no one earned.
            typer.echo("error: no submission in range could be replayed", err=True)
            raise typer.Exit(1)

    @policy_app.command("diff")
    @handle_errors
    def diff_command(
        old: Annotated[Path, typer.Argument(help="The policy as it is.")],
        new: Annotated[Path, typer.Argument(help="The policy as it would be.")],
    ) -> None:
        """Describe a policy change rule by rule (laxer or stricter where that is clear)."""
        from belay.gate import load_policy_set
        from belay.whatif import policy_diff

        lines = policy_diff(load_policy_set(old), load_policy_set(new))
        typer.echo("\n".join(lines) if lines else "no rule changes")


class _progress:
    """A Rich progress line on an interactive stderr; nothing otherwise (CI logs stay clean)."""

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._progress = None
        if not sys.stderr.isatty():
            return lambda done: None
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("replaying: {task.completed} submissions"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.start()
        task = self._progress.add_task("replay", total=None)
        progress = self._progress
        return lambda done: progress.update(task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
