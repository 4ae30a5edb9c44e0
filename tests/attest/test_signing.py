"""Signing and verifying verdicts with Belay's own code: round trips and every refusal."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from belay.attest import (
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    AttestationInvalid,
    Envelope,
    KeyFileError,
    Keyring,
    pae,
    policy_digest,
    verify_attestation,
)
from belay.attest.keys import parse_private_pem, parse_public_pem
from belay.jsonio import loads

from .helpers import COMMIT, DECIDED, facts, new_key, signed, with_payload


def test_pae_matches_the_dsse_specification() -> None:
    """PAE is "DSSEv1", then length and bytes of the type and of the body, space-separated."""
    assert (
        pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("", b"") == b"DSSEv1 0  0 "


def test_round_trip_verifies_and_carries_the_statement() -> None:
    """A signed decision verifies with its key and reads back as Belay's in-toto statement."""
    key = new_key()
    envelope = signed(key)
    verified = verify_attestation(envelope, Keyring.of([key.public]), commit=COMMIT)
    assert verified.key.keyid == key.keyid
    statement = verified.statement
    assert statement.type == STATEMENT_TYPE
    assert statement.predicate_type == PREDICATE_TYPE
    assert envelope.payload_type == PAYLOAD_TYPE
    assert statement.commit == COMMIT
    predicate = statement.predicate
    assert predicate.decision == "pass"
    assert predicate.decided_at == DECIDED
    assert predicate.policy.name == "default"
    assert predicate.argocd is not None
    assert predicate.argocd.application == "guestbook"
    document = loads(envelope.body())
    assert document["subject"] == [
        {"name": "https://gitlab.com/acme/guestbook.git@main", "digest": {"gitCommit": COMMIT}},
        {"name": "grype-report.json", "digest": {"sha256": "ab" * 32}},
    ]
    assert "glpat" not in envelope.body().decode(), "credentials of the remote are signed away"
    assert document["predicate"]["data"]["kev"] == {"sha256": "ef" * 32, "version": "2026.11.29"}
    assert document["predicate"]["decidedAt"] == "2026-11-30T12:00:00Z"


def test_keyid_is_the_sha256_of_the_public_key() -> None:
    """The key id is the SHA-256 of the DER SubjectPublicKeyInfo (what openssl prints)."""
    key = new_key()
    der = serialization.load_pem_public_key(key.public.pem.encode()).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key.keyid == hashlib.sha256(der).hexdigest()
    assert signed(key).signatures[0].keyid == key.keyid
    assert key.keyid[:16] in repr(key)
    assert "PRIVATE" not in repr(key)


@pytest.mark.parametrize("where", [0, 40, -1])
def test_a_flipped_payload_byte_is_refused(where: int) -> None:
    """Changing any byte of the signed payload breaks the signature."""
    key = new_key()
    envelope = signed(key)
    body = bytearray(envelope.body())
    body[where] ^= 0x01
    with pytest.raises(AttestationInvalid, match="does not verify"):
        verify_attestation(with_payload(envelope, bytes(body)), Keyring.of([key.public]))


def test_a_flipped_signature_byte_is_refused() -> None:
    """A changed signature does not verify."""
    key = new_key()
    envelope = signed(key)
    raw = bytearray(base64.b64decode(envelope.signatures[0].sig))
    raw[10] ^= 0x80
    sig = envelope.signatures[0].model_copy(update={"sig": base64.b64encode(raw).decode()})
    with pytest.raises(AttestationInvalid, match="does not verify"):
        verify_attestation(
            envelope.model_copy(update={"signatures": (sig,)}), Keyring.of([key.public])
        )


def test_a_changed_payload_type_is_refused() -> None:
    """The type is signed too (PAE): another payloadType is refused."""
    key = new_key()
    envelope = signed(key).model_copy(update={"payload_type": "application/json"})
    with pytest.raises(AttestationInvalid, match="payloadType"):
        verify_attestation(envelope, Keyring.of([key.public]))


def test_a_wrong_key_is_refused() -> None:
    """An envelope signed by another key does not verify, by key id or by trying every key."""
    key, other = new_key(), new_key()
    envelope = signed(key)
    with pytest.raises(AttestationInvalid, match="no signature by a trusted key"):
        verify_attestation(envelope, Keyring.of([other.public]))
    # A forger naming the trusted key's id still fails the signature check.
    renamed = envelope.signatures[0].model_copy(update={"keyid": other.keyid})
    with pytest.raises(AttestationInvalid, match="does not verify"):
        verify_attestation(
            envelope.model_copy(update={"signatures": (renamed,)}), Keyring.of([other.public])
        )
    with pytest.raises(AttestationInvalid, match="no trusted public key"):
        verify_attestation(envelope, Keyring())


def test_a_retired_key_verifies_only_decisions_made_before_its_retirement() -> None:
    """A retired key still verifies what it signed before its date, and nothing after it."""
    key = new_key()
    envelope = signed(key)
    before = key.public.model_copy(update={"retired": DECIDED + timedelta(days=1)})
    assert verify_attestation(envelope, Keyring.of([before])).key.retired is not None
    past = key.public.model_copy(update={"retired": DECIDED - timedelta(seconds=1)})
    with pytest.raises(AttestationInvalid, match="retired"):
        verify_attestation(envelope, Keyring.of([past]))


def test_another_commit_is_refused() -> None:
    """--commit: a statement about another commit is invalid for this one."""
    key = new_key()
    with pytest.raises(AttestationInvalid, match="not " + "a" * 40):
        verify_attestation(signed(key), Keyring.of([key.public]), commit="a" * 40)
    unsigned_commit = signed(key, commit=None, bundle_sha256="00" * 32)
    with pytest.raises(AttestationInvalid, match="names no git commit"):
        verify_attestation(unsigned_commit, Keyring.of([key.public]), commit=COMMIT)


def test_a_signed_statement_of_another_kind_is_refused() -> None:
    """A valid signature over something that is not Belay's statement is still refused."""
    from belay.attest import sign_envelope

    key = new_key()
    envelope = sign_envelope(b'{"_type": "x"}', PAYLOAD_TYPE, key)
    with pytest.raises(AttestationInvalid, match="in-toto Statement"):
        verify_attestation(envelope, Keyring.of([key.public]))


def test_malformed_envelopes_are_invalid_with_a_reason() -> None:
    """Not JSON, no signatures, bad base64: each an AttestationInvalid naming the problem."""
    key = new_key()
    with pytest.raises(AttestationInvalid, match="not JSON"):
        Envelope.from_json(b"{nope")
    with pytest.raises(AttestationInvalid, match="not a DSSE envelope"):
        Envelope.from_json(b'{"payload": "e30="}')
    bad = signed(key).model_copy(update={"payload": "***"})
    with pytest.raises(AttestationInvalid, match="base64"):
        verify_attestation(bad, Keyring.of([key.public]))
    none = signed(key).model_copy(update={"signatures": ()})
    with pytest.raises(AttestationInvalid, match="no signature"):
        verify_attestation(none, Keyring.of([key.public]))


def test_policy_digest_is_canonical() -> None:
    """Key order does not change a policy's digest; a changed value does."""
    a = policy_digest({"grype": {"critical": 0, "high": 5}, "version": "1"})
    b = policy_digest({"version": "1", "grype": {"high": 5, "critical": 0}})
    assert a == b
    assert a != policy_digest({"version": "1", "grype": {"high": 6, "critical": 0}})
    assert a == hashlib.sha256(b'{"grype":{"critical":0,"high":5},"version":"1"}').hexdigest()


def test_keys_that_are_not_ed25519_are_refused() -> None:
    """An RSA key or garbage is a KeyFileError naming its source, in both directions."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(KeyFileError, match=r"rsa\.pem: not an Ed25519 key"):
        parse_private_pem(pem, source="rsa.pem")
    public = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyFileError, match="not an Ed25519 key"):
        parse_public_pem(public, source="rsa.pub")
    with pytest.raises(KeyFileError, match="junk: not a PEM private key"):
        parse_private_pem(b"junk", source="junk")
    with pytest.raises(KeyFileError, match="not a PEM public key"):
        parse_public_pem(b"junk", source="junk")


def test_facts_unchanged_sign_identically() -> None:
    """Ed25519 is deterministic: the same facts give the same envelope (no hidden clock)."""
    key = new_key()
    assert signed(key).to_json() == signed(key).to_json()
    assert signed(key).to_json() != signed(key, decision="fail").to_json()
    assert facts().decision == "pass"


def test_an_envelope_with_thousands_of_signatures_is_refused_unchecked() -> None:
    """100,000 signatures took 14 s to check one by one; more than MAX_SIGNATURES is refused
    before any is verified."""
    from belay.attest.dsse import MAX_SIGNATURES

    key = new_key()
    envelope = signed(key)
    many = envelope.signatures * (MAX_SIGNATURES + 1)
    with pytest.raises(AttestationInvalid, match=f"at most {MAX_SIGNATURES}"):
        verify_attestation(
            envelope.model_copy(update={"signatures": many}), Keyring.of([key.public])
        )
