"""The follow step: what one observation of the application means for a job whose sync was sent.

:func:`observe` is the step's pure decision. Given the application as seen (from a Get, a watch
event or an informer's list), the job's marker and spec, and the audit notes already written, it
returns the notes to add (operation started, Argo CD retrying, operation finished; each at most
once) and, once the assessment is final, the job's :class:`~belay.deploy.outcome.DeployOutcome`.

Two drivers use it: :class:`belay.deploy.follower.Follower` (one per process; events from the
instance's shared :class:`~belay.argocd.informer.ApplicationInformer` drive every followed job,
none holds a thread) and :func:`follow_inline` (one job on the calling thread with its own watch,
for a worker run without a follower, e.g. ``belay sync`` and tests of a single worker).
"""

from __future__ import annotations

from collections.abc import Set
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from belay.argocd import Application, ArgoCDError
from belay.deploy.decide import Progress, assess
from belay.deploy.outcome import DeployOutcome
from belay.deploy.spec import SyncSpec
from belay.logs import get_logger
from belay.redact import redact_text
from belay.vocab import AuditKind, JobState

if TYPE_CHECKING:
    from belay.deploy.job_run import JobRun

__all__ = ["FOLLOW_TIMEOUT_SECONDS", "Note", "Observation", "follow_inline", "observe"]

FOLLOW_TIMEOUT_SECONDS = 600.0
"""The step's default timeout: the job spec's ``timeout_seconds`` (sync.timeout_seconds)."""

_log = get_logger("belay.deploy")


class Note(BaseModel):
    """An audit event to write once per job (``once`` is its key)."""

    model_config = ConfigDict(frozen=True)

    once: str
    kind: str
    data: dict[str, Any]


class Observation(BaseModel):
    """What one observation produced: notes to write and, when final, the outcome."""

    model_config = ConfigDict(frozen=True)

    notes: tuple[Note, ...] = ()
    outcome: DeployOutcome | None = None


def observe(
    app: Application, *, marker: str, spec: SyncSpec, recorded: Set[str] = frozenset()
) -> Observation:
    """Assess one observation of the application for the job ``marker`` (pure).

    Notes whose ``once`` key is in ``recorded`` are left out; the caller adds the keys of the
    notes it writes.
    """
    wanted = spec.revision if spec.pin_revision else None
    result = assess(
        app, marker=marker, revision=wanted, pin_revision=spec.pin_revision, dry_run=spec.dry_run
    )
    notes: list[Note] = []
    if result.phase:
        notes.append(
            Note(
                once="op-started",
                kind=AuditKind.operation_started,
                data={"phase": result.phase, "message": redact_text(result.message)},
            )
        )
    if result.phase == "Running" and result.finished_at is not None:
        notes.append(
            Note(
                once=f"retry-{result.retry_count}",
                kind=AuditKind.operation_retrying,
                data={"retry_count": result.retry_count, "message": redact_text(result.message)},
            )
        )
    if result.phase in ("Succeeded", "Failed", "Error") and app.operation is None:
        notes.append(
            Note(
                once="op-finished",
                kind=AuditKind.operation_finished,
                data={
                    "phase": result.phase,
                    "message": redact_text(result.message),
                    "synced_revision": result.synced_revision,
                    "approved_commit": spec.approved_commit,
                    "failed_resources": list(result.failed_resources),
                },
            )
        )
    fresh = tuple(note for note in notes if note.once not in recorded)
    if result.progress is Progress.PENDING:
        return Observation(notes=fresh)
    state: Literal[JobState.succeeded, JobState.failed] = (
        JobState.succeeded if result.progress is Progress.DEPLOYED else JobState.failed
    )
    outcome = DeployOutcome(state=state, reason=result.reason, assessment=result)
    return Observation(notes=fresh, outcome=outcome)


def follow_inline(run: JobRun) -> DeployOutcome:
    """Follow one job on this thread through its own watch (a Get first and after each cut)."""
    client = run.client
    assert client is not None
    while True:
        run.check()
        result = run.apply(run.get_app())
        if result is not None:
            return result
        read_timeout = max(0.05, min(run.worker.settings.lease_seconds / 3, 5.0, run.remaining()))
        projects = [run.job.argocd_project] if run.job.argocd_project else []
        try:
            for event in client.watch_applications(
                name=run.job.application,
                projects=projects,
                app_namespace=run.job.app_namespace,
                read_timeout=read_timeout,
            ):
                if event.application.metadata.name != run.job.application:
                    continue
                result = run.apply(event.application)
                if result is not None:
                    return result
                run.check()
        except ArgoCDError as err:
            if not run.should_retry(err):
                raise
            _log.info("deploy.watch_interrupted", job_id=run.job.id, error=str(err))
            run.sleep(run.worker.settings.poll_interval_seconds)
