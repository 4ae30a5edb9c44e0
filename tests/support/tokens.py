"""Credentials as tests need them."""

from __future__ import annotations

import base64
import json
from typing import Any

__all__ = ["unsigned_jwt"]


def unsigned_jwt(claims: dict[str, Any]) -> str:
    """A JWT-shaped token carrying ``claims`` (header ``HS256``, a dummy signature).

    Argo CD's tokens are JWTs; Belay reads their claims (``exp``, ``sub``) without verifying
    them, and the simulator matches the tokens of its state as given.
    """

    def part(data: dict[str, Any]) -> str:
        text = json.dumps(data, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"
