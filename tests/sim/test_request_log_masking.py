"""The simulator's request log (``GET /_sim/requests``) never shows a password or a token."""

from __future__ import annotations

import httpx

from belay import jsonio
from belay.sim.sample import sample_state
from belay.sim.testing import running_simulator

PASSWORD = "sim-log-password-Xy81"
TOKEN = "sim-log-token-Vb27-not-registered"


def test_login_password_and_body_tokens_are_masked() -> None:
    """A login's password and a token in a JSON or text body are masked in /_sim/requests."""
    state = sample_state()
    state["accounts"] = [{"name": "admin", "password": PASSWORD, "policies": []}]
    with running_simulator(state) as sim:
        login = httpx.post(
            f"{sim.url}/api/v1/session",
            json={"username": "admin", "password": PASSWORD},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        httpx.post(
            f"{sim.url}/api/v1/applications/guestbook/sync",
            content=f'{{"token": "{TOKEN}", "revision": "HEAD"}}',
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        httpx.post(
            f"{sim.url}/api/v1/session",
            content=f"password={PASSWORD}",
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        log = httpx.get(f"{sim.url}/_sim/requests", timeout=10)
    assert log.status_code == 200
    assert PASSWORD not in log.text and TOKEN not in log.text
    records = log.json()
    assert records[0]["path"] == "/api/v1/session"
    assert records[0]["body"]["username"] == "admin"
    assert records[0]["body"]["password"] == "[REDACTED]"
    assert records[1]["body"]["revision"] == "HEAD"


def test_manifests_and_query_secrets_never_reach_the_log() -> None:
    """A Secret's data in a server-side-diff query or a sync's manifests, and a password in a
    query URL, were logged as sent."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "guestbook"},
        "data": {"db-pass": "c2VjcmV0LWNhbmFyeS05OTE="},
    }
    with running_simulator(sample_state()) as sim:
        httpx.get(
            f"{sim.url}/api/v1/applications/guestbook/server-side-diff",
            params={
                "targetManifests": jsonio.dumps_text(secret),
                "x": "postgres://u:plainpw1234@db/x",
            },
            timeout=10,
        )
        httpx.post(
            f"{sim.url}/api/v1/applications/guestbook/sync",
            json={"manifests": [jsonio.dumps_text(secret)]},
            timeout=10,
        )
        log = httpx.get(f"{sim.url}/_sim/requests", timeout=10)
    assert "c2VjcmV0LWNhbmFyeS05OTE=" not in log.text
    assert "plainpw1234" not in log.text
    assert "manifest" in log.text
