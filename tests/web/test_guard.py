"""Host allow-list, cross-site refusals, JSON-only bodies, CSRF tokens and the API docs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from belay.jsonio import dumps
from belay.web.guard import allowed_host_names, cross_site_refusal, host_name

from .conftest import READ_TOKEN, Belay, csrf_form, read_headers, start_belay

ALERT = {
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "Errors", "argocd_application": "guestbook"},
            "startsAt": "2026-01-01T00:00:00Z",
        }
    ]
}


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("127.0.0.1:8080", "127.0.0.1"),
        ("LOCALHOST", "localhost"),
        ("[::1]:80", "::1"),
        ("belay.example.com.", "belay.example.com"),
        ("belay.example.com:x", None),
        ("a/b", None),
        ("user@host", None),
        ("[::1", None),
        ("", None),
    ],
)
def test_host_name(header: str, name: str | None) -> None:
    """A Host header's name, without port, brackets or trailing dot; malformed ones are None."""
    assert host_name(header) == name


def test_allowed_host_names() -> None:
    """public_url's host, the loopback names and the configured extras."""
    allowed = allowed_host_names("https://Belay.Example.com:8443", ["belay.ns.svc", "[fd00::1]"])
    assert allowed == {
        "belay.example.com",
        "localhost",
        "127.0.0.1",
        "::1",
        "belay.ns.svc",
        "fd00::1",
    }


PUBLIC = "https://belay.example.com"


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        pytest.param({}, True, id="no-browser-headers"),
        pytest.param({"sec-fetch-site": "same-origin"}, True, id="same-origin"),
        pytest.param({"sec-fetch-site": "none"}, True, id="typed-by-user"),
        pytest.param({"sec-fetch-site": "cross-site"}, False, id="cross-site"),
        pytest.param({"sec-fetch-site": "same-site"}, False, id="same-site-is-not-enough"),
        pytest.param({"origin": "https://belay.example.com"}, True, id="public-origin"),
        pytest.param({"origin": "http://127.0.0.1:8080"}, True, id="host-origin"),
        pytest.param({"origin": "https://attacker.example"}, False, id="foreign-origin"),
        pytest.param({"origin": "null"}, False, id="null-origin"),
        pytest.param({"origin": "http://[::1"}, False, id="malformed-origin"),
        pytest.param({"origin": "http://belay.example.com"}, False, id="other-scheme"),
        pytest.param(
            {"origin": "https://attacker.example", "sec-fetch-site": "same-origin"},
            True,
            id="fetch-site-decides",
        ),
    ],
)
def test_cross_site_rule(headers: dict[str, str], allowed: bool) -> None:
    """Sec-Fetch-Site decides when present; else Origin must be Belay's; neither is no browser."""
    reason = cross_site_refusal(headers, host="127.0.0.1:8080", public_url=PUBLIC)
    assert (reason is None) is allowed


def test_foreign_host_is_400_even_in_loopback_mode(belay: Belay) -> None:
    """A DNS-rebinding page (Host: attacker.example) gets 400 and no data (before: 200)."""
    refused = httpx.get(
        f"{belay.url}/api/v1/submissions", headers={"Host": "attacker.example"}, timeout=10
    )
    assert refused.status_code == 400
    assert set(refused.json()) == {"error"} and "attacker.example" in refused.json()["error"]
    for path in ("/submissions", "/openapi.json", "/api/v1/audit", "/metrics"):
        response = httpx.get(f"{belay.url}{path}", headers={"Host": "evil.test:80"}, timeout=10)
        assert response.status_code == 400, path
    # Probes send the pod's address: health answers whatever the host.
    health = httpx.get(f"{belay.url}/healthz", headers={"Host": "10.1.2.3:8080"}, timeout=10)
    assert health.status_code == 200
    for host in ("localhost", "127.0.0.1", "[::1]:1234"):
        ok = httpx.get(f"{belay.url}/api/v1/submissions", headers={"Host": host}, timeout=10)
        assert ok.status_code == 200, host
    # Every answer carries the strict headers, JSON included.
    assert "default-src 'none'" in ok.headers["content-security-policy"]
    assert ok.headers["x-content-type-options"] == "nosniff"


@pytest.fixture
def extra_host(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Belay]:
    """Belay with one more accepted host name."""
    yield from start_belay(tmp_path, monkeypatch, extra="web: {allowed_hosts: [belay.ns.svc]}")


def test_configured_host_is_served(extra_host: Belay) -> None:
    """A name in web.allowed_hosts is served; others still are not."""
    url = f"{extra_host.url}/api/v1/submissions"
    assert httpx.get(url, headers={"Host": "belay.ns.svc:8080"}, timeout=10).status_code == 200
    assert httpx.get(url, headers={"Host": "other.ns.svc"}, timeout=10).status_code == 400


def test_cross_site_post_runs_no_investigation(belay: Belay) -> None:
    """The reported attack (text/plain, foreign Origin) and its JSON variant are refused; no
    investigation is run or stored (before: 201 and a report)."""
    assert belay.sim is not None
    belay.sim.reset()
    url = f"{belay.url}/api/v1/alerts"
    attacks = [
        {"Content-Type": "text/plain", "Origin": "https://attacker.example"},
        {"Content-Type": "application/json", "Origin": "https://attacker.example"},
        {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
    ]
    codes = [
        httpx.post(url, content=dumps(ALERT), headers=h, timeout=10).status_code for h in attacks
    ]
    assert codes == [403, 403, 403, 415, 415]
    assert belay.sim.requests() == []
    with belay.services.store.session() as raw:
        from belay.store.tables import InvestigationRow

        assert raw.query(InvestigationRow).count() == 0
    same_origin = httpx.post(
        url,
        content=dumps(ALERT),
        headers={"Content-Type": "application/json", "Origin": belay.url},
        timeout=30,
    )
    assert same_origin.status_code == 201, same_origin.text


def test_bad_application_name_is_bad_input(belay: Belay) -> None:
    """An alert naming the application '..' is reported as bad input, naming the problem, and
    Argo CD is not called (before: GET /api/v1 and GET /api/v1/applications/managed-resources).
    The report is stored, so a notification's other alerts are not lost with it."""
    assert belay.sim is not None
    belay.sim.reset()
    alert = {
        "alerts": [{**ALERT["alerts"][0], "labels": {"alertname": "E", "argocd_application": ".."}}]
    }
    response = httpx.post(
        f"{belay.url}/api/v1/alerts",
        content=dumps(alert),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    report = httpx.get(
        response.json()["url"].replace("/investigations/", "/api/v1/investigations/"), timeout=30
    )
    notes = report.json()["report"]["notes"]
    assert any("Argo CD was not asked" in n and "dot segment" in n for n in notes), notes
    assert [r.path for r in belay.sim.requests() if r.path != "/api/v1/session"] == []


def test_form_posts_need_the_csrf_token(belay_token: Belay) -> None:
    """Sign-in and sign-out without the form's token, with a forged one, or from a foreign
    Origin are refused; the right token from the page works."""
    with httpx.Client(base_url=belay_token.url, timeout=10) as browser:
        no_token = browser.post("/login", data={"token": READ_TOKEN})
        forged = browser.post("/login", data={"token": READ_TOKEN, "csrf_token": "0" * 64})
        foreign = browser.post(
            "/login",
            data=csrf_form(browser, token=READ_TOKEN),
            headers={"Origin": "https://attacker.example"},
        )
        assert [no_token.status_code, forged.status_code, foreign.status_code] == [403] * 3
        assert "belay_session" not in browser.cookies
        good = browser.post("/login", data=csrf_form(browser, token=READ_TOKEN))
        assert good.status_code == 303
        no_token_out = browser.post("/logout", data={})
        assert no_token_out.status_code == 403
        assert browser.get("/api/v1/submissions").status_code == 200  # still signed in
    # Another browser's CSRF pair does not fit this one's cookie.
    with httpx.Client(base_url=belay_token.url, timeout=10) as other:
        stolen = csrf_form(other, token=READ_TOKEN)
    with httpx.Client(base_url=belay_token.url, timeout=10) as victim:
        victim.get("/login")
        assert victim.post("/login", data=stolen).status_code == 403


def test_api_docs_follow_the_read_access(belay_token: Belay) -> None:
    """No interactive docs (no CDN); /openapi.json needs the read token (before: public)."""
    url = belay_token.url
    assert httpx.get(f"{url}/docs", timeout=10).status_code == 404
    assert httpx.get(f"{url}/redoc", timeout=10).status_code == 404
    refused = httpx.get(f"{url}/openapi.json", timeout=10)
    assert refused.status_code == 401 and "paths" not in refused.text
    spec = httpx.get(f"{url}/openapi.json", headers=read_headers(), timeout=10)
    assert spec.status_code == 200 and "/api/v1/alerts" in spec.json()["paths"]
    assert "default-src 'none'" in spec.headers["content-security-policy"]


def test_nul_in_path_query_or_alert_is_a_400(belay: Belay) -> None:
    """A NUL in a path, a query or an alert was a 500 on PostgreSQL (which refuses it in text);
    it is a one-line 400 on every store."""
    for path in (
        "/submissions/%00",
        "/api/v1/investigations?application=%00",
        "/investigations/a%00b",
    ):
        answer = httpx.get(belay.url + path, headers=read_headers(), timeout=10)
        assert answer.status_code == 400 and "NUL" in answer.json()["error"], path
    alert = httpx.post(
        f"{belay.url}/api/v1/alerts",
        content=b'{"alerts": [{"status": "firing", "labels": {"alertname": "a\\u0000b"}}]}',
        headers={**read_headers(), "Content-Type": "application/json"},
        timeout=10,
    )
    assert alert.status_code == 400 and "NUL" in alert.json()["error"]
