"""belay.yaml's signing keys: file, variable, retired keys, and the mistakes that stop Belay."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from belay.attest import KeyFileError, load_signing, write_key_pair
from belay.attest.keyfiles import PRIVATE_KEY_NAME, PUBLIC_KEY_NAME
from belay.config.errors import ConfigError
from belay.config.settings import load_settings
from belay.redact import redact_text


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "belay.yaml"
    path.write_text(text)
    return path


def test_file_key_and_retired_keys_form_the_keyring(tmp_path: Path) -> None:
    """The signing key's public half is current; a retired key keeps its dates (a YAML date is
    its 00:00 UTC)."""
    current = write_key_pair(tmp_path / "now")
    old = write_key_pair(tmp_path / "old")
    settings = load_settings(
        _config(
            tmp_path,
            f"signing_key_file: now/{PRIVATE_KEY_NAME}\n"
            "signing_key_created: 2026-12-01T10:00:00Z\n"
            "retired_signing_keys:\n"
            f"  - {{public_key_file: old/{PUBLIC_KEY_NAME}, retired: 2026-11-30, created: 2026-01-01}}\n",
        )
    )
    signing = load_signing(settings, {})
    assert signing.enabled
    assert signing.key is not None and signing.key.keyid == current.keyid
    assert signing.keyring.current == current.keyid
    retired = signing.keyring.find(old.keyid)
    assert retired is not None
    assert retired.retired == datetime(2026, 11, 30, tzinfo=UTC)
    assert signing.keyring.find(current.keyid) is not None
    assert signing.keyring.find(current.keyid).created == datetime(2026, 12, 1, 10, tzinfo=UTC)  # type: ignore[union-attr]


def test_key_from_an_environment_variable_is_a_secret(tmp_path: Path) -> None:
    """signing_key_env reads the PEM (also with literal \\n), and its body is redacted after.

    The PEM is made here with cryptography, not with Belay's writer (which registers what it
    writes), so only loading it from the variable can make it a secret.
    """
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    keyid = hashlib.sha256(
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).hexdigest()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    body = next(line for line in pem.splitlines() if "-----" not in line)
    assert body in redact_text(f"oops {body}")  # not a secret yet
    settings = load_settings(_config(tmp_path, "signing_key_env: BELAY_SIGNING_KEY\n"))
    signing = load_signing(settings, {"BELAY_SIGNING_KEY": pem.replace("\n", "\\n")})
    assert signing.key is not None and signing.key.keyid == keyid
    assert body not in redact_text(f"oops {body}")


def test_no_key_means_signing_off_and_said_so(tmp_path: Path) -> None:
    """Without a key nothing is signed, and build_services says so in a warning at start."""
    from belay.bootstrap import build_services

    settings = load_settings(_config(tmp_path, f"database_url: sqlite:///{tmp_path / 'b.db'}\n"))
    assert not load_signing(settings, {}).enabled
    with capture_logs() as logs:
        services = build_services(settings, environ={})
    services.close()
    assert any(e["event"] == "attest.signing_off" for e in logs)
    assert services.intake.attestor is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("signing_key_file: a.pem\nsigning_key_env: K\n", "give one, not both"),
        ("retired_signing_keys: [{public_key_file: x.pem}]\n", "retired"),
        ("retired_signing_keys: [{public_key_file: x.pem, retired: soon}]\n", "retired"),
    ],
)
def test_settings_mistakes_are_one_line(tmp_path: Path, text: str, problem: str) -> None:
    """Ambiguous or incomplete key settings are a ConfigError naming the key."""
    with pytest.raises(ConfigError, match=problem):
        load_settings(_config(tmp_path, text))


def test_key_mistakes_stop_belay(tmp_path: Path) -> None:
    """A missing, wrong or retired-as-current key is a KeyFileError (Belay does not start)."""
    pair = write_key_pair(tmp_path / "k")
    cases = {
        "signing_key_file: nope.pem\n": "file not found",
        f"signing_key_file: k/{PUBLIC_KEY_NAME}\n": "not a PEM private key",
        "signing_key_env: UNSET_KEY\n": "UNSET_KEY is not set",
        f"signing_key_file: k/{PRIVATE_KEY_NAME}\n"
        f"retired_signing_keys: [{{public_key_file: k/{PUBLIC_KEY_NAME}, retired: 2026-01-01}}]\n": "current signing key as retired",
        f"retired_signing_keys: [{{public_key_file: k/{PRIVATE_KEY_NAME}, retired: 2026-01-01}}]\n": "not a PEM public key",
    }
    for text, problem in cases.items():
        settings = load_settings(_config(tmp_path, text))
        with pytest.raises(KeyFileError, match=problem):
            load_signing(settings, {})
    assert pair.keyid
