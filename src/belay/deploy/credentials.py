"""Argo CD clients whose credentials can be rotated without restarting the worker.

:class:`ReloadingClients` is a deploy-worker client factory over the one resolver
(:func:`belay.config.resolve_argocd`). It re-reads the configuration (environment mapping,
``.env``, the integration store) when told to (:meth:`ReloadingClients.request_reload`, what the
SIGHUP handler calls) and when a job's client got a 401 (:meth:`ReloadingClients.reload_after_401`,
given to the worker as ``reload_credentials``). Queued jobs stay in the store throughout, and a
job whose client was refused is retried once with the new credentials; the worker's marker on
every sync makes that retry follow the sync already sent instead of sending a second one.

Rotation, step by step (see docs/argocd-rbac.md):
``argocd account generate-token --account belay-webhook --id <new-id>``, put the new token where
Belay reads it (``.env``, the integration store, or the environment with a restart), send
``SIGHUP`` (or let the next 401 trigger the re-read), confirm with
``belay integrations verify argocd``, then ``argocd account delete-token --account belay-webhook
<old-id>``.
"""

from __future__ import annotations

import hashlib
import signal
import threading
import weakref
from collections.abc import Callable
from types import FrameType

from belay.argocd import DEFAULT_TIMEOUT, ArgoCDClient
from belay.config import ArgoCDInstance, ArgoCDResolution, ConfigError, resolve_argocd
from belay.logs import get_logger

__all__ = ["ReloadingClients", "credential_fingerprint", "install_sighup"]

_log = get_logger("belay.deploy")


def credential_fingerprint(instance: ArgoCDInstance) -> str:
    """A digest of everything that decides how a client authenticates (kept in memory only)."""
    parts = [
        instance.base_url,
        instance.token.get_secret_value() if instance.token else "",
        instance.username or "",
        instance.password.get_secret_value() if instance.password else "",
        str(instance.verify_ssl),
        str(instance.ca_bundle or ""),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class ReloadingClients:
    """``instance name -> ArgoCDClient`` from a resolution that can be re-read at run time."""

    def __init__(
        self,
        resolve: Callable[[], ArgoCDResolution] = resolve_argocd,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._resolve = resolve
        self._timeout = timeout
        self._lock = threading.Lock()
        self._resolution = resolve()
        self._stale = False
        self._issued: weakref.WeakKeyDictionary[ArgoCDClient, str] = weakref.WeakKeyDictionary()

    @property
    def resolution(self) -> ArgoCDResolution:
        """The configuration currently in use (re-read first if a reload was requested)."""
        with self._lock:
            if self._stale:
                self._reload_locked("requested")
            return self._resolution

    def __call__(self, name: str) -> ArgoCDClient:
        """A new client for the instance ``name`` with the current credentials."""
        with self._lock:
            if self._stale:
                self._reload_locked("requested")
            instance = self._resolution.get(name)
            if instance is None:
                raise ConfigError(f"Argo CD instance {name!r} is not configured")
            client = ArgoCDClient.from_instance(instance, timeout=self._timeout)
            self._issued[client] = credential_fingerprint(instance)
            return client

    def request_reload(self) -> None:
        """Re-read the configuration before the next client is made (safe in a signal handler)."""
        self._stale = True

    def reload(self) -> ArgoCDResolution:
        """Re-read the configuration now; the new resolution."""
        with self._lock:
            self._reload_locked("requested")
            return self._resolution

    def reload_after_401(self, name: str, client: ArgoCDClient) -> bool:
        """Re-read the configuration after ``client`` got a 401; True when a retry may succeed.

        True when the instance's credentials now differ from the ones ``client`` was made with
        (changed by this re-read or by an earlier one, e.g. a SIGHUP meanwhile).
        """
        with self._lock:
            self._reload_locked("401")
            instance = self._resolution.get(name)
            if instance is None:
                return False
            return self._issued.get(client) != credential_fingerprint(instance)

    def _reload_locked(self, why: str) -> None:
        self._stale = False
        resolution = self._resolve()
        before = {i.name: credential_fingerprint(i) for i in self._resolution.instances}
        after = {i.name: credential_fingerprint(i) for i in resolution.instances}
        changed = sorted(n for n in after if before.get(n) != after[n])
        self._resolution = resolution
        _log.info("argocd.config_reloaded", reason=why, changed_instances=changed)


def install_sighup(clients: ReloadingClients) -> Callable[[], None]:
    """Make SIGHUP re-read the Argo CD configuration; returns a function restoring the old
    handler. Call it from the main thread (Python delivers signals there)."""
    previous = signal.getsignal(signal.SIGHUP)

    def handler(_signum: int, _frame: FrameType | None) -> None:
        clients.request_reload()

    signal.signal(signal.SIGHUP, handler)

    def restore() -> None:
        signal.signal(signal.SIGHUP, previous)

    return restore
