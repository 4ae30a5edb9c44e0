"""``belay sync``: a manual, audited sync through the same engine, behind the same gate.

A revision without a passing decision is refused (exit 2, nothing queued) unless the person
overrides the gate with ``--override-gate --reason TEXT``; the override is audited with the job
(``sync.override``: who and why) and announced on the ``gate_override`` alert channels.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from belay.cli._common import ConfigOption, current_user, die, handle_errors, open_store
from belay.logs import notice

if TYPE_CHECKING:
    from belay.config import BelaySettings
    from belay.store import Store

__all__ = ["register"]

_MAX_REASON = 2000


def _plausible_revision(value: str) -> bool:
    """A revision Argo CD could be asked for: a short printable name, not an option."""
    text = value.strip()
    return (
        0 < len(text) <= 255 and not text.startswith("-") and text.isprintable() and " " not in text
    )


def _who(actor: str | None) -> str:
    return actor or current_user()


def register(app: typer.Typer) -> None:
    """Add ``sync`` to ``app``."""

    @app.command()
    @handle_errors
    def sync(
        application: Annotated[str, typer.Argument(help="Argo CD application name.")],
        revision: Annotated[
            str | None,
            typer.Option(help="Commit SHA to sync (or a prefix of 7+ characters the gate judged)."),
        ] = None,
        wait: Annotated[
            bool, typer.Option("--wait", help="Follow the deployment to its end.")
        ] = False,
        config: ConfigOption = None,
        override_gate: Annotated[
            bool,
            typer.Option(
                "--override-gate",
                help="Sync a revision without a passing decision (needs --reason; audited).",
            ),
        ] = False,
        reason: Annotated[
            str | None, typer.Option(help="Why the gate is overridden (with --override-gate).")
        ] = None,
        actor: Annotated[str | None, typer.Option(help="Who asks (default: $USER).")] = None,
        instance: Annotated[str | None, typer.Option(help="Argo CD instance name.")] = None,
        timeout: Annotated[float, typer.Option(help="With --wait: give up after seconds.")] = 900.0,
    ) -> None:
        """Queue a manual, audited sync through the same engine; with --wait, run it here.

        Exit codes: without --wait 0 queued; with it 0 deployed, 1 failed; 2 bad input or refused.
        """
        from belay.bootstrap import manual_sync

        if reason is not None and not override_gate:
            die("--reason is only used with --override-gate")
        if override_gate and not (reason or "").strip():
            die("--override-gate needs --reason TEXT: say why the gate is overridden")
        if timeout < 0:
            die(f"--timeout {timeout:g}: must be 0 or more seconds")
        if reason is not None and len(reason) > _MAX_REASON:
            die(f"--reason is longer than {_MAX_REASON} characters")
        if revision is not None and not _plausible_revision(revision):
            # Even an override syncs only something Argo CD could take for a revision.
            die(f"--revision {revision[:80]!r}: not a revision (empty, an option, or not text)")
        settings, store = open_store(config)
        who = _who(actor)
        syncs = manual_sync(settings, store)
        permit = syncs.permit(application=application, revision=revision)
        if not permit.allowed and not override_gate:
            die(
                f"refused, nothing queued: {permit.reason} "
                "(to deploy it anyway: --override-gate --reason TEXT)"
            )
        if permit.allowed and override_gate:
            notice(f"{permit.reason}; --override-gate was not needed", level="warning")
        job = syncs.queue(
            permit,
            actor=who,
            instance=instance,
            override_reason=None if permit.allowed else reason,
        )
        if not permit.allowed:
            notice(f"gate overridden by {who}: {permit.reason}", level="warning")
        notice(f"queued job {job.id} for {application}", job_id=job.id)
        if wait:
            _follow(store, settings, job.id, timeout)


def _follow(store: Store, settings: BelaySettings, job_id: str, timeout: float) -> None:
    """Run the queue here until ``job_id`` ends; exit 0 deployed, 1 otherwise."""
    from belay.attest import load_signing
    from belay.bootstrap import decision_check
    from belay.deploy import ReloadingClients, Worker
    from belay.vocab import IN_FLIGHT_STATES, JobState

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
            current = uow.jobs.get(job_id)
        if current is not None and current.state not in IN_FLIGHT_STATES:
            typer.echo(f"{current.state}: {current.error or 'synced and healthy'}")
            raise typer.Exit(0 if current.state == JobState.succeeded else 1)
        if worker.run_once() is None:
            time.sleep(settings.worker.poll_interval_seconds)
    die(f"job {job_id} did not end within {timeout:g}s", 1)
