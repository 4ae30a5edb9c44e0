"""The deployment worker: takes jobs from the store's queue, syncs, follows, records.

One job runs in two steps, each driven by a pure decision from :mod:`belay.deploy.decide`:

1. **sync**: read the application; SYNC (send our tagged sync), WAIT (someone else's operation
   runs: wait for it, then decide again) or FOLLOW (our sync exists already, e.g. after a crash).
   Retried: network errors, timeouts, 5xx, 429, "another operation is already in progress", a
   sync window (until it opens or the deadline), 404 for a short grace period. Not retried: 401,
   RBAC 403, auto-sync conflicts and other 4xx: the job fails with the reason.
2. **follow**: the watch stream (polling when it breaks or stays quiet) until the assessment is
   DEPLOYED or FAILED, or the job's deadline passes (``timed_out``).

Credential rotation: when Argo CD answers 401 and the worker was given ``reload_credentials``
(e.g. :meth:`belay.deploy.credentials.ReloadingClients.reload_after_401`), the configuration is
re-read once; if the credentials changed, both steps run again with a new client (the marker
makes the sync step follow a sync already sent), otherwise the job fails as before.

After any retryable error the application is read again before a sync is resent, so a sync that
reached Argo CD even though its answer was lost is found by its marker and followed, never sent
twice. The lease is renewed while a job runs; a worker that loses it stops without recording.
Every step is written to the audit trail and logged as one structured event.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from belay.argocd import (
    Application,
    ArgoCDAuthError,
    ArgoCDClient,
    ArgoCDError,
    ArgoCDNotFound,
    AutoSyncConflict,
    OperationInProgress,
    SyncWindowBlocked,
)
from belay.attest import GuardResult
from belay.config.settings import WorkerSettings
from belay.deploy.decide import Assessment, Progress, SyncAction, assess, decide_sync
from belay.deploy.spec import SyncSpec
from belay.logs import get_logger
from belay.redact import redact_text
from belay.retry import RetryPolicy, backoff_delay, retrying
from belay.store import JobRecord, NewAuditEvent, Store, UnitOfWork

__all__ = [
    "ClientFactory",
    "CredentialReloader",
    "DecisionCheck",
    "DeployOutcome",
    "Doorbell",
    "Worker",
]

ClientFactory = Callable[[str], AbstractContextManager[ArgoCDClient]]
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


class DeployOutcome(BaseModel):
    """How a job ended, stored with it and shown in the audit trail."""

    model_config = ConfigDict(frozen=True)

    state: Literal["succeeded", "failed", "timed_out"]
    reason: str
    assessment: Assessment | None = None
    error_class: str | None = None

    def as_record(self) -> dict[str, Any]:
        """The JSON stored as the job's outcome."""
        return self.model_dump(mode="json", exclude_none=True)


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


class _LeaseLost(Exception):
    """Another worker holds the job now; stop without recording anything."""


class _DeadlinePassed(Exception):
    """The job's deadline passed."""


class _Stopping(Exception):
    """The worker is shutting down: give the job back to the queue."""


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


class Worker:
    """Claims and runs deployment jobs. Thread-safe to run several in one process."""

    def __init__(
        self,
        store: Store,
        clients: ClientFactory,
        *,
        settings: WorkerSettings | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_outcome: Callable[[JobRecord, DeployOutcome], object] | None = None,
        reload_credentials: CredentialReloader | None = None,
        doorbell: Doorbell | None = None,
        idle_poll_seconds: float | None = None,
        check_decision: DecisionCheck | None = None,
    ) -> None:
        self.store = store
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

    @property
    def lease(self) -> timedelta:
        """How long a claim lasts without renewal."""
        return timedelta(seconds=self.settings.lease_seconds)

    def run_once(self, *, found_by_polling: bool = False) -> JobRecord | None:
        """Claim one due job and run it to its end; the claimed job, or ``None`` if none was due.

        ``found_by_polling``: the worker looked because its wait timed out, not because the
        doorbell rang; a job found so (queued by another process, or due again after a backoff)
        may have others behind it, so the doorbell is rung to wake one more idle worker.
        """

        def claim(uow: UnitOfWork) -> JobRecord | None:
            job = uow.jobs.claim(worker_id=self.worker_id, lease=self.lease, now=self.clock())
            if job is not None:
                uow.audit.append(
                    _event(
                        job,
                        "deployment.started",
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
                    state="failed",
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
        """Run a claimed job and record its outcome; ``None`` if the lease was lost meanwhile."""
        ruling = self.check_decision(job) if self.check_decision is not None else GuardResult()
        if ruling.refusal is not None:
            refused = DeployOutcome(
                state="failed", reason=ruling.refusal, error_class="AttestationInvalid"
            )
            self._finish(job, refused, [_event(job, "attestation.refused", refused.as_record())])
            return refused
        run = _JobRun(self, job)
        if ruling.keyid is not None:
            verified = {"keyid": ruling.keyid, "sha256": ruling.envelope_sha256}
            run.audit("attestation.verified", verified, defer=True)
        try:
            outcome = run.execute()
        except _LeaseLost:
            _log.warning("deploy.lease_lost", job_id=job.id, application=job.application)
            return None
        except _Stopping:
            self._release(job, run.deferred)
            return None
        except BaseException:
            run.flush()  # what was observed before the failure stays on record
            raise
        self._finish(job, outcome, run.deferred)
        return outcome

    def _release(self, job: JobRecord, observed: Sequence[NewAuditEvent] = ()) -> None:
        now = self.clock()
        released = _event(job, "deployment.released", {"reason": "worker shutting down"})

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
        kind = {
            "succeeded": "deployment.succeeded",
            "failed": "deployment.failed",
            "timed_out": "deployment.timed_out",
        }[outcome.state]

        def finish(uow: UnitOfWork) -> bool:
            ours = uow.jobs.finish(
                job.id,
                worker_id=self.worker_id,
                state=outcome.state,
                now=self.clock(),
                outcome=outcome.as_record(),
                error=None if outcome.state == "succeeded" else outcome.reason,
            )
            if ours:
                final = _event(job, kind, outcome.as_record())
                uow.audit.extend([*observed, final], now=self.clock())
            return ours

        if not self.store.group_commit(finish):
            _log.warning("deploy.lease_lost", job_id=job.id, application=job.application)
            return
        _log.info(
            "deploy.finished",
            job_id=job.id,
            decision_id=job.decision_id,
            application=job.application,
            instance=job.instance,
            state=outcome.state,
            reason=outcome.reason,
        )
        if self.on_outcome is not None:
            try:
                self.on_outcome(job, outcome)
            except Exception:  # noqa: BLE001 - alerting must never block deployments
                _log.exception("deploy.on_outcome_failed", job_id=job.id)


def _event(job: JobRecord, kind: str, data: dict[str, Any]) -> NewAuditEvent:
    return NewAuditEvent(
        kind=kind,
        actor=job.actor,
        instance=job.instance,
        application=job.application,
        revision=job.revision,
        decision_id=job.decision_id,
        job_id=job.id,
        data=data,
    )


class _JobRun:
    """The state of one job while it runs (deadline, lease, what was already recorded)."""

    def __init__(self, worker: Worker, job: JobRecord) -> None:
        self.worker = worker
        self.job = job
        self.spec = SyncSpec.model_validate(job.spec)
        self.started = time.monotonic()
        self.deadline = self.started + self.spec.timeout_seconds
        self.last_renewal = self.started
        self.recorded: set[str] = set()
        self.deferred: list[NewAuditEvent] = []
        self.attempt = 0
        self.client: ArgoCDClient | None = None
        self.wanted = self.spec.revision if self.spec.pin_revision else None
        self.scope: dict[str, Any] = {
            "project": job.argocd_project,
            "app_namespace": job.app_namespace,
        }

    # --- bookkeeping -------------------------------------------------------------------------

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise when stopping or past the deadline; renew the lease when a third of it has gone."""
        if self.worker.stop_event.is_set():
            raise _Stopping
        if self.remaining() <= 0:
            raise _DeadlinePassed
        now = time.monotonic()
        if now - self.last_renewal >= self.worker.settings.lease_seconds / 3:
            ours = self.worker.store.group_commit(
                lambda uow: uow.jobs.renew(
                    self.job.id,
                    worker_id=self.worker.worker_id,
                    lease=self.worker.lease,
                    now=self.worker.clock(),
                )
            )
            if not ours:
                raise _LeaseLost
            self.last_renewal = now

    def sleep(self, seconds: float) -> None:
        self.worker.stop_event.wait(max(0.0, min(seconds, self.remaining())))
        self.check()

    def audit(
        self, kind: str, data: dict[str, Any], *, once: str | None = None, defer: bool = False
    ) -> None:
        """Append an audit event (only the first time for a given ``once`` key).

        A deferred event is written with the next one that is not (or with the job's outcome),
        in the same transaction: what one observation of the application produces costs one
        commit, and the operation's end is recorded together with the job's outcome.
        """
        if once is not None:
            if once in self.recorded:
                return
            self.recorded.add(once)
        self.deferred.append(_event(self.job, kind, data))
        if not defer:
            self.flush()

    def flush(self) -> None:
        """Write the deferred audit events now."""
        if self.deferred:
            events = list(self.deferred)
            self.worker.store.group_commit(
                lambda uow: uow.audit.extend(events, now=self.worker.clock())
            )
            del self.deferred[: len(events)]  # only once they are stored

    # --- the run -----------------------------------------------------------------------------

    def execute(self) -> DeployOutcome:
        reloaded = False
        while True:
            try:
                with self.worker.clients(self.job.instance) as client:
                    self.client = client
                    if client.base_url.startswith("http://"):
                        _log.warning("deploy.plain_http", instance=self.job.instance)
                        self.audit(
                            "security.plain_http",
                            {"instance": self.job.instance},
                            once="http",
                            defer=True,
                        )
                    try:
                        self.sync_step()
                        return self.follow_step()
                    except _DeadlinePassed:
                        return self.timed_out()  # while the client is open: it may terminate
            except _DeadlinePassed:
                return self.timed_out()
            except ArgoCDAuthError as err:
                if not reloaded and self.credentials_changed():
                    # Rotated token: run both steps again with the new credentials, once.
                    reloaded = True
                    self.audit("credentials.reloaded", {"after": str(err)})
                    continue
                return DeployOutcome(
                    state="failed", reason=self.explain(err), error_class=type(err).__name__
                )
            except ArgoCDError as err:
                return DeployOutcome(
                    state="failed", reason=self.explain(err), error_class=type(err).__name__
                )

    def credentials_changed(self) -> bool:
        """After a 401: re-read the configuration (if the worker can); True if it changed."""
        reload = self.worker.reload_credentials
        if reload is None or self.client is None:
            return False
        try:
            return reload(self.job.instance, self.client)
        except Exception:  # noqa: BLE001 - a broken configuration read fails the job as a 401
            _log.exception("deploy.credentials_reload_failed", instance=self.job.instance)
            return False

    def explain(self, err: ArgoCDError) -> str:
        if isinstance(err, AutoSyncConflict):
            return (
                f"{err} (configuration error: pin revisions only with auto-sync off, or sync HEAD)"
            )
        return str(err)

    def get_app(self) -> Application:
        """Read the application, retrying what can pass and a 404 for its grace period."""
        assert self.client is not None
        grace_end = time.monotonic() + NOT_FOUND_GRACE_SECONDS

        def retry_on(exc: BaseException) -> bool:
            if isinstance(exc, ArgoCDNotFound):
                return time.monotonic() < grace_end
            return bool(getattr(exc, "retryable", False))

        for attempt in retrying(
            self.worker.policy, retry_on=retry_on, timeout=max(self.remaining(), 0.001)
        ):
            with attempt:
                self.check()
                return self.client.get_application(self.job.application, **self.scope)
        raise _DeadlinePassed  # pragma: no cover - retrying() raises or returns first

    def sync_step(self) -> None:
        """Send our sync once, or find the one already sent."""
        app = self.get_app()
        retries = 0
        while True:
            self.check()
            decision = decide_sync(app, marker=self.job.id, revision=self.wanted)
            if decision.action is SyncAction.FOLLOW:
                self.audit("sync.found", {"reason": decision.reason}, once="found")
                return
            if decision.action is SyncAction.WAIT:
                self.audit("sync.waiting", {"reason": decision.reason}, once=decision.reason)
                self.sleep(self.worker.settings.poll_interval_seconds)
                app = self.get_app()
                continue
            try:
                self.send_sync()
                return
            except OperationInProgress as err:
                self.audit("sync.busy", {"reason": str(err)}, once="busy")
            except SyncWindowBlocked as err:
                self.audit("sync.window_closed", {"reason": str(err)}, once="window")
            except ArgoCDNotFound:
                if time.monotonic() - self.started > NOT_FOUND_GRACE_SECONDS:
                    raise
            except ArgoCDError as err:
                if not err.retryable:
                    self.audit("sync.refused", {"error": str(err), "http_status": err.status_code})
                    raise
            self.sleep(backoff_delay(self.worker.policy, retries))
            retries += 1
            app = self.get_app()

    def send_sync(self) -> None:
        assert self.client is not None
        self.attempt += 1
        request = self.spec.request(marker=self.job.id, decision_id=self.job.decision_id)
        context = {
            "application": self.job.application,
            "revision": self.spec.revision,
            "decision_id": self.job.decision_id,
            "job_id": self.job.id,
            "instance": self.job.instance,
            "attempt": self.attempt,
        }
        _log.info("deploy.sync_request", timestamp=self.worker.clock().isoformat(), **context)
        try:
            app = self.client.sync(self.job.application, request, **self.scope)
        except ArgoCDError as err:
            _log.warning(
                "deploy.sync_response",
                http_status=err.status_code,
                sync_status=None,
                operation_phase=None,
                error=str(err),
                **context,
            )
            raise
        state = app.status.operation_state
        sync_op = app.operation.sync if app.operation else None
        _log.info(
            "deploy.sync_response",
            http_status=200,
            sync_status=app.status.sync.status,
            operation_phase=state.phase if state else None,
            error=None,
            **context,
        )
        self.audit(
            "sync.requested",
            {
                "http_status": 200,
                "attempt": self.attempt,
                "revision": self.spec.revision,
                # What Argo CD resolved the revision to (a branch, tag or HEAD becomes a SHA).
                "resolved_revision": sync_op.revision if sync_op else None,
                "request": request.to_wire(),
            },
        )

    def follow_step(self) -> DeployOutcome:
        """Follow our operation to its end through the watch stream, polling when it breaks."""
        assert self.client is not None
        while True:
            self.check()
            result = self.observe(self.get_app())
            if result is not None:
                return result
            try:
                for event in self.watch():
                    if event.application.metadata.name != self.job.application:
                        continue
                    result = self.observe(event.application)
                    if result is not None:
                        return result
                    self.check()
            except ArgoCDError as err:
                if not err.retryable:
                    raise
                _log.info("deploy.watch_interrupted", job_id=self.job.id, error=str(err))
                self.sleep(self.worker.settings.poll_interval_seconds)

    def watch(self) -> Iterator[Any]:
        assert self.client is not None
        read_timeout = max(0.05, min(self.worker.settings.lease_seconds / 3, 5.0, self.remaining()))
        projects = [self.job.argocd_project] if self.job.argocd_project else []
        return self.client.watch_applications(
            name=self.job.application,
            projects=projects,
            app_namespace=self.job.app_namespace,
            read_timeout=read_timeout,
        )

    def observe(self, app: Application) -> DeployOutcome | None:
        """Assess one observation; record phase changes; the outcome once it is final."""
        result = assess(
            app,
            marker=self.job.id,
            revision=self.wanted,
            pin_revision=self.spec.pin_revision,
            dry_run=self.spec.dry_run,
        )
        if result.phase:
            self.audit(
                "operation.started",
                {"phase": result.phase, "message": redact_text(result.message)},
                once="op-started",
                defer=True,
            )
        if result.phase == "Running" and result.finished_at is not None:
            self.audit(
                "operation.retrying",
                {"retry_count": result.retry_count, "message": redact_text(result.message)},
                once=f"retry-{result.retry_count}",
                defer=True,
            )
        if result.phase in ("Succeeded", "Failed", "Error") and app.operation is None:
            self.audit(
                "operation.finished",
                {
                    "phase": result.phase,
                    "message": redact_text(result.message),
                    "synced_revision": result.synced_revision,
                    "approved_commit": self.spec.approved_commit,
                    "failed_resources": list(result.failed_resources),
                },
                once="op-finished",
                defer=True,
            )
        if result.progress is Progress.PENDING:
            self.flush()
            return None
        state: Literal["succeeded", "failed"] = (
            "succeeded" if result.progress is Progress.DEPLOYED else "failed"
        )
        return DeployOutcome(state=state, reason=result.reason, assessment=result)

    def timed_out(self) -> DeployOutcome:
        reason = f"timed out after {self.spec.timeout_seconds:g}s waiting for the deployment"
        if self.spec.terminate_on_timeout and self.client is not None:
            try:
                self.client.terminate_operation(self.job.application, **self.scope)
                reason += "; the operation was terminated"
            except ArgoCDError as err:
                reason += f"; terminating the operation failed: {err}"
        return DeployOutcome(state="timed_out", reason=reason)
