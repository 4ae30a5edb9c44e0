"""The deployment worker: takes jobs from the store's queue and runs them as steps.

A claimed job is checked (its decision's signature), then runs two steps, one module each:

1. **sync** (:mod:`belay.deploy.sync_step`): send our tagged sync once, or find it already sent;
2. **follow** (:mod:`belay.deploy.follow_step`): observe the application until the assessment is
   DEPLOYED or FAILED, or the job's deadline passes (``timed_out``).

With a :class:`~belay.deploy.follower.Follower` (``belay serve`` and ``belay worker``) the worker
runs only the sync step: it then hands the job to the follower and is free for the next job, so
a deployment waiting for its outcome holds no thread and no connection. Without one (``belay
sync``, a single worker in tests) the follow step runs here, on its own watch.

The bookkeeping of a running job (lease renewal, deadline, audit buffering, termination) is
:class:`belay.deploy.job_run.JobRun`. Credential rotation is here: when Argo CD answers 401 and
the worker was given ``reload_credentials`` (e.g.
:meth:`belay.deploy.credentials.ReloadingClients.reload_after_401`), the configuration is re-read
once; if the credentials changed, the steps run again with a new client (the marker makes the
sync step follow a sync already sent), otherwise the job fails as before. A worker that loses
its lease stops without recording. Every step is written to the audit trail and logged as one
structured event.
"""

from __future__ import annotations

import os
import random
import socket
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from belay.argocd import ArgoCDAuthError, ArgoCDClient, ArgoCDError
from belay.attest import GuardResult
from belay.config import WorkerSettings
from belay.deploy.follow_step import follow_inline
from belay.deploy.follower import Follower
from belay.deploy.job_run import (
    DeadlinePassed,
    JobRun,
    LeaseLost,
    Stopping,
    announce,
    job_event,
)
from belay.deploy.outcome import DeployOutcome
from belay.deploy.sync_step import sync_step
from belay.logs import get_logger
from belay.retry import RetryPolicy
from belay.store import JobRecord, NewAuditEvent, Store, UnitOfWork
from belay.vocab import AuditKind, JobState

__all__ = [
    "NOT_FOUND_GRACE_SECONDS",
    "ClientOpener",
    "CredentialReloader",
    "DecisionCheck",
    "DeployOutcome",
    "Doorbell",
    "Worker",
]

ClientOpener = Callable[[str], AbstractContextManager[ArgoCDClient]]
"""Gives a client for an Argo CD instance name, as a context manager (closed after the job)."""

CredentialReloader = Callable[[str, ArgoCDClient], bool]
"""Re-reads the configuration after ``client`` (of the named instance) got a 401; True when the
credentials changed, so that a new client from the factory may succeed."""

DecisionCheck = Callable[[JobRecord], GuardResult]
"""Rules on a claimed job before anything is sent (:class:`belay.attest.DecisionGuard`: is its
decision signed and unchanged?); a refusal fails the job without a sync."""

NOT_FOUND_GRACE_SECONDS = 30.0
"""How long a 404 is retried: an ApplicationSet may still be creating the application."""

_log = get_logger("belay.deploy")


class Doorbell:
    """Wakes idle workers of this process when a job is queued here (polling stays the fallback
    for jobs queued by other processes).

    Without it a new job waited for the next poll (``poll_interval_seconds``, 0.5 s by default),
    which alone broke the 100 ms decision-to-sync goal (docs/performance.md).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._rings = 0

    def ring(self) -> None:
        """A job was queued: wake one waiting worker (waking all of them for one job made
        every idle worker run a claim that all but one lost)."""
        with self._cond:
            self._rings += 1
            self._cond.notify()

    def rings(self) -> int:
        """How many times it rang (read before looking for work, passed to :meth:`wait`)."""
        return self._rings

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait up to ``timeout`` unless it rang since ``rings()`` returned ``seen``; whether it
        rang (``False``: the wait timed out)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._rings != seen, timeout)


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Worker:
    """Claims and runs deployment jobs. Thread-safe to run several in one process."""

    def __init__(
        self,
        store: Store,
        clients: ClientOpener,
        *,
        settings: WorkerSettings | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_outcome: Callable[[JobRecord, DeployOutcome], object] | None = None,
        reload_credentials: CredentialReloader | None = None,
        doorbell: Doorbell | None = None,
        idle_poll_seconds: float | None = None,
        check_decision: DecisionCheck | None = None,
        follower: Follower | None = None,
    ) -> None:
        self.store = store
        self.follower = follower
        """Takes jobs over after their sync step; ``None``: the worker follows them itself."""
        self.check_decision = check_decision
        self.doorbell = doorbell
        self.clients = clients
        self.settings = settings or WorkerSettings()
        self.idle_poll_seconds = idle_poll_seconds or self.settings.poll_interval_seconds
        """How long, on average, an idle worker waits before looking for work again when nothing
        wakes it (each wait is jittered by half of it either way)."""
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.clock = clock
        self.on_outcome = on_outcome
        self.reload_credentials = reload_credentials
        self.stop_event = threading.Event()
        self.policy = RetryPolicy(
            base_seconds=self.settings.backoff_base_seconds,
            max_seconds=self.settings.backoff_max_seconds,
            attempts=None,
        )

    def not_found_grace_seconds(self) -> float:
        """How long a job retries a 404 (:data:`NOT_FOUND_GRACE_SECONDS`, read when asked)."""
        return NOT_FOUND_GRACE_SECONDS

    @property
    def lease(self) -> timedelta:
        """How long a claim lasts without renewal."""
        return timedelta(seconds=self.settings.lease_seconds)

    def run_once(self, *, found_by_polling: bool = False) -> JobRecord | None:
        """Claim one due job and run it to its end (with a follower: to its hand-over); the
        claimed job, or ``None`` if none was due.

        ``found_by_polling``: the worker looked because its wait timed out, not because the
        doorbell rang; a job found so (queued by another process, or due again after a backoff)
        may have others behind it, so the doorbell is rung to wake one more idle worker.
        """

        def claim(uow: UnitOfWork) -> JobRecord | None:
            job = uow.jobs.claim(worker_id=self.worker_id, lease=self.lease, now=self.clock())
            if job is not None:
                uow.audit.append(
                    job_event(
                        job,
                        AuditKind.deployment_started,
                        {"attempt": job.attempts, "worker": self.worker_id},
                    ),
                    now=self.clock(),
                )
            return job

        job = self.store.group_commit(claim)
        if job is None:
            return None
        if found_by_polling and self.doorbell is not None:
            self.doorbell.ring()
        if job.attempts > self.settings.max_attempts:
            # Claimed again and again: each worker holding it died or lost its lease. Stop.
            self._finish(
                job,
                DeployOutcome(
                    state=JobState.failed,
                    reason=f"gave up after {job.attempts - 1} attempts that never finished "
                    "(workers crashed or lost their lease)",
                ),
            )
            return job
        self.process(job)
        return job

    def run(self, stop: threading.Event | None = None) -> None:
        """Run jobs until ``stop`` (or :attr:`stop_event`) is set.

        A job running at that moment is given back to the queue (its lease released and an audit
        event written) so that another worker, or this one after a restart, picks it up at once.
        """
        if stop is not None:
            self.stop_event = stop
        stop = self.stop_event
        polled = False
        while not stop.is_set():
            seen = self.doorbell.rings() if self.doorbell is not None else 0
            try:
                job = self.run_once(found_by_polling=polled)
            except Exception:  # noqa: BLE001 - a worker must outlive one bad job or store hiccup
                _log.exception("worker.loop_error", worker=self.worker_id)
                job = None
            polled = False
            if job is None:
                # Jittered, so that a pool's workers, started together, do not all look at once.
                wait = self.idle_poll_seconds * random.uniform(0.5, 1.5)
                if self.doorbell is not None:
                    polled = not self.doorbell.wait(seen, wait)
                else:
                    stop.wait(wait)

    def process(self, job: JobRecord) -> DeployOutcome | None:
        """Run a claimed job; its outcome once recorded, ``None`` if the lease was lost, the job
        given back, or handed to the follower (which records the outcome later)."""
        ruling = self.check_decision(job) if self.check_decision is not None else GuardResult()
        if ruling.refusal is not None:
            refused = DeployOutcome(
                state=JobState.failed, reason=ruling.refusal, error_class="AttestationInvalid"
            )
            self._finish(
                job, refused, [job_event(job, AuditKind.attestation_refused, refused.as_record())]
            )
            return refused
        run = JobRun(self, job)
        if ruling.keyid is not None:
            verified = {"keyid": ruling.keyid, "sha256": ruling.envelope_sha256}
            run.audit(AuditKind.attestation_verified, verified, defer=True)
        try:
            outcome = self._execute(run)
        except LeaseLost:
            _log.warning("deploy.lease_lost", job_id=job.id, application=job.application)
            return None
        except Stopping:
            self._release(job, run.deferred)
            return None
        except BaseException:
            run.flush()  # what was observed before the failure stays on record
            raise
        if outcome is None:
            return None  # followed by the follower from now on
        self._finish(job, outcome, run.deferred)
        return outcome

    def _execute(self, run: JobRun) -> DeployOutcome | None:
        """Both steps (or the sync step and the hand-over), with one credential reload."""
        job = run.job
        reloaded = False
        while True:
            try:
                with self.clients(job.instance) as client:
                    run.client = client
                    if client.base_url.startswith("http://"):
                        _log.warning("deploy.plain_http", instance=job.instance)
                        run.audit(
                            "security.plain_http",
                            {"instance": job.instance},
                            once="http",
                            defer=True,
                        )
                    try:
                        sync_step(run)
                        if self.follower is None:
                            return follow_inline(run)
                        self._hand_over(run)
                        return None
                    except DeadlinePassed:
                        return run.timed_out()  # while the client is open: it may terminate
            except DeadlinePassed:
                return run.timed_out()
            except ArgoCDAuthError as err:
                if not reloaded and self._credentials_changed(run):
                    # Rotated token: run the steps again with the new credentials, once.
                    reloaded = True
                    run.audit("credentials.reloaded", {"after": str(err)})
                    continue
                return DeployOutcome(
                    state=JobState.failed, reason=run.explain(err), error_class=type(err).__name__
                )
            except ArgoCDError as err:
                return DeployOutcome(
                    state=JobState.failed, reason=run.explain(err), error_class=type(err).__name__
                )

    def _hand_over(self, run: JobRun) -> None:
        assert self.follower is not None
        events = list(run.deferred)
        adopted = self.follower.adopt(
            run.job,
            worker_id=self.worker_id,
            deadline=run.deadline,
            recorded=run.recorded,
            unwritten=events,
        )
        if not adopted:
            raise LeaseLost
        del run.deferred[: len(events)]  # written with the hand-over

    def _credentials_changed(self, run: JobRun) -> bool:
        """After a 401: re-read the configuration (if the worker can); True if it changed."""
        reload = self.reload_credentials
        if reload is None or run.client is None:
            return False
        try:
            return reload(run.job.instance, run.client)
        except Exception:  # noqa: BLE001 - a broken configuration read fails the job as a 401
            _log.exception("deploy.credentials_reload_failed", instance=run.job.instance)
            return False

    def _release(self, job: JobRecord, observed: Sequence[NewAuditEvent] = ()) -> None:
        now = self.clock()
        released = job_event(job, AuditKind.deployment_released, {"reason": "worker shutting down"})

        def release(uow: UnitOfWork) -> None:
            if uow.jobs.release(job.id, worker_id=self.worker_id, not_before=now, now=now):
                uow.audit.extend([*observed, released], now=now)

        self.store.group_commit(release)
        _log.info("deploy.released", job_id=job.id, application=job.application)

    def _finish(
        self, job: JobRecord, outcome: DeployOutcome, observed: Sequence[NewAuditEvent] = ()
    ) -> None:
        """Record the job's end and its outcome event (after the ``observed`` events still
        unwritten), in one transaction, if the job is still ours."""
        kind = outcome.event_kind

        def finish(uow: UnitOfWork) -> bool:
            ours = uow.jobs.finish(
                job.id,
                worker_id=self.worker_id,
                state=outcome.state,
                now=self.clock(),
                outcome=outcome.as_record(),
                error=None if outcome.state == JobState.succeeded else outcome.reason,
            )
            if ours:
                final = job_event(job, kind, outcome.as_record())
                uow.audit.extend([*observed, final], now=self.clock())
            return ours

        if not self.store.group_commit(finish):
            _log.warning("deploy.lease_lost", job_id=job.id, application=job.application)
            return
        announce(job, outcome, self.on_outcome)
