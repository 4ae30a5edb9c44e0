"""Interoperability: Belay's envelopes checked by an independent DSSE implementation.

securesystemslib (the in-toto project's crypto library) implements DSSE and Ed25519 on its own;
if Belay's PAE, base64 or key handling were wrong in a way its own verifier shared, these fail.
"""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.dsse import Envelope as SslibEnvelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import CryptoSigner, SSlibKey

from belay.attest import PAYLOAD_TYPE, Envelope, Keyring, keyid_of, verify_attestation
from belay.attest.keys import parse_private_pem
from belay.jsonio import loads

from .helpers import COMMIT, new_key, signed


def _sslib_key(pem: str, keyid: str) -> SSlibKey:
    public = serialization.load_pem_public_key(pem.encode())
    return SSlibKey.from_crypto(public, keyid=keyid)


def test_securesystemslib_verifies_belays_envelope() -> None:
    """securesystemslib's Envelope + Ed25519 key accept Belay's envelope and read its payload."""
    key = new_key()
    envelope = signed(key)
    theirs = SslibEnvelope.from_dict(loads(envelope.to_json()))
    accepted = theirs.verify([_sslib_key(key.public.pem, key.keyid)], 1)
    assert list(accepted) == [key.keyid]
    assert theirs.payload_type == PAYLOAD_TYPE
    statement = loads(theirs.payload)
    assert statement["subject"][0]["digest"]["gitCommit"] == COMMIT


def test_securesystemslib_refuses_a_tampered_envelope_and_a_wrong_key() -> None:
    """The independent verifier agrees on refusals: a flipped byte, another key."""
    key, other = new_key(), new_key()
    document = loads(signed(key).to_json())
    body = bytearray(base64.b64decode(document["payload"]))
    body[5] ^= 0x01
    document["payload"] = base64.b64encode(bytes(body)).decode()
    with pytest.raises(VerificationError):
        SslibEnvelope.from_dict(document).verify([_sslib_key(key.public.pem, key.keyid)], 1)
    untouched = SslibEnvelope.from_dict(loads(signed(key).to_json()))
    with pytest.raises(VerificationError):
        # The other key under the signing key's id, so the signature is actually tried.
        untouched.verify([_sslib_key(other.public.pem, key.keyid)], 1)


def test_belay_verifies_an_envelope_signed_by_securesystemslib() -> None:
    """The other direction: Belay's verifier accepts a statement signed by securesystemslib."""
    private = Ed25519PrivateKey.generate()
    keyid = keyid_of(private.public_key())
    belay_key = parse_private_pem(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        source="test",
    )
    payload = base64.b64decode(signed(belay_key).payload)
    signer = CryptoSigner(private, SSlibKey.from_crypto(private.public_key(), keyid=keyid))
    theirs = SslibEnvelope(payload=payload, payload_type=PAYLOAD_TYPE, signatures={})
    theirs.sign(signer)
    envelope = Envelope.from_document(theirs.to_dict())
    verified = verify_attestation(envelope, Keyring.of([belay_key.public]), commit=COMMIT)
    assert verified.key.keyid == keyid
