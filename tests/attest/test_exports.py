"""The public face of ``belay.attest``: the names the intake, worker, web and CLI code against."""

from __future__ import annotations

import belay.attest as attest

EXPORTED = {
    "ATTESTATIONS_PATH",
    "PAYLOAD_TYPE",
    "PRIVATE_KEY_NAME",
    "PREDICATE_TYPE",
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
}


def test_all_is_pinned_and_importable() -> None:
    """``__all__`` is exactly the pinned set, and every name in it exists."""
    assert set(attest.__all__) == EXPORTED
    for name in attest.__all__:
        assert hasattr(attest, name), name


def test_errors_form_the_documented_tree() -> None:
    """Invalid attestations are AttestErrors; key problems are also BadInput (exit 2)."""
    from belay.errors import BadInput, BelayError

    assert issubclass(attest.AttestError, BelayError)
    assert issubclass(attest.AttestationInvalid, attest.AttestError)
    assert not issubclass(attest.AttestationInvalid, BadInput)
    assert issubclass(attest.KeyFileError, attest.AttestError)
    assert issubclass(attest.KeyFileError, BadInput)
