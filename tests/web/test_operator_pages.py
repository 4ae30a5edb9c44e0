"""What an operator reads on a submission's page while and after it deploys: the page refreshes
itself while the deployment is queued or running (a meta refresh: the CSP allows no script),
links to the commit and the Argo CD application, numbers the event chain per submission, and
says a queued job in words. Served without a worker, so the job stays queued."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.intake.conftest import COMMIT, TOKEN, Gate, bundle, start_gate
from tests.support import bearer, post_delivery

from belay.web.views import application_link, commit_link

CHROMIUM = os.environ.get("BELAY_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def queued(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Gate, str]]:
    """A gate with no worker and one passing submission whose job stays queued."""
    import base64

    monkeypatch.setenv("BELAY_TOKEN_EXAMPLE_APP", TOKEN)
    monkeypatch.setenv("BELAY_TOKEN_OTHER", "other-project-token-91x")
    monkeypatch.setenv(
        "BELAY_WEBHOOK_SECRET_EXAMPLE_APP", "whsec_" + base64.b64encode(b"k" * 32).decode()
    )
    monkeypatch.setenv("ARGOCD_BASE_URL", "https://argocd.example.com")
    monkeypatch.setenv("ARGOCD_AUTH_TOKEN", "argocd-token-for-links-only-0001")
    for gate in start_gate(tmp_path, f"sqlite:///{tmp_path / 'belay.db'}"):
        response = post_delivery(gate.url, bundle(), authorization=bearer(TOKEN))
        assert response.status_code == 200, response.text
        assert response.json()["verdict"]["decision"] == "pass"
        yield gate, response.json()["verdict"]["detailsUrl"].rsplit("/", 1)[1]


def test_in_flight_page_refreshes_and_reads_in_words(queued: tuple[Gate, str]) -> None:
    """While queued: a meta refresh and a note; links; the chain numbered 1, 2, 3; job.queued
    in words, not JSON."""
    gate, submission = queued
    html = httpx.get(f"{gate.url}/submissions/{submission}", timeout=30).text
    assert '<meta http-equiv="refresh" content="5">' in html
    assert 'data-refreshing="true"' in html
    assert (
        f'href="https://gitlab.com/HolomuaTech/belay-portage-gitlab-example-app/-/commit/{COMMIT}"'
        in html
    )
    assert 'href="https://argocd.example.com/applications/guestbook"' in html
    assert "Sync of guestbook queued at" in html
    assert '"superseded_jobs"' not in html and "{&#34;" not in html
    numbers = [
        line.split(">", 1)[1].split("<", 1)[0]
        for line in html.split('<td title="audit sequence')[1:]
    ]
    assert numbers == [str(n) for n in range(1, len(numbers) + 1)] and len(numbers) >= 3


def test_ended_page_does_not_refresh(queued: tuple[Gate, str]) -> None:
    """Once the deployment has ended, the page stops refreshing."""
    gate, submission = queued
    with gate.services.store.unit_of_work() as uow:
        job = uow.jobs.list()[0]
    from sqlalchemy import create_engine, text

    engine = create_engine(gate.services.settings.database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE jobs SET state = 'failed' WHERE id = :id"), {"id": job.id})
    engine.dispose()
    html = httpx.get(f"{gate.url}/submissions/{submission}", timeout=30).text
    assert 'http-equiv="refresh"' not in html


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://gitlab.com/acme/app.git", "https://gitlab.com/acme/app/-/commit/"),
        (
            "https://ci:glcbt-x@gitlab.example.org/a/b.git",
            "https://gitlab.example.org/a/b/-/commit/",
        ),
        ("https://gitlab.acme.io/a/b", "https://gitlab.acme.io/a/b/-/commit/"),
        ("git@github.com:acme/app.git", "https://github.com/acme/app/commit/"),
        ("https://bitbucket.org/acme/app.git", None),
        ("file:///etc/passwd", None),
    ],
)
def test_commit_links(remote: str, expected: str | None) -> None:
    """GitLab (any gitlab.* host) and GitHub commit pages, credentials dropped; other hosts and
    schemes get none."""
    link = commit_link(remote, "a" * 40)
    assert link == (expected + "a" * 40 if expected else None)


def test_application_link_encodes_names() -> None:
    """The Argo CD UI link carries the namespace when there is one, each part encoded."""
    assert application_link("https://cd.example/", "app", "team-a") == (
        "https://cd.example/applications/team-a/app"
    )
    assert application_link(None, "app", None) is None


@pytest.mark.browser
def test_in_flight_page_reloads_itself_in_chromium(queued: tuple[Gate, str]) -> None:
    """In a real Chromium the page of a queued deployment loads again by itself, and fits a
    narrow screen."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    gate, submission = queued
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
    ]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            page: Any = browser.new_page()
            page.goto(f"{gate.url}/submissions/{submission}")
            assert page.locator("[data-refreshing=true]").is_visible()
            with page.expect_event("load", timeout=20_000):
                pass  # the meta refresh navigates the page again
            assert page.locator("section.status").is_visible()
            # A phone-sized screen: nothing is wider than the page (long ids wrap, tables scroll).
            page.set_viewport_size({"width": 375, "height": 800})
            page.reload()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 380, width
            for path in ("/submissions", "/investigations", "/policy/whatif"):
                page.goto(f"{gate.url}{path}")
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= 380, (path, width)
        finally:
            browser.close()
