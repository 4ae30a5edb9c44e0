"""Verify a signed verdict, and check that a deployment job is what its decision signed. Pure.

:func:`verify_attestation` is what ``belay attest verify`` and any offline verifier do:

1. the envelope's ``payloadType`` is in-toto's, and a trusted key's Ed25519 signature verifies
   over the DSSE PAE (:func:`belay.attest.dsse.verify_envelope`);
2. the payload is an in-toto Statement v1 with Belay's predicate;
3. a retired key is trusted only for statements decided before its retirement;
4. optionally, the statement is about a given commit.

:func:`check_job` is the worker's extra step: the job it is about to sync and the decision row
it points to must agree with the signed statement field by field, so that a row changed in the
database (a ``fail`` turned into ``pass``, another commit, another application) is refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from belay.attest.dsse import Envelope, verify_envelope
from belay.attest.errors import AttestationInvalid
from belay.attest.keys import Keyring, PublicKey
from belay.attest.statement import PAYLOAD_TYPE, Statement, canonical_json, parse_statement

__all__ = ["DeploymentClaim", "VerifiedAttestation", "check_job", "verify_attestation"]


class VerifiedAttestation(BaseModel):
    """A verified envelope: the key that signed it and its statement."""

    model_config = ConfigDict(frozen=True)

    key: PublicKey
    statement: Statement

    def summary(self) -> dict[str, Any]:
        """What ``belay attest verify`` prints: key, commit, decision, policy, time."""
        predicate = self.statement.predicate
        return {
            "valid": True,
            "keyid": self.key.keyid,
            "commit": self.statement.commit,
            "decision": predicate.decision,
            "summary": predicate.summary,
            "decisionId": predicate.decision_id,
            "project": predicate.project,
            "policy": predicate.policy.model_dump(mode="json"),
            "decidedAt": predicate.decided_at.isoformat(),
            "subjects": [s.model_dump(mode="json") for s in self.statement.subject],
        }


def verify_attestation(
    envelope: Envelope, keyring: Keyring, *, commit: str | None = None
) -> VerifiedAttestation:
    """Verify ``envelope`` against ``keyring`` (and, if given, its commit); the verified
    statement, or :class:`AttestationInvalid` with the reason."""
    if envelope.payload_type != PAYLOAD_TYPE:
        raise AttestationInvalid(
            f"payloadType is {envelope.payload_type[:100]!r}, not {PAYLOAD_TYPE!r}"
        )
    key, payload = verify_envelope(envelope, keyring)
    statement = parse_statement(payload)
    decided = statement.predicate.decided_at
    if key.retired is not None and decided > key.retired:
        raise AttestationInvalid(
            f"signed by key {key.keyid[:16]} retired at {_text(key.retired)}, "
            f"for a decision made later ({_text(decided)})"
        )
    if commit is not None:
        signed = statement.commit
        if signed is None:
            raise AttestationInvalid("the statement names no git commit")
        if signed.lower() != commit.strip().lower():
            raise AttestationInvalid(f"the statement is about commit {signed}, not {commit}")
    return VerifiedAttestation(key=key, statement=statement)


def _text(moment: datetime) -> str:
    return moment.isoformat()


class DeploymentClaim(BaseModel):
    """What the store says is about to be deployed: the job and the decision row it points to."""

    model_config = ConfigDict(frozen=True)

    decision_id: str
    decision: str
    decision_revision: str | None = None
    decision_project: str | None = None
    decision_instance: str | None = None
    decision_application: str | None = None
    job_instance: str
    job_application: str
    job_project: str | None = None
    job_app_namespace: str | None = None
    job_revision: str | None = None
    job_spec: dict[str, Any]


def check_job(statement: Statement, claim: DeploymentClaim) -> None:
    """Raise :class:`AttestationInvalid` unless the job and its decision row match ``statement``.

    Compared: decision id, decision (must be ``pass``), commit, project, Argo CD target and the
    whole sync spec, each against the signed value.
    """
    predicate = statement.predicate
    target = predicate.argocd
    problems: list[str] = []

    def differ(what: str, stored: object, signed: object) -> None:
        if stored != signed:
            problems.append(f"{what} is {stored!r} in the store but {signed!r} in the signature")

    differ("decision id", claim.decision_id, predicate.decision_id)
    if predicate.decision != "pass":
        problems.append(f"the signed decision is {predicate.decision!r}, not 'pass'")
    differ("decision", claim.decision, predicate.decision)
    commit = statement.commit
    differ("decision revision", _lower(claim.decision_revision), _lower(commit))
    differ("job revision", _lower(claim.job_revision), _lower(commit))
    differ("project", claim.decision_project, predicate.project)
    if target is None:
        problems.append("the signed decision names no Argo CD application")
    else:
        differ("decision instance", claim.decision_instance, target.instance)
        differ("decision application", claim.decision_application, target.application)
        differ("job instance", claim.job_instance, target.instance)
        differ("job application", claim.job_application, target.application)
        differ("job Argo CD project", claim.job_project, target.project)
        differ("job app namespace", claim.job_app_namespace, target.app_namespace)
    if predicate.sync is None or canonical_json(claim.job_spec) != canonical_json(predicate.sync):
        problems.append("the job's sync spec differs from the signed one")
    if problems:
        raise AttestationInvalid("; ".join(problems[:3]))


def _lower(value: str | None) -> str | None:
    return value.lower() if value else value
