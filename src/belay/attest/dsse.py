"""DSSE (Dead Simple Signing Envelope, v1): the pre-authentication encoding, sign, verify. Pure.

An envelope is ``{"payload": b64(body), "payloadType": TYPE, "signatures": [{"keyid", "sig"}]}``
(standard base64 with padding). What is signed is not the payload but its PAE::

    "DSSEv1" SP len(TYPE) SP TYPE SP len(body) SP body       (lengths in ASCII decimal bytes)

so that the type is bound to the body and no other format can be confused with it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from belay.attest.errors import AttestationInvalid
from belay.attest.keys import Keyring, PublicKey, SigningKey
from belay.jsonio import dumps, loads

__all__ = ["MAX_SIGNATURES", "DsseSignature", "Envelope", "pae", "sign_envelope", "verify_envelope"]


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1's pre-authentication encoding of ``payload`` of ``payload_type``."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %b %d %b" % (len(kind), kind, len(payload), payload)


class DsseSignature(BaseModel):
    """One signature of an envelope (``sig`` in standard base64)."""

    model_config = ConfigDict(frozen=True)

    keyid: str = ""
    sig: str


class Envelope(BaseModel):
    """A DSSE envelope as stored, served and verified."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    payload: str
    payload_type: str = Field(alias="payloadType")
    signatures: tuple[DsseSignature, ...]

    def to_json(self) -> bytes:
        """The envelope's JSON (sorted keys, no whitespace): the bytes Belay stores and serves."""
        return dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True)

    @classmethod
    def from_json(cls, data: bytes | str) -> Envelope:
        """Parse an envelope; :class:`AttestationInvalid` when it is not one."""
        try:
            document: Any = loads(data)
        except ValueError:
            raise AttestationInvalid("the envelope is not JSON") from None
        return cls.from_document(document)

    @classmethod
    def from_document(cls, document: Any) -> Envelope:
        """An envelope from parsed JSON; :class:`AttestationInvalid` when it is not one."""
        if not isinstance(document, dict):
            raise AttestationInvalid("the envelope is not a JSON object")
        try:
            return cls.model_validate(document)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "envelope"
            raise AttestationInvalid(f"not a DSSE envelope: {where}: {first['msg']}") from None

    def body(self) -> bytes:
        """The decoded payload; :class:`AttestationInvalid` when it is not valid base64."""
        return _b64decode(self.payload, "payload")


MAX_SIGNATURES = 8
"""An envelope with more signatures than this is refused before any is checked."""


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise AttestationInvalid(f"the envelope's {what} is not valid base64") from None


def sign_envelope(payload: bytes, payload_type: str, key: SigningKey) -> Envelope:
    """Sign ``payload`` with ``key``: an envelope with one signature, named by the key's id."""
    signature = key.sign(pae(payload_type, payload))
    return Envelope(
        payload=base64.b64encode(payload).decode("ascii"),
        payload_type=payload_type,
        signatures=(
            DsseSignature(keyid=key.keyid, sig=base64.b64encode(signature).decode("ascii")),
        ),
    )


def verify_envelope(envelope: Envelope, keyring: Keyring) -> tuple[PublicKey, bytes]:
    """The trusted key that signed ``envelope`` and the verified payload.

    A signature counts when one of the keyring's keys (the one its ``keyid`` names, or any when
    it names none) verifies it over the PAE. Raises :class:`AttestationInvalid` otherwise.
    """
    if not keyring:
        raise AttestationInvalid("no trusted public key to verify with")
    if not envelope.signatures:
        raise AttestationInvalid("the envelope has no signature")
    if len(envelope.signatures) > MAX_SIGNATURES:
        # Each signature costs a verification per trusted key: a forged envelope with thousands
        # of them would hold the worker for seconds. Belay signs with one.
        raise AttestationInvalid(
            f"the envelope has {len(envelope.signatures)} signatures (at most {MAX_SIGNATURES})"
        )
    payload = envelope.body()
    message = pae(envelope.payload_type, payload)
    named = []
    for signature in envelope.signatures:
        raw = _b64decode(signature.sig, "signature")
        candidates = keyring.candidates(signature.keyid)
        if candidates:
            named.append(signature.keyid)
        for key in candidates:
            if key.verifies(raw, message):
                return key, payload
    if not named:
        ids = ", ".join(s.keyid[:16] or "(none)" for s in envelope.signatures)
        raise AttestationInvalid(f"no signature by a trusted key (signed by keyid {ids})")
    raise AttestationInvalid("the signature does not verify: the envelope was changed or forged")
