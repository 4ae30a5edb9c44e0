"""The audit page in a real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).

Against a running Belay with the Argo CD simulator and a worker: sign in with the read token,
follow the passing submission from the list to its page and read what a person reads there,
then the failing one; a screenshot of each page is kept under ``test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import (
    ACCEPTED_ID,
    FAIL_COMMIT,
    FAILING_ID,
    PASS_COMMIT,
    READ_TOKEN,
    Belay,
    bundle,
)

CHROMIUM = os.environ.get("BELAY_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TIMEOUT_MS = 15_000

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page() -> Iterator[Any]:
    """A page in a fresh headless Chromium (skipped when Chromium is missing; CI fails then)."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            yield page
            context.close()
        finally:
            browser.close()


def test_list_to_detail_in_chromium(
    deployed: tuple[Belay, dict[str, Any], dict[str, Any]], browser_page: Any
) -> None:
    """A person signs in, opens the passing deployment from the list, and reads its story."""
    running, passing, failing = deployed
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)

    # Without the token the page shows nothing but the sign-in form.
    page.goto(f"{running.url}/submissions")
    assert page.locator("table.list").count() == 0
    assert PASS_COMMIT[:12] not in page.content()
    page.fill("#token", READ_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{running.url}/submissions")

    rows = page.locator("table.list tbody tr")
    assert rows.count() == 2
    passing_row = rows.filter(has_text=PASS_COMMIT[:12])
    assert "DEPLOYED" in passing_row.inner_text()
    assert "FAIL" in rows.filter(has_text=FAIL_COMMIT[:12]).inner_text()
    page.screenshot(path=str(ARTIFACTS / "web-submissions.png"), full_page=True)

    passing_row.locator("a.row-link").click()
    page.wait_for_url(passing["detailsUrl"])
    status = page.locator("section.status").inner_text()
    assert "PASS" in status
    assert "DEPLOYED" in status
    assert "Synced · Healthy" in status
    assert PASS_COMMIT in page.locator("section.facts").inner_text()
    assert page.locator("table.reasons.fail").count() == 0
    assert page.locator("tr[data-rule='grype.critical'][data-status='pass']").count() == 1
    events = page.locator("table.events tbody tr").all_inner_texts()
    kinds = [line.split("\t")[2].strip() for line in events]
    assert kinds[:3] == ["submission.received", "verdict.decided", "job.queued"]
    assert "sync.requested" in kinds
    assert kinds[-1] == "deployment.succeeded"
    page.screenshot(path=str(ARTIFACTS / "web-submission-pass.png"), full_page=True)

    page.goto(failing["detailsUrl"])
    status = page.locator("section.status").inner_text()
    assert "FAIL" in status and "NOT DEPLOYED" in status
    failing_rules = page.locator("table.reasons.fail td:first-child").all_inner_texts()
    assert "grype.critical" in failing_rules
    accepted = page.locator("table.exceptions").inner_text()
    assert ACCEPTED_ID in accepted and "team-payments" in accepted and "2099-12-31" in accepted
    assert "Nothing is deployed for a failing verdict" in page.inner_text("body")
    page.screenshot(path=str(ARTIFACTS / "web-submission-fail.png"), full_page=True)


def test_override_badge_in_chromium(
    deployed: tuple[Belay, dict[str, Any], dict[str, Any]], browser_page: Any
) -> None:
    """A failing commit deployed with `belay sync --override-gate` shows a GATE OVERRIDDEN badge
    with who and why; the passing commit's page has none."""
    running, passing, failing = deployed
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    running.override_sync(FAIL_COMMIT, reason="vm2 is not loaded in production", actor="dana")
    running.wait_for_job("succeeded")
    page.goto(f"{running.url}/submissions")
    page.fill("#token", READ_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{running.url}/submissions")

    page.goto(failing["detailsUrl"])
    badge = page.locator("section.status [data-override]")
    assert badge.count() == 1 and badge.is_visible()
    assert badge.inner_text() == "GATE OVERRIDDEN"
    said = page.locator("section.status p.override").inner_text()
    assert "dana" in said and "vm2 is not loaded in production" in said
    kinds = [
        line.split("\t")[2].strip()
        for line in page.locator("table.events tbody tr").all_inner_texts()
    ]
    assert "sync.override" in kinds
    assert "Deployed only by a manual sync past the gate" in page.inner_text("body")
    page.screenshot(path=str(ARTIFACTS / "web-submission-override.png"), full_page=True)

    page.goto(passing["detailsUrl"])
    assert page.locator("[data-override]").count() == 0


ATTACKER_PAGE = """<!doctype html><html><body>
<form id="out" method="post" action="{belay}/logout">
  <input type="hidden" name="csrf_token" value="{forged}"><button id="go-out">win</button>
</form>
<form id="alert" method="post" action="{belay}/api/v1/alerts" enctype="text/plain">
  <input type="hidden" name='{{"alerts": [{{"labels": {{"alertname": "x", "a":"' value='"}}}}]}}'>
  <button id="go-alert">win more</button>
</form></body></html>"""


@pytest.fixture
def attacker_site(belay_token: Belay) -> Iterator[str]:
    """A page on another origin (localhost instead of 127.0.0.1, another port) that posts
    forms to Belay, as a malicious site would."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    page = ATTACKER_PAGE.format(belay=belay_token.url, forged="0" * 64).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_sign_in_sign_out_and_csrf_in_chromium(
    belay_token: Belay, attacker_site: str, browser_page: Any
) -> None:
    """Sign in through the form (a server-side session in an HttpOnly, Strict cookie); a page on
    another origin cannot sign the person out or post an alert; a tampered CSRF token is
    refused; the sign-out button ends the session on the server."""
    import httpx

    page = browser_page
    url = belay_token.url
    belay_token.submit(bundle(commit=PASS_COMMIT))
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{url}/submissions")
    assert page.locator("#token").count() == 1
    page.fill("#token", READ_TOKEN)
    page.click("form.signin button[type=submit]")
    page.wait_for_url(f"{url}/submissions")
    assert page.locator("table.list").count() == 1
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["belay_session"]
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    assert session["value"] != READ_TOKEN
    assert cookies["belay_csrf"]["httpOnly"]

    # The attacker's page posts to Belay from another origin: refused, still signed in.
    page.goto(attacker_site)
    page.click("#go-out")
    page.wait_for_load_state()
    # Chromium sends Sec-Fetch-Site: cross-site, so the same-site rule refuses it first.
    assert "cross-site request refused (Sec-Fetch-Site: cross-site)" in page.content()
    page.goto(attacker_site)
    page.click("#go-alert")
    page.wait_for_load_state()
    assert '"id"' not in page.content()
    with belay_token.services.store.session() as raw:
        from belay.store.tables import InvestigationRow

        assert raw.query(InvestigationRow).count() == 0
    page.goto(f"{url}/submissions")
    assert page.locator("table.list").count() == 1

    # A tampered token in Belay's own sign-out form is refused.
    page.goto(f"{url}/logout")
    page.locator("#sign-out").evaluate("b => b.form.csrf_token.value = 'f'.repeat(64)")
    page.click("#sign-out")
    page.wait_for_load_state()
    assert "did not come from this page" in page.content()
    page.goto(f"{url}/submissions")
    assert page.locator("table.list").count() == 1
    page.screenshot(path=str(ARTIFACTS / "web-signed-in.png"), full_page=True)

    # The sign-out button on the page ends the session, on the server too.
    page.click("form.signout button")
    page.wait_for_url(f"{url}/login")
    page.goto(f"{url}/submissions")
    assert page.locator("table.list").count() == 0 and page.locator("#token").count() == 1
    replay = httpx.get(
        f"{url}/api/v1/submissions", cookies={"belay_session": session["value"]}, timeout=10
    )
    assert replay.status_code == 401


def test_finding_table_in_chromium(
    deployed: tuple[Belay, dict[str, Any], dict[str, Any]], browser_page: Any
) -> None:
    """A failing rule shows its findings as a table, open: the id linked to its advisory, the
    package, installed and fixed-in versions, severity. An accepted rule's table starts folded
    and says what accepted each finding; a sort link reorders the rows."""
    running, _passing, failing = deployed
    page = browser_page
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(f"{running.url}/submissions")
    page.fill("#token", READ_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{running.url}/submissions")

    page.goto(failing["detailsUrl"])
    critical = page.locator("table.finding-table[data-rule='grype.critical']")
    assert critical.is_visible()
    row = critical.locator("tbody tr")
    assert row.count() == 1
    link = row.locator("td a")
    assert link.inner_text() == FAILING_ID
    assert (link.get_attribute("href") or "").startswith("https://")
    cells = row.locator("td").all_inner_texts()
    assert cells[1] == "critical" and cells[2] and cells[7] == "fail"
    page.screenshot(path=str(ARTIFACTS / "web-findings.png"), full_page=True)

    accepted = page.locator("table.finding-table[data-rule='grype.high']")
    assert not accepted.is_visible()  # folded until asked for
    page.locator("tr[data-rule='grype.high'] details.findings summary").click()
    assert accepted.is_visible()
    assert ACCEPTED_ID in accepted.inner_text()
    assert "accepted: exception" in accepted.inner_text()

    page.locator("p.sort a", has_text="package").first.click()
    page.wait_for_url("**sort=package")
    assert page.locator("p.sort strong").first.inner_text() == "package"
    assert page.locator("table.finding-table[data-rule='grype.critical']").is_visible()
