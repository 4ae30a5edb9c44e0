"""``belay audit list|show|trace|verify``: reading the tamper-evident chain."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from belay.audit_view import audit_table
from belay.cli._common import (
    ConfigOption,
    TextOrJSON,
    TextOrJSONOption,
    die,
    handle_errors,
    open_store,
)
from belay.deploy import MIN_PREFIX, is_full_sha, is_short_sha

if TYPE_CHECKING:
    from collections.abc import Sequence

    from belay.store import AuditEvent

__all__ = ["register"]


def _print_events(events: Sequence[AuditEvent], output: TextOrJSON) -> None:
    from rich.console import Console

    from belay.jsonio import dumps_text

    if output is TextOrJSON.json:
        typer.echo(dumps_text([e.model_dump(mode="json") for e in events], indent=True))
        return
    Console(width=160).print(audit_table(events))


def register(app: typer.Typer) -> None:
    """Add ``audit`` to ``app``."""
    audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    @handle_errors
    def verify(config: ConfigOption = None) -> None:
        """Check the hash chain; exit 0 intact, 1 broken (naming the first broken event)."""
        _, store = open_store(config)
        with store.unit_of_work() as uow:
            broken = uow.audit.verify()
            count = len(uow.audit.list(limit=10_000_000))
        if broken is not None:
            typer.echo(f"audit chain BROKEN at event {broken.seq}: {broken.reason}")
            raise typer.Exit(1)
        typer.echo(f"audit chain intact ({count} events)")

    @audit_app.command("list")
    @handle_errors
    def list_events(
        config: ConfigOption = None,
        application: Annotated[str | None, typer.Option(help="Only this application.")] = None,
        limit: Annotated[int, typer.Option(min=1, help="At most this many events.")] = 200,
        output: TextOrJSONOption = TextOrJSON.text,
    ) -> None:
        """The chain's events, oldest first."""
        _, store = open_store(config)
        with store.unit_of_work() as uow:
            events = uow.audit.list(application=application, limit=limit)
        _print_events(events, output)

    @audit_app.command("show")
    @handle_errors
    def show(
        event_id: Annotated[str, typer.Argument(help="The event's id.")],
        config: ConfigOption = None,
        output: TextOrJSONOption = TextOrJSON.json,
    ) -> None:
        """One event, whole (JSON by default; text is its row of the list)."""
        _, store = open_store(config)
        with store.unit_of_work() as uow:
            event = uow.audit.get(event_id)
        if event is None:
            die(f"no audit event with id {event_id!r}", 1)
        if output is TextOrJSON.json:
            from belay.jsonio import dumps_text

            typer.echo(dumps_text(event.model_dump(mode="json"), indent=True))
            return
        _print_events([event], output)

    @audit_app.command("trace")
    @handle_errors
    def trace(
        commit: Annotated[
            str,
            typer.Option(
                "--commit", help=f"The scanned commit: its SHA or a prefix of {MIN_PREFIX}+."
            ),
        ],
        config: ConfigOption = None,
        output: TextOrJSONOption = TextOrJSON.text,
    ) -> None:
        """Every event about one commit: received, verdict, queued, sync, operation, outcome."""
        wanted = commit.strip().lower()
        if not (is_full_sha(wanted) or is_short_sha(wanted)):
            die(
                f"--commit {commit[:80]!r}: give a commit SHA or a prefix of at least "
                f"{MIN_PREFIX} hex characters"
            )
        _, store = open_store(config)
        with store.unit_of_work() as uow:
            if is_full_sha(wanted):
                events = uow.audit.list(revision=wanted, limit=100_000)
            else:
                events = uow.audit.list(revision_prefix=wanted, limit=100_000)
        if not events:
            die(f"no audit event mentions commit {commit!r}", 1)
        _print_events(events, output)
