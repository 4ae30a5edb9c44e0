"""Authentication for the Argo CD client: a static bearer token, or a username/password session.

:class:`SessionLogin` is an ``httpx.Auth`` flow. It logs in lazily (``POST /api/v1/session``) on
the first request, sends the session JWT as ``Authorization: Bearer``, and when an answer is 401
with a token that was not fresh from this very flow (the session expired or was revoked) it logs
in once more and retries once; a second 401 is returned to the caller as it is.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx

from belay import jsonio
from belay.argocd.errors import ArgoCDProtocolError, to_argocd_error
from belay.redact import register_secret

__all__ = ["BearerToken", "SessionLogin", "normalize_token"]

SESSION_PATH = "api/v1/session"


def normalize_token(token: str) -> str:
    """Strip surrounding spaces and a leading ``Bearer `` (any case) from a token."""
    return re.sub(r"(?i)^bearer(?:\s+|$)", "", token.strip()).strip()


class BearerToken(httpx.Auth):
    """Send a fixed API token as ``Authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self._header = f"Bearer {normalize_token(token)}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Add the header; nothing else."""
        request.headers["Authorization"] = self._header
        yield request

    def __repr__(self) -> str:
        return "BearerToken(****)"


LoginObserver = Callable[[httpx.Response, float], None]


class SessionLogin(httpx.Auth):
    """Username/password login as an httpx auth flow (sync clients only).

    ``on_login`` is called with each login response and its duration in seconds, so that the
    client can log the call like any other.
    """

    def __init__(
        self,
        *,
        base_url: httpx.URL,
        username: str,
        password: str,
        instance: str = "default",
        timeout: float = 10.0,
        on_login: LoginObserver | None = None,
    ) -> None:
        self._login_url = base_url.join(SESSION_PATH)
        self._username = username
        self._password = password
        self._instance = instance
        self._on_login = on_login
        # Requests built outside a client get no default timeout; set it explicitly.
        self._timeout = httpx.Timeout(timeout).as_dict()
        self._token: str | None = None
        self._lock = threading.Lock()
        register_secret(password)

    def __repr__(self) -> str:
        return f"SessionLogin(username={self._username!r}, password=****)"

    def forget(self) -> None:
        """Drop the held session token; the next request logs in again."""
        with self._lock:
            self._token = None

    def login_request(self) -> httpx.Request:
        """The ``POST /api/v1/session`` request (exactly ``Content-Type: application/json``)."""
        body = jsonio.dumps({"username": self._username, "password": self._password})
        return httpx.Request(
            "POST",
            self._login_url,
            content=body,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            extensions={"timeout": self._timeout},
        )

    def accept_login(self, response: httpx.Response, duration: float) -> str:
        """Check a login answer (already read) and keep its token; raise a typed error otherwise."""
        if self._on_login is not None:
            self._on_login(response, duration)
        if response.status_code != 200:
            raise to_argocd_error(response, instance=self._instance)
        try:
            token = jsonio.loads(response.content).get("token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise ArgoCDProtocolError(
                f'Argo CD "{self._instance}" answered the login without a session token '
                f"for POST {response.request.url.path}",
                instance=self._instance,
                method="POST",
                path=response.request.url.path,
                status_code=response.status_code,
            )
        register_secret(token)
        with self._lock:
            self._token = token
        return token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Log in if needed, send the request with the session, re-login once on a 401."""
        with self._lock:
            token = self._token
        fresh = False
        if token is None:
            token = yield from self._login()
            fresh = True
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401 or fresh:
            return
        # The held session stopped working (expired, revoked, server restarted): one new login.
        self.forget()
        token = yield from self._login()
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def _login(self) -> Generator[httpx.Request, httpx.Response, str]:
        started = time.perf_counter()
        response = yield self.login_request()
        response.read()
        return self.accept_login(response, time.perf_counter() - started)

    async def async_auth_flow(self, request: httpx.Request) -> Any:
        """Not supported: Belay's Argo CD client is synchronous."""
        raise NotImplementedError("SessionLogin supports sync clients only")
        yield request  # pragma: no cover  (makes this an async generator)
