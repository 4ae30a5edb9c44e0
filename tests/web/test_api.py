"""The read APIs, the alert receiver, the policy export and /metrics against a running Belay."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from belay.jsonio import dumps

from .conftest import (
    FAIL_COMMIT,
    OTHER_TOKEN,
    PASS_COMMIT,
    SUBMIT_TOKEN,
    Belay,
    read_headers,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "decision-api.md"

Deployed = tuple[Belay, dict[str, Any], dict[str, Any]]


# --- the tiny evaluators for the documented expressions -------------------------------------


def apply_jsonpath(expression: str, document: Any) -> Any:
    """Kubernetes-style JSONPath, the ``{$.a.b}`` subset the docs use; anything else fails."""
    match = re.fullmatch(r"\{\$((?:\.[A-Za-z_][A-Za-z0-9_]*)+)\}", expression.strip())
    assert match, f"unsupported jsonPath {expression!r}"
    value = document
    for key in match.group(1).strip(".").split("."):
        value = value[key]
    return value


def _literal(text: str) -> Any:
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    quoted = re.fullmatch(r"""(['"])(.*)\1""", text)
    assert quoted, f"unsupported literal {text!r}"
    return quoted.group(2)


def evaluate(expression: str, names: dict[str, Any]) -> bool:
    """``a.b == literal`` comparisons joined by ``&&`` (the form the docs use); else fail."""
    results = []
    for part in expression.split("&&"):
        left, sep, right = part.partition("==")
        assert sep, f"unsupported expression {part!r}"
        value: Any = names
        for key in left.strip().split("."):
            value = value[key]
        results.append(value == _literal(right))
    return all(results)


def documented() -> dict[str, str]:
    """The Rollouts metric and the Kargo step's expressions, read from docs/decision-api.md."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    found: dict[str, str] = {}
    for block in blocks:
        data = yaml.safe_load(block)
        if isinstance(data, dict) and data.get("kind") == "AnalysisTemplate":
            metric = data["spec"]["metrics"][0]
            found["jsonPath"] = metric["provider"]["web"]["jsonPath"]
            found["successCondition"] = metric["successCondition"]
            found["failureCondition"] = metric["failureCondition"]
        if isinstance(data, dict) and "steps" in data:
            config = data["steps"][0]["config"]
            found["successExpression"] = config["successExpression"]
            found["failureExpression"] = config["failureExpression"]
    assert set(found) == {
        "jsonPath",
        "successCondition",
        "failureCondition",
        "successExpression",
        "failureExpression",
    }
    return found


# --- tests -----------------------------------------------------------------------------------


def test_decision_api_drives_the_documented_gates(deployed: Deployed) -> None:
    """The documented Rollouts jsonPath/conditions and Kargo expressions read the live answer."""
    running, passing, _failing = deployed
    docs = documented()

    def ask(revision: str) -> httpx.Response:
        return httpx.get(
            f"{running.url}/api/v1/decisions",
            params={"application": "guestbook", "revision": revision},
            headers=read_headers(),
            timeout=10,
        )

    answer = ask(PASS_COMMIT)
    assert answer.status_code == 200
    body = answer.json()
    assert body["decision"] == "pass" and body["approved"] is True
    assert body["deployment"] == "succeeded" and body["deployed"] is True
    assert body["job"]["health"] == "Healthy"
    assert body["detailsUrl"] == passing["detailsUrl"]
    result = apply_jsonpath(docs["jsonPath"], body)
    assert result == "pass"
    assert evaluate(docs["successCondition"], {"result": result})
    assert not evaluate(docs["failureCondition"], {"result": result})
    response = {"status": answer.status_code, "body": body}
    assert evaluate(docs["successExpression"], {"response": response})
    assert not evaluate(docs["failureExpression"], {"response": response})
    assert apply_jsonpath("{$.deployed}", body) is True

    failed = ask(FAIL_COMMIT)
    body = failed.json()
    assert body["decision"] == "fail" and body["deployment"] == "none"
    result = apply_jsonpath(docs["jsonPath"], body)
    assert evaluate(docs["failureCondition"], {"result": result})
    assert not evaluate(docs["successCondition"], {"result": result})
    response = {"status": failed.status_code, "body": body}
    assert evaluate(docs["failureExpression"], {"response": response})

    unknown = ask("0" * 40).json()
    assert unknown["found"] is False and unknown["decision"] == "none"
    result = apply_jsonpath(docs["jsonPath"], unknown)
    assert not evaluate(docs["successCondition"], {"result": result})
    assert not evaluate(docs["failureCondition"], {"result": result})


def test_read_apis_refuse_without_token_and_bad_queries(belay_token: Belay) -> None:
    """No token: 401 with nothing from the store; a missing parameter: 400 naming it."""
    url = belay_token.url
    for path in ("/api/v1/decisions?application=a&revision=b", "/api/v1/audit", "/metrics"):
        refused = httpx.get(f"{url}{path}", timeout=10)
        assert refused.status_code == 401, path
        assert set(refused.json()) == {"error"}
        assert refused.headers["www-authenticate"] == "Bearer"
    wrong = httpx.get(f"{url}/api/v1/audit", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    bad = httpx.get(
        f"{url}/api/v1/decisions", params={"application": "a"}, headers=read_headers(), timeout=10
    )
    assert bad.status_code == 400
    assert "revision" in bad.json()["error"]
    blank = httpx.get(
        f"{url}/api/v1/decisions",
        params={"application": " ", "revision": " "},
        headers=read_headers(),
        timeout=10,
    )
    assert blank.status_code == 400 and "blank" in blank.json()["error"]
    alert = httpx.post(f"{url}/api/v1/alerts", content=b"{}", timeout=10)
    assert alert.status_code == 401


def test_audit_api_filters(deployed: Deployed) -> None:
    """The audit chain as JSON, filtered by revision, application and submission id."""
    running, passing, _failing = deployed

    def kinds(**params: str) -> list[str]:
        response = httpx.get(
            f"{running.url}/api/v1/audit", params=params, headers=read_headers(), timeout=10
        )
        assert response.status_code == 200
        return [e["kind"] for e in response.json()["events"]]

    by_revision = kinds(revision=PASS_COMMIT)
    assert by_revision[:3] == ["submission.received", "verdict.decided", "job.queued"]
    assert by_revision[-1] == "deployment.succeeded"
    assert "verdict.decided" in kinds(revision=FAIL_COMMIT)
    submission_id = passing["detailsUrl"].rsplit("/", 1)[1]
    assert kinds(submission_id=submission_id) == [
        "submission.received",
        "verdict.decided",
        "job.queued",
    ]
    assert kinds(application="guestbook")[-1] == "deployment.succeeded"


def test_metrics_after_a_deployment(deployed: Deployed) -> None:
    """/metrics reports verdicts, queue, deployments, sync attempts, durations and Argo CD latency."""
    running, _passing, _failing = deployed
    response = httpx.get(f"{running.url}/metrics", headers=read_headers(), timeout=10)
    assert response.status_code == 200
    text = response.text
    assert 'belay_submissions_total{verdict="pass"} 1.0' in text
    assert 'belay_submissions_total{verdict="fail"} 1.0' in text
    assert 'belay_queue_depth{state="queued"} 0.0' in text
    assert "belay_queue_oldest_age_seconds 0.0" in text
    assert 'belay_deployments_total{outcome="succeeded"} 1.0' in text
    assert 'belay_sync_attempts_total{outcome="accepted"} 1.0' in text
    assert 'belay_deployment_duration_seconds_count{outcome="succeeded"} 1.0' in text
    sync_line = re.search(
        r'belay_argocd_request_duration_seconds_count\{endpoint="/api/v1/applications/\{name\}/sync",'
        r'method="POST",status="200"\} (\S+)',
        text,
    )
    assert sync_line and float(sync_line.group(1)) == 1.0
    assert "belay_http_requests_total" in text
    # A second scrape does not count the same finished job twice.
    again = httpx.get(f"{running.url}/metrics", headers=read_headers(), timeout=10).text
    assert 'belay_deployment_duration_seconds_count{outcome="succeeded"} 1.0' in again


def test_alert_receiver_stores_a_report_the_page_shows(belay: Belay) -> None:
    """An Alertmanager webhook is investigated (read-only) and its report is stored and shown."""
    assert belay.sim is not None
    belay.sim.reset()
    payload = {
        "version": "4",
        "status": "firing",
        "receiver": "belay",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager",
        "alerts": [
            {
                "status": "firing",
                "labels": {
                    "alertname": "GuestbookErrors",
                    "severity": "critical",
                    "argocd_application": "guestbook",
                },
                "annotations": {"summary": "5xx rate above 5% on guestbook"},
                "startsAt": "2026-01-01T00:00:00Z",
            }
        ],
    }
    response = httpx.post(
        f"{belay.url}/api/v1/alerts",
        content=dumps(payload),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["application"] == "guestbook"
    assert body["url"].endswith(f"/investigations/{body['id']}")
    methods = {r.method for r in belay.sim.requests()}
    assert methods <= {"GET", "POST"}  # POST only for the session login
    assert all(r.path == "/api/v1/session" for r in belay.sim.requests() if r.method == "POST")
    page = httpx.get(f"{belay.url}/investigations/{body['id']}", timeout=10)
    assert page.status_code == 200
    assert "GuestbookErrors" in page.text and "guestbook" in page.text
    # Belay's own decisions were consulted, as with `belay investigate --config`.
    assert "unapproved_revision" in page.text
    bad = httpx.post(
        f"{belay.url}/api/v1/alerts",
        content=b"not json",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert bad.status_code == 400
    assert "not valid JSON" in bad.json()["error"]


@pytest.mark.parametrize(
    ("path", "token", "status"),
    [
        (
            "/Policy/HolomuaTech/belay-portage-gitlab-example-app/gatecheck?branch=main",
            SUBMIT_TOKEN,
            200,
        ),
        ("/Policy/any/example-app/gatecheck", SUBMIT_TOKEN, 200),
        ("/Policy/HolomuaTech/belay-portage-gitlab-example-app/gatecheck", OTHER_TOKEN, 403),
        ("/Policy/HolomuaTech/belay-portage-gitlab-example-app/gatecheck", "wrong", 401),
        ("/Policy/HolomuaTech/belay-portage-gitlab-example-app/gatecheck", None, 401),
        ("/Policy/HolomuaTech/unknown/gatecheck", SUBMIT_TOKEN, 404),
    ],
)
def test_policy_export(belay: Belay, path: str, token: str | None, status: int) -> None:
    """Portage's policy fetch gets gatecheck YAML with the project's own submit token only."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{belay.url}{path}", headers=headers, timeout=10)
    assert response.status_code == status, response.text
    if status != 200:
        assert set(response.json()) == {"error"}
        return
    assert response.headers["content-type"].startswith("application/yaml")
    document = yaml.safe_load(response.text)
    assert document["version"] == "1"
    assert document["grype"]["severityLimit"]["critical"] == {"enabled": True, "limit": 0}
    assert "belay:example-app" in document["metadata"]["tags"]
    # The live exception of the test policy is passed on as a gatecheck risk acceptance.
    accepted = [c["id"] for c in document["grype"]["cveRiskAcceptance"]["cves"]]
    assert "GHSA-6g6m-m6h5-w9gf" in accepted
    # A bare token (Portage sends the variable verbatim) works too.
    bare = httpx.get(f"{belay.url}{path}", headers={"Authorization": SUBMIT_TOKEN}, timeout=10)
    assert bare.status_code == 200
