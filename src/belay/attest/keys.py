"""Ed25519 keys for signed verdicts: generate, parse, serialise, identify. Pure (bytes in, out).

A key's id (``keyid``) is the lowercase hex SHA-256 of its public key in DER
SubjectPublicKeyInfo form, so anyone can compute it from the public PEM::

    openssl pkey -pubin -in signing-key.pub.pem -outform DER | sha256sum

The private key lives only in :class:`SigningKey`, whose ``repr`` never shows it; reading key
files and environment variables is :mod:`belay.attest.keyfiles` (the edge).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict

from belay.attest.errors import KeyFileError
from belay.redact import register_secret

__all__ = [
    "KeyPairPem",
    "Keyring",
    "PublicKey",
    "SigningKey",
    "generate_key_pair",
    "keyid_of",
    "parse_private_pem",
    "parse_public_pem",
]


def keyid_of(public: Ed25519PublicKey) -> str:
    """The key id: hex SHA-256 of the DER SubjectPublicKeyInfo of ``public``."""
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def _public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


class PublicKey(BaseModel):
    """A public key Belay trusts: its id, PEM text, and when it was created and retired.

    ``retired``: the key stopped signing then; statements it signed with a later decision time
    are refused (see :func:`belay.attest.verify.verify_attestation`).
    """

    model_config = ConfigDict(frozen=True)

    keyid: str
    pem: str
    created: datetime | None = None
    retired: datetime | None = None

    def verifies(self, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` is this key's Ed25519 signature of ``message``."""
        key = serialization.load_pem_public_key(self.pem.encode("ascii"))
        assert isinstance(key, Ed25519PublicKey)
        try:
            key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class SigningKey:
    """The private Ed25519 key that signs decisions. Its ``repr`` shows only the key id."""

    __slots__ = ("_key", "created", "public")

    def __init__(self, key: Ed25519PrivateKey, *, created: datetime | None = None) -> None:
        self._key = key
        self.created = created
        public = key.public_key()
        self.public = PublicKey(keyid=keyid_of(public), pem=_public_pem(public), created=created)

    @property
    def keyid(self) -> str:
        """The id of this key's public half."""
        return self.public.keyid

    def sign(self, message: bytes) -> bytes:
        """The Ed25519 signature of ``message`` (64 bytes)."""
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey(keyid={self.keyid[:16]}..., private key not shown)"


class KeyPairPem(BaseModel):
    """A newly generated key pair as PEM text (the private half as PKCS#8)."""

    model_config = ConfigDict(frozen=True)

    keyid: str
    private_pem: str
    public_pem: str

    def __repr__(self) -> str:
        return f"KeyPairPem(keyid={self.keyid[:16]}..., private key not shown)"

    __str__ = __repr__  # pydantic's str() lists every field, the private PEM included


def generate_key_pair() -> KeyPairPem:
    """A new random Ed25519 key pair (the private PEM is registered as a secret)."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    _register_pem(private_pem)
    public = key.public_key()
    return KeyPairPem(
        keyid=keyid_of(public), private_pem=private_pem, public_pem=_public_pem(public)
    )


def _register_pem(pem: str) -> None:
    """Make the body of a private PEM a known secret, so that no log line can carry it."""
    body = "".join(line.strip() for line in pem.splitlines() if line and "-----" not in line)
    register_secret(body)
    for line in pem.splitlines():
        if "-----" not in line:
            register_secret(line.strip())


def parse_private_pem(
    pem: str | bytes, *, source: str, created: datetime | None = None
) -> SigningKey:
    """A :class:`SigningKey` from unencrypted PKCS#8 PEM; :class:`KeyFileError` naming
    ``source`` when it is not an Ed25519 private key."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    _register_pem(data.decode("ascii", "replace"))
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(
            f"{source}: the private key is encrypted; Belay needs it unencrypted"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(f"{source}: not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{source}: not an Ed25519 key ({type(key).__name__.lstrip('_')})")
    return SigningKey(key, created=created)


def parse_public_pem(
    pem: str | bytes,
    *,
    source: str,
    created: datetime | None = None,
    retired: datetime | None = None,
) -> PublicKey:
    """A :class:`PublicKey` from SubjectPublicKeyInfo PEM; :class:`KeyFileError` naming
    ``source`` when it is not an Ed25519 public key."""
    data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise KeyFileError(f"{source}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{source}: not an Ed25519 key ({type(key).__name__.lstrip('_')})")
    return PublicKey(keyid=keyid_of(key), pem=_public_pem(key), created=created, retired=retired)


class Keyring(BaseModel):
    """The keys a verifier trusts: the current signing key's public half and retired keys."""

    model_config = ConfigDict(frozen=True)

    keys: tuple[PublicKey, ...] = ()
    current: str | None = None
    """The key id that signs new decisions (``None`` when this process does not sign)."""

    @classmethod
    def of(cls, keys: Iterable[PublicKey], *, current: str | None = None) -> Keyring:
        """A keyring of ``keys``; a key listed twice keeps its first entry."""
        seen: dict[str, PublicKey] = {}
        for key in keys:
            seen.setdefault(key.keyid, key)
        return cls(keys=tuple(seen.values()), current=current)

    def find(self, keyid: str) -> PublicKey | None:
        """The trusted key with this id, or ``None``."""
        return next((k for k in self.keys if k.keyid == keyid), None)

    def candidates(self, keyid: str) -> Sequence[PublicKey]:
        """The keys to try for a signature: the one named by ``keyid``, or all when unnamed."""
        if not keyid:
            return self.keys
        found = self.find(keyid)
        return (found,) if found is not None else ()

    def __bool__(self) -> bool:
        return bool(self.keys)
