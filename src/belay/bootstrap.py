"""The composition root: build Belay's real adapters from settings, in one place.

The CLI (``belay serve``, ``belay worker``, ``belay sync``, ``belay demo``) and the tests call
:func:`build_services`; nothing is created at import time. One client factory
(:class:`~belay.deploy.credentials.ReloadingClients`) serves the worker, re-reading the Argo CD
configuration on SIGHUP and after a 401; one alerting service receives deploy outcomes and
failing verdicts.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from belay.argocd import InformerRegistry
from belay.attest import Attestor, DecisionGuard, Keyring, Signing, load_signing
from belay.config import BelaySettings, process_environ, resolve_argocd
from belay.deploy import Doorbell, ReloadingClients
from belay.intake import Credentials
from belay.logs import get_logger
from belay.notify import Alerting, build_alerting
from belay.services import IntakeService, ManualSync, credentials_from_settings
from belay.store import DecisionRecord, Store

__all__ = [
    "Services",
    "build_services",
    "decision_check",
    "freeze_startup_heap",
    "manual_sync",
    "start_workers",
]

_log = get_logger("belay.bootstrap")


@dataclass
class Services:
    """Everything a running Belay needs, built once at start."""

    settings: BelaySettings
    store: Store
    credentials: Credentials
    intake: IntakeService
    clients: ReloadingClients
    alerting: Alerting
    signing: Signing = field(default_factory=lambda: Signing(key=None, keyring=Keyring()))
    """The signing key (if any) and the trusted public keys (docs/attestations.md)."""
    doorbell: Doorbell = field(default_factory=Doorbell)
    """Rung by the intake after it queues a job; wakes this process's idle workers at once."""

    informers: InformerRegistry | None = None
    """One shared list-and-watch of applications per Argo CD instance (made on first use by the
    follower, or by anyone else: ``services.informers(instance).add_handler(...)``)."""

    def close(self) -> None:
        """Stop the informers and alert delivery; close the store's connections."""
        if self.informers is not None:
            self.informers.stop()
        self.alerting.close()
        self.store.dispose()


def build_services(
    settings: BelaySettings,
    *,
    environ: Mapping[str, str] | None = None,
    migrate: bool = True,
    with_intake: bool = True,
) -> Services:
    """Build the store (migrated unless ``migrate=False``), credentials, intake, clients, alerts.

    With ``with_intake=False`` (``belay worker``) no submit token or webhook secret is read: a
    worker never judges deliveries, so it should not hold their secrets. Alert delivery is not
    started here: call ``services.alerting.start(...)`` in long-running processes (``serve``,
    ``worker``), so one-shot commands never send token reminders.
    """
    env = process_environ(environ)
    # A named but unusable key stops here, before the store. A worker (no intake) reads only the
    # verifying key when one is named: it never signs, so it need not hold the private key.
    signing = load_signing(settings, env, sign=with_intake)
    store = Store(settings.database_url)
    if migrate:
        store.upgrade()
    credentials = credentials_from_settings(settings, env) if with_intake else Credentials()
    alerting = build_alerting(settings, store, environ=env)

    def on_decision(decision: DecisionRecord) -> None:
        alerting.on_verdict(decision)

    attestor = Attestor(signing.key, public_url=settings.public_url) if signing.key else None
    intake = IntakeService(
        settings=settings,
        store=store,
        credentials=credentials,
        on_decision=on_decision,
        attestor=attestor,
    )
    clients = ReloadingClients(lambda: resolve_argocd(env))
    services = Services(
        settings=settings,
        store=store,
        credentials=credentials,
        intake=intake,
        clients=clients,
        alerting=alerting,
        signing=signing,
    )
    if not signing.verifies:
        _log.warning(
            "attest.signing_off",
            detail="no signing_key_file or signing_key_env in belay.yaml: decisions are not "
            "signed and the worker does not verify them (docs/attestations.md)",
        )
    services.informers = InformerRegistry(clients, reload_after_401=clients.reload_after_401)
    intake.on_job_queued = services.doorbell.ring
    return services


def start_workers(
    services: Services, *, stop: threading.Event, count: int = 1
) -> list[threading.Thread]:
    """Start ``count`` deployment workers and one follower on daemon threads; they end when
    ``stop`` is set (the follower then gives the jobs it follows back to the queue).

    The workers run the sync step and hand each job to the follower, which follows every job in
    flight through the instance's shared informer (``services.informers``): how many deployments
    progress at once is no longer bounded by ``count``.
    """
    from belay.deploy import Follower, Worker

    if services.informers is None:
        services.informers = InformerRegistry(
            services.clients, reload_after_401=services.clients.reload_after_401
        )
    follower = Follower(
        services.store,
        services.informers,
        settings=services.settings.worker,
        clients=services.clients,
        on_outcome=services.alerting.on_deploy_outcome,
    )
    following = threading.Thread(
        target=follower.run, args=(stop,), name="belay-follower", daemon=True
    )
    following.start()
    threads = [following]
    for n in range(count):
        worker = Worker(
            services.store,
            services.clients,
            settings=services.settings.worker,
            on_outcome=services.alerting.on_deploy_outcome,
            reload_credentials=services.clients.reload_after_401,
            doorbell=services.doorbell,
            # A pool looks for work at most every poll interval / 4 on average (with 32 idle
            # workers, 64 empty claims a second were a waste); the doorbell wakes them at once.
            idle_poll_seconds=services.settings.worker.poll_interval_seconds * min(count, 4),
            check_decision=decision_check(services.store, services.signing),
            follower=follower,
        )
        worker.stop_event = stop
        thread = threading.Thread(target=worker.run, name=f"belay-worker-{n}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads


def decision_check(store: Store, signing: Signing) -> DecisionGuard | None:
    """The worker's signature check when this Belay signs or verifies decisions (``None`` when
    it does neither: there is no key to check against)."""
    if not signing.verifies:
        return None
    return DecisionGuard(store, signing.keyring)


def manual_sync(settings: BelaySettings, store: Store) -> ManualSync:
    """The manual-sync use case (``belay sync``) over ``store``: decisions checked against this
    Belay's signing keys, an override announced on the configured alert channels."""
    guard = decision_check(store, load_signing(settings))
    return ManualSync(
        store=store,
        settings=settings,
        trust=guard.decision_problem if guard is not None else None,
        alerting=lambda: build_alerting(settings, store),
    )


def freeze_startup_heap() -> None:
    """Exclude everything built so far (modules, models, schemas, the app) from garbage
    collection; call it once a long-running process has finished starting.

    Python's oldest-generation collections walk every tracked object. In ``belay serve`` most of
    them are the startup's (SQLAlchemy's metadata, pydantic's validators, the FastAPI app) and
    live for the whole process, so each such pass stalled every thread for nothing: freezing them
    cut the pipeline benchmark's decision-to-sync p99 from 99-172 ms to 63-93 ms
    (docs/performance.md).
    """
    gc.collect()
    gc.freeze()
