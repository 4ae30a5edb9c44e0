"""Read access: the pure rule as a table, then the token, cookie, proxy and loopback modes live."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from belay.config.errors import ConfigError
from belay.config.settings import BelaySettings
from belay.web.access import ReadAccess
from belay.web.sessions import SESSION_COOKIE

from .conftest import PASS_COMMIT, READ_TOKEN, Belay, bundle, csrf_form, start_belay

TOKEN = "read-token-for-the-table"
TOKEN_ONLY = ReadAccess(token=TOKEN)
PROXY_ONLY = ReadAccess(proxy_header="X-Forwarded-User")
BOTH = ReadAccess(token=TOKEN, proxy_header="X-Forwarded-User")
NEITHER = ReadAccess()


@pytest.mark.parametrize(
    ("access", "headers", "signed_in", "client", "allowed", "status"),
    [
        pytest.param(
            TOKEN_ONLY, {"Authorization": f"Bearer {TOKEN}"}, {}, "10.0.0.9", True, 200, id="token"
        ),
        pytest.param(
            TOKEN_ONLY,
            {"authorization": f"bearer {TOKEN}"},
            {},
            "10.0.0.9",
            True,
            200,
            id="token-any-case",
        ),
        pytest.param(
            TOKEN_ONLY,
            {"Authorization": "Bearer wrong"},
            {},
            "10.0.0.9",
            False,
            401,
            id="wrong-token",
        ),
        pytest.param(
            TOKEN_ONLY,
            {"Authorization": TOKEN},
            {},
            "10.0.0.9",
            False,
            401,
            id="token-without-scheme",
        ),
        pytest.param(
            TOKEN_ONLY, {}, False, "127.0.0.1", False, 401, id="token-mode-ignores-loopback"
        ),
        pytest.param(TOKEN_ONLY, {}, True, "10.0.0.9", True, 200, id="session"),
        pytest.param(PROXY_ONLY, {}, True, "10.0.0.9", False, 401, id="session-needs-token-mode"),
        pytest.param(NEITHER, {}, True, "10.0.0.9", False, 403, id="session-in-loopback-mode"),
        pytest.param(
            TOKEN_ONLY,
            {"X-Forwarded-User": "alice"},
            {},
            "10.0.0.9",
            False,
            401,
            id="proxy-header-not-configured",
        ),
        pytest.param(
            PROXY_ONLY, {"x-forwarded-user": "alice"}, {}, "10.0.0.9", True, 200, id="proxy"
        ),
        pytest.param(
            PROXY_ONLY, {"X-Forwarded-User": "  "}, {}, "10.0.0.9", False, 401, id="proxy-empty"
        ),
        pytest.param(
            PROXY_ONLY,
            {"Authorization": f"Bearer {TOKEN}"},
            {},
            "10.0.0.9",
            False,
            401,
            id="proxy-mode-no-token",
        ),
        pytest.param(
            BOTH, {"Authorization": f"Bearer {TOKEN}"}, {}, "10.0.0.9", True, 200, id="both-token"
        ),
        pytest.param(BOTH, {"X-Forwarded-User": "bob"}, {}, "10.0.0.9", True, 200, id="both-proxy"),
        pytest.param(NEITHER, {}, False, "127.0.0.1", True, 200, id="loopback-v4"),
        pytest.param(NEITHER, {}, False, "127.8.9.10", True, 200, id="loopback-range"),
        pytest.param(NEITHER, {}, False, "::1", True, 200, id="loopback-v6"),
        pytest.param(
            NEITHER,
            {"X-Forwarded-For": "203.0.113.9"},
            {},
            "127.0.0.1",
            False,
            403,
            id="proxied-loopback",
        ),
        pytest.param(
            NEITHER, {"X-Real-IP": "10.1.2.3"}, {}, "::1", False, 403, id="proxied-loopback-v6"
        ),
        pytest.param(NEITHER, {}, False, "10.0.0.9", False, 403, id="remote-without-config"),
        pytest.param(
            NEITHER,
            {"Authorization": f"Bearer {TOKEN}"},
            {},
            "192.168.1.4",
            False,
            403,
            id="remote-token-unconfigured",
        ),
        pytest.param(NEITHER, {}, {}, None, False, 403, id="no-client-address"),
        pytest.param(NEITHER, {}, False, "not-an-ip", False, 403, id="garbage-address"),
    ],
)
def test_rule(
    access: ReadAccess,
    headers: dict[str, str],
    signed_in: bool,
    client: str | None,
    allowed: bool,
    status: int,
) -> None:
    """Each mode lets in exactly the requests it names, and refuses the rest with 401 or 403."""
    ruling = access.rule(headers=headers, client_host=client, signed_in=signed_in)
    assert ruling.allowed is allowed
    assert ruling.status == status
    if not allowed:
        assert TOKEN not in ruling.reason


def test_web_token_env_must_be_set() -> None:
    """A web_token_env naming an unset variable stops start-up (fail closed)."""
    settings = BelaySettings(web_token_env="BELAY_WEB_TOKEN_UNSET")
    with pytest.raises(ConfigError, match="BELAY_WEB_TOKEN_UNSET is not set"):
        ReadAccess.from_settings(settings, {})
    with pytest.raises(ConfigError):
        ReadAccess.from_settings(settings, {"BELAY_WEB_TOKEN_UNSET": "   "})


def test_web_token_env_accepts_bearer_prefix_and_is_redacted() -> None:
    """The variable may hold ``Bearer <token>``; the token is registered with the redaction."""
    from belay.redact import redact_text

    secret = "s3cret-read-token-value-123"
    access = ReadAccess.from_settings(
        BelaySettings(web_token_env="BELAY_WEB_TOKEN_X"), {"BELAY_WEB_TOKEN_X": f"Bearer {secret}"}
    )
    assert access.check_token(secret)
    assert not access.check_token(f"Bearer {secret}")
    assert secret not in redact_text(f"token={secret} here {secret}")
    assert access.mode == "token"


@pytest.fixture
def proxied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Belay]:
    """Belay behind an (imagined) authenticating proxy."""
    yield from start_belay(tmp_path, monkeypatch, extra="proxy_auth_header: X-Forwarded-User")


def test_token_mode_live(belay_token: Belay) -> None:
    """Without the token the page shows nothing; /login makes a session whose cookie opens it."""
    belay_token.submit(bundle(commit=PASS_COMMIT))
    url = belay_token.url
    refused = httpx.get(f"{url}/submissions", timeout=10)
    assert refused.status_code == 401
    assert PASS_COMMIT[:12] not in refused.text and "example-app" not in refused.text
    assert 'name="token"' in refused.text

    with httpx.Client(base_url=url, timeout=10) as browser:
        wrong = browser.post("/login", data=csrf_form(browser, token="nope"))
        assert wrong.status_code == 401

        in_url = browser.get("/login", params={"token": READ_TOKEN})
        assert in_url.status_code == 400
        assert SESSION_COOKIE not in in_url.headers.get("set-cookie", "")

        login = browser.post(
            "/login", data=csrf_form(browser, token=READ_TOKEN, next="//evil.example/x")
        )
        assert login.status_code == 303
        assert login.headers["location"] == "/submissions"
        set_cookie = login.headers["set-cookie"]
        assert set_cookie.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie
        assert "Secure" not in set_cookie  # public_url is http here
        assert READ_TOKEN not in set_cookie
        page = browser.get("/submissions")
        assert page.status_code == 200 and PASS_COMMIT[:12] in page.text

        form = browser.post(
            "/login", data=csrf_form(browser, token=READ_TOKEN, next="/submissions?state=pass")
        )
        assert form.status_code == 303 and form.headers["location"] == "/submissions?state=pass"
    bearer = httpx.get(
        f"{url}/submissions", headers={"Authorization": f"Bearer {READ_TOKEN}"}, timeout=10
    )
    assert bearer.status_code == 200


def test_proxy_mode_live(proxied: Belay) -> None:
    """With proxy_auth_header set, the header opens the page and its absence closes it."""
    assert httpx.get(f"{proxied.url}/submissions", timeout=10).status_code == 401
    allowed = httpx.get(
        f"{proxied.url}/submissions", headers={"X-Forwarded-User": "alice"}, timeout=10
    )
    assert allowed.status_code == 200


def test_loopback_mode_refuses_other_clients(belay: Belay) -> None:
    """With neither configured, a loopback client reads and a remote client gets 403, no data."""
    belay.submit(bundle(commit=PASS_COMMIT))
    assert httpx.get(f"{belay.url}/submissions", timeout=10).status_code == 200
    from belay.web import create_app

    # The same app, reached from a non-loopback address (an in-process transport sets it).
    transport = httpx.ASGITransport(app=create_app(belay.services), client=("10.1.2.3", 5555))

    async def fetch() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return (
                await client.get("/submissions"),
                await client.get("/api/v1/audit"),
                await client.get("/healthz"),
            )

    page, api, health = asyncio.run(fetch())
    assert page.status_code == 403
    assert PASS_COMMIT[:12] not in page.text
    assert "loopback" in page.text
    assert api.status_code == 403 and set(api.json()) == {"error"}
    assert health.status_code == 200
