"""Signing decisions: facts in, a stored-ready signed envelope out.

:class:`Attestor` holds the signing key of a running Belay. Ed25519 signing is deterministic
and takes microseconds, so it runs inline at decision time, before the decision's transaction.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from belay.attest.dsse import sign_envelope
from belay.attest.keys import SigningKey
from belay.attest.statement import PAYLOAD_TYPE, DecisionFacts, build_statement, canonical_json

__all__ = ["ATTESTATIONS_PATH", "Attestor", "SignedAttestation"]

ATTESTATIONS_PATH = "/api/v1/attestations"
"""Where a decision's envelope is served: ``{public_url}/api/v1/attestations/{decision id}``."""


class SignedAttestation(BaseModel):
    """A decision's signed envelope, as stored: its JSON text, digest and signing key."""

    model_config = ConfigDict(frozen=True)

    decision_id: str
    keyid: str
    envelope: str
    """The DSSE envelope's JSON, exactly the bytes served and hashed."""
    sha256: str
    """Hex SHA-256 of ``envelope`` (UTF-8), the value the audit trail records."""
    created_at: datetime

    def audit_data(self) -> dict[str, str]:
        """What the ``verdict.decided`` audit event records about the attestation."""
        return {"sha256": self.sha256, "keyid": self.keyid}


class Attestor:
    """Signs decisions with one key and names where their attestations are served."""

    def __init__(self, key: SigningKey, *, public_url: str) -> None:
        self.key = key
        self.public_url = public_url.rstrip("/")

    @property
    def keyid(self) -> str:
        """The id of the signing key."""
        return self.key.keyid

    def url_for(self, decision_id: str) -> str:
        """The absolute ``attestationUrl`` of a decision."""
        return f"{self.public_url}{ATTESTATIONS_PATH}/{decision_id}"

    def sign(self, facts: DecisionFacts) -> SignedAttestation:
        """Build the statement of ``facts``, sign it, and return the envelope to store."""
        payload = canonical_json(build_statement(facts))
        envelope = sign_envelope(payload, PAYLOAD_TYPE, self.key).to_json()
        return SignedAttestation(
            decision_id=facts.decision_id,
            keyid=self.key.keyid,
            envelope=envelope.decode("utf-8"),
            sha256=hashlib.sha256(envelope).hexdigest(),
            created_at=facts.decided_at,
        )

    def __repr__(self) -> str:
        return f"Attestor(keyid={self.keyid[:16]}...)"
