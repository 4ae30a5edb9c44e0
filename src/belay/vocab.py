"""Belay's vocabularies: the states of a deployment job and the kinds of audit event, in one place.

Both are :class:`enum.StrEnum`: a member *is* the string that is stored in the database, sent in
JSON and shown on pages (``JobState.timed_out == "timed_out"``), so records written before these
names existed read back unchanged. Name a member, never spell its string; name a group below,
never slice or copy a list of members.

A job is ``queued``, then ``running``, then ends exactly once::

    queued ──▶ running ──▶ succeeded | failed | timed_out     (OUTCOME_STATES: the job ran)
       └──────────────────▶ superseded                        (a newer job replaced it)

(``running`` goes back to ``queued`` when a worker releases a job it cannot finish.)

This module imports nothing of Belay's, so every layer can use it.
"""

from __future__ import annotations

import enum

__all__ = [
    "END_STATES",
    "FAILURE_STATES",
    "IN_FLIGHT_STATES",
    "OUTCOME_STATES",
    "AuditKind",
    "JobState",
]


class JobState(enum.StrEnum):
    """Where a deployment job stands (members in the order pages and metrics list them)."""

    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    timed_out = "timed_out"
    superseded = "superseded"


IN_FLIGHT_STATES: tuple[JobState, ...] = (JobState.queued, JobState.running)
"""A job not ended yet: a page showing it refreshes itself, a CLI waiting for it keeps waiting."""

END_STATES: tuple[JobState, ...] = (
    JobState.succeeded,
    JobState.failed,
    JobState.timed_out,
    JobState.superseded,
)
"""The states a job ends in; once in one, it never changes again."""

OUTCOME_STATES: tuple[JobState, ...] = (JobState.succeeded, JobState.failed, JobState.timed_out)
"""The end states of a job a worker ran (a superseded job never ran): a deployment's outcome."""

FAILURE_STATES: tuple[JobState, ...] = (JobState.failed, JobState.timed_out)
"""The outcomes that mean the deployment did not happen as asked."""


class AuditKind(enum.StrEnum):
    """What an audit event records (its ``kind``); grouped by the part of Belay that writes it."""

    # The intake (belay.intake) and its door (belay.web.refusals).
    submission_received = "submission.received"
    verdict_decided = "verdict.decided"
    job_queued = "job.queued"
    intake_refused = "intake.refused"
    intake_unauthorized = "intake.unauthorized"
    intake_locked_out = "intake.locked_out"

    # The web UI's sign-in form (belay.web.refusals).
    web_sign_in_refused = "web.sign_in_refused"
    web_sign_in_locked_out = "web.sign_in_locked_out"

    # The deployment worker (belay.deploy): a job's life.
    deployment_started = "deployment.started"
    deployment_released = "deployment.released"
    deployment_succeeded = "deployment.succeeded"
    deployment_failed = "deployment.failed"
    deployment_timed_out = "deployment.timed_out"
    attestation_verified = "attestation.verified"
    attestation_refused = "attestation.refused"

    # The deployment worker: one attempt to start a sync, and what it found.
    sync_requested = "sync.requested"
    sync_refused = "sync.refused"
    sync_busy = "sync.busy"
    sync_window_closed = "sync.window_closed"
    sync_found = "sync.found"
    sync_waiting = "sync.waiting"

    # The deployment worker: Argo CD's operation as it was observed.
    operation_started = "operation.started"
    operation_retrying = "operation.retrying"
    operation_finished = "operation.finished"

    # Manual syncs (belay.deploy.manual, belay.deploy.permit).
    sync_manual_requested = "sync.manual_requested"
    sync_override = "sync.override"
    """A person deployed past the gate (who and why are in the event's data)."""

    # The gate-bypass watch (belay.bypass).
    deployment_unapproved = "deployment.unapproved"
    """Argo CD deployed a mapped application at a revision without a passing decision."""

    # Policy replays (belay.whatif) and alerting (belay.notify).
    policy_whatif = "policy.whatif"
    alert_raised = "alert.raised"
    alert_delivery = "alert.delivery"
