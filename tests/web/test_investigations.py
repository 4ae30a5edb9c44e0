"""The alert receiver with grouped and resolved notifications, and the list of investigations."""

from __future__ import annotations

from typing import Any

import httpx

from belay.jsonio import dumps

from .conftest import READ_TOKEN, Belay

_JSON = {"Content-Type": "application/json"}  # the alert route takes declared JSON only


def _alert(fingerprint: str, labels: dict[str, str], status: str = "firing") -> dict[str, Any]:
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": "guestbook pods are not ready"},
        "startsAt": "2026-08-01T09:20:00Z",
        "endsAt": "2026-08-01T09:40:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus/graph",
        "fingerprint": fingerprint,
    }


def _notification(alerts: list[dict[str, Any]], status: str = "firing") -> bytes:
    return dumps(
        {
            "version": "4",
            "status": status,
            "receiver": "belay",
            "groupKey": '{}:{namespace="guestbook"}',
            "groupLabels": {"namespace": "guestbook"},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": alerts,
        }
    )


POD = {
    "alertname": "KubePodNotReady",
    "namespace": "guestbook",
    "argocd_argoproj_io_instance": "guestbook",
}
NODE = {"alertname": "NodeFilesystemAlmostFull", "instance": "worker-3:9100"}


def test_grouped_then_resolved_notifications(belay: Belay) -> None:
    """Each app once; a repeat is not re-investigated; resolution makes no Argo CD call."""
    assert belay.sim is not None
    belay.sim.reset()
    firing = [
        _alert("f1", {**POD, "pod": "guestbook-ui-1"}),
        _alert("f2", {**POD, "pod": "guestbook-ui-2"}),
        _alert("n1", NODE),
    ]
    response = httpx.post(
        f"{belay.url}/api/v1/alerts", headers=_JSON, content=_notification(firing), timeout=30
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [i["application"] for i in body["investigations"]] == ["guestbook", None]
    assert body["id"] == body["investigations"][0]["id"]
    calls = len(belay.sim.requests())
    assert 0 < calls <= 6

    again = httpx.post(
        f"{belay.url}/api/v1/alerts", headers=_JSON, content=_notification(firing), timeout=30
    )
    assert again.status_code == 200, again.text
    assert {a["fingerprint"] for a in again.json()["already_investigated"]} == {"f1", "f2", "n1"}

    listed = httpx.get(f"{belay.url}/api/v1/investigations?application=guestbook", timeout=10)
    (row,) = listed.json()["investigations"]
    assert row["state"] == "firing" and row["fingerprints"] == ["f1", "f2"]
    assert row["alert_name"] == "KubePodNotReady"

    resolved = [_alert("f1", {**POD, "pod": "guestbook-ui-1"}, "resolved")]
    one = httpx.post(
        f"{belay.url}/api/v1/alerts", headers=_JSON, content=_notification(resolved), timeout=30
    )
    assert one.status_code == 200 and one.json()["resolved"][0]["investigations"] == [row["id"]]
    still = httpx.get(f"{belay.url}/api/v1/investigations/{row['id']}", timeout=10).json()
    assert still["state"] == "firing"
    resolved.append(_alert("f2", {**POD, "pod": "guestbook-ui-2"}, "resolved"))
    both = httpx.post(
        f"{belay.url}/api/v1/alerts",
        headers=_JSON,
        content=_notification(resolved, "resolved"),
        timeout=30,
    )
    assert both.status_code == 200, both.text
    assert len(belay.sim.requests()) == calls  # no Argo CD call for a resolution

    detail = httpx.get(f"{belay.url}/api/v1/investigations/{row['id']}", timeout=10).json()
    assert detail["state"] == "resolved"
    assert detail["resolved_at"].startswith("2026-08-01T09:40:00")
    assert detail["report"]["application"] == "guestbook"
    page = httpx.get(f"{belay.url}/investigations/{row['id']}", timeout=10)
    assert 'data-state="resolved"' in page.text and "2026-08-01 09:40:00 UTC" in page.text

    firing_only = httpx.get(f"{belay.url}/api/v1/investigations?state=firing", timeout=10)
    assert [r["application"] for r in firing_only.json()["investigations"]] == [None]
    by_kind = httpx.get(f"{belay.url}/api/v1/investigations?kind=no_gitops_context", timeout=10)
    assert [r["alert_name"] for r in by_kind.json()["investigations"]] == [
        "NodeFilesystemAlmostFull"
    ]


def test_list_page_filters_and_links(belay: Belay) -> None:
    """The page lists newest first, links each report, and refuses unknown filters with a 400."""
    for fingerprint, labels in (("p1", POD), ("n2", NODE)):
        posted = httpx.post(
            f"{belay.url}/api/v1/alerts",
            headers=_JSON,
            content=_notification([_alert(fingerprint, labels)]),
            timeout=30,
        )
        assert posted.status_code == 201
    page = httpx.get(f"{belay.url}/investigations", timeout=10)
    assert page.status_code == 200
    assert "default-src 'none'" in page.headers["content-security-policy"]
    text = page.text
    assert text.index("NodeFilesystemAlmostFull") < text.index("KubePodNotReady")
    assert text.count('href="/investigations/') == 2
    filtered = httpx.get(
        f"{belay.url}/investigations",
        params={"alertname": "KubePodNotReady", "state": "firing"},
        timeout=10,
    )
    assert "KubePodNotReady" in filtered.text and "NodeFilesystemAlmostFull" not in filtered.text
    bad_page = httpx.get(f"{belay.url}/investigations", params={"kind": "bogus"}, timeout=10)
    assert bad_page.status_code == 400 and "not a finding kind" in bad_page.text
    bad_api = httpx.get(f"{belay.url}/api/v1/investigations", params={"state": "x"}, timeout=10)
    assert bad_api.status_code == 400 and "state must be one of" in bad_api.json()["error"]
    missing = httpx.get(f"{belay.url}/api/v1/investigations/nope", timeout=10)
    assert missing.status_code == 404


def test_list_needs_read_access(belay_token: Belay) -> None:
    """With a read token configured, the list API and page refuse anonymous readers."""
    api = httpx.get(f"{belay_token.url}/api/v1/investigations", timeout=10)
    assert api.status_code == 401 and set(api.json()) == {"error"}
    page = httpx.get(f"{belay_token.url}/investigations", timeout=10)
    assert page.status_code == 401
    ok = httpx.get(
        f"{belay_token.url}/api/v1/investigations",
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
        timeout=10,
    )
    assert ok.status_code == 200 and ok.json() == {"investigations": []}


def test_signing_in_from_the_list_page_works(belay_token: Belay) -> None:
    """The list's sign-in page carried no CSRF token (it skipped the shared page renderer), so
    signing in there was always refused; it now signs in like every other page."""
    import re

    with httpx.Client(base_url=belay_token.url, timeout=10) as client:
        denied = client.get("/investigations")
        assert denied.status_code == 401
        token = re.search(r'name="csrf_token" value="([^"]+)"', denied.text)
        assert token is not None
        signed_in = client.post(
            "/login",
            data={"token": READ_TOKEN, "next": "/investigations", "csrf_token": token.group(1)},
            follow_redirects=True,
        )
        assert signed_in.status_code == 200
        assert "Sign out" in signed_in.text
