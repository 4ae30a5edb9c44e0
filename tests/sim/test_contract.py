"""Contract tests: every JSON answer of the simulator validates against Argo CD's swagger.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from belay.sim.testing import RunningSimulator, running_simulator

from .conftest import TOKEN_VIEWER, client, make_state
from .swagger_schema import SwaggerSchemas, load_swagger

pytestmark = pytest.mark.contract

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "argocd"
EXAMPLE_FILES = sorted(p for p in EXAMPLES.iterdir() if p.suffix in {".json", ".yaml"})
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def schemas() -> SwaggerSchemas:
    """The adjusted swagger definitions (skips when the spec file is absent)."""
    return load_swagger()


def check(
    schemas: SwaggerSchemas, definition: str, response: httpx.Response, status: int = 200
) -> Any:
    """Assert the status and that the body validates against ``definition``; return the body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    problems = schemas.errors(definition, body)
    assert not problems, f"{definition}: {problems}"
    return body


def check_error(schemas: SwaggerSchemas, response: httpx.Response, status: int, code: int) -> str:
    """Assert a runtimeError body with the given HTTP status and gRPC code; return the message."""
    body = check(schemas, "runtimeError", response, status)
    assert body["code"] == code
    assert set(body) == {"error", "code", "message"}
    return str(body["message"])


def check_stream_error(
    schemas: SwaggerSchemas, response: httpx.Response, status: int, code: int
) -> str:
    """Assert grpc-gateway's stream error chunk with the given status and code; return the message."""
    assert response.status_code == status, response.text
    body = response.json()
    problems = schemas.stream_errors(body)
    assert not problems, problems
    assert set(body) == {"error"}
    assert set(body["error"]) == {"grpc_code", "http_code", "message", "http_status"}
    assert (body["error"]["grpc_code"], body["error"]["http_code"]) == (code, status)
    return str(body["error"]["message"])


def test_version_and_session(schemas: SwaggerSchemas, sim: RunningSimulator) -> None:
    """Version (both forms), login, userinfo (both forms), logout and login errors."""
    with client(sim) as anon:
        check(schemas, "versionVersionMessage", anon.get("/api/version"))
        check(schemas, "sessionGetUserInfoResponse", anon.get("/api/v1/session/userinfo"))
        login = anon.post("/api/v1/session", json={"username": "admin", "password": "admin"})
        token = check(schemas, "sessionSessionResponse", login)["token"]
        anon.cookies.clear()
        check_error(schemas, anon.post("/api/v1/session", json={"username": "admin"}), 401, 16)
        check_error(
            schemas,
            anon.post("/api/v1/session", json={"username": "x" * 40, "password": "p"}),
            400,
            3,
        )
        check_error(schemas, anon.post("/api/v1/session", json={"token": "t"}), 401, 16)
        check_error(schemas, anon.post("/api/v1/session", content=b"{", headers=JSON), 400, 3)
    with client(sim, token) as admin:
        check(schemas, "versionVersionMessage", admin.get("/api/version"))
        check(schemas, "sessionGetUserInfoResponse", admin.get("/api/v1/session/userinfo"))
        check(
            schemas,
            "sessionSessionResponse",
            admin.request("DELETE", "/api/v1/session", headers=JSON),
        )


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_read_endpoints_on_examples(schemas: SwaggerSchemas, path: Path) -> None:
    """List, get, managed-resources, resource-tree, events, revision metadata, the diff, sync
    windows, project, live resources and their actions per example; clusters and settings."""
    with running_simulator(path) as sim, client(sim, sim.token_for("admin")) as admin:
        listing = check(schemas, "v1alpha1ApplicationList", admin.get("/api/v1/applications"))
        for app in listing["items"]:
            name = app["metadata"]["name"]
            base = f"/api/v1/applications/{name}"
            got = check(schemas, "v1alpha1Application", admin.get(base))
            check(schemas, "v1alpha1Application", admin.get(base, params={"refresh": "normal"}))
            check(
                schemas,
                "applicationManagedResourcesResponse",
                admin.get(base + "/managed-resources"),
            )
            check(schemas, "v1alpha1ApplicationTree", admin.get(base + "/resource-tree"))
            check(schemas, "eventsEventList", admin.get(base + "/events"))
            revision = got["status"]["sync"]["revision"]
            check(
                schemas,
                "v1alpha1RevisionMetadata",
                admin.get(f"{base}/revisions/{revision}/metadata"),
            )
            check_error(schemas, admin.get(f"{base}/revisions/0000000/metadata"), 500, 2)
            check_error(
                schemas, admin.get(base + "/events", params={"resourceName": "nope"}), 400, 3
            )
            filtered = admin.get(base + "/managed-resources", params={"kind": "NoSuchKind"})
            assert check(schemas, "applicationManagedResourcesResponse", filtered) == {}
            check(
                schemas,
                "applicationApplicationServerSideDiffResponse",
                admin.get(base + "/server-side-diff"),
            )
            check(
                schemas,
                "applicationApplicationSyncWindowsResponse",
                admin.get(base + "/syncwindows"),
            )
            check(
                schemas,
                "v1alpha1AppProject",
                admin.get(f"/api/v1/projects/{app['spec']['project']}"),
            )
            tree = admin.get(base + "/resource-tree").json()
            for node in (tree.get("nodes") or [])[:3]:
                if not node.get("uid"):
                    continue
                params = {
                    "group": node.get("group", ""),
                    "kind": node["kind"],
                    "namespace": node.get("namespace", ""),
                    "resourceName": node["name"],
                    "version": node.get("version", ""),
                }
                check(
                    schemas,
                    "applicationApplicationResourceResponse",
                    admin.get(base + "/resource", params=params),
                )
                check(
                    schemas,
                    "applicationResourceActionsListResponse",
                    admin.get(base + "/resource/actions", params=params),
                )
        check(schemas, "v1alpha1ClusterList", admin.get("/api/v1/clusters"))
        check(schemas, "clusterSettings", admin.get("/api/v1/settings"))


def test_sync_terminate_watch_and_events(schemas: SwaggerSchemas) -> None:
    """Sync and terminate answers, every watch line (JSON lines and SSE) and the events list."""
    state = make_state(failAttempts=1, message="one or more objects failed to apply, reason: x")
    # The retry below backs off 5 s; scaled down, so no stream sits idle near the read timeout
    # on a busy machine.
    state["timeScale"] = 50.0
    with running_simulator(state) as sim, client(sim, sim.token_for("admin")) as admin:
        base = "/api/v1/applications/guestbook"
        lines: list[dict[str, Any]] = []
        with (
            admin.stream(
                "GET", "/api/v1/stream/applications", params={"name": "guestbook"}
            ) as stream,
            admin.stream(
                "GET",
                "/api/v1/stream/applications",
                params={"name": "guestbook"},
                headers={"accept": "text/event-stream"},
            ) as sse,
        ):
            events = (json.loads(line) for line in stream.iter_lines() if line.strip())
            lines.append(next(events))
            body = {
                "revision": "HEAD",
                "prune": True,
                "dryRun": False,
                "strategy": {"apply": {"force": True}},
                "syncOptions": {"items": ["ServerSideApply=true"]},
                "resources": [
                    {
                        "group": "apps",
                        "kind": "Deployment",
                        "name": "guestbook-ui",
                        "namespace": "guestbook",
                    }
                ],
                "infos": [{"name": "request-id", "value": "c-1"}],
                "retryStrategy": {
                    "limit": 3,
                    "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"},
                    "refresh": True,
                },
            }
            check(schemas, "v1alpha1Application", admin.post(base + "/sync", json=body))
            message = check_error(schemas, admin.post(base + "/sync", json={}), 400, 9)
            assert message == "another operation is already in progress"
            for line in events:
                lines.append(line)
                app = line["result"]["application"]
                if "operation" not in app and app["status"]["health"]["status"] != "Progressing":
                    break
            sse_lines = []
            for raw in sse.iter_lines():
                if raw.startswith("data: "):
                    sse_lines.append(json.loads(raw[len("data: ") :]))
                    if len(sse_lines) >= 3:
                        break
        for line in lines + sse_lines:
            problems = schemas.stream_errors(line)
            assert not problems, problems
        assert any(
            line["result"]["application"]["status"].get("operationState", {}).get("retryCount")
            for line in lines
        )
        check(schemas, "eventsEventList", admin.get(base + "/events"))
        check_error(schemas, admin.request("DELETE", base + "/operation", headers=JSON), 400, 3)

    with (
        running_simulator(make_state(seconds=30)) as sim,
        client(sim, sim.token_for("admin")) as admin,
    ):
        base = "/api/v1/applications/guestbook"
        check(schemas, "v1alpha1Application", admin.post(base + "/sync", json={}))
        sim.wait_for("guestbook", lambda a: "operationState" in a["status"])
        check(
            schemas,
            "applicationOperationTerminateResponse",
            admin.request("DELETE", base + "/operation", headers=JSON),
        )
        check(schemas, "v1alpha1Application", admin.get(base))


def test_can_i(schemas: SwaggerSchemas, sim: RunningSimulator) -> None:
    """can-i answers yes/no (multi-segment subresource) and 400 for an unknown resource."""
    with client(sim, TOKEN_VIEWER) as viewer:
        yes = check(
            schemas,
            "accountCanIResponse",
            viewer.get("/api/v1/account/can-i/applications/get/default/guestbook"),
        )
        no = check(
            schemas,
            "accountCanIResponse",
            viewer.get("/api/v1/account/can-i/applications/sync/default/guestbook"),
        )
        assert (yes, no) == ({"value": "yes"}, {"value": "no"})
        check_error(schemas, viewer.get("/api/v1/account/can-i/nothing/get/x"), 400, 3)
        check_error(schemas, viewer.get("/api/v1/account/can-i/applications/fly/x"), 400, 3)


def test_error_bodies(schemas: SwaggerSchemas) -> None:
    """401, 403 (RBAC, sync window), 404, 400 (codes 3 and 9), 500 and injected faults."""
    state = make_state()
    state["applications"][0]["spec"]["syncPolicy"] = {"automated": {}}
    state["syncWindows"] = {"billing": [{"kind": "deny"}]}
    with (
        running_simulator(state) as sim,
        client(sim, sim.token_for("admin")) as admin,
        client(sim) as anon,
        client(sim, TOKEN_VIEWER) as viewer,
    ):
        check_error(schemas, anon.get("/api/v1/applications"), 401, 16)
        check_stream_error(schemas, anon.get("/api/v1/stream/applications"), 401, 16)
        check_error(schemas, anon.get("/api/v1/account/can-i/applications/get/x"), 401, 16)
        check_error(schemas, admin.get("/api/v1/applications/none"), 403, 7)
        check_error(
            schemas, admin.get("/api/v1/applications/none", params={"project": "default"}), 404, 5
        )
        check_error(schemas, viewer.post("/api/v1/applications/guestbook/sync", json={}), 403, 7)
        blocked = check_error(
            schemas, admin.post("/api/v1/applications/billing/sync", json={}), 403, 7
        )
        assert blocked == "cannot sync: blocked by sync window"
        check_error(
            schemas,
            admin.post("/api/v1/applications/guestbook/sync", json={"revision": "v2"}),
            400,
            9,
        )
        check_error(
            schemas,
            admin.post("/api/v1/applications/guestbook/sync", content=b"[]", headers=JSON),
            400,
            3,
        )
        check_error(schemas, admin.get("/api/v1/applications", params={"selector": "=x"}), 500, 2)
        for path in ("/managed-resources", "/resource-tree", "/events", "/revisions/abc/metadata"):
            check_error(schemas, admin.get("/api/v1/applications/none" + path), 403, 7)
        sim.set_faults({"errorRate": 1.0, "statusCodes": [503, 500, 429], "seed": 7})
        for _ in range(3):
            response = admin.get("/api/v1/applications")
            check_error(
                schemas,
                response,
                response.status_code,
                {503: 14, 500: 2, 429: 8}[response.status_code],
            )


def test_validator_rejects_wrong_shapes(schemas: SwaggerSchemas) -> None:
    """The checker itself fails on invented fields, wrong types and a bare syncOptions array."""
    assert schemas.errors("v1alpha1Application", {"metadata": {"nmae": "x"}})
    assert schemas.errors("runtimeError", {"error": "x", "code": "7", "message": "x"})
    assert schemas.errors("applicationApplicationSyncRequest", {"syncOptions": ["Prune=true"]})
    assert schemas.errors("v1alpha1OperationState", {"retryCount": "1"})
    assert not schemas.errors("applicationApplicationSyncRequest", {"sourcePositions": [1]})
    assert schemas.stream_errors({"result": {"type": "ADDED", "app": {}}})
