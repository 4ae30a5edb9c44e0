"""Shared pieces of the attestation tests: keys, facts, envelopes."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from belay.attest import Attestor, DecisionFacts, Envelope, SigningKey
from belay.attest.keys import generate_key_pair, parse_private_pem
from belay.attest.statement import DataDigest, DeploymentTarget, ReportDigest

COMMIT = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
DECIDED = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SYNC: dict[str, Any] = {
    "revision_mode": "commit",
    "revision": COMMIT,
    "approved_commit": COMMIT,
    "prune": True,
    "timeout_seconds": 600.0,
}


def new_key(created: datetime | None = None) -> SigningKey:
    """A fresh signing key."""
    return parse_private_pem(generate_key_pair().private_pem, source="test", created=created)


def facts(**changes: Any) -> DecisionFacts:
    """The facts of a passing decision about COMMIT (fields overridable)."""
    values: dict[str, Any] = {
        "decision_id": "d-1",
        "submission_id": "s-1",
        "decided_at": DECIDED,
        "decision": "pass",
        "summary": "pass: 2 rules passed",
        "reasons": ({"rule": "grype.critical", "status": "pass", "message": "0 critical"},),
        "project": "guestbook",
        "remote": "https://ci:glpat-SECRETTOKEN12345@gitlab.com/acme/guestbook.git",
        "branch": "main",
        "commit": COMMIT,
        "reports": (ReportDigest(name="grype-report.json", sha256="ab" * 32),),
        "policy_name": "default",
        "policy_sha256": "cd" * 32,
        "target": DeploymentTarget(instance="default", application="guestbook", project="default"),
        "sync": SYNC,
        "kev": DataDigest(sha256="ef" * 32, version="2026.11.29"),
        "belay_version": "0.1.0",
    }
    values.update(changes)
    return DecisionFacts.model_validate(values)


def signed(key: SigningKey, **changes: Any) -> Envelope:
    """A signed envelope of :func:`facts`."""
    attestation = Attestor(key, public_url="http://belay.test").sign(facts(**changes))
    return Envelope.from_json(attestation.envelope)


def with_payload(envelope: Envelope, payload: bytes) -> Envelope:
    """``envelope`` with another payload and the same signatures."""
    return envelope.model_copy(update={"payload": base64.b64encode(payload).decode()})
