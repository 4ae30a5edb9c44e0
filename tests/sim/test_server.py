"""The simulator over real HTTP: auth, RBAC, the sync lifecycle, watch, faults and the log."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from belay.sim.testing import RunningSimulator, running_simulator

from .conftest import TOKEN_DEPLOYER, TOKEN_EXPIRED, TOKEN_VIEWER, client, make_state


def _error(response: httpx.Response) -> tuple[int, int, str]:
    body = response.json()
    assert body["error"] == body["message"]
    return response.status_code, body["code"], body["message"]


def test_version_is_minimal_without_session(sim: RunningSimulator) -> None:
    """Without a session /api/version gives only Version; with one, every field."""
    with client(sim) as anon, client(sim, sim.token_for("admin")) as admin:
        assert anon.get("/api/version").json() == {"Version": "v3.5.1"}
        assert len(admin.get("/api/version").json()) > 5


def test_non_jwt_bearer_is_no_session(sim: RunningSimulator) -> None:
    """A bearer value without three dot-separated parts is ignored: 401 no session information."""
    with client(sim, "not-a-jwt") as c:
        assert _error(c.get("/api/v1/applications")) == (401, 16, "no session information")


def test_state_token_exp_is_honoured(sim: RunningSimulator) -> None:
    """A state-file token whose exp has passed answers the real expiry message."""
    with client(sim, TOKEN_EXPIRED) as c:
        status, code, message = _error(c.get("/api/v1/applications"))
    assert (status, code) == (401, 16)
    assert message == "invalid session: token has invalid claims: token is expired"


def test_login_issues_24h_jwt_and_cookie(sim: RunningSimulator) -> None:
    """Login returns an HS256 JWT (iss argocd, sub user:login, exp = iat + 24 h) and a cookie."""
    import jwt

    with client(sim) as c:
        response = c.post(
            "/api/v1/session", json={"username": "deployer", "password": "s3cret-pass"}
        )
        assert response.status_code == 200
        token = response.json()["token"]
        assert response.cookies["argocd.token"] == token
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["iss"] == "argocd"
        assert claims["sub"] == "deployer:login"
        assert claims["exp"] - claims["iat"] == 86400
        assert {"jti", "nbf"} <= claims.keys()
        info = c.get("/api/v1/session/userinfo", headers={"Authorization": f"Bearer {token}"})
        assert info.json() == {"loggedIn": True, "username": "deployer", "iss": "argocd"}
        assert c.get("/api/v1/session/userinfo").json()["loggedIn"] is True  # via the cookie
        c.cookies.clear()
        assert c.get("/api/v1/session/userinfo").json() == {}


def test_login_lockout_after_five_failures(sim: RunningSimulator) -> None:
    """After 5 failed logins within 300 s even the right password is refused the same way."""
    with client(sim) as c:
        for _ in range(5):
            bad = c.post("/api/v1/session", json={"username": "deployer", "password": "wrong"})
            assert _error(bad) == (401, 16, "Invalid username or password")
        good = c.post("/api/v1/session", json={"username": "deployer", "password": "s3cret-pass"})
        assert _error(good) == (401, 16, "Invalid username or password")
        empty = c.post("/api/v1/session", json={"username": "admin"})
        assert _error(empty) == (401, 16, "no credentials supplied")


def test_list_filters_sorting_and_silent_rbac(sim: RunningSimulator) -> None:
    """List is sorted, filters by project/selector/name, and silently hides apps RBAC forbids."""
    with client(sim, sim.token_for("admin")) as admin, client(sim, TOKEN_VIEWER) as viewer:
        body = admin.get("/api/v1/applications").json()
        assert [a["metadata"]["name"] for a in body["items"]] == ["billing", "guestbook"]
        assert body["metadata"]["resourceVersion"]
        names = lambda r: [a["metadata"]["name"] for a in r.json()["items"]]  # noqa: E731
        assert names(admin.get("/api/v1/applications", params={"projects": "payments"})) == [
            "billing"
        ]
        assert names(
            admin.get("/api/v1/applications", params=[("project", "default"), ("project", "x")])
        ) == ["guestbook"]
        assert names(admin.get("/api/v1/applications", params={"selector": "team in (web)"})) == [
            "guestbook"
        ]
        assert names(admin.get("/api/v1/applications", params={"name": "billing"})) == ["billing"]
        assert (
            admin.get("/api/v1/applications", params={"appNamespace": "other"}).json()["items"]
            == []
        )
        assert names(viewer.get("/api/v1/applications")) == ["guestbook"]
        status, code, message = _error(admin.get("/api/v1/applications?selector=a%20in%20"))
        assert (status, code) == (500, 2)
        assert message.startswith("error parsing the selector")


def test_get_403_404_matrix(sim: RunningSimulator) -> None:
    """Missing app without project is 403; with project 404; forbidden app is 403."""
    with client(sim, sim.token_for("admin")) as admin, client(sim, TOKEN_VIEWER) as viewer:
        assert admin.get("/api/v1/applications/guestbook").json()["metadata"]["name"] == "guestbook"
        assert _error(admin.get("/api/v1/applications/nope")) == (403, 7, "permission denied")
        assert _error(admin.get("/api/v1/applications/nope", params={"project": "default"})) == (
            404,
            5,
            'applications.argoproj.io "nope" not found',
        )
        assert _error(admin.get("/api/v1/applications/billing", params={"project": "default"})) == (
            404,
            5,
            'applications.argoproj.io "billing" not found',
        )
        assert _error(viewer.get("/api/v1/applications/billing")) == (403, 7, "permission denied")
        assert _error(
            viewer.get("/api/v1/applications/billing", params={"project": "payments"})
        ) == (403, 7, "permission denied")
        multi = admin.get(
            "/api/v1/applications/guestbook", params=[("project", "a"), ("project", "b")]
        )
        assert _error(multi)[:2] == (400, 3)


def test_sync_needs_sync_permission(sim: RunningSimulator) -> None:
    """A viewer may get but not sync: 403 with the RBAC detail; deployer may."""
    with client(sim, TOKEN_VIEWER) as viewer, client(sim, TOKEN_DEPLOYER) as deployer:
        status, code, message = _error(viewer.post("/api/v1/applications/guestbook/sync", json={}))
        assert (status, code) == (403, 7)
        assert message.startswith(
            "permission denied: applications, sync, default/guestbook, sub: viewer"
        )
        assert deployer.post("/api/v1/applications/guestbook/sync", json={}).status_code == 200


def test_non_get_needs_exact_json_content_type(admin: httpx.Client) -> None:
    """Any non-GET without exactly application/json is 415 with a plain-text body."""
    for headers in (
        {"content-type": "application/json; charset=utf-8"},
        {"content-type": "text/plain"},
        {},
    ):
        response = admin.post("/api/v1/applications/guestbook/sync", content=b"{}", headers=headers)
        assert response.status_code == 415
        assert response.text == "Invalid content type"
        assert response.headers["content-type"].startswith("text/plain")
    response = admin.request("DELETE", "/api/v1/applications/guestbook/operation")
    assert response.status_code == 415


def test_bad_json_body_is_400_code_3(admin: httpx.Client) -> None:
    """A body that is not JSON, or of the wrong types, gives the real 400 code 3, never a 500."""
    headers = {"content-type": "application/json"}
    for raw in (b"{bad", b"[1]", b'{"prune": "yes"}', b'{"revision": 5}', b"{"):
        response = admin.post("/api/v1/applications/guestbook/sync", content=raw, headers=headers)
        status, code, _message = _error(response)
        assert (status, code) == (400, 3), raw
    response = admin.post("/api/v1/session", content=b"nope", headers=headers)
    assert _error(response)[:2] == (400, 3)


def test_unknown_api_route_is_plain_not_found(admin: httpx.Client) -> None:
    """Unknown /api/ paths answer grpc-gateway's plain-text Not Found."""
    response = admin.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.text == "Not Found"


def _stream_events(response: httpx.Response) -> Any:
    for line in response.iter_lines():
        if line.strip():
            yield json.loads(line)["result"]


def _phase(app: dict[str, Any]) -> str | None:
    return ((app.get("status") or {}).get("operationState") or {}).get("phase")


def _sync_round_trip(
    state: dict[str, Any], body: dict[str, Any]
) -> tuple[list[dict[str, Any]], RunningSimulator, dict[str, Any]]:
    """Open a watch, sync, and collect watch events until the app is settled."""
    with running_simulator(state) as sim:
        token = sim.token_for("admin")
        with (
            client(sim, token) as c,
            c.stream("GET", "/api/v1/stream/applications", params={"name": "guestbook"}) as stream,
        ):
            assert stream.status_code == 200
            events = _stream_events(stream)
            first = next(events)
            assert first["type"] == "ADDED"
            synced = c.post("/api/v1/applications/guestbook/sync", json=body)
            assert synced.status_code == 200, synced.text
            seen = []
            for event in events:
                seen.append(event)
                app = event["application"]
                health = (app["status"].get("health") or {}).get("status")
                if (
                    "operation" not in app
                    and _phase(app) in {"Succeeded", "Failed", "Error"}
                    and health != "Progressing"
                    and app["status"].get("reconciledAt", "")
                    > app["status"]["operationState"]["finishedAt"]
                ):
                    break
        return seen, sim, synced.json()


def test_sync_round_trip_succeeds_healthy() -> None:
    """sync → operation set → Running → Succeeded (history appended) → Progressing → Healthy."""
    state = make_state()
    state["applications"][0]["status"]["sync"]["status"] = "OutOfSync"
    info = [{"name": "request-id", "value": "r-1"}]
    seen, sim, response = _sync_round_trip(
        state,
        {
            "revision": "abc123",
            "prune": True,
            "infos": info,
            "strategy": {"hook": {}},
            "syncOptions": {"items": ["CreateNamespace=true"]},
        },
    )
    assert response["operation"]["info"] == info
    assert "operationState" not in response["status"]
    assert response["operation"]["sync"]["syncOptions"] == ["CreateNamespace=true"]
    phases = [_phase(e["application"]) for e in seen]
    assert phases[0] is None  # the sync itself: operation set, operationState cleared
    assert "operation" in seen[0]["application"]
    assert phases[1] == "Running"
    assert seen[1]["application"]["status"]["operationState"]["startedAt"]
    assert "Succeeded" in phases
    healths = [e["application"]["status"]["health"]["status"] for e in seen]
    assert healths.index("Progressing") < len(healths) - 1
    assert healths[-1] == "Healthy"
    final = seen[-1]["application"]
    state_ = final["status"]["operationState"]
    assert state_["operation"]["info"] == info
    assert state_["message"] == "successfully synced (all tasks run)"
    assert state_["syncResult"]["revision"] == "abc123"
    assert final["status"]["sync"] == final["status"]["sync"] | {
        "status": "Synced",
        "revision": "abc123",
    }
    assert final["status"]["history"][-1]["revision"] == "abc123"
    assert final["status"]["history"][-1]["id"] == 1
    syncs = [r for r in sim.requests() if r.path.endswith("/sync")]
    assert len(syncs) == 1
    assert syncs[0].body["revision"] == "abc123"
    assert syncs[0].account == "admin"


def test_sync_round_trip_fails_degraded() -> None:
    """A failing behaviour ends Failed, no history entry, health Degraded."""
    state = make_state(
        phase="Failed",
        health="Degraded",
        message='one or more objects failed to apply, reason: namespaces "gb" not found',
    )
    seen, _sim, _ = _sync_round_trip(state, {})
    final = seen[-1]["application"]
    assert _phase(final) == "Failed"
    assert final["status"]["health"]["status"] == "Degraded"
    assert len(final["status"]["history"]) == 1
    results = final["status"]["operationState"]["syncResult"]["resources"]
    assert {r["status"] for r in results} == {"SyncFailed"}
    assert results[0]["message"] == 'namespaces "gb" not found'


def test_retry_state_then_success() -> None:
    """With a retry strategy and one failing attempt, the retry state shows before success."""
    state = make_state(failAttempts=1, message="one or more objects failed to apply, reason: boom")
    state["timeScale"] = 100  # the 10 s backoff lasts 0.1 s
    seen, _sim, _ = _sync_round_trip(
        state,
        {
            "retryStrategy": {
                "limit": 2,
                "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"},
            }
        },
    )
    retry = [
        e["application"]["status"]["operationState"]
        for e in seen
        if (e["application"]["status"].get("operationState") or {}).get("retryCount")
    ]
    waiting = [s for s in retry if s["phase"] == "Running" and s.get("finishedAt")]
    assert waiting, "no retry state seen"
    assert waiting[0]["retryCount"] == 1
    assert "Retrying attempt #1 at " in waiting[0]["message"]
    assert _phase(seen[-1]["application"]) == "Succeeded"


def test_retries_exhausted_message() -> None:
    """When every attempt fails the final message says how many retries were made."""
    state = make_state(phase="Failed", message="boom")
    state["timeScale"] = 1000  # backoffs of 10 s and 20 s last 10 ms and 20 ms
    with running_simulator(state) as s, client(s, s.token_for("admin")) as c:
        assert (
            c.post(
                "/api/v1/applications/guestbook/sync", json={"retryStrategy": {"limit": 2}}
            ).status_code
            == 200
        )
        app = s.wait_for("guestbook", lambda a: _phase(a) == "Failed" and "operation" not in a)
    assert app["status"]["operationState"]["message"] == "boom (retried 2 times)."
    assert app["status"]["operationState"]["retryCount"] == 2


def test_auto_sync_revision_pin() -> None:
    """With auto-sync on, a different revision is refused 400 code 9; the target revision is not."""
    state = make_state()
    state["applications"][0]["spec"]["syncPolicy"] = {"automated": {"prune": True}}
    with running_simulator(state) as s, client(s, s.token_for("admin")) as c:
        refused = c.post("/api/v1/applications/guestbook/sync", json={"revision": "abc"})
        assert _error(refused) == (400, 9, "Cannot sync to abc: auto-sync currently set to HEAD")
        dry = c.post(
            "/api/v1/applications/guestbook/sync", json={"revision": "abc", "dryRun": True}
        )
        assert dry.status_code == 200


def test_terminate(admin: httpx.Client) -> None:
    """Terminate with nothing running is 400 code 3; during a run it ends Failed, terminated."""
    assert _error(
        admin.request(
            "DELETE",
            "/api/v1/applications/guestbook/operation",
            headers={"content-type": "application/json"},
        )
    ) == (400, 3, "Unable to terminate operation. No operation is in progress")
    state = make_state(seconds=30)
    with running_simulator(state) as s, client(s, s.token_for("admin")) as c:
        assert c.post("/api/v1/applications/guestbook/sync", json={}).status_code == 200
        s.wait_for("guestbook", lambda a: _phase(a) == "Running")
        response = c.request(
            "DELETE",
            "/api/v1/applications/guestbook/operation",
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 200
        assert response.json() == {}
        app = s.wait_for("guestbook", lambda a: "operation" not in a)
    assert app["status"]["operationState"]["phase"] == "Failed"
    assert app["status"]["operationState"]["message"] == "Operation terminated"


def test_request_log_and_reset(sim: RunningSimulator, admin: httpx.Client) -> None:
    """Every /api request is logged with method, path, query and account; reset clears it."""
    admin.get("/api/v1/applications", params=[("projects", "a"), ("projects", "b")])
    with client(sim) as anon:
        anon.get("/api/version")
        log = anon.get("/_sim/requests").json()
    assert [(r["method"], r["path"]) for r in log] == [
        ("GET", "/api/v1/applications"),
        ("GET", "/api/version"),
    ]
    assert log[0]["query"] == {"projects": ["a", "b"]}
    assert log[0]["account"] == "admin"
    assert log[1]["account"] is None
    assert {"time", "body"} <= log[0].keys()
    sim.reset()
    assert sim.requests() == []


@pytest.mark.parametrize(
    "retry",
    [
        {"limit": 2, "backoff": "str"},
        {"limit": "2"},
        {"limit": 2, "backoff": {"duration": "soon"}},
        {"limit": 2, "backoff": {"factor": 1e308, "duration": "1s"}},
    ],
)
def test_a_retry_strategy_the_controller_cannot_run_is_a_400(retry: dict[str, Any]) -> None:
    """Accepted before, these stopped the simulator's controller for good (the operation stayed
    Running); they are refused as the real server's unmarshalling refuses them."""
    state = make_state(failAttempts=1, message="boom")
    with running_simulator(state) as sim, client(sim, sim.token_for("admin")) as admin:
        answer = admin.post("/api/v1/applications/guestbook/sync", json={"retryStrategy": retry})
        assert answer.status_code == 400, answer.text
        assert answer.json()["code"] == 3
        ok = admin.post("/api/v1/applications/guestbook/sync", json={})
        assert ok.status_code == 200
