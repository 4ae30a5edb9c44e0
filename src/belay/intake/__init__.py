"""The intake: Portage's webhook and the native submission API."""

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
