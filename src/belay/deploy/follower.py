"""Follows every deployment whose sync was sent, with no thread and no connection of its own.

A worker runs the sync step and hands the job to the process's :class:`Follower`
(:meth:`Follower.adopt`): the job's lease passes to the follower in the store, and the job is
then only a row plus a small entry here. Each Argo CD instance has one shared
:class:`~belay.argocd.informer.ApplicationInformer`; its events mark applications as changed, and
the follower's one thread runs the follow step's pure decision
(:func:`belay.deploy.follow_step.observe`) for the jobs of each changed application, then writes
every note and every outcome of that round in one transaction.

The same thread checks deadlines (a job past ``timeout_seconds`` ends ``timed_out``, its
operation terminated when the spec asks) and renews the leases of all followed jobs in one
statement. On shutdown the jobs are given back to the queue. After a crash their leases expire;
a worker claims each again, its sync step finds our marker (no second sync) and hands it to the
new process's follower, whose informer starts from a fresh list.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from belay.argocd import Application, ApplicationInformer, ArgoCDClient, WatchEvent
from belay.config import WorkerSettings
from belay.deploy.follow_step import observe
from belay.deploy.job_run import announce, job_event, timed_out
from belay.deploy.outcome import DeployOutcome
from belay.deploy.spec import SyncSpec
from belay.logs import get_logger
from belay.store import JobRecord, NewAuditEvent, Store, UnitOfWork
from belay.vocab import AuditKind, JobState

__all__ = ["Follower", "InformerSource"]

InformerSource = Callable[[str], ApplicationInformer]
"""Gives the (started) informer of an Argo CD instance, the same one for each call."""

OutcomeHook = Callable[[JobRecord, DeployOutcome], object]

NOTES_SECONDS = 1.0
"""How long the notes of a pending job (operation started, Argo CD retrying) may wait to be
written when no outcome is written meanwhile."""

_log = get_logger("belay.deploy")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Followed:
    job: JobRecord
    spec: SyncSpec
    deadline: float
    """``time.monotonic()`` value after which the job times out."""
    recorded: set[str] = field(default_factory=set)
    unwritten: list[NewAuditEvent] = field(default_factory=list)
    adopted: float = field(default_factory=time.monotonic)
    """When the follower took the job (a renewal that began earlier cannot have seen it)."""


@dataclass
class _Ending:
    entry: _Followed
    outcome: DeployOutcome
    notes: list[NewAuditEvent]


class Follower:
    """Follows handed-over jobs to their outcome on one thread, driven by informer events."""

    def __init__(
        self,
        store: Store,
        informers: InformerSource,
        *,
        settings: WorkerSettings | None = None,
        clients: Callable[[str], Any] | None = None,
        clock: Callable[[], datetime] = _utcnow,
        on_outcome: OutcomeHook | None = None,
        tick_seconds: float = 0.5,
    ) -> None:
        self.store = store
        self.informers = informers
        self.settings = settings or WorkerSettings()
        self.clients = clients
        """Instance name → client context manager, to terminate an operation on timeout."""
        self.clock = clock
        self.on_outcome = on_outcome
        self.tick_seconds = tick_seconds
        self.follower_id = f"{socket.gethostname()}:{os.getpid()}:follower:{id(self):x}"
        self._cond = threading.Condition()
        self._jobs: dict[str, _Followed] = {}
        self._by_app: dict[tuple[str, str], set[str]] = {}
        self._changed: dict[tuple[str, str, str], Application] = {}
        self._attached: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_renewal = time.monotonic()
        self._last_notes = time.monotonic()
        self.finished = 0

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.settings.lease_seconds)

    def following(self) -> int:
        """How many jobs are followed now."""
        with self._cond:
            return len(self._jobs)

    # -- taking jobs over -----------------------------------------------------------------------

    def adopt(
        self,
        job: JobRecord,
        *,
        worker_id: str,
        deadline: float,
        recorded: set[str],
        unwritten: list[NewAuditEvent],
    ) -> bool:
        """Take over ``job`` (its sync sent or found) from ``worker_id``: the lease passes to the
        follower and the notes not yet written are written with it. ``False`` if the job was
        not ``worker_id``'s any more."""
        now = self.clock()
        events = list(unwritten)

        def hand_over(uow: UnitOfWork) -> bool:
            ours = uow.follows.hand_over(
                job.id, from_owner=worker_id, to_owner=self.follower_id, lease=self.lease, now=now
            )
            if ours and events:
                uow.audit.extend(events, now=now)
            return ours

        if not self.store.group_commit(hand_over):
            return False
        informer = self._attach(job.instance)
        entry = _Followed(
            job=job,
            spec=SyncSpec.model_validate(job.spec),
            deadline=deadline,
            recorded=set(recorded),
        )
        with self._cond:
            self._jobs[job.id] = entry
            self._by_app.setdefault((job.instance, job.application), set()).add(job.id)
            # Events from now on reach _on_event; what came before is in the informer's cache
            # (it is updated before handlers run), so nothing falls between the two.
            cached = informer.get(job.application, job.app_namespace or "")
            if cached is not None:
                self._note_change(job.instance, cached)
            self._cond.notify()
        _log.info("deploy.following", job_id=job.id, application=job.application)
        return True

    def _attach(self, instance: str) -> ApplicationInformer:
        informer = self.informers(instance)

        def handler(event: WatchEvent, *, from_list: bool = False) -> None:
            self._on_event(instance, event)

        # Under the lock (taken before the informer's, as everywhere), so that no job of this
        # instance is registered before the handler that tells it the news.
        with self._cond:
            if instance not in self._attached:
                self._attached.add(instance)
                informer.add_handler(handler)
        return informer

    def _on_event(self, instance: str, event: WatchEvent) -> None:
        """Informer handler: remember the latest copy of a followed application (quick)."""
        app = event.application
        if event.type == "DELETED":
            return  # a deleted application never reports an outcome; the deadline will
        with self._cond:
            if (instance, app.metadata.name) in self._by_app:
                self._note_change(instance, app)
                self._cond.notify()

    def _note_change(self, instance: str, app: Application) -> None:
        key = (instance, app.metadata.namespace, app.metadata.name)
        known = self._changed.get(key)
        if known is None or _version(app) >= _version(known):
            self._changed[key] = app

    # -- the follower's thread ------------------------------------------------------------------

    def start(self) -> threading.Thread:
        """Run :meth:`run` on a daemon thread; returned so that callers can join it."""
        self._thread = threading.Thread(target=self.run, name="belay-follower", daemon=True)
        self._thread.start()
        return self._thread

    def run(self, stop: threading.Event | None = None) -> None:
        """Decide on changes, deadlines and leases until ``stop``; then give the jobs back."""
        stop = stop or self._stop
        self._stop = stop
        try:
            while not stop.is_set():
                with self._cond:
                    if not self._changed:
                        self._cond.wait(self.tick_seconds)
                    changed = self._changed
                    self._changed = {}
                try:
                    self.round(changed)
                except Exception:  # noqa: BLE001 - the follower must outlive a store hiccup
                    _log.exception("deploy.follower_error")
                    with self._cond:  # decide on them again next round
                        for key, app in changed.items():
                            self._changed.setdefault(key, app)
                    stop.wait(self.tick_seconds)
        finally:
            self.release_all()

    def stop(self) -> None:
        """Ask the thread to stop (it gives the followed jobs back to the queue)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()

    def round(self, changed: dict[tuple[str, str, str], Application]) -> None:
        """One pass: decide on the changed applications and on deadlines, write, renew."""
        endings: list[_Ending] = []
        notes: dict[str, list[NewAuditEvent]] = {}
        now_mono = time.monotonic()
        with self._cond:
            for (instance, namespace, name), app in changed.items():
                for job_id in sorted(self._by_app.get((instance, name), ())):
                    entry = self._jobs[job_id]
                    wanted_ns = entry.job.app_namespace
                    if wanted_ns and namespace and namespace != wanted_ns:
                        continue
                    seen = observe(app, marker=job_id, spec=entry.spec, recorded=entry.recorded)
                    events = [job_event(entry.job, n.kind, n.data) for n in seen.notes]
                    entry.recorded.update(n.once for n in seen.notes)
                    entry.unwritten.extend(events)
                    if seen.outcome is not None:
                        self._forget(entry)
                        endings.append(_Ending(entry, seen.outcome, entry.unwritten))
            late = [e for e in self._jobs.values() if e.deadline <= now_mono]
            for entry in late:
                self._forget(entry)
            # Notes of jobs still pending ride along with outcomes, or go at most every
            # NOTES_SECONDS: one commit per observation made the writes, not the decisions, the
            # follower's cost when hundreds of operations start at once.
            if endings or now_mono - self._last_notes >= NOTES_SECONDS:
                self._last_notes = now_mono
                notes = {
                    job_id: list(entry.unwritten)
                    for job_id, entry in self._jobs.items()
                    if entry.unwritten
                }
        for entry in late:
            endings.append(_Ending(entry, self._timed_out(entry), entry.unwritten))
        if endings or notes:
            decided = time.monotonic()
            self._write(endings, notes)
            _log.debug(
                "deploy.follow_round",
                changed=len(changed),
                ended=len(endings),
                noted=len(notes),
                decide_ms=round((decided - now_mono) * 1000, 1),
                write_ms=round((time.monotonic() - decided) * 1000, 1),
            )
        if now_mono - self._last_renewal >= self.settings.lease_seconds / 3:
            self._renew()

    def _forget(self, entry: _Followed) -> None:
        """Stop following (called with the lock held)."""
        self._jobs.pop(entry.job.id, None)
        key = (entry.job.instance, entry.job.application)
        ids = self._by_app.get(key)
        if ids is not None:
            ids.discard(entry.job.id)
            if not ids:
                del self._by_app[key]

    def _timed_out(self, entry: _Followed) -> DeployOutcome:
        job = entry.job
        scope = {"project": job.argocd_project, "app_namespace": job.app_namespace}
        if not (entry.spec.terminate_on_timeout and self.clients is not None):
            return timed_out(entry.spec, None, job.application, scope)
        try:
            with self.clients(job.instance) as client:
                assert isinstance(client, ArgoCDClient)
                return timed_out(entry.spec, client, job.application, scope)
        except Exception as err:  # noqa: BLE001 - the timeout is recorded even so
            outcome = timed_out(entry.spec, None, job.application, scope)
            return outcome.model_copy(
                update={"reason": f"{outcome.reason}; terminating the operation failed: {err}"}
            )

    def _write(self, endings: list[_Ending], notes: dict[str, list[NewAuditEvent]]) -> None:
        now = self.clock()

        def write(uow: UnitOfWork) -> list[bool]:
            for events in notes.values():
                uow.audit.extend(events, now=now)
            results = []
            for ending in endings:
                job, outcome = ending.entry.job, ending.outcome
                ours = uow.follows.finish(
                    job.id,
                    owner=self.follower_id,
                    state=outcome.state,
                    now=now,
                    outcome=outcome.as_record(),
                    error=None if outcome.state == JobState.succeeded else outcome.reason,
                )
                if ours:
                    final = job_event(job, outcome.event_kind, outcome.as_record())
                    uow.audit.extend([*ending.notes, final], now=now)
                results.append(ours)
            return results

        try:
            results = self.store.group_commit(write)
        except Exception:
            with self._cond:  # follow them again; the notes are written next time
                for ending in endings:
                    entry = ending.entry
                    self._jobs[entry.job.id] = entry
                    key = (entry.job.instance, entry.job.application)
                    self._by_app.setdefault(key, set()).add(entry.job.id)
            raise
        with self._cond:
            for job_id, events in notes.items():
                followed = self._jobs.get(job_id)
                if followed is not None:
                    del followed.unwritten[: len(events)]
        for ending, ours in zip(endings, results, strict=True):
            self._report(ending, ours)

    def _report(self, ending: _Ending, ours: bool) -> None:
        job, outcome = ending.entry.job, ending.outcome
        if not ours:
            _log.warning("deploy.lease_lost", job_id=job.id, application=job.application)
            return
        self.finished += 1
        announce(job, outcome, self.on_outcome)

    def _renew(self) -> None:
        began = time.monotonic()
        now = self.clock()
        held = self.store.group_commit(
            lambda uow: uow.follows.renew_all(owner=self.follower_id, lease=self.lease, now=now)
        )
        self._last_renewal = time.monotonic()
        with self._cond:
            lost = [
                e for job_id, e in self._jobs.items() if job_id not in held and e.adopted < began
            ]
            for entry in lost:
                self._forget(entry)
        for entry in lost:
            _log.warning(
                "deploy.lease_lost", job_id=entry.job.id, application=entry.job.application
            )

    def release_all(self) -> None:
        """Give every followed job back to the queue (shutdown), with the notes not yet written."""
        with self._cond:
            entries = list(self._jobs.values())
            self._jobs.clear()
            self._by_app.clear()
        if not entries:
            return
        now = self.clock()

        def release(uow: UnitOfWork) -> None:
            for entry in entries:
                job = entry.job
                if uow.jobs.release(job.id, worker_id=self.follower_id, not_before=now, now=now):
                    released = job_event(
                        job, AuditKind.deployment_released, {"reason": "worker shutting down"}
                    )
                    uow.audit.extend([*entry.unwritten, released], now=now)

        try:
            self.store.group_commit(release)
        except Exception:  # noqa: BLE001 - the leases expire instead
            _log.exception("deploy.release_failed", jobs=len(entries))
            return
        _log.info("deploy.released", jobs=len(entries))


def _version(app: Application) -> int:
    value = app.metadata.resource_version
    return int(value) if value.isdigit() else -1
