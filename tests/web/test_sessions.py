"""Server-side sessions: random ids in the store, idle and absolute expiry, sign-out, rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from belay.store import Store
from belay.web.sessions import SESSION_COOKIE, TOUCH_EVERY, SessionManager, SessionPolicy

from .conftest import READ_TOKEN, Belay, csrf_form, start_belay

POLICY = SessionPolicy(idle=timedelta(minutes=30), absolute=timedelta(hours=8))


class Clock:
    """A settable clock for the session manager."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _sessions(store: Store, clock: Clock, fingerprint: str = "f1") -> SessionManager:
    return SessionManager(store, fingerprint=fingerprint, policy=POLICY, clock=clock)


def test_session_ids_are_random_and_stored_only_as_digests(store: Store) -> None:
    """Two sign-ins give two unguessable ids; the table holds neither id in clear."""
    clock = Clock()
    manager = _sessions(store, clock)
    first, second = manager.create(client="10.0.0.1"), manager.create(client="10.0.0.2")
    assert first != second and len(first) >= 40
    with store.session() as raw:
        from belay.store.websessions import WebSessionRow

        rows = raw.query(WebSessionRow).all()
    assert len(rows) == 2
    assert {r.id_sha256 for r in rows}.isdisjoint({first, second})
    assert manager.valid(first) and manager.valid(second)
    assert not manager.valid("made-up-session-id")
    store.dispose()


def test_idle_expiry_and_touch(store: Store) -> None:
    """A session used within the idle limit lives on; one left idle past it ends and is gone."""
    clock = Clock()
    manager = _sessions(store, clock)
    session = manager.create(client=None)
    clock.now += POLICY.idle - timedelta(minutes=1)
    assert manager.valid(session)  # used: the idle clock starts again (touch > TOUCH_EVERY)
    assert POLICY.idle > TOUCH_EVERY
    clock.now += POLICY.idle - timedelta(minutes=1)
    assert manager.valid(session)
    clock.now += POLICY.idle
    assert not manager.valid(session)
    with store.unit_of_work() as uow:
        assert uow.web_sessions.count() == 0
    store.dispose()


def test_absolute_expiry_even_when_used(store: Store) -> None:
    """A session in constant use still ends at the absolute limit."""
    clock = Clock()
    manager = _sessions(store, clock)
    session = manager.create(client=None)
    end = clock.now + POLICY.absolute
    while clock.now + timedelta(minutes=20) < end:
        clock.now += timedelta(minutes=20)
        assert manager.valid(session)
    clock.now = end
    assert not manager.valid(session)
    store.dispose()


def test_rotating_the_token_ends_sessions_and_sign_out_deletes(store: Store) -> None:
    """A manager with another token's fingerprint accepts no old session; end() deletes one."""
    clock = Clock()
    old = _sessions(store, clock, "old-token")
    kept, ended = old.create(client=None), old.create(client=None)
    assert old.end(ended) and not old.valid(ended) and not old.end(ended)
    assert old.valid(kept)
    new = _sessions(store, clock, "new-token")
    assert not new.valid(kept)
    assert not old.valid(kept)  # deleted when seen with the new token
    store.dispose()


def _sign_in(url: str) -> tuple[httpx.Client, str]:
    browser = httpx.Client(base_url=url, timeout=10)
    login = browser.post("/login", data=csrf_form(browser, token=READ_TOKEN))
    assert login.status_code == 303, login.text
    cookie = browser.cookies.get(SESSION_COOKIE)
    assert cookie
    return browser, cookie


def test_sign_out_ends_the_session_on_the_server(belay_token: Belay) -> None:
    """After sign-out the old cookie no longer reads (before: it still did)."""
    browser, cookie = _sign_in(belay_token.url)
    try:
        assert browser.get("/api/v1/submissions").status_code == 200
        form = browser.get("/logout")
        assert form.status_code == 200 and 'action="/logout"' in form.text
        token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        out = browser.post("/logout", data={"csrf_token": token})
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]
    finally:
        browser.close()
    replayed = httpx.get(
        f"{belay_token.url}/api/v1/submissions", cookies={SESSION_COOKIE: cookie}, timeout=10
    )
    assert replayed.status_code == 401
    with belay_token.services.store.unit_of_work() as uow:
        assert uow.web_sessions.count() == 0


def test_rotating_the_read_token_signs_everyone_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A session made with the old token is refused once Belay restarts with a new one."""
    extra = "web_token_env: BELAY_WEB_READ_TOKEN"
    monkeypatch.setenv("BELAY_WEB_READ_TOKEN", READ_TOKEN)
    first = start_belay(tmp_path, monkeypatch, extra=extra)
    running = next(first)
    browser, cookie = _sign_in(running.url)
    browser.close()
    first.close()
    monkeypatch.setenv("BELAY_WEB_READ_TOKEN", "rotated-read-token-Qz90")
    second = start_belay(tmp_path, monkeypatch, extra=extra)
    running = next(second)
    try:
        again = httpx.get(
            f"{running.url}/api/v1/submissions", cookies={SESSION_COOKIE: cookie}, timeout=10
        )
        assert again.status_code == 401
    finally:
        second.close()


def test_cookie_is_secure_when_public_url_is_https(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an https public_url the session and CSRF cookies are Secure, HttpOnly, Strict."""
    monkeypatch.setenv("BELAY_WEB_READ_TOKEN", READ_TOKEN)
    gen = start_belay(
        tmp_path,
        monkeypatch,
        extra="web_token_env: BELAY_WEB_READ_TOKEN",
        public_url="https://belay.example.com",
    )
    running = next(gen)
    try:
        with httpx.Client(base_url=running.url, timeout=10) as browser:
            page = browser.get("/login")
            csrf_cookie = page.headers["set-cookie"]
            assert "Secure" in csrf_cookie and "HttpOnly" in csrf_cookie
            # httpx keeps Secure cookies for https only: send the pair by hand.
            nonce = csrf_cookie.split(";", 1)[0].split("=", 1)[1]
            token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        login = httpx.post(
            f"{running.url}/login",
            data={"token": READ_TOKEN, "csrf_token": token},
            cookies={"belay_csrf": nonce},
            headers={"Origin": "https://belay.example.com"},
            timeout=10,
        )
        assert login.status_code == 303, login.text
        set_cookie = login.headers["set-cookie"]
        assert set_cookie.startswith(f"{SESSION_COOKIE}=")
        for flag in ("Secure", "HttpOnly", "SameSite=strict", "Path=/"):
            assert flag in set_cookie
    finally:
        gen.close()
