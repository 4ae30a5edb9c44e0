"""``belay audit list|show|trace|verify`` and ``belay sync``: reading the chain, manual syncs."""

from __future__ import annotations

import getpass
import os
import time
from pathlib import Path
from typing import Annotated

import typer

from belay.cli._common import OutputFormat, audit_table, die, handle_errors

__all__ = ["register"]

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="belay.yaml (default: ./belay.yaml if it exists)."),
]
OutputOption = Annotated[OutputFormat, typer.Option("--output", "-o", help="text or json.")]


def _store(config: Path | None):  # type: ignore[no-untyped-def]
    from belay.config.settings import load_settings
    from belay.store import Store

    settings = load_settings(config)
    store = Store(settings.database_url)
    store.check_ready()
    return settings, store


def _print_events(events: list, output: OutputFormat) -> None:  # type: ignore[type-arg]
    from rich.console import Console

    from belay.jsonio import dumps_text

    if output is OutputFormat.json:
        typer.echo(dumps_text([e.model_dump(mode="json") for e in events], indent=True))
        return
    Console(width=160).print(audit_table(events))


def register(app: typer.Typer) -> None:
    """Add ``audit`` and ``sync`` to ``app``."""
    audit_app = typer.Typer(help="The tamper-evident audit trail.", no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    @handle_errors
    def verify(config: ConfigOption = None) -> None:
        """Check the hash chain; exit 0 intact, 1 broken (naming the first broken event)."""
        _, store = _store(config)
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
        output: OutputOption = OutputFormat.text,
    ) -> None:
        """The chain's events, oldest first."""
        _, store = _store(config)
        with store.unit_of_work() as uow:
            events = uow.audit.list(application=application, limit=limit)
        _print_events(events, output)

    @audit_app.command("show")
    @handle_errors
    def show(event_id: str, config: ConfigOption = None) -> None:
        """One event, whole, as JSON."""
        from belay.jsonio import dumps_text

        _, store = _store(config)
        with store.unit_of_work() as uow:
            event = uow.audit.get(event_id)
        if event is None:
            die(f"no audit event with id {event_id!r}", 1)
        typer.echo(dumps_text(event.model_dump(mode="json"), indent=True))

    @audit_app.command("trace")
    @handle_errors
    def trace(
        commit: Annotated[str, typer.Option("--commit", help="The scanned commit (full SHA).")],
        config: ConfigOption = None,
        output: OutputOption = OutputFormat.text,
    ) -> None:
        """Every event about one commit: received, verdict, queued, sync, operation, outcome."""
        _, store = _store(config)
        with store.unit_of_work() as uow:
            events = uow.audit.list(revision=commit, limit=100_000)
        if not events:
            die(f"no audit event mentions commit {commit!r}", 1)
        _print_events(events, output)

    @app.command()
    @handle_errors
    def sync(
        application: Annotated[str, typer.Argument(help="Argo CD application name.")],
        revision: Annotated[
            str | None, typer.Option(help="Revision to sync (default: its target).")
        ] = None,
        wait: Annotated[
            bool, typer.Option("--wait", help="Follow the deployment to its end.")
        ] = False,
        config: ConfigOption = None,
        actor: Annotated[str | None, typer.Option(help="Who asks (default: $USER).")] = None,
        instance: Annotated[str | None, typer.Option(help="Argo CD instance name.")] = None,
        timeout: Annotated[float, typer.Option(help="With --wait: give up after seconds.")] = 900.0,
    ) -> None:
        """Queue a manual, audited sync through the same engine; with --wait, run it here."""
        from belay.attest import load_signing
        from belay.bootstrap import decision_check
        from belay.deploy.credentials import ReloadingClients
        from belay.deploy.manual import queue_manual_sync
        from belay.deploy.worker import Worker

        settings, store = _store(config)
        who = actor or os.environ.get("USER") or getpass.getuser()
        job = queue_manual_sync(
            store,
            settings,
            application=application,
            revision=revision,
            actor=who,
            instance=instance,
        )
        typer.echo(f"queued job {job.id} for {application}", err=True)
        if not wait:
            return
        clients = ReloadingClients()
        worker = Worker(
            store,
            clients,
            settings=settings.worker,
            reload_credentials=clients.reload_after_401,
            # It may take a queued gate job too: verify its signed decision as `belay serve` does.
            check_decision=decision_check(store, load_signing(settings)),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with store.unit_of_work() as uow:
                current = uow.jobs.get(job.id)
            if current is not None and current.state not in ("queued", "running"):
                typer.echo(f"{current.state}: {current.error or 'synced and healthy'}")
                raise typer.Exit(0 if current.state == "succeeded" else 1)
            if worker.run_once() is None:
                time.sleep(settings.worker.poll_interval_seconds)
        die(f"job {job.id} did not end within {timeout:g}s", 1)
