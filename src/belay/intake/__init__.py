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
from belay.intake.judgement import bundle_limits, judge_bundle, unmapped, unreadable_bundle
from belay.intake.mapping import map_project

__all__ = [
    "AuthError",
    "AuthResult",
    "Credentials",
    "TokenDigest",
    "WebhookKey",
    "authenticate",
    "bundle_limits",
    "decode_webhook_secret",
    "hash_token",
    "judge_bundle",
    "map_project",
    "sign_standard_webhook",
    "unmapped",
    "unreadable_bundle",
]
