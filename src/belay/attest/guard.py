"""The worker's check before a sync: is the decision behind this job signed, and unchanged?

:class:`DecisionGuard` reads the job's decision row and its envelope from the store, verifies the
envelope with the trusted keys and compares the job and row with the signed statement
(:func:`belay.attest.verify.check_job`). It returns ``None`` (go on) or the one-line reason to
refuse; the worker records the refusal and fails the job, which raises a ``deploy_failed`` alert.

When this Belay does not sign (no ``signing_key_file`` / ``signing_key_env``), there is no key to
check against and the guard is not installed (docs/attestations.md says what that means).
Manual syncs (``belay sync``) have no decision: they must match the ``sync.manual_requested``
event audited when they were queued (application and revision). A signed decision is good for one
deployment while it is the newest judgement of its commit; a replay is refused.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from belay.attest.dsse import Envelope
from belay.attest.errors import AttestationInvalid
from belay.attest.keys import Keyring
from belay.attest.verify import DeploymentClaim, check_job, verify_attestation
from belay.logs import get_logger
from belay.store import DecisionRecord, JobRecord, Store
from belay.vocab import AuditKind, JobState

__all__ = ["DecisionGuard", "GuardResult"]

_log = get_logger("belay.attest")


class GuardResult(BaseModel):
    """The guard's ruling on one job: ``refusal`` is ``None`` when it may be synced."""

    model_config = ConfigDict(frozen=True)

    refusal: str | None = None
    keyid: str | None = None
    envelope_sha256: str | None = None


class DecisionGuard:
    """Verifies the signed decision of each job before the worker syncs it."""

    def __init__(self, store: Store, keyring: Keyring) -> None:
        self.store = store
        self.keyring = keyring

    def __call__(self, job: JobRecord) -> GuardResult:
        """Rule on ``job`` (see the module docstring)."""
        if job.decision_id is None:
            return self._manual(job)
        with self.store.unit_of_work() as uow:
            decision = uow.decisions.get(job.decision_id)
            attestation = uow.attestations.get(job.decision_id)
            newest = (
                uow.decisions.for_revision(decision.application, decision.revision)
                if decision is not None and decision.application and decision.revision
                else []
            )
            other_jobs = [j for j in uow.jobs.for_decision(job.decision_id) if j.id != job.id]
        if decision is None:
            return self._refuse(job, f"decision {job.decision_id} is not in the store")
        # A signed pass is good for one deployment, and only while it is the newest judgement
        # of that commit: an old job row re-pointed at it, or a pass that a later fail
        # superseded, is a replay.
        if newest and newest[0].id != decision.id:
            return self._refuse(
                job, f"decision {decision.id} was superseded by decision {newest[0].id}"
            )
        if any(j.state == JobState.succeeded for j in other_jobs):
            return self._refuse(job, f"decision {decision.id} was already deployed by another job")
        if attestation is None:
            return self._refuse(job, f"decision {job.decision_id} has no signed attestation")
        try:
            verified = verify_attestation(Envelope.from_json(attestation.envelope), self.keyring)
            check_job(
                verified.statement,
                DeploymentClaim(
                    decision_id=decision.id,
                    decision=decision.decision,
                    decision_revision=decision.revision,
                    decision_project=decision.project,
                    decision_instance=decision.instance,
                    decision_application=decision.application,
                    job_instance=job.instance,
                    job_application=job.application,
                    job_project=job.argocd_project,
                    job_app_namespace=job.app_namespace,
                    job_revision=job.revision,
                    job_spec=job.spec,
                ),
            )
        except AttestationInvalid as err:
            return self._refuse(job, f"decision {job.decision_id}: {err}")
        return GuardResult(keyid=verified.key.keyid, envelope_sha256=attestation.sha256)

    def decision_problem(self, decision: DecisionRecord) -> str | None:
        """Why ``decision``'s row cannot be trusted as signed (``None`` when its envelope
        verifies and names the same decision, verdict, commit and application)."""
        with self.store.unit_of_work() as uow:
            attestation = uow.attestations.get(decision.id)
        if attestation is None:
            return f"decision {decision.id} has no signed attestation"
        try:
            verified = verify_attestation(Envelope.from_json(attestation.envelope), self.keyring)
        except AttestationInvalid as err:
            return f"decision {decision.id}: {err}"
        predicate = verified.statement.predicate
        target = predicate.argocd
        signed = (
            predicate.decision_id,
            predicate.decision,
            (verified.statement.commit or "").lower(),
            target.application if target else None,
        )
        stored = (
            decision.id,
            decision.decision,
            (decision.revision or "").lower(),
            decision.application,
        )
        if signed != stored:
            return f"decision {decision.id} differs from its signed statement"
        return None

    def _manual(self, job: JobRecord) -> GuardResult:
        """A job without a decision is a manual sync: it must be the one its audited request
        (``sync.manual_requested``) names, or a row edited into the queue would sync unchecked."""
        with self.store.unit_of_work() as uow:
            requested = [
                e
                for e in uow.audit.list(job_id=job.id, limit=20)
                if e.kind == AuditKind.sync_manual_requested
            ]
        if not requested:
            return self._refuse(job, f"job {job.id} has no decision and no audited manual request")
        asked = requested[0]
        if asked.application != job.application or (asked.revision or None) != (
            job.revision or None
        ):
            return self._refuse(job, f"job {job.id} differs from its audited manual request")
        return GuardResult()

    def _refuse(self, job: JobRecord, reason: str) -> GuardResult:
        text = f"refused: the signed decision does not verify ({reason})"
        _log.error("attest.refused", job_id=job.id, application=job.application, reason=reason)
        return GuardResult(refusal=text)
