"""The audit page over real HTTP: list, filters, the submission page, the report page, packaging."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from belay.web.deps import make_templates

from .conftest import (
    ACCEPTED_ID,
    FAIL_COMMIT,
    PASS_COMMIT,
    Belay,
    bundle,
    failing_reports,
    read_headers,
)


def _text(html: str) -> str:
    """The visible text of a page, roughly: tags removed, whitespace collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_templates_and_css_ship_in_the_package() -> None:
    """The templates and the stylesheet load through the installed package, not a source path."""
    templates = make_templates()
    for name in ("base.html", "submissions.html", "submission.html", "investigation.html"):
        assert templates.env.get_template(name) is not None
    css = resources.files("belay.web") / "static" / "belay.css"
    assert ".badge.ok" in css.read_text()


def test_list_and_detail_after_deploy(
    deployed: tuple[Belay, dict[str, Any], dict[str, Any]],
) -> None:
    """The list shows both submissions; the detail page shows reasons, deployment and events."""
    running, passing, failing = deployed
    assert passing["decision"] == "pass" and failing["decision"] == "fail"
    page = httpx.get(f"{running.url}/submissions", headers=read_headers(), timeout=10)
    assert page.status_code == 200
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    text = _text(page.text)
    assert PASS_COMMIT[:12] in text and FAIL_COMMIT[:12] in text
    assert "DEPLOYED" in text and "FAIL" in text and "NOT DEPLOYED" in text
    assert "<script" not in page.text

    detail = httpx.get(passing["detailsUrl"], headers=read_headers(), timeout=10)
    assert detail.status_code == 200
    text = _text(detail.text)
    assert "PASS" in text and "DEPLOYED" in text and "Healthy" in text
    for kind in ("submission.received", "verdict.decided", "job.queued", "sync.requested"):
        assert kind in text
    assert "deployment.succeeded" in text
    assert PASS_COMMIT in text

    failed = _text(httpx.get(failing["detailsUrl"], headers=read_headers(), timeout=10).text)
    assert "FAIL" in failed and "grype.critical" in failed
    assert "Failing (" in failed
    assert "Nothing is deployed for a failing verdict" in failed
    assert "Accepted (" in failed
    assert ACCEPTED_ID in failed and "team-payments" in failed and "2099-12-31" in failed


def test_filters(deployed: tuple[Belay, dict[str, Any], dict[str, Any]]) -> None:
    """Project, application, commit prefix and state filters narrow the list."""
    running, _passing, _failing = deployed

    def commits(**params: str) -> set[str]:
        response = httpx.get(
            f"{running.url}/api/v1/submissions", params=params, headers=read_headers(), timeout=10
        )
        assert response.status_code == 200
        return {row["commit"] for row in response.json()["submissions"]}

    assert commits() == {PASS_COMMIT, FAIL_COMMIT}
    assert commits(state="pass") == {PASS_COMMIT}
    assert commits(state="fail") == {FAIL_COMMIT}
    assert commits(state="succeeded") == {PASS_COMMIT}
    assert commits(state="none") == {FAIL_COMMIT}
    assert commits(commit=FAIL_COMMIT[:8]) == {FAIL_COMMIT}
    assert commits(project="example-app", application="guestbook") == {PASS_COMMIT, FAIL_COMMIT}
    assert commits(project="other-app") == set()
    unknown = httpx.get(
        f"{running.url}/api/v1/submissions",
        params={"state": "bogus"},
        headers=read_headers(),
        timeout=10,
    )
    assert unknown.status_code == 400 and "state must be one of" in unknown.json()["error"]
    html = httpx.get(
        f"{running.url}/submissions",
        params={"state": "fail"},
        headers=read_headers(),
        timeout=10,
    ).text
    assert FAIL_COMMIT[:12] in html and PASS_COMMIT[:12] not in html


def test_unknown_ids_are_404_pages(belay: Belay) -> None:
    """An unknown submission or report id is a 404 page naming it, not an error."""
    for path, what in (("/submissions/nope", "submission"), ("/investigations/nope", "report")):
        response = httpx.get(f"{belay.url}{path}", timeout=10)
        assert response.status_code == 404
        assert what in response.text and "nope" in response.text


def test_unmapped_submission_page(belay: Belay, shared_dir: Path) -> None:
    """A failing verdict without deployment reads clearly in loopback mode (no token needed)."""
    verdict = belay.submit(bundle(failing_reports(shared_dir), commit=FAIL_COMMIT))
    response = httpx.get(verdict["detailsUrl"], timeout=10)
    assert response.status_code == 200
    text = _text(response.text)
    assert "FAIL" in text and "NOT DEPLOYED" in text and "grype.critical" in text
