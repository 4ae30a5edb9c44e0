"""One claimed job while a worker runs it: deadline, lease, audit buffering, retries, termination.

The steps (:mod:`belay.deploy.sync_step`, :mod:`belay.deploy.follow_step`) take a
:class:`JobRun` and call :meth:`JobRun.check` between requests; it raises :class:`Stopping`
(give the job back), :class:`DeadlinePassed` or :class:`LeaseLost` (stop without recording).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from belay.argocd import Application, ArgoCDClient, ArgoCDError, ArgoCDNotFound
from belay.deploy.follow_step import observe
from belay.deploy.outcome import DeployOutcome
from belay.deploy.spec import SyncSpec
from belay.logs import get_logger
from belay.retry import is_retryable, retry_delay, retrying
from belay.store import JobRecord, NewAuditEvent
from belay.vocab import JobState

if TYPE_CHECKING:
    from belay.deploy.worker import Worker

__all__ = [
    "DeadlinePassed",
    "JobRun",
    "LeaseLost",
    "Stopping",
    "announce",
    "job_event",
    "should_retry",
]

_log = get_logger("belay.deploy")


class LeaseLost(Exception):
    """Another worker holds the job now; stop without recording anything."""


class DeadlinePassed(Exception):
    """The job's deadline passed."""


class Stopping(Exception):
    """The worker is shutting down: give the job back to the queue."""


def should_retry(exc: BaseException, *, not_found_grace: bool = False) -> bool:
    """The deploy steps' one retry predicate: what the error says of itself (network errors,
    timeouts, 5xx, 429, an operation in progress, a closed sync window), plus a 404 while
    ``not_found_grace`` lasts. The delay before the retry is :func:`belay.retry.retry_delay`,
    which honours the server's ``Retry-After``."""
    if isinstance(exc, ArgoCDNotFound):
        return not_found_grace
    return is_retryable(exc)


def announce(
    job: JobRecord,
    outcome: DeployOutcome,
    on_outcome: Callable[[JobRecord, DeployOutcome], object] | None,
) -> None:
    """Log a recorded outcome and pass it to ``on_outcome`` (alerting), which may not fail us."""
    _log.info(
        "deploy.finished",
        job_id=job.id,
        decision_id=job.decision_id,
        application=job.application,
        instance=job.instance,
        state=outcome.state,
        reason=outcome.reason,
    )
    if on_outcome is not None:
        try:
            on_outcome(job, outcome)
        except Exception:  # noqa: BLE001 - alerting must never block deployments
            _log.exception("deploy.on_outcome_failed", job_id=job.id)


def job_event(job: JobRecord, kind: str, data: dict[str, Any]) -> NewAuditEvent:
    """An audit event about ``job``."""
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


class JobRun:
    """The state of one job while a worker runs it (deadline, lease, what was recorded)."""

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
            raise Stopping
        if self.remaining() <= 0:
            raise DeadlinePassed
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
                raise LeaseLost
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
        self.deferred.append(job_event(self.job, kind, data))
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

    # --- Argo CD -------------------------------------------------------------------------------

    def should_retry(self, exc: BaseException) -> bool:
        """:func:`should_retry` with this job's 404 grace period."""
        grace = time.monotonic() - self.started < self.worker.not_found_grace_seconds()
        return should_retry(exc, not_found_grace=grace)

    def get_app(self) -> Application:
        """Read the application, retrying what can pass and a 404 for its grace period."""
        assert self.client is not None
        for attempt in retrying(
            self.worker.policy, retry_on=self.should_retry, timeout=max(self.remaining(), 0.001)
        ):
            with attempt:
                self.check()
                return self.client.get_application(self.job.application, **self.scope)
        raise DeadlinePassed  # pragma: no cover - retrying() raises or returns first

    def backoff(self, retry_number: int, err: BaseException) -> None:
        """Sleep before retry ``retry_number`` (Retry-After honoured, the deadline respected)."""
        self.sleep(retry_delay(self.worker.policy, retry_number, err))

    def apply(self, app: Application) -> DeployOutcome | None:
        """Follow-step decision on one observation: write its notes, return a final outcome."""
        seen = observe(app, marker=self.job.id, spec=self.spec, recorded=self.recorded)
        for note in seen.notes:
            self.audit(note.kind, note.data, once=note.once, defer=True)
        if seen.outcome is None:
            self.flush()
        return seen.outcome

    def explain(self, err: ArgoCDError) -> str:
        from belay.argocd import AutoSyncConflict

        if isinstance(err, AutoSyncConflict):
            return (
                f"{err} (configuration error: pin revisions only with auto-sync off, or sync HEAD)"
            )
        return str(err)

    def timed_out(self) -> DeployOutcome:
        """The timed-out outcome, terminating the operation first if the spec asks for it."""
        return timed_out(self.spec, self.client, self.job.application, self.scope)


def timed_out(
    spec: SyncSpec, client: ArgoCDClient | None, application: str, scope: dict[str, Any]
) -> DeployOutcome:
    """The timed-out outcome; with ``terminate_on_timeout``, the operation is terminated."""
    reason = f"timed out after {spec.timeout_seconds:g}s waiting for the deployment"
    if spec.terminate_on_timeout and client is not None:
        try:
            client.terminate_operation(application, **scope)
            reason += "; the operation was terminated"
        except ArgoCDError as err:
            reason += f"; terminating the operation failed: {err}"
    return DeployOutcome(state=JobState.timed_out, reason=reason)
