"""Operations: one request log event per request, Argo CD call observers, per-app metrics."""

from __future__ import annotations

import time

import httpx
import pytest
from structlog.testing import capture_logs

from belay.argocd import (
    ArgoCDClient,
    ArgoCDNotFound,
    add_call_observer,
    remove_call_observer,
)
from belay.web import create_app
from belay.web.metrics import endpoint_template

from .conftest import READ_TOKEN, Belay, csrf_form


def test_one_log_event_per_request_without_query(belay_token: Belay) -> None:
    """Each request logs one http.request event with its id, route and status; no query string."""
    with httpx.Client(base_url=belay_token.url, timeout=10) as browser:
        form = csrf_form(browser, token=READ_TOKEN)
        with capture_logs() as logs:
            response = browser.post(
                "/login?next=/submissions", data=form, headers={"X-Request-ID": "req-42"}
            )
            browser.get("/readyz")
            # The event is written once the answer is sent: wait for it (bounded).
            deadline = time.monotonic() + 5
            while len([e for e in logs if e["event"] == "http.request"]) < 2:
                assert time.monotonic() < deadline, logs
                time.sleep(0.01)
    assert response.status_code == 303
    assert response.headers["x-request-id"] == "req-42"
    events = [e for e in logs if e["event"] == "http.request"]
    assert [e["path"] for e in events] == ["/login", "/readyz"]
    first = events[0]
    assert first["request_id"] == "req-42"
    assert first["status"] == 303 and first["method"] == "POST" and first["route"] == "/login"
    assert isinstance(first["duration_ms"], float)
    assert READ_TOKEN not in repr(logs)
    # A request id that is not short and plain is replaced by a fresh one.
    odd = httpx.get(f"{belay_token.url}/healthz", headers={"X-Request-ID": "a b\\c"}, timeout=10)
    assert odd.headers["x-request-id"] != "a b\\c" and len(odd.headers["x-request-id"]) == 32


def test_call_observer_sees_every_argocd_call() -> None:
    """The client tells observers (instance, method, path, status, seconds); removal stops it."""
    seen: list[tuple[str, str, str, int | None, float]] = []

    def observer(instance: str, method: str, path: str, status: int | None, sec: float) -> None:
        seen.append((instance, method, path, status, sec))

    def broken(*_args: object) -> None:
        raise RuntimeError("an observer must not break calls")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/missing"):
            return httpx.Response(404, json={"error": "not found", "code": 5, "message": "nf"})
        return httpx.Response(200, json={"items": []})

    client = ArgoCDClient(
        "https://argocd.test", token="t0ken-abc", transport=httpx.MockTransport(handler)
    )
    add_call_observer(broken)
    add_call_observer(observer)
    try:
        with client:
            client.list_applications()
            with pytest.raises(ArgoCDNotFound):
                client.get_application("missing")
    finally:
        remove_call_observer(observer)
        remove_call_observer(broken)
    assert [(s[1], s[2], s[3]) for s in seen] == [
        ("GET", "/api/v1/applications", 200),
        ("GET", "/api/v1/applications/missing", 404),
    ]
    assert all(s[0] == "default" and s[4] >= 0 for s in seen)
    with ArgoCDClient(
        "https://argocd.test", token="t0ken-abc", transport=httpx.MockTransport(handler)
    ) as again:
        again.list_applications()
    assert len(seen) == 2


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("/api/v1/applications", "/api/v1/applications"),
        ("/api/v1/applications/guestbook", "/api/v1/applications/{name}"),
        ("/api/v1/applications/guestbook/sync", "/api/v1/applications/{name}/sync"),
        ("/api/v1/projects/default/syncwindows", "/api/v1/projects/{name}/syncwindows"),
        ("/api/v1/account/can-i/applications/sync/default%2Fx", "/api/v1/account/can-i/{check}"),
        ("/api/v1/stream/applications", "/api/v1/stream/applications"),
        ("/api/version", "/api/version"),
        ("/weird", "other"),
    ],
)
def test_endpoint_template(path: str, template: str) -> None:
    """Argo CD paths are reduced to templates so the latency metric's labels stay few."""
    assert endpoint_template(path) == template


def test_each_app_has_its_own_registry(belay: Belay) -> None:
    """Two apps over the same services build without clashing on a global metrics registry."""
    first = create_app(belay.services)
    second = create_app(belay.services)
    assert first.state.web.metrics.registry is not second.state.web.metrics.registry
    assert b"belay_store_up 1.0" in first.state.web.metrics.render()


def test_health_endpoints_are_open(belay_token: Belay) -> None:
    """/healthz and /readyz answer without a token (probes carry none)."""
    assert httpx.get(f"{belay_token.url}/healthz", timeout=10).text == "ok"
    assert httpx.get(f"{belay_token.url}/readyz", timeout=10).json() == {"ready": True}


def test_metrics_latency_by_route_and_collectors(belay: Belay) -> None:
    """/metrics has request latency by route template (static files as one route), the process
    and Python collectors, and no _created series."""
    for path in ("/static/belay.css", "/submissions", "/nope"):
        httpx.get(f"{belay.url}{path}", timeout=10)
    with httpx.Client(timeout=10) as client:
        client.get(f"{belay.url}/static/belay.css?v=2")
        client.get(f"{belay.url}/submissions/00000000-0000-0000-0000-000000000000")
    text = httpx.get(f"{belay.url}/metrics", timeout=10).text
    count = 'belay_http_request_duration_seconds_count{method="GET",route="%s"} '
    assert count % "/static/{path}" + "2.0" in text
    assert count % "/submissions" + "1.0" in text
    assert count % "/submissions/{submission_id}" + "1.0" in text
    assert count % "unmatched" + "1.0" in text
    assert "belay.css" not in text
    assert 'belay_http_request_duration_seconds_bucket{le="0.005",method="GET"' in text
    assert "process_resident_memory_bytes " in text
    assert "process_open_fds " in text
    assert "python_info{" in text
    assert "python_gc_collections_total{" in text
    assert "_created" not in text
