"""The composition root: build Belay's real adapters from settings, in one place.

The CLI (``belay serve``, ``belay worker``, ``belay sync``, ``belay audit``) and the tests call
:func:`build_services`; nothing is created at import time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from belay.argocd import ArgoCDClient
from belay.config import resolve_argocd
from belay.config.errors import ConfigError
from belay.config.models import ArgoCDResolution
from belay.config.settings import BelaySettings
from belay.intake import Credentials
from belay.intake.service import IntakeService, credentials_from_settings
from belay.store import Store

__all__ = ["ArgoCDClients", "Services", "build_services", "start_workers"]


class ArgoCDClients:
    """Clients per Argo CD instance name, from the one configuration resolver.

    :meth:`reload` re-reads the configuration (a rotated token is picked up without a restart).
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = environ
        self.resolution: ArgoCDResolution = resolve_argocd(environ)

    def reload(self) -> None:
        """Resolve the Argo CD configuration again."""
        self.resolution = resolve_argocd(self._environ)

    def __call__(self, instance: str) -> AbstractContextManager[ArgoCDClient]:
        found = self.resolution.get(instance)
        if found is None:
            rejected = [r for r in self.resolution.rejected if r.name == instance]
            why = f": {rejected[0].reason}" if rejected else ""
            raise ConfigError(f"Argo CD instance {instance!r} is not configured{why}")
        return ArgoCDClient.from_instance(found)


@dataclass
class Services:
    """Everything a running Belay needs, built once at start."""

    settings: BelaySettings
    store: Store
    credentials: Credentials
    intake: IntakeService
    clients: ArgoCDClients
    extras: dict[str, object] = field(default_factory=dict)


def build_services(
    settings: BelaySettings,
    *,
    environ: Mapping[str, str] | None = None,
    migrate: bool = True,
) -> Services:
    """Build the store (migrated unless ``migrate=False``), credentials, intake and clients."""
    env = os.environ if environ is None else environ
    store = Store(settings.database_url)
    if migrate:
        store.upgrade()
    credentials = credentials_from_settings(settings, env)
    intake = IntakeService(settings=settings, store=store, credentials=credentials)
    return Services(
        settings=settings,
        store=store,
        credentials=credentials,
        intake=intake,
        clients=ArgoCDClients(env),
    )


def start_workers(
    services: Services, *, stop: threading.Event, count: int = 1
) -> list[threading.Thread]:
    """Start ``count`` deployment workers on daemon threads; they end when ``stop`` is set."""
    from belay.deploy.worker import Worker

    on_outcome = services.extras.get("on_outcome")
    threads = []
    for n in range(count):
        worker = Worker(
            services.store,
            services.clients,
            settings=services.settings.worker,
            on_outcome=on_outcome if callable(on_outcome) else None,
        )
        worker.stop_event = stop
        thread = threading.Thread(target=worker.run, name=f"belay-worker-{n}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
