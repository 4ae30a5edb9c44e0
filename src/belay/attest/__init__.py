"""Signed verdicts: every decision as an in-toto Statement v1 in a DSSE envelope, Ed25519-signed.

    keys (pure)       generate, parse, key ids, the keyring of trusted public keys
    dsse (pure)       pre-authentication encoding, sign, verify
    statement (pure)  the statement and Belay's predicate, canonical JSON, policy digest
    facts (pure)      the gate's typed values → DecisionFacts
    verify (pure)     offline verification; a job checked against its signed decision
    signer            Attestor: facts → a signed envelope to store (at decision time)
    keyfiles (edge)   belay.yaml's keys from files and variables; ``belay keys generate``
    guard (edge)      the worker's check before a sync, reading the store

Errors::

    BelayError
    └── AttestError
        ├── AttestationInvalid      refuse: the envelope or statement does not verify
        └── KeyFileError            (BadInput) a key cannot be read or used

See docs/attestations.md for the statement's fields and key rotation.
"""

from __future__ import annotations

from belay.attest.dsse import Envelope, pae, sign_envelope, verify_envelope
from belay.attest.errors import AttestationInvalid, AttestError, KeyFileError
from belay.attest.facts import decision_facts
from belay.attest.guard import DecisionGuard, GuardResult
from belay.attest.keyfiles import (
    PRIVATE_KEY_NAME,
    Signing,
    load_signing,
    read_public_key,
    write_key_pair,
)
from belay.attest.keys import Keyring, PublicKey, SigningKey, generate_key_pair, keyid_of
from belay.attest.signer import ATTESTATIONS_PATH, Attestor, SignedAttestation
from belay.attest.statement import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    DecisionFacts,
    Statement,
    build_statement,
    canonical_json,
    policy_digest,
)
from belay.attest.verify import (
    DeploymentClaim,
    VerifiedAttestation,
    check_job,
    verify_attestation,
)

__all__ = [
    "ATTESTATIONS_PATH",
    "PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "PRIVATE_KEY_NAME",
    "STATEMENT_TYPE",
    "AttestError",
    "AttestationInvalid",
    "Attestor",
    "DecisionFacts",
    "DecisionGuard",
    "DeploymentClaim",
    "Envelope",
    "GuardResult",
    "KeyFileError",
    "Keyring",
    "PublicKey",
    "SignedAttestation",
    "Signing",
    "SigningKey",
    "Statement",
    "VerifiedAttestation",
    "build_statement",
    "canonical_json",
    "check_job",
    "decision_facts",
    "generate_key_pair",
    "keyid_of",
    "load_signing",
    "pae",
    "policy_digest",
    "read_public_key",
    "sign_envelope",
    "verify_attestation",
    "verify_envelope",
    "write_key_pair",
]
