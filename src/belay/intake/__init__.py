"""The intake's pure parts: who sent a delivery, which project it is for, and its judgement.

Judging and storing a delivery is the use case :func:`belay.services.submit_delivery`.
"""

from belay.intake.auth import (
    AuthError,
    AuthResult,
    Credentials,
    TokenDigest,
    WebhookKey,
    authenticate,
    decode_webhook_secret,
    hash_token,
    sign_standard_webhook,
)

__all__ = [
    "AuthError",
    "AuthResult",
    "Credentials",
    "TokenDigest",
    "WebhookKey",
    "authenticate",
    "decode_webhook_secret",
    "hash_token",
    "sign_standard_webhook",
]
