"""Username/password sessions: lazy login, Bearer use, one re-login on 401, then give up."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs
from tests.support import unsigned_jwt

from belay import jsonio
from belay.argocd import ArgoCDAuthError, ArgoCDClient, ArgoCDProtocolError

PASSWORD = "correct-horse-battery"


class FakeArgo:
    """A MockTransport handler with a login endpoint and one protected endpoint."""

    def __init__(
        self, *, reject_tokens: int = 0, always_reject: bool = False, opaque: str = ""
    ) -> None:
        self.opaque = opaque
        """Hand out this token instead of a JWT (one no shape rule would recognise)."""
        self.logins = 0
        self.calls: list[str | None] = []
        self.valid: set[str] = set()
        self.reject_tokens = reject_tokens
        self.always_reject = always_reject
        self.login_content_types: list[str | None] = []
        self.login_timeouts: list[Any] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if request.url.path == "/api/v1/session":
            self.login_content_types.append(request.headers.get("content-type"))
            self.login_timeouts.append(request.extensions.get("timeout"))
            creds = jsonio.loads(request.content)
            if creds != {"username": "admin", "password": PASSWORD}:
                return httpx.Response(
                    401,
                    json={
                        "error": "Invalid username or password",
                        "code": 16,
                        "message": "Invalid username or password",
                    },
                )
            self.logins += 1
            token = self.opaque or unsigned_jwt({"jti": self.logins})
            self.valid.add(token)
            return httpx.Response(200, json={"token": token})
        auth = request.headers.get("authorization")
        self.calls.append(auth)
        token = auth.removeprefix("Bearer ") if auth else ""
        if self.always_reject or token not in self.valid:
            return httpx.Response(
                401, json={"error": "no session information", "code": 16, "message": "no session"}
            )
        if self.reject_tokens:
            # Simulate the session expiring: this token stops working.
            self.reject_tokens -= 1
            self.valid.discard(token)
            return httpx.Response(
                401,
                json={"error": "invalid session", "code": 16, "message": "invalid session"},
            )
        return httpx.Response(200, json={"loggedIn": True, "username": "admin"})


def _client(fake: FakeArgo, password: str = PASSWORD) -> ArgoCDClient:
    return ArgoCDClient(
        "https://argocd.example.com",
        username="admin",
        password=password,
        transport=httpx.MockTransport(fake),
    )


def test_logs_in_lazily_once_and_reuses_the_session() -> None:
    """The first call logs in; later calls reuse the same bearer token."""
    fake = FakeArgo()
    with _client(fake) as client:
        assert fake.logins == 0
        assert client.user_info().logged_in is True
        assert client.user_info().username == "admin"
    assert fake.logins == 1
    assert fake.calls == [f"Bearer {unsigned_jwt({'jti': 1})}"] * 2
    assert fake.login_content_types == ["application/json"]
    assert fake.login_timeouts[0]["read"] == 10.0


def test_relogs_in_once_when_the_session_expires() -> None:
    """A 401 on a held session triggers exactly one new login and one retry."""
    fake = FakeArgo(reject_tokens=1)
    with _client(fake) as client:
        client.login()  # login 1
        client.user_info()  # held token rejected → login 2 → retry passes
        client.user_info()  # the new session is kept
    assert fake.logins == 2
    assert fake.calls == [
        f"Bearer {unsigned_jwt({'jti': 1})}",
        f"Bearer {unsigned_jwt({'jti': 2})}",
        f"Bearer {unsigned_jwt({'jti': 2})}",
    ]


def test_gives_up_after_one_relogin() -> None:
    """If the fresh session is refused too, the 401 surfaces as ArgoCDAuthError."""
    fake = FakeArgo(always_reject=True)
    with _client(fake) as client:
        client.login()
        with pytest.raises(ArgoCDAuthError):
            client.user_info()
    # explicit login, then: held token 401 → one re-login → retry 401 → give up
    assert fake.logins == 2
    assert len(fake.calls) == 2


def test_fresh_session_refused_is_not_retried() -> None:
    """A token just obtained in this call and refused is not worth another login."""
    fake = FakeArgo(always_reject=True)
    with _client(fake) as client, pytest.raises(ArgoCDAuthError):
        client.version()
    assert fake.logins == 1
    assert len(fake.calls) == 1


def test_bad_password_is_an_auth_error_without_the_password() -> None:
    """A refused login raises ArgoCDAuthError, and neither password nor body is logged."""
    fake = FakeArgo()
    wrong = "wrong-password-value"
    with (
        capture_logs() as logs,
        _client(fake, password=wrong) as client,
        pytest.raises(ArgoCDAuthError) as info,
    ):
        client.list_applications()
    assert "Invalid username or password" in str(info.value)
    assert info.value.path == "/api/v1/session"
    assert wrong not in str(info.value)
    assert wrong not in repr(logs)
    assert fake.calls == []
    assert next(e["path"] for e in logs if e["event"] == "argocd.call") == "/api/v1/session"


def test_login_answer_without_token_is_a_protocol_error() -> None:
    """A 200 login answer with no token is a protocol error."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={})

    client = ArgoCDClient(
        "https://argocd.example.com",
        username="admin",
        password=PASSWORD,
        transport=httpx.MockTransport(handler),
    )
    with client, pytest.raises(ArgoCDProtocolError, match="without a session token"):
        client.login()


def test_session_token_is_registered_as_a_secret() -> None:
    """The session JWT the server hands out is redacted wherever it shows up later."""
    from belay.redact import redact_text

    # Opaque, so only its registration can hide it (a JWT would be caught by its shape anyway).
    token = "plainsessionvalueforbelaytests"
    assert redact_text(f"session was {token}") == f"session was {token}"  # not yet known
    fake = FakeArgo(opaque=token)
    with _client(fake) as client:
        client.login()
    assert token not in redact_text(f"session was {token}")
    assert PASSWORD not in redact_text(f"pw {PASSWORD}")
