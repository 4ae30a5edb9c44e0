"""Who sent a delivery: bearer tokens, Standard Webhooks signatures and GitLab tokens. Pure.

Every configured secret is held only as what is needed to check it: bearer and GitLab tokens as
SHA-256 digests (``token_sha256`` in belay.yaml, or hashed at start from ``token_env``), webhook
secrets as key bytes. Comparisons run in constant time over *every* configured credential, so
timing reveals neither which project a token belongs to nor how much of it matched.

Failures raise :class:`AuthError` with a one-line reason that never repeats what was sent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from belay.errors import BelayError
from belay.webhooks import (
    DEFAULT_TIMESTAMP_TOLERANCE,
    decode_webhook_secret,
    presented_signatures,
    sign_standard_webhook,
    signature_matches,
)

__all__ = [
    "DEFAULT_TIMESTAMP_TOLERANCE",
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

_MAX_WEBHOOK_ID = 255
_MAX_SIGNATURE_HEADER = 8192

AuthMethod = Literal["token", "standard-webhooks", "gitlab-token"]


class AuthError(BelayError):
    """The delivery is not authenticated (HTTP 401). The message never echoes credentials."""


class TokenDigest(BaseModel):
    """A bearer or GitLab token of one project, kept as its SHA-256 digest."""

    model_config = ConfigDict(frozen=True)

    project: str
    label: str
    """Where it came from (``token_env BELAY_TOKEN_X``, ``token_sha256[1]``), for the audit."""
    sha256: str


class WebhookKey(BaseModel):
    """A Standard Webhooks signing key of one project."""

    model_config = ConfigDict(frozen=True)

    project: str
    label: str
    key: bytes

    def __repr__(self) -> str:
        return f"WebhookKey(project={self.project!r}, label={self.label!r}, key=<hidden>)"

    __str__ = __repr__  # pydantic's str() lists every field, the key bytes included


class Credentials(BaseModel):
    """Every credential the intake accepts, across projects."""

    model_config = ConfigDict(frozen=True)

    tokens: tuple[TokenDigest, ...] = ()
    gitlab_tokens: tuple[TokenDigest, ...] = ()
    webhook_keys: tuple[WebhookKey, ...] = ()


class AuthResult(BaseModel):
    """Who the sender is: the projects it may submit for, how it proved it, and the delivery id."""

    model_config = ConfigDict(frozen=True)

    method: AuthMethod
    projects: frozenset[str]
    labels: tuple[str, ...]
    webhook_id: str | None = None


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored and compared."""
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(
    headers: Mapping[str, str], body: bytes, credentials: Credentials, *, now: float
) -> AuthResult:
    """Authenticate a delivery from its headers (case-insensitive mapping) and raw body.

    A Standard Webhooks signature, when present, is the method checked (and must verify); else
    ``X-Gitlab-Token``; else ``Authorization`` (``Bearer <token>`` or the bare token, as Portage
    sends it verbatim). Raises :class:`AuthError` when nothing verifies.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    if "webhook-signature" in lowered or "webhook-id" in lowered:
        return _standard_webhook(lowered, body, credentials.webhook_keys, now=now)
    if "x-gitlab-token" in lowered:
        matches = _match_token(lowered["x-gitlab-token"].strip(), credentials.gitlab_tokens)
        if not matches:
            raise AuthError("X-Gitlab-Token does not match any configured project")
        return _result("gitlab-token", matches)
    authorization = lowered.get("authorization", "").strip()
    if not authorization:
        raise AuthError("no credentials: send Authorization, X-Gitlab-Token or a webhook signature")
    scheme, _, rest = authorization.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" and rest.strip() else authorization
    matches = _match_token(token, credentials.tokens)
    if not matches:
        raise AuthError("the Authorization token does not match any configured project")
    return _result("token", matches)


def _match_token(token: str, digests: Sequence[TokenDigest]) -> list[TokenDigest]:
    presented = hash_token(token).encode()
    # Compare against every digest (no early exit) so timing says nothing about which matched.
    return [d for d in digests if hmac.compare_digest(presented, d.sha256.encode())]


def _result(
    method: AuthMethod, matches: Sequence[TokenDigest | WebhookKey], webhook_id: str | None = None
) -> AuthResult:
    return AuthResult(
        method=method,
        projects=frozenset(m.project for m in matches),
        labels=tuple(m.label for m in matches),
        webhook_id=webhook_id,
    )


def _standard_webhook(
    headers: Mapping[str, str], body: bytes, keys: Sequence[WebhookKey], *, now: float
) -> AuthResult:
    webhook_id = headers.get("webhook-id", "")
    raw_timestamp = headers.get("webhook-timestamp", "")
    signature_header = headers.get("webhook-signature", "")
    if not webhook_id or not raw_timestamp or not signature_header:
        raise AuthError(
            "incomplete Standard Webhooks headers: webhook-id, webhook-timestamp and "
            "webhook-signature are all required"
        )
    if (
        len(webhook_id) > _MAX_WEBHOOK_ID
        or not webhook_id.isascii()
        or not webhook_id.isprintable()
        or "." in webhook_id
    ):
        raise AuthError("webhook-id is malformed (printable ASCII, no '.', at most 255 characters)")
    if not (raw_timestamp.isascii() and raw_timestamp.isdigit()) or len(raw_timestamp) > 12:
        raise AuthError("webhook-timestamp is not an integer number of seconds")
    timestamp = int(raw_timestamp)
    if abs(now - timestamp) > DEFAULT_TIMESTAMP_TOLERANCE:
        raise AuthError(
            "webhook-timestamp is outside the allowed tolerance (replayed or clock skew)"
        )
    if len(signature_header) > _MAX_SIGNATURE_HEADER or not signature_header.isascii():
        raise AuthError("webhook-signature header is malformed")
    presented = presented_signatures(signature_header)
    if not presented:
        raise AuthError("webhook-signature carries no v1 signature")
    # Every key is checked (no early exit), so timing says nothing about which one matched.
    matches = [
        key for key in keys if signature_matches(key.key, webhook_id, timestamp, body, presented)
    ]
    if not matches:
        raise AuthError("webhook signature does not verify with any configured secret")
    return _result("standard-webhooks", matches, webhook_id=webhook_id)
