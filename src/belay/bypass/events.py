"""Where the bypass watch gets application events: a tiny protocol and a minimal list+watch loop.

:class:`ApplicationEvents` is all the handler needs: something that calls its handlers with each
:class:`~belay.argocd.WatchEvent`, including one ``ADDED`` event per application after every
(re-)list. The shared per-instance informer (``belay.argocd.informer.ApplicationInformer``)
offers exactly that, and ``belay serve`` feeds the watch from it
(:meth:`belay.argocd.informer.InformerRegistry.events`). :class:`ListWatch` serves a caller that
gives no event source (``bypass.read_timeout_seconds`` applies to it only): list, then watch
without a ``resourceVersion`` (so a version can never be "too old"), and after any break (a cut
stream, a stream error, a quiet stream past ``read_timeout``, Argo CD down) wait a bounded,
jittered backoff and list again. A change made while the stream was down is in the next list,
and Argo CD keeps each application's history, so no deployment falls between two streams.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from belay.argocd import ArgoCDClient, ArgoCDError, EventHandler, WatchEvent
from belay.logs import get_logger
from belay.retry import RetryPolicy, backoff_delay

__all__ = ["ApplicationEvents", "EventHandler", "ListWatch"]

# The shared informer's handler shape (``handler(event, from_list=...)``), so the bypass watch
# attaches to belay.argocd.informer.ApplicationInformer as well as to a ListWatch of its own.
# Called on the source's thread; an exception is logged and the next event is delivered.

DEFAULT_READ_TIMEOUT = 30.0
"""A stream quiet this long is re-opened (with a fresh list): Argo CD sends nothing on an idle
stream, and a half-open connection must not hide changes for the client's default 300 s."""

_log = get_logger("belay.bypass")


class ApplicationEvents(Protocol):
    """A source of application events for one Argo CD instance."""

    def add_handler(self, handler: EventHandler) -> None:
        """Call ``handler`` with every event from now on."""
        ...


class ListWatch:
    """List, then watch, again after every break: the minimal :class:`ApplicationEvents`."""

    def __init__(
        self,
        clients: Callable[[str], ArgoCDClient],
        instance: str,
        *,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.clients = clients
        self.instance = instance
        self.read_timeout = read_timeout
        self.policy = policy or RetryPolicy(base_seconds=0.2, max_seconds=10.0, attempts=None)
        self._handlers: list[EventHandler] = []
        self.lists = 0
        """How many times it listed (tests read it)."""

    def add_handler(self, handler: EventHandler) -> None:
        """Call ``handler`` with every event from now on."""
        self._handlers.append(handler)

    def _deliver(self, event: WatchEvent, *, from_list: bool = False) -> None:
        for handler in self._handlers:
            try:
                handler(event, from_list=from_list)
            except Exception:  # noqa: BLE001 - one bad event must not stop the watch
                _log.exception(
                    "bypass.handler_failed",
                    instance=self.instance,
                    application=event.application.name,
                )

    def run(self, stop: threading.Event) -> None:
        """Deliver events until ``stop`` is set (checked between events and during backoff)."""
        failures = 0
        while not stop.is_set():
            try:
                with self.clients(self.instance) as client:
                    for app in client.list_applications():
                        self._deliver(WatchEvent(type="ADDED", application=app), from_list=True)
                    self.lists += 1
                    failures = 0
                    stream = client.watch_applications(read_timeout=self.read_timeout)
                    try:
                        for event in stream:
                            if stop.is_set():
                                return
                            self._deliver(event)
                    finally:
                        close = getattr(stream, "close", None)
                        if close is not None:
                            close()
            except ArgoCDError as err:
                failures += 1
                _log.info(
                    "bypass.watch_restart",
                    instance=self.instance,
                    error=type(err).__name__,
                    detail=str(err)[:200],
                )
            except Exception:  # noqa: BLE001 - the watch must outlive anything unexpected
                failures += 1
                _log.exception("bypass.watch_failed", instance=self.instance)
            # A stream the server ended (or a quiet one) is re-opened at once; failures back off.
            stop.wait(backoff_delay(self.policy, failures) if failures else 0.05)
