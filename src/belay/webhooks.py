"""Standard Webhooks HMAC signing and verifying, shared by the intake and the notifier. Pure.

A delivery is signed with ``v1,<base64 HMAC-SHA256 of "<webhook-id>.<timestamp>.<body>">``
under a key given as ``whsec_<base64>``. The intake verifies what Portage sends
(:mod:`belay.intake.auth`); the generic webhook channel signs what Belay sends
(:mod:`belay.notify.channels.webhook`). Neither imports the other: both import this module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence

__all__ = [
    "DEFAULT_TIMESTAMP_TOLERANCE",
    "decode_webhook_secret",
    "presented_signatures",
    "sign_standard_webhook",
    "signature_matches",
]

DEFAULT_TIMESTAMP_TOLERANCE = 300
"""Seconds a Standard Webhooks timestamp may differ from our clock (as the reference libraries)."""


def decode_webhook_secret(secret: str) -> bytes:
    """Turn a ``whsec_<base64>`` secret (or bare base64) into key bytes.

    Raises ``ValueError`` (without the secret in the message) when it is not valid base64 or is
    shorter than 24 bytes, the Standard Webhooks minimum.
    """
    body = secret.strip()
    if body.startswith("whsec_"):
        body = body[len("whsec_") :]
    try:
        key = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("webhook secret is not valid base64 (expected whsec_<base64>)") from err
    if len(key) < 24:
        raise ValueError("webhook secret is shorter than 24 bytes")
    return key


def _signed_content(webhook_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{webhook_id}.{timestamp}.".encode() + body


def sign_standard_webhook(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of a delivery (for tests, the demo and outgoing alerts)."""
    mac = hmac.new(key, _signed_content(webhook_id, timestamp, body), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def presented_signatures(signature_header: str) -> list[bytes]:
    """The decoded ``v1`` signatures of a ``webhook-signature`` header, in order.

    Other schemes (``v1a``) and elements that are not ``v1,<base64>`` are skipped, as the
    specification says consumers may.
    """
    presented: list[bytes] = []
    for element in signature_header.split():
        version, sep, encoded = element.partition(",")
        if not sep or version != "v1":
            continue
        try:
            presented.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return presented


def signature_matches(
    key: bytes, webhook_id: str, timestamp: int, body: bytes, presented: Sequence[bytes]
) -> bool:
    """Whether any of the ``presented`` signatures is ``key``'s over this delivery.

    Every presented signature is compared (in constant time, without early exit), so timing says
    nothing about which one matched.
    """
    expected = hmac.new(key, _signed_content(webhook_id, timestamp, body), hashlib.sha256).digest()
    hit = False
    for candidate in presented:
        hit |= hmac.compare_digest(expected, candidate)
    return hit
