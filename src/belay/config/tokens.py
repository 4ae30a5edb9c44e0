"""Read a JWT's ``exp`` claim without verifying it: Belay only wants to warn before expiry.

The signature is not checked (Belay does not hold Argo CD's signing key, and Argo CD checks it on
every call anyway). The token is never logged or put in a message.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from typing import Any

from belay.jsonio import JSONDecodeError, loads

__all__ = ["EXPIRY_WARNING_WINDOW", "is_jwt", "jwt_claims", "token_expiry"]

EXPIRY_WARNING_WINDOW = timedelta(days=14)
"""Warn when a token expires within this long (the alert on token expiry uses it too)."""


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The JWT's payload claims, or ``None`` when ``token`` is not a decodable JWT."""
    parts = token.strip().split(".")
    if len(parts) != 3 or not parts[1]:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError, JSONDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def is_jwt(token: str) -> bool:
    """True when ``token`` is a JWT whose payload decodes to a JSON object."""
    return jwt_claims(token) is not None


def token_expiry(token: str) -> datetime | None:
    """The UTC time of the token's ``exp`` claim; ``None`` if it is not a JWT or has no ``exp``.

    Use :func:`is_jwt` to tell "never expires" (a JWT without ``exp``) from "not a JWT".
    """
    claims = jwt_claims(token)
    if claims is None:
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    try:
        return datetime.fromtimestamp(exp, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
