"""Wiring for ``belay serve``: per Argo CD instance, an event source, a lease and a handler.

Each instance named by a belay.yaml project gets a handler fed by an event source, and a lease
loop on a daemon thread. ``belay serve`` gives every instance its shared informer
(:meth:`belay.argocd.informer.InformerRegistry.events`: one watch per instance for deployments
and bypasses alike, run by the registry); an instance given no source gets a
:class:`~belay.bypass.events.ListWatch` of its own on a second thread (the only reader of
``bypass.read_timeout_seconds``). The lease loop renews the lease every third of
``bypass.lease_seconds`` and, when this replica takes the lease (at start, or from a replica
that died), judges every application at once: its newest state and each operation seen
meanwhile (:meth:`~belay.bypass.handler.BypassHandler.resync`). Every replica watches, so a
takeover needs no warm-up; only the holder reports.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from belay.argocd import ArgoCDClient
from belay.bypass.events import ApplicationEvents, ListWatch
from belay.bypass.handler import BypassHandler
from belay.bypass.lease import Lease
from belay.config import BelaySettings
from belay.logs import get_logger
from belay.notify import Alerting
from belay.store import Store

__all__ = ["BypassWatch", "start_bypass_watch"]

_log = get_logger("belay.bypass")


@dataclass(frozen=True)
class _Part:
    instance: str
    source: ApplicationEvents
    lease: Lease
    handler: BypassHandler
    own_watch: ListWatch | None
    """The list+watch this object made and runs (``None`` when a source was given)."""


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class BypassWatch:
    """The bypass watch of every instance belay.yaml maps applications on."""

    def __init__(
        self,
        store: Store,
        settings: BelaySettings,
        clients: Callable[[str], ArgoCDClient],
        *,
        alerting: Alerting | None = None,
        owner: str | None = None,
        sources: Mapping[str, ApplicationEvents] | None = None,
    ) -> None:
        """``sources``: an event source per instance (the shared informer); instances without
        one get a :class:`ListWatch` of their own, run by :meth:`start`."""
        self.owner = owner or _owner()
        instances = sorted({p.argocd.instance for p in settings.projects if p.argocd})
        self.parts: list[_Part] = []
        for instance in instances:
            lease = Lease(
                store,
                instance=instance,
                owner=self.owner,
                ttl_seconds=settings.bypass.lease_seconds,
            )
            handler = BypassHandler(
                store,
                settings,
                instance=instance,
                alerting=alerting,
                lease=lease,
                reporter=self.owner,
            )
            own: ListWatch | None = None
            source = (sources or {}).get(instance)
            if source is None:
                own = ListWatch(
                    clients, instance, read_timeout=settings.bypass.read_timeout_seconds
                )
                source = own
            source.add_handler(handler)
            self.parts.append(_Part(instance, source, lease, handler, own))

    def start(self, stop: threading.Event) -> list[threading.Thread]:
        """Start the threads; they end when ``stop`` is set (the lease is then released)."""
        threads: list[threading.Thread] = []
        for part in self.parts:
            runs: list[tuple[str, Callable[[], None]]] = [
                ("lease", functools.partial(self._lease_loop, part, stop))
            ]
            if part.own_watch is not None:
                runs.append(("watch", functools.partial(part.own_watch.run, stop)))
            for kind, target in runs:
                thread = threading.Thread(
                    target=target, name=f"belay-bypass-{kind}-{part.instance}", daemon=True
                )
                thread.start()
                threads.append(thread)
        return threads

    def _lease_loop(self, part: _Part, stop: threading.Event) -> None:
        interval = part.lease.ttl.total_seconds() / 3
        pending = False
        while not stop.is_set():
            had = part.lease.held()
            if part.lease.renew() and (pending or not had):
                if not had:
                    _log.info("bypass.lease_taken", instance=part.instance, owner=self.owner)
                try:
                    part.handler.resync()
                    pending = False
                except Exception:  # noqa: BLE001 - tried again at the next renewal
                    pending = True
                    _log.exception("bypass.resync_failed", instance=part.instance)
            stop.wait(interval)
        part.lease.release()


def start_bypass_watch(
    store: Store,
    settings: BelaySettings,
    clients: Callable[[str], ArgoCDClient],
    *,
    alerting: Alerting | None,
    stop: threading.Event,
    sources: Mapping[str, ApplicationEvents] | None = None,
) -> list[threading.Thread]:
    """Start the bypass watch when ``bypass.enabled`` and some project maps an application.

    ``sources`` (instance name → event source, e.g. the shared informers) replaces the watch's
    own list+watch for those instances.
    """
    if not settings.bypass.enabled or not any(p.argocd for p in settings.projects):
        return []
    watch = BypassWatch(store, settings, clients, alerting=alerting, sources=sources)
    return watch.start(stop)
