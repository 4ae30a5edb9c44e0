"""One list-and-watch of an Argo CD instance's applications, shared by everyone who follows them.

An :class:`ApplicationInformer` keeps one watch connection per instance (``GET
/api/v1/stream/applications``) instead of one per deployment, in the manner of a Kubernetes
informer:

* **list, then watch from the list's version**: ``GET /api/v1/applications`` gives every
  application and ``metadata.resourceVersion``; the watch resumes from that version, so nothing
  that changes between the two is missed (Argo CD skips events older than the version given);
* **resume** after a cut stream or a quiet read timeout from the last version seen, with
  exponential backoff and jitter (:mod:`belay.retry`) while the server stays unreachable;
* **re-list** when the server says the version is too old (HTTP 410 / "too old", as a
  Kubernetes API server or a proxy in front of Argo CD answers), after an error that resuming
  cannot fix, and every ``relist_seconds`` (periodic resync: a missed event, or a restarted
  server whose versions started again from zero, cannot stay unseen for longer);
* after each (re-)list every application is delivered as an ``ADDED`` event with
  ``from_list=True``, so handlers can reconcile what they hold with a fresh view.

Handlers are called on the informer's thread, in order, with ``(event, from_list)``; they must be
quick and must not block. An exception from a handler is logged and swallowed: one bad handler
must not stop the watch for the others. The latest copy of each application is kept
(:meth:`get`), so a handler registered late, or a caller, can read it without a request.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from belay.argocd.client import ArgoCDClient
from belay.argocd.errors import ArgoCDAuthError, ArgoCDError
from belay.argocd.models import Application, WatchEvent
from belay.logs import get_logger
from belay.retry import RetryPolicy, retry_delay

__all__ = [
    "DEFAULT_RELIST_SECONDS",
    "DEFAULT_WATCH_READ_SECONDS",
    "ApplicationInformer",
    "EventHandler",
    "InformerRegistry",
    "InstanceEvents",
    "version_too_old",
]

DEFAULT_RELIST_SECONDS = 300.0
"""How long one watch connection is kept before a full re-list (the periodic resync)."""

DEFAULT_WATCH_READ_SECONDS = 30.0
"""How long a quiet watch waits for its next line before it is resumed on a new connection (the
newline-delimited stream has no keepalive, so this is also how a dead connection is noticed)."""

_log = get_logger("belay.argocd.informer")


class EventHandler(Protocol):
    """Receives each event; ``from_list`` is True for the ``ADDED`` events of a (re-)list."""

    def __call__(self, event: WatchEvent, *, from_list: bool) -> None: ...


ClientSource = Callable[[], AbstractContextManager[ArgoCDClient]]
"""Gives a (new) client for the instance; the informer closes it when it reconnects or stops."""


def version_too_old(err: ArgoCDError) -> bool:
    """True when a watch was refused because the version to resume from expired."""
    text = f"{err.server_message or ''} {err}".lower()
    return err.status_code == 410 or "too old" in text or "expired" in text


def _version(app: Application) -> int:
    value = app.metadata.resource_version
    return int(value) if value.isdigit() else -1


def _key(app: Application) -> tuple[str, str]:
    return (app.metadata.namespace, app.metadata.name)


class ApplicationInformer:
    """List-and-watch of one instance's applications, delivered to registered handlers."""

    def __init__(
        self,
        instance: str,
        clients: ClientSource,
        *,
        relist_seconds: float = DEFAULT_RELIST_SECONDS,
        read_timeout: float = DEFAULT_WATCH_READ_SECONDS,
        policy: RetryPolicy | None = None,
        on_auth_error: Callable[[ArgoCDClient], bool] | None = None,
    ) -> None:
        self.instance = instance
        self._clients = clients
        self.relist_seconds = relist_seconds
        self.read_timeout = read_timeout
        self.policy = policy or RetryPolicy(base_seconds=0.5, max_seconds=30.0, attempts=None)
        self._on_auth_error = on_auth_error
        self._handlers: list[EventHandler] = []
        self._cache: dict[tuple[str, str], Application] = {}
        self._namespaces: dict[str, set[str]] = {}
        """Application name → the namespaces holding one by that name (for :meth:`get`)."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client: ArgoCDClient | None = None
        self.resource_version = ""
        """The last version seen (from a list or an event); where a resumed watch starts."""
        self.synced = threading.Event()
        """Set once the first list was delivered (the cache then holds every application)."""
        self.lists = 0
        """How many (re-)lists were done (for tests and the log)."""

    # -- registration and reading ---------------------------------------------------------------

    def add_handler(self, handler: EventHandler) -> None:
        """Deliver every later event (and every later list) to ``handler``."""
        with self._lock:
            self._handlers.append(handler)

    def remove_handler(self, handler: EventHandler) -> None:
        with self._lock:
            if handler in self._handlers:
                self._handlers.remove(handler)

    def get(self, name: str, app_namespace: str = "") -> Application | None:
        """The latest copy of an application seen, or ``None`` (namespace ``""`` matches any)."""
        with self._lock:
            if app_namespace:
                return self._cache.get((app_namespace, name))
            for namespace in sorted(self._namespaces.get(name, ())):
                return self._cache.get((namespace, name))
        return None

    # -- running ----------------------------------------------------------------------------------

    def start(self) -> ApplicationInformer:
        """Run on a daemon thread (once); returns self."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self.run, name=f"belay-informer-{self.instance}", daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 1.0) -> None:
        """Stop watching; handlers get no new delivery once this returns (one under way ends).

        The open connection is closed, which usually ends a blocked read at once; a read that
        does not end so ends at its read timeout on the (daemon) thread, so the wait for the
        thread is bounded by ``timeout``.
        """
        self._stop.set()
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):  # closing is best effort
                client.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """List and watch until :meth:`stop`; errors are retried with backoff, never raised."""
        failures = 0
        while not self._stop.is_set():
            try:
                with self._clients() as client:
                    self._client = client
                    if self._stop.is_set():
                        return
                    failures = self._watch(client, failures)
            except ArgoCDAuthError as err:
                if self._on_auth_error is not None and self._client is not None:
                    try:
                        if self._on_auth_error(self._client):
                            continue  # rotated credentials: a new client may succeed at once
                    except Exception:  # noqa: BLE001 - a broken reload is retried like the 401
                        _log.exception("informer.credentials_reload_failed", instance=self.instance)
                failures = self._failed(err, failures)
            except ArgoCDError as err:
                failures = self._failed(err, failures)
            except Exception as err:  # noqa: BLE001 - the informer must outlive any one failure
                if self._stop.is_set():
                    return
                _log.exception("informer.error", instance=self.instance)
                failures = self._failed(err, failures)
            finally:
                self._client = None

    def _failed(self, err: BaseException, failures: int) -> int:
        if self._stop.is_set():
            return failures
        delay = retry_delay(self.policy, failures, err)
        _log.warning(
            "informer.retry",
            instance=self.instance,
            error=type(err).__name__,
            detail=str(err),
            delay_seconds=round(delay, 3),
        )
        self._stop.wait(delay)
        return failures + 1

    def _watch(self, client: ArgoCDClient, failures: int) -> int:
        """Watch with ``client`` until a re-list is due, listing each time a stream opens.

        Every stream starts from the last version seen (Argo CD then leaves out what is older)
        and lists as soon as the server has accepted it: Argo CD's watch does not replay changes
        made while no stream was open, so the list is what catches up after a cut, and listing
        after the stream opened (not before) leaves no gap between the two. A stream that ends
        or is cut is resumed at once, then with backoff, listing between attempts while no
        stream opens (polling, as a fallback); a too-old version is forgotten (the next stream
        starts from scratch); every ``relist_seconds`` the stream is closed and a
        new one opened, so the cache is re-listed (the periodic resync). The clock is checked
        after each event and at each keepalive, so a quiet stream is re-listed on time too (its
        keepalives would otherwise keep it open for ever). Errors that resuming cannot fix are
        raised.
        """
        relist_at = time.monotonic() + self.relist_seconds

        def due() -> bool:
            return self._stop.is_set() or time.monotonic() >= relist_at

        while not self._stop.is_set():
            opened = False

            def on_open() -> None:
                nonlocal opened
                opened = True
                self._list(client)

            try:
                for event in client.watch_applications(
                    resource_version=self.resource_version or "0",
                    read_timeout=self.read_timeout,
                    sse=True,
                    on_open=on_open,
                    until=due,  # a quiet stream's keepalives end it when the re-list is due
                ):
                    failures = 0
                    self._apply(event)
                    if due():
                        return 0
                if due():
                    return 0
                # The server ended the stream: resume (and list) at once.
            except ArgoCDError as err:
                if self._stop.is_set():
                    return 0
                if version_too_old(err):
                    _log.info("informer.version_expired", instance=self.instance, detail=str(err))
                    with self._lock:
                        self.resource_version = ""
                    continue
                if not opened and failures:
                    self._poll(client)
                if not err.retryable:
                    raise
                if failures:  # the first cut is resumed at once; more in a row back off
                    self._stop.wait(retry_delay(self.policy, failures - 1, err))
                failures += 1
                _log.info(
                    "informer.watch_resumed",
                    instance=self.instance,
                    error=type(err).__name__,
                    version=self.resource_version,
                )
        return 0

    def _poll(self, client: ArgoCDClient) -> None:
        """A list while no stream can be opened (a proxy that refuses streams, say): followers
        then still learn of changes, at the backoff's pace, instead of not at all."""
        try:
            self._list(client)
        except ArgoCDError as err:
            _log.info("informer.poll_failed", instance=self.instance, error=type(err).__name__)

    def _list(self, client: ArgoCDClient) -> None:
        """List every application, replace the cache and deliver each as a listed ``ADDED``."""
        apps, version = client.list_applications_at()
        if not version and apps:
            version = str(max(_version(a) for a in apps))
        with self._lock:
            self._cache = {_key(app): app for app in apps}
            self._namespaces = {}
            for namespace, name in self._cache:
                self._namespaces.setdefault(name, set()).add(namespace)
            # The list's version, even when lower than ours: a restarted server counts anew.
            self.resource_version = version
            self.lists += 1
        _log.info(
            "informer.listed", instance=self.instance, applications=len(apps), version=version
        )
        for app in apps:
            self._deliver(WatchEvent(type="ADDED", application=app), from_list=True)
        self.synced.set()

    def _apply(self, event: WatchEvent) -> str:
        app = event.application
        version = _version(app)
        key = _key(app)
        with self._lock:
            known = self._cache.get(key)
            if known is not None and event.type != "DELETED" and 0 <= version <= _version(known):
                return "old"  # a resumed watch sends the last version again
            current = int(self.resource_version) if self.resource_version.isdigit() else -1
            if event.type == "DELETED":
                self._cache.pop(key, None)
                self._namespaces.get(key[1], set()).discard(key[0])
            else:
                self._cache[key] = app
                self._namespaces.setdefault(key[1], set()).add(key[0])
            if version > current:
                self.resource_version = str(version)
        self._deliver(event, from_list=False)
        return "new"

    def _deliver(self, event: WatchEvent, *, from_list: bool) -> None:
        with self._lock:
            handlers = [] if self._stop.is_set() else list(self._handlers)
        for handler in handlers:
            try:
                handler(event, from_list=from_list)
            except Exception:  # noqa: BLE001 - one bad handler must not stop the others
                _log.exception(
                    "informer.handler_failed",
                    instance=self.instance,
                    application=event.application.metadata.name,
                )


class InformerRegistry:
    """One started :class:`ApplicationInformer` per instance, made on first use; stops them all.

    ``clients`` gives a client for an instance name (e.g.
    :class:`belay.deploy.credentials.ReloadingClients`); ``reload_after_401`` (same signature as
    ``ReloadingClients.reload_after_401``) lets an informer retry at once with rotated credentials.
    """

    def __init__(
        self,
        clients: Callable[[str], AbstractContextManager[ArgoCDClient]],
        *,
        reload_after_401: Callable[[str, ArgoCDClient], bool] | None = None,
        relist_seconds: float = DEFAULT_RELIST_SECONDS,
        read_timeout: float = DEFAULT_WATCH_READ_SECONDS,
    ) -> None:
        self._clients = clients
        self._reload = reload_after_401
        self.relist_seconds = relist_seconds
        self.read_timeout = read_timeout
        self._informers: dict[str, ApplicationInformer] = {}
        self._lock = threading.Lock()

    def __call__(self, instance: str) -> ApplicationInformer:
        """The instance's informer, started."""
        return self._get(instance, None)

    def subscribe(self, instance: str, handler: EventHandler) -> ApplicationInformer:
        """Add ``handler`` to the instance's informer; when this starts it, ``handler`` gets
        the first list too (the bypass watch judges nothing it has not seen listed)."""
        return self._get(instance, handler)

    def events(self, instance: str) -> InstanceEvents:
        """The instance's events as a source with ``add_handler`` (started on first handler)."""
        return InstanceEvents(self, instance)

    def _get(self, instance: str, handler: EventHandler | None) -> ApplicationInformer:
        with self._lock:
            informer = self._informers.get(instance)
            fresh = informer is None
            if informer is None:
                reload = self._reload

                def on_auth_error(client: ArgoCDClient) -> bool:
                    return reload(instance, client) if reload is not None else False

                informer = ApplicationInformer(
                    instance,
                    lambda: self._clients(instance),
                    relist_seconds=self.relist_seconds,
                    read_timeout=self.read_timeout,
                    on_auth_error=on_auth_error,
                )
                self._informers[instance] = informer
            if handler is not None:
                informer.add_handler(handler)
            if fresh:
                informer.start()
            return informer

    def started(self) -> list[ApplicationInformer]:
        """The informers made so far."""
        with self._lock:
            return list(self._informers.values())

    def stop(self) -> None:
        """Stop every informer."""
        for informer in self.started():
            informer.stop()


@dataclass(frozen=True)
class InstanceEvents:
    """One instance's application events from a registry: ``add_handler`` subscribes."""

    registry: InformerRegistry
    instance: str

    def add_handler(self, handler: EventHandler) -> None:
        """Deliver the instance's events to ``handler`` (starting its informer if need be)."""
        self.registry.subscribe(self.instance, handler)
