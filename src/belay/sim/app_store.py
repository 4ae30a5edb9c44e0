"""The simulator's run-time state: applications, operation clocks, events, request log, faults.

One :class:`SimStore` per app. It is mutated from the server's event loop and read from test
threads (``RunningSimulator``), so every access goes through one lock and readers get deep copies.
Watchers subscribe with an asyncio queue; changes are handed to their loop thread-safely.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from belay.sim.auth import TokenIssuer
from belay.sim.lifecycle import AppEvent, Controller, OpClock, advance
from belay.sim.repos import RevisionNotFound, complete_sha, resolve_revision
from belay.sim.state import Faults, Repository, SimState
from belay.sim.wire import format_time

__all__ = ["RequestRecord", "SimStore", "WatchItem"]

LOGIN_MAX_FAILURES = 5
LOGIN_FAILURE_WINDOW = 300.0

AppKey = tuple[str, str]
WatchItem = tuple[Literal["ADDED", "MODIFIED", "DELETED"], dict[str, Any]]


@dataclass(frozen=True, eq=False)
class _Watcher:
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[WatchItem]
    keep: Callable[[dict[str, Any]], bool] | None


class RequestRecord(BaseModel):
    """One request the simulator received (the ``GET /_sim/requests`` items)."""

    model_config = ConfigDict(frozen=True)

    time: str
    method: str
    path: str
    query: dict[str, list[str]]
    account: str | None
    body: Any = None
    status: int | None = None
    fault: str | None = None


class SimStore:
    """Mutable simulator state behind a lock."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self.lock = threading.RLock()
        self.issuer = TokenIssuer(state.accounts, state.session_duration_seconds)
        self._apps: dict[AppKey, dict[str, Any]] = {}
        self._clocks: dict[AppKey, OpClock] = {}
        self._events: dict[AppKey, list[dict[str, Any]]] = {}
        self._requests: list[dict[str, Any]] = []
        self._login_failures: dict[str, tuple[int, float]] = {}
        self._watchers: set[_Watcher] = set()
        self._rv = 1
        self.controller_loops: set[int] = set()
        for raw in state.applications:
            app = copy.deepcopy(raw)
            rv = str((app.get("metadata") or {}).get("resourceVersion", ""))
            if rv.isdigit():
                self._rv = max(self._rv, int(rv) + 1)
            self._apps[self._key(app)] = app
        for app in self._apps.values():
            app["metadata"].setdefault("resourceVersion", self._next_rv())
        for name, items in state.events.items():
            for key in self._apps:
                if key[0] == name:
                    self._events[key] = copy.deepcopy(items)
        self.faults = state.faults
        self.repo_errors_left = state.faults.repo_errors
        self.rng = random.Random(state.faults.seed)

    # -- applications -------------------------------------------------------------------------

    def _key(self, app: dict[str, Any]) -> AppKey:
        meta = app["metadata"]
        return (meta["name"], meta.get("namespace") or self.state.namespace)

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    @property
    def resource_version(self) -> str:
        """The latest resourceVersion handed out (the List ``metadata.resourceVersion``)."""
        with self.lock:
            return str(self._rv)

    def find(self, name: str, namespace: str | None) -> dict[str, Any] | None:
        """A deep copy of the app ``name`` in ``namespace`` (the control plane's when not given).

        As ``appNamespaceOrDefault`` on the real server: without a namespace only the
        control-plane namespace is looked in.
        """
        with self.lock:
            app = self._apps.get((name, namespace or self.state.namespace))
            return copy.deepcopy(app) if app is not None else None

    def find_anywhere(self, name: str) -> dict[str, Any] | None:
        """The first app called ``name`` in any namespace (for the ``/_sim/`` surface)."""
        with self.lock:
            for (app_name, _ns), app in sorted(self._apps.items()):
                if app_name == name:
                    return copy.deepcopy(app)
            return None

    def applications(
        self, keep: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """Deep copies of every app (that ``keep`` accepts), sorted by name."""
        with self.lock:
            return [
                copy.deepcopy(self._apps[k])
                for k in sorted(self._apps)
                if keep is None or keep(self._apps[k])
            ]

    def put(self, app: dict[str, Any], *, clock: OpClock | Literal["keep"] | None = "keep") -> None:
        """Store a changed app with a new resourceVersion and tell the watchers."""
        with self.lock:
            app = copy.deepcopy(app)
            app["metadata"]["resourceVersion"] = self._next_rv()
            key = self._key(app)
            self._apps[key] = app
            if clock != "keep":
                if clock is None:
                    self._clocks.pop(key, None)
                else:
                    self._clocks[key] = clock
            self._notify(("MODIFIED", app))

    def is_control_plane(self, app: dict[str, Any]) -> bool:
        """Whether the app lives in the control-plane namespace."""
        return self._key(app)[1] == self.state.namespace

    # -- controller ---------------------------------------------------------------------------

    def tick(self, now: float) -> int:
        """Advance every app whose transition is due; returns how many changed."""
        changed = 0
        with self.lock:
            for key in sorted(self._apps):
                app = self._apps[key]
                clock = self._clocks.get(key)
                if clock is None and app.get("operation") is None:
                    continue
                step = advance(app, clock, self.state.behavior(key[0]), now, self._controller(app))
                if step.clock is None:
                    self._clocks.pop(key, None)
                else:
                    self._clocks[key] = step.clock
                if step.changed:
                    changed += 1
                    self.put(step.app)
                    for event in step.events:
                        self.record_event(key[0], key[1], event, now)
        return changed

    def _controller(self, app: dict[str, Any]) -> Controller:
        repos = self.state.repositories
        source = (app.get("spec") or {}).get("source") or {}
        repo_url = str(source.get("repoURL") or "")
        target = str(source.get("targetRevision") or "")

        def latest() -> str | None:
            try:
                return resolve_revision(repos, repo_url, target).revision
            except RevisionNotFound:
                return None

        return Controller(
            time_scale=self.state.time_scale,
            complete=lambda revision: complete_sha(repos, repo_url, revision),
            latest=latest,
        )

    def push(self, repo_url: str, ref: str, revision: str) -> list[str]:
        """A git push: ``ref`` of ``repo_url`` now points at ``revision``.

        Every auto-sync application whose source tracks that ref (``targetRevision``, empty
        meaning ``HEAD``) and runs no operation gets the operation Argo CD's controller starts
        when it sees the target move: a sync to ``revision`` initiated by ``automated: true``.
        Returns the names of the applications so synced.
        """
        with self.lock:
            repos = dict(self.state.repositories)
            old = repos.get(repo_url) or Repository()
            commits = tuple(dict.fromkeys((*old.commits, revision)))
            repos[repo_url] = Repository(refs={**old.refs, ref: revision}, commits=commits)
            self.state = self.state.model_copy(update={"repositories": repos})
            synced: list[str] = []
            for key in sorted(self._apps):
                app = self._apps[key]
                spec = app.get("spec") or {}
                source = spec.get("source") or {}
                policy = spec.get("syncPolicy") or {}
                automated = policy.get("automated")
                if automated is None or automated.get("enabled", True) is False:
                    continue
                target = str(source.get("targetRevision") or "") or "HEAD"
                tracked = target.removeprefix("refs/heads/").removeprefix("refs/tags/")
                if str(source.get("repoURL") or "") != repo_url or tracked != ref:
                    continue
                if app.get("operation") is not None:
                    continue
                sync_op: dict[str, Any] = {"revision": revision, "source": copy.deepcopy(source)}
                if automated.get("prune"):
                    sync_op["prune"] = True
                if policy.get("syncOptions"):
                    sync_op["syncOptions"] = list(policy["syncOptions"])
                new = copy.deepcopy(app)
                new["operation"] = {
                    "sync": sync_op,
                    "initiatedBy": {"automated": True},
                    "retry": copy.deepcopy(policy.get("retry") or {}),
                }
                new.setdefault("status", {}).pop("operationState", None)
                self.put(new, clock=None)
                synced.append(key[0])
            return synced

    def take_repo_error(self) -> bool:
        """Whether this sync meets a simulated repo-server failure (``repoErrors`` counts down)."""
        with self.lock:
            if self.repo_errors_left > 0:
                self.repo_errors_left -= 1
                return True
        return self.roll(self.faults.repo_error_rate)

    def record_event(self, name: str, namespace: str, event: AppEvent, now: float) -> None:
        """Append a Kubernetes Event about the app (served by ``.../events``)."""
        with self.lock:
            key = (name, namespace)
            app = self._apps.get(key, {})
            meta = app.get("metadata") or {}
            stamp = format_time(now)
            self._events.setdefault(key, []).append(
                {
                    "metadata": {
                        "name": f"{name}.{uuid.uuid4().hex[:16]}",
                        "namespace": namespace,
                        "uid": str(uuid.uuid4()),
                        "resourceVersion": self._next_rv(),
                        "creationTimestamp": stamp,
                    },
                    "involvedObject": {
                        "kind": "Application",
                        "namespace": namespace,
                        "name": name,
                        "uid": meta.get("uid", ""),
                        "apiVersion": "argoproj.io/v1alpha1",
                        "resourceVersion": meta.get("resourceVersion", ""),
                    },
                    "reason": event.reason,
                    "message": event.message,
                    "source": {"component": event.component},
                    "firstTimestamp": stamp,
                    "lastTimestamp": stamp,
                    "count": 1,
                    "type": event.type,
                    "eventTime": None,
                    "reportingComponent": "",
                    "reportingInstance": "",
                }
            )

    def events(self, name: str, namespace: str) -> list[dict[str, Any]]:
        """The app's events, oldest first."""
        with self.lock:
            return copy.deepcopy(self._events.get((name, namespace), []))

    # -- watchers -----------------------------------------------------------------------------

    @contextmanager
    def subscribe(
        self, keep: Callable[[dict[str, Any]], bool] | None = None
    ) -> Iterator[asyncio.Queue[WatchItem]]:
        """A queue receiving every app change (that ``keep`` accepts) while the block lasts."""
        queue: asyncio.Queue[WatchItem] = asyncio.Queue()
        entry = _Watcher(asyncio.get_running_loop(), queue, keep)
        with self.lock:
            self._watchers.add(entry)
        try:
            yield queue
        finally:
            with self.lock:
                self._watchers.discard(entry)

    def _notify(self, item: WatchItem) -> None:
        # One copy per change, shared by the watchers: they only read it. Filtering here spares
        # waking every stream for changes of applications it does not watch.
        shared: WatchItem | None = None
        for watcher in list(self._watchers):
            if watcher.loop.is_closed() or (watcher.keep is not None and not watcher.keep(item[1])):
                continue
            if shared is None:
                shared = (item[0], copy.deepcopy(item[1]))
            watcher.loop.call_soon_threadsafe(watcher.queue.put_nowait, shared)

    # -- request log --------------------------------------------------------------------------

    def log_request(self, record: dict[str, Any]) -> int:
        """Append a request record; returns its index (to fill in the status later)."""
        with self.lock:
            record.setdefault("time", dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"))
            self._requests.append(record)
            return len(self._requests) - 1

    def update_request(self, index: int, **changes: Any) -> None:
        """Fill in ``status`` or ``fault`` of a logged request."""
        with self.lock:
            if 0 <= index < len(self._requests):
                self._requests[index].update(changes)

    def requests(self) -> list[RequestRecord]:
        """The request log, in arrival order."""
        with self.lock:
            return [RequestRecord.model_validate(r) for r in self._requests]

    def reset(self) -> None:
        """Clear the request log and the login-failure counters."""
        with self.lock:
            self._requests.clear()
            self._login_failures.clear()

    # -- faults and logins --------------------------------------------------------------------

    def set_faults(self, faults: Faults) -> None:
        """Replace the faults (and reseed the randomness when a seed is given)."""
        with self.lock:
            self.faults = faults
            self.repo_errors_left = faults.repo_errors
            if faults.seed is not None:
                self.rng = random.Random(faults.seed)

    def roll(self, rate: float) -> bool:
        """A seeded coin flip with probability ``rate``."""
        if rate <= 0:
            return False
        with self.lock:
            return self.rng.random() < rate

    def choose(self, options: tuple[int, ...]) -> int:
        """A seeded choice."""
        with self.lock:
            return self.rng.choice(options)

    def login_locked(self, username: str, now: float) -> bool:
        """``exceededFailedLoginAttempts``: 5 failures, the last one within the last 300 s."""
        with self.lock:
            count, last = self._login_failures.get(username, (0, 0.0))
            return count >= LOGIN_MAX_FAILURES and now - last <= LOGIN_FAILURE_WINDOW

    def login_failed(self, username: str, now: float) -> None:
        """``updateFailureCount``: entries whose last failure is over 300 s old expire first."""
        with self.lock:
            for name, (_count, last) in list(self._login_failures.items()):
                if now - last > LOGIN_FAILURE_WINDOW:
                    del self._login_failures[name]
            count, _last = self._login_failures.get(username, (0, 0.0))
            self._login_failures[username] = (count + 1, now)

    def login_succeeded(self, username: str) -> None:
        """A successful login clears the user's failures, as Argo CD does."""
        with self.lock:
            self._login_failures.pop(username, None)
