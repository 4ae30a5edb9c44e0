"""CSRF tokens for form posts (sign-in, sign-out, and any later manual action).

A signed double-submit: a page with a form sets the ``belay_csrf`` cookie to a random nonce
(``HttpOnly``, ``SameSite=Strict``) and puts ``HMAC(key, nonce)`` in the form's hidden
``csrf_token`` field; a post is accepted only when the field matches the cookie's nonce. A
cross-site page can neither read the field nor, without the key, make a pair that matches, even
if it managed to plant a cookie. The key is derived from the read token, so every replica
accepts the forms of the others; without a read token there is no sign-in form, and the key is
random per process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["CSRF_COOKIE", "CSRF_FIELD", "CsrfTokens"]

CSRF_COOKIE = "belay_csrf"
CSRF_FIELD = "csrf_token"
_MAX_LENGTH = 128


class CsrfTokens:
    """Issues and checks the form tokens of one running Belay."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    @staticmethod
    def new_nonce() -> str:
        """A fresh random nonce for the cookie."""
        return secrets.token_urlsafe(24)

    def token(self, nonce: str) -> str:
        """The form token that goes with ``nonce``."""
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    def valid(self, nonce: str | None, token: str | None) -> bool:
        """Whether ``token`` (from the form) belongs to ``nonce`` (from the cookie)."""
        if not nonce or not token or len(nonce) > _MAX_LENGTH or len(token) > _MAX_LENGTH:
            return False
        return hmac.compare_digest(self.token(nonce).encode(), token.encode("utf-8", "replace"))
