"""Delivery authentication: tokens, Standard Webhooks signatures, GitLab tokens; fails closed."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.support import signed_webhook_headers

from belay.intake import (
    AuthError,
    Credentials,
    TokenDigest,
    WebhookKey,
    authenticate,
    decode_webhook_secret,
    hash_token,
)

NOW = 1_790_000_000
KEY_A = b"A" * 32
KEY_OLD = b"O" * 32
SECRET_A = "whsec_" + base64.b64encode(KEY_A).decode()
CREDS = Credentials(
    tokens=(
        TokenDigest(project="app", label="token_env T1", sha256=hash_token("tok-app-123456")),
        TokenDigest(project="app", label="token_env T2", sha256=hash_token("tok-app-rotated")),
        TokenDigest(project="other", label="token_env T3", sha256=hash_token("tok-other-98765")),
    ),
    gitlab_tokens=(TokenDigest(project="app", label="gitlab", sha256=hash_token("gl-secret-xyz")),),
    webhook_keys=(
        WebhookKey(project="app", label="new", key=KEY_A),
        WebhookKey(project="app", label="old", key=KEY_OLD),
    ),
)
BODY = b'{"type":"bundle.submitted"}'


def _signed(
    body: bytes = BODY, *, ts: int = NOW, key: bytes = KEY_A, wid: str = "msg_1"
) -> dict[str, str]:
    return signed_webhook_headers(key, body, wid, timestamp=ts)


@pytest.mark.parametrize(
    "header", ["tok-app-123456", "Bearer tok-app-123456", "bearer  tok-app-123456 "]
)
def test_token_bare_or_bearer(header: str) -> None:
    """Portage sends the Authorization value verbatim: bare or Bearer both work."""
    result = authenticate({"Authorization": header}, BODY, CREDS, now=NOW)
    assert result.method == "token"
    assert result.projects == {"app"}
    assert result.labels == ("token_env T1",)


def test_rotated_token_overlaps() -> None:
    """During rotation both the old and the new token of a project are accepted."""
    assert authenticate({"authorization": "tok-app-rotated"}, BODY, CREDS, now=NOW).projects == {
        "app"
    }


def test_token_binds_to_its_project_only() -> None:
    """A token authenticates only for the project it was configured for."""
    assert authenticate({"Authorization": "tok-other-98765"}, BODY, CREDS, now=NOW).projects == {
        "other"
    }


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": ""}, {"Authorization": "Bearer wrong-token"}]
)
def test_missing_or_wrong_token_fails(headers: dict[str, str]) -> None:
    """No or wrong credentials raise AuthError, whose message does not echo the token."""
    with pytest.raises(AuthError) as info:
        authenticate(headers, BODY, CREDS, now=NOW)
    assert "wrong-token" not in str(info.value)


def test_gitlab_token() -> None:
    """X-Gitlab-Token is checked against the configured GitLab tokens."""
    assert (
        authenticate({"X-Gitlab-Token": "gl-secret-xyz"}, BODY, CREDS, now=NOW).method
        == "gitlab-token"
    )
    with pytest.raises(AuthError):
        authenticate({"X-Gitlab-Token": "nope"}, BODY, CREDS, now=NOW)


def test_standard_webhook_verifies_and_returns_id() -> None:
    """A correctly signed delivery authenticates and carries its webhook-id."""
    result = authenticate(_signed(), BODY, CREDS, now=NOW + 10)
    assert result.method == "standard-webhooks"
    assert result.webhook_id == "msg_1"
    assert result.labels == ("new",)


def test_standard_webhook_several_signatures_for_rotation() -> None:
    """A space-separated list with one good signature (old key) verifies."""
    headers = _signed(key=KEY_OLD)
    headers["webhook-signature"] = "v1,AAAA " + "v1a,zzzz " + headers["webhook-signature"]
    assert authenticate(headers, BODY, CREDS, now=NOW).labels == ("old",)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda h, b: (h, b + b" "), "does not verify"),
        (lambda h, b: ({**h, "webhook-timestamp": str(NOW - 301)}, b), "tolerance"),
        (lambda h, b: ({**h, "webhook-timestamp": "nan"}, b), "integer"),
        (lambda h, b: ({**h, "webhook-timestamp": "1.7e9"}, b), "integer"),
        (lambda h, b: ({**h, "webhook-signature": "garbage-no-comma"}, b), "no v1 signature"),
        (lambda h, b: ({**h, "webhook-signature": "v1,!!!notbase64"}, b), "no v1 signature"),
        (lambda h, b: ({**h, "webhook-signature": "v1,é"}, b), "malformed"),
        (lambda h, b: ({**h, "webhook-id": "a.b"}, b), "webhook-id"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), "incomplete"),
    ],
)
def test_standard_webhook_failures(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    """Tampered bodies, stale or malformed timestamps and malformed signatures are 401s."""
    headers, body = mutate(_signed(), BODY)
    with pytest.raises(AuthError, match=message):
        authenticate(headers, body, CREDS, now=NOW)


def test_signature_present_means_signature_is_required() -> None:
    """A bad signature is not rescued by a valid bearer token in the same request."""
    headers = {**_signed(key=b"X" * 32), "Authorization": "tok-app-123456"}
    with pytest.raises(AuthError):
        authenticate(headers, BODY, CREDS, now=NOW)


def test_non_utf8_body_verifies_on_raw_bytes() -> None:
    """The signature covers raw bytes, so a binary body neither crashes nor needs decoding."""
    body = b"\xff\xfe\x00binary"
    assert authenticate(_signed(body), body, CREDS, now=NOW).projects == {"app"}


def test_decode_webhook_secret() -> None:
    """whsec_ secrets decode; short or non-base64 ones are refused without echoing them."""
    assert decode_webhook_secret(SECRET_A) == KEY_A
    with pytest.raises(ValueError, match="shorter"):
        decode_webhook_secret("whsec_" + base64.b64encode(b"short").decode())
    with pytest.raises(ValueError, match="base64") as info:
        decode_webhook_secret("whsec_not base64 at all!")
    assert "not base64 at all" not in str(info.value)


def test_webhook_key_repr_hides_key() -> None:
    """Printing a WebhookKey does not show its bytes."""
    assert "AAAA" not in repr(CREDS.webhook_keys[0])


@settings(max_examples=300, deadline=None)
@given(
    headers=st.dictionaries(
        st.sampled_from(
            [
                "authorization",
                "webhook-id",
                "webhook-timestamp",
                "webhook-signature",
                "x-gitlab-token",
                "x",
            ]
        ),
        st.text(max_size=80),
    ),
    body=st.binary(max_size=64),
)
def test_random_headers_never_crash(headers: dict[str, str], body: bytes) -> None:
    """Any header values either authenticate or raise AuthError; nothing else escapes."""
    with contextlib.suppress(AuthError):
        authenticate(headers, body, CREDS, now=NOW)
