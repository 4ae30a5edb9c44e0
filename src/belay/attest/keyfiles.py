"""Key files and variables: the edge where keys are read from and written to disk.

:func:`load_signing` turns ``belay.yaml``'s ``signing_key_file`` / ``signing_key_env`` and
``retired_signing_keys`` into a :class:`Signing` (the signing key, if any, and the keyring of
every trusted public key). :func:`write_key_pair` is ``belay keys generate``: the private key
file is created with mode 0600 (never overwritten), the public one with 0644.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from belay.attest.errors import KeyFileError
from belay.attest.keys import (
    KeyPairPem,
    Keyring,
    PublicKey,
    SigningKey,
    generate_key_pair,
    parse_private_pem,
    parse_public_pem,
)
from belay.config import BelaySettings, process_environ

__all__ = [
    "PRIVATE_KEY_NAME",
    "PUBLIC_KEY_NAME",
    "Signing",
    "WrittenKeyPair",
    "load_signing",
    "read_public_key",
    "write_key_pair",
]

PRIVATE_KEY_NAME = "belay-signing.key.pem"
PUBLIC_KEY_NAME = "belay-signing.pub.pem"
_MAX_KEY_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Signing:
    """What a process knows about keys: the key it signs with (``None``: signing is off) and
    every public key it trusts."""

    key: SigningKey | None
    keyring: Keyring
    verify_only: bool = False
    """A worker holding only the signing key's public half: it signs nothing, verifies all."""

    @property
    def enabled(self) -> bool:
        """Whether decisions are signed here."""
        return self.key is not None

    @property
    def verifies(self) -> bool:
        """Whether the worker demands a valid signature before each sync."""
        return self.key is not None or self.verify_only


def _read(path: Path, what: str) -> bytes:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_KEY_FILE_BYTES + 1)
    except FileNotFoundError:
        raise KeyFileError(f"{what} {path}: file not found") from None
    except OSError as err:
        raise KeyFileError(f"{what} {path}: cannot be read ({err.strerror or err})") from None
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{what} {path}: too large to be a key file")
    return data


def _resolve(settings: BelaySettings, name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else settings.base_dir / path


def read_public_key(
    path: Path, *, created: datetime | None = None, retired: datetime | None = None
) -> PublicKey:
    """A public key from a PEM file; :class:`KeyFileError` naming the file otherwise."""
    return parse_public_pem(
        _read(path, "public key"), source=f"public key {path}", created=created, retired=retired
    )


def load_signing(
    settings: BelaySettings, environ: Mapping[str, str] | None = None, *, sign: bool = True
) -> Signing:
    """Read the signing key and the retired public keys that ``settings`` name.

    A key named but missing or unusable is a :class:`KeyFileError` (fail closed: Belay does not
    start rather than sign with nothing). With no key named, signing is off. With
    ``sign=False`` (``belay worker``) and a verifying key named, the private key is not read at
    all: the worker trusts the verifying key and the retired ones, and signs nothing.
    """
    env = process_environ(environ)
    retired = [
        read_public_key(
            _resolve(settings, entry.public_key_file), created=entry.created, retired=entry.retired
        )
        for entry in settings.retired_signing_keys
    ]
    if not sign and (settings.verifying_key_file or settings.verifying_key_env):
        public = _verifying_key(settings, env)
        keyring = Keyring.of([public, *retired], current=public.keyid)
        return Signing(key=None, keyring=keyring, verify_only=True)
    key: SigningKey | None = None
    created = settings.signing_key_created
    if settings.signing_key_file:
        path = _resolve(settings, settings.signing_key_file)
        key = parse_private_pem(
            _read(path, "signing_key_file"), source=f"signing_key_file {path}", created=created
        )
    elif settings.signing_key_env:
        key = parse_private_pem(
            _env_pem(env, settings.signing_key_env),
            source=f"signing_key_env {settings.signing_key_env}",
            created=created,
        )
    if key is not None and any(r.keyid == key.keyid for r in retired):
        raise KeyFileError("retired_signing_keys: lists the current signing key as retired")
    named_verifier = settings.verifying_key_file or (
        settings.verifying_key_env and env.get(settings.verifying_key_env, "").strip()
    )
    # One belay.yaml serves the API (which signs) and the workers (which verify): the two
    # halves must be one key pair, or every signed decision would be refused.
    if key is not None and named_verifier and _verifying_key(settings, env).keyid != key.keyid:
        raise KeyFileError("verifying key: it is not the public half of the signing key")
    current = [key.public] if key is not None else []
    keyring = Keyring.of([*current, *retired], current=key.keyid if key else None)
    return Signing(key=key, keyring=keyring)


def _env_pem(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "")
    if not value.strip():
        raise KeyFileError(f"environment variable {name} is not set")
    return value.strip().replace("\\n", "\n")


def _verifying_key(settings: BelaySettings, env: Mapping[str, str]) -> PublicKey:
    """The verifying key ``settings`` name (a file, or a variable that must be set)."""
    created = settings.signing_key_created
    if settings.verifying_key_file:
        return read_public_key(_resolve(settings, settings.verifying_key_file), created=created)
    name = settings.verifying_key_env or ""
    return parse_public_pem(
        _env_pem(env, name).encode(), source=f"verifying_key_env {name}", created=created
    )


@dataclass(frozen=True)
class WrittenKeyPair:
    """Where ``belay keys generate`` wrote a key pair, and its id."""

    keyid: str
    private_path: Path
    public_path: Path


def write_key_pair(directory: Path, *, pair: KeyPairPem | None = None) -> WrittenKeyPair:
    """Write a new key pair into ``directory`` (created 0700 if missing).

    The private key file is created exclusively with mode 0600, so an existing key is never
    overwritten; :class:`KeyFileError` when it exists or the folder cannot be written.
    """
    pair = pair or generate_key_pair()
    private_path = directory / PRIVATE_KEY_NAME
    public_path = directory / PUBLIC_KEY_NAME
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise KeyFileError(f"--out {directory}: cannot create ({err.strerror or err})") from None
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path}: exists already; a key is never overwritten")
    try:
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{private_path}: exists already; a key is never overwritten") from None
    except OSError as err:
        raise KeyFileError(f"--out {directory}: cannot write ({err.strerror or err})") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        os.fchmod(handle.fileno(), 0o600)  # whatever the umask
        handle.write(pair.private_pem)
    try:
        public_path.write_text(pair.public_pem, encoding="ascii")
    except OSError as err:
        raise KeyFileError(f"{public_path}: cannot write ({err.strerror or err})") from None
    return WrittenKeyPair(keyid=pair.keyid, private_path=private_path, public_path=public_path)
