"""Contract tests for the simulator's fidelity to Argo CD v3.5.1 (issue 17).

Each test names, in its docstring, the real function whose behaviour it pins, and checks the
answers against the swagger like every other contract test.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from belay.sim.testing import RunningSimulator, running_simulator

from .conftest import TOKEN_DEPLOYER, TOKEN_VIEWER, client, make_state
from .swagger_schema import SwaggerSchemas, load_swagger
from .test_contract import check, check_error, check_stream_error

pytestmark = pytest.mark.contract

REPO = "https://github.com/argoproj/argocd-example-apps.git"
SHA_MAIN = "1111111111111111111111111111111111111111"
SHA_TAG = "2222222222222222222222222222222222222222"
SHA_OLD = "3a4b5c6d7e8f90123456789abcdef0123456789a"
BASE = "/api/v1/applications/guestbook"


@pytest.fixture(scope="module")
def schemas() -> SwaggerSchemas:
    """The adjusted swagger definitions."""
    return load_swagger()


def repo_state(**behavior: Any) -> dict[str, Any]:
    """The test state with the example repository known to the repo server."""
    state = make_state(**behavior)
    state["repositories"] = {
        REPO: {
            "refs": {"HEAD": SHA_MAIN, "main": SHA_MAIN, "v1.4.3": SHA_TAG},
            "commits": [SHA_MAIN, SHA_TAG, SHA_OLD],
        }
    }
    return state


def _op_state(app: dict[str, Any]) -> dict[str, Any]:
    return (app.get("status") or {}).get("operationState") or {}


def _settled(app: dict[str, Any]) -> bool:
    status = app.get("status") or {}
    return (
        "operation" not in app
        and _op_state(app).get("phase") in {"Succeeded", "Failed", "Error"}
        and (status.get("health") or {}).get("status") != "Progressing"
        and status.get("reconciledAt", "") > _op_state(app).get("finishedAt", "~")
    )


def _watch_sync(
    sim: RunningSimulator, body: dict[str, Any], *, schemas: SwaggerSchemas
) -> list[dict[str, Any]]:
    """Sync guestbook while watching it; every application seen until it settles."""
    seen: list[dict[str, Any]] = []
    with (
        client(sim, sim.token_for("admin")) as admin,
        admin.stream("GET", "/api/v1/stream/applications", params={"name": "guestbook"}) as s,
    ):
        lines = (json.loads(line) for line in s.iter_lines() if line.strip())
        next(lines)  # ADDED
        check(schemas, "v1alpha1Application", admin.post(BASE + "/sync", json=body))
        for line in lines:
            assert not schemas.stream_errors(line)
            app = line["result"]["application"]
            seen.append(app)
            if _settled(app):
                break
    return seen


# -- 1. revision resolution ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "operation_revision", "concrete"),
    [
        ("main", SHA_MAIN, SHA_MAIN),
        ("v1.4.3", SHA_TAG, SHA_TAG),
        ("HEAD", SHA_MAIN, SHA_MAIN),
        ("", SHA_MAIN, SHA_MAIN),
        ("refs/tags/v1.4.3", SHA_TAG, SHA_TAG),
        ("3a4b5c6", "3a4b5c6", SHA_OLD),
        (SHA_OLD, SHA_OLD, SHA_OLD),
    ],
)
def test_sync_resolves_revision_to_a_concrete_sha(
    schemas: SwaggerSchemas, sent: str, operation_revision: str, concrete: str
) -> None:
    """``resolveRevision`` / ``lsRemote``: refs become SHAs before the operation is set; a short
    SHA stays short in the operation and is completed at checkout; results hold the full SHA."""
    with running_simulator(repo_state()) as sim:
        body = {"revision": sent} if sent else {}
        with client(sim, sim.token_for("admin")) as admin:
            answer = check(schemas, "v1alpha1Application", admin.post(BASE + "/sync", json=body))
        assert answer["operation"]["sync"]["revision"] == operation_revision
        final = sim.wait_for("guestbook", _settled)
    status = final["status"]
    assert status["operationState"]["syncResult"]["revision"] == concrete
    assert status["history"][-1]["revision"] == concrete
    assert status["sync"]["revision"] == concrete


def test_unknown_revision_is_400_code_9(schemas: SwaggerSchemas) -> None:
    """``resolveSourceRevisions``: an unresolvable ref is FailedPrecondition with the repo
    server's ``unable to resolve ... to a commit SHA`` message, and no operation is set."""
    with running_simulator(repo_state()) as sim, client(sim, sim.token_for("admin")) as admin:
        message = check_error(
            schemas, admin.post(BASE + "/sync", json={"revision": "no-such-branch"}), 400, 9
        )
        assert message == (
            "error resolving repo revision: rpc error: code = Unknown desc = unable to resolve "
            "'no-such-branch' to a commit SHA: revision not found"
        )
        assert "operation" not in sim.application("guestbook")


def test_unknown_short_sha_errors_at_checkout() -> None:
    """``lsRemote`` passes a truncated SHA through; the controller's checkout then fails it."""
    with running_simulator(repo_state()) as sim, client(sim, sim.token_for("admin")) as admin:
        assert admin.post(BASE + "/sync", json={"revision": "abcdef0"}).status_code == 200
        final = sim.wait_for("guestbook", lambda a: "operation" not in a and _op_state(a))
    assert final["status"]["operationState"]["phase"] == "Error"
    assert "unable to resolve 'abcdef0'" in final["status"]["operationState"]["message"]


# -- 2. retry backoff ------------------------------------------------------------------------


def test_retry_waits_backoff_and_says_retrying_operation(schemas: SwaggerSchemas) -> None:
    """``processRequestedAppOperation`` + ``RetryStrategy.NextRetryAt``: each failed attempt
    shows ``Retrying attempt #N at``, each retry starts with ``Retrying operation. Attempt #N``."""
    state = repo_state(failAttempts=2, message="one or more objects failed to apply, reason: x")
    state["timeScale"] = 200  # 10 s and 20 s of backoff last 50 ms and 100 ms
    with running_simulator(state) as sim:
        seen = _watch_sync(
            sim,
            {"retryStrategy": {"limit": 3, "backoff": {"duration": "5s", "factor": 2}}},
            schemas=schemas,
        )
    messages = [_op_state(a).get("message", "") for a in seen]
    assert any("x. Retrying attempt #1 at " in m for m in messages)
    starts = [m for m in messages if m.startswith("Retrying operation.")]
    assert starts[:2] == ["Retrying operation. Attempt #1", "Retrying operation. Attempt #2"]
    assert _op_state(seen[-1])["phase"] == "Succeeded"
    assert _op_state(seen[-1])["retryCount"] == 2


# -- 3. transient repo errors ----------------------------------------------------------------


def test_repo_error_fault_gives_transient_code_9(schemas: SwaggerSchemas) -> None:
    """``resolveRevision`` wraps a repo-server failure as FailedPrecondition: ``repoErrors``
    makes the next N syncs meet one, then syncs pass again."""
    state = repo_state()
    state["faults"] = {"repoErrors": 2}
    with running_simulator(state) as sim, client(sim, sim.token_for("admin")) as admin:
        for _ in range(2):
            message = check_error(schemas, admin.post(BASE + "/sync", json={}), 400, 9)
            assert message.startswith("error resolving repo revision: ")
            assert "failed to list refs" in message
        check(schemas, "v1alpha1Application", admin.post(BASE + "/sync", json={}))


# -- 4. after the operation ------------------------------------------------------------------


def test_refresh_after_operation_comes_later(schemas: SwaggerSchemas) -> None:
    """``processRequestedAppOperation`` ends the operation with sync and health untouched and
    requests a refresh; the refresh reconciles with Progressing; a later one brings the health."""
    with running_simulator(repo_state(health="Healthy")) as sim:
        before = sim.application("guestbook")["status"]
        seen = _watch_sync(sim, {"revision": "main"}, schemas=schemas)
    ended = next(a for a in seen if "operation" not in a and _op_state(a).get("finishedAt"))
    assert ended["status"]["health"] == before["health"]
    assert ended["status"]["sync"]["revision"] == before["sync"]["revision"]
    assert ended["status"]["reconciledAt"] == before["reconciledAt"]
    refreshed = [
        a
        for a in seen
        if a["status"]["reconciledAt"] > _op_state(a).get("finishedAt", "~")
        and a["status"]["health"]["status"] == "Progressing"
    ]
    assert refreshed and refreshed[0]["status"]["sync"]["revision"] == SHA_MAIN
    assert seen[-1]["status"]["health"]["status"] == "Healthy"


# -- 5. watch --------------------------------------------------------------------------------


def test_named_watch_sends_added_even_with_resource_version(schemas: SwaggerSchemas) -> None:
    """``Watch``: for one named app the initial ADDED is sent although ``resourceVersion`` is
    given; an unnamed watch with ``resourceVersion`` sends no snapshot."""
    with running_simulator(make_state()) as sim, client(sim, sim.token_for("admin")) as admin:
        rv = admin.get(BASE).json()["metadata"]["resourceVersion"]
        params = {"name": "guestbook", "resourceVersion": rv}
        with admin.stream("GET", "/api/v1/stream/applications", params=params) as s:
            first = json.loads(next(line for line in s.iter_lines() if line.strip()))
        assert not schemas.stream_errors(first)
        assert first["result"]["type"] == "ADDED"
        assert first["result"]["application"]["metadata"]["name"] == "guestbook"


def test_watch_errors_use_the_stream_error_shape(schemas: SwaggerSchemas) -> None:
    """grpc-gateway ``ForwardResponseStream``: an error before the first message answers its
    status with ``{"error": {grpc_code, http_code, message, http_status}}``; later, a line."""
    state = make_state()
    state["faults"] = {"watchErrorAfterEvents": 1}
    with running_simulator(state) as sim:
        with client(sim) as anon:
            message = check_stream_error(schemas, anon.get("/api/v1/stream/applications"), 401, 16)
            assert message == "no session information"
        with client(sim, sim.token_for("admin")) as admin:
            bad = admin.get("/api/v1/stream/applications", params={"selector": "=x"})
            assert check_stream_error(schemas, bad, 500, 2).startswith(
                "error parsing labels with selectors: "
            )
            with admin.stream("GET", "/api/v1/stream/applications") as s:
                lines = [json.loads(line) for line in s.iter_lines() if line.strip()]
    assert [next(iter(line)) for line in lines] == ["result", "error"]
    assert not schemas.stream_errors(lines[1])
    assert lines[1]["error"]["grpc_code"] == 14
    assert lines[1]["error"]["http_status"] == "Service Unavailable"


# -- 6. namespaces ---------------------------------------------------------------------------


def test_without_app_namespace_only_the_control_plane_is_searched(
    schemas: SwaggerSchemas,
) -> None:
    """``appNamespaceOrDefault``: an app outside the control-plane namespace is found only
    when ``appNamespace`` names it."""
    state = make_state()
    state["applications"][1]["metadata"]["namespace"] = "team-a"
    with running_simulator(state) as sim, client(sim, sim.token_for("admin")) as admin:
        path = "/api/v1/applications/billing"
        check_error(schemas, admin.get(path), 403, 7)
        check_error(schemas, admin.get(path, params={"project": "payments"}), 404, 5)
        got = check(
            schemas, "v1alpha1Application", admin.get(path, params={"appNamespace": "team-a"})
        )
        assert got["metadata"]["namespace"] == "team-a"
        check_error(schemas, admin.post(path + "/sync", json={}), 403, 7)
        check(
            schemas,
            "v1alpha1Application",
            admin.post(path + "/sync", json={"appNamespace": "team-a", "project": "payments"}),
        )


def test_sync_reads_project_and_namespace_from_its_body(schemas: SwaggerSchemas) -> None:
    """``Sync`` takes ``project`` and ``appNamespace`` from the request message (the body, as
    grpc-gateway maps ``body: "*"``), not from the query."""
    with running_simulator(make_state()) as sim, client(sim, sim.token_for("admin")) as admin:
        wrong = admin.post(BASE + "/sync", json={"project": "payments"})
        assert (
            check_error(schemas, wrong, 404, 5) == 'applications.argoproj.io "guestbook" not found'
        )
        query_only = admin.post(BASE + "/sync", params={"project": "payments"}, json={})
        check(schemas, "v1alpha1Application", query_only)


# -- 7. managed resources, fields and diffs --------------------------------------------------


def _secret(data: dict[str, str]) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "guestbook"},
            "data": data,
        }
    )


def secret_state() -> dict[str, Any]:
    """The test state with a managed Secret whose password changed."""
    state = make_state()
    state["managedResources"] = {
        "guestbook": [
            {
                "kind": "Secret",
                "namespace": "guestbook",
                "name": "db",
                "targetState": _secret({"user": "YWRtaW4=", "password": "bmV3"}),
                "liveState": _secret({"user": "YWRtaW4=", "password": "b2xk"}),
                "modified": True,
            }
        ]
    }
    return state


def test_managed_secret_data_is_masked(schemas: SwaggerSchemas) -> None:
    """gitops-engine ``HideSecretData``: equal values get ``++++++++``, a changed one a longer
    run of plus signs; no value reaches the answer."""
    with running_simulator(secret_state()) as sim, client(sim, sim.token_for("admin")) as admin:
        body = check(
            schemas,
            "applicationManagedResourcesResponse",
            admin.get(BASE + "/managed-resources"),
        )
        diff = check(
            schemas,
            "applicationApplicationServerSideDiffResponse",
            admin.get("/api/v1/applications/guestbook/server-side-diff"),
        )
    [item] = body["items"]
    target = json.loads(item["targetState"])["data"]
    live = json.loads(item["liveState"])["data"]
    assert target == {"user": "++++++++", "password": "++++++++"}
    assert live == {"user": "++++++++", "password": "++++++++++++"}
    assert "bmV3" not in json.dumps(body) and "b2xk" not in json.dumps(diff)
    assert diff["modified"] is True


def test_server_side_diff_compares_target_manifests(schemas: SwaggerSchemas) -> None:
    """``ServerSideDiff``: ``targetManifests`` replace the target of the resource they name."""
    state = make_state()
    live = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "guestbook-ui"}}
    state["managedResources"] = {
        "guestbook": [
            {
                "kind": "Service",
                "namespace": "guestbook",
                "name": "guestbook-ui",
                "liveState": json.dumps(live),
                "targetState": json.dumps(live),
            }
        ]
    }
    changed = copy.deepcopy(live)
    changed["metadata"]["labels"] = {"a": "b"}
    with running_simulator(state) as sim, client(sim, sim.token_for("admin")) as admin:
        path = BASE + "/server-side-diff"
        same = check(
            schemas,
            "applicationApplicationServerSideDiffResponse",
            admin.get(path, params={"targetManifests": json.dumps(live)}),
        )
        other = check(
            schemas,
            "applicationApplicationServerSideDiffResponse",
            admin.get(path, params={"targetManifests": json.dumps(changed)}),
        )
    assert same["modified"] is False
    assert other["modified"] is True


def test_list_honours_fields(schemas: SwaggerSchemas) -> None:
    """``processApplicationListField`` / ``appFields``: only selectable paths, named or not
    excluded, are kept; the list metadata always is."""
    with running_simulator(make_state()) as sim, client(sim, sim.token_for("admin")) as admin:
        fields = "items.metadata.name,items.status.sync.status,items.status.operationState"
        picked = check(
            schemas,
            "v1alpha1ApplicationList",
            admin.get("/api/v1/applications", params={"fields": fields}),
        )
        excluded = check(
            schemas,
            "v1alpha1ApplicationList",
            admin.get("/api/v1/applications", params={"fields": "-items.status.resources"}),
        )
    assert picked["metadata"]["resourceVersion"]
    assert picked["items"][0] == {
        "metadata": {"name": "billing"},
        "status": {"sync": {"status": "Synced"}},
    }
    assert "resources" not in excluded["items"][0]["status"]
    assert excluded["items"][0]["status"]["health"]["status"] == "Healthy"
    assert "history" not in excluded["items"][0]["status"]  # not a selectable path


# -- 8. small differences --------------------------------------------------------------------


def test_can_i_checks_the_action_first_and_normalises_objects(schemas: SwaggerSchemas) -> None:
    """``AccountServer.CanI``: the action is validated before the resource with Go's list text;
    ``project/<control-plane ns>/name`` is checked as ``project/name``; rollback means sync."""
    with (
        running_simulator(make_state()) as sim,
        client(sim, TOKEN_VIEWER) as viewer,
        client(sim, TOKEN_DEPLOYER) as deployer,
    ):
        both = viewer.get("/api/v1/account/can-i/nothing/fly/x")
        assert check_error(schemas, both, 400, 3) == (
            "[get create update delete sync rollback override action invoke] does not contain fly"
        )
        resource = viewer.get("/api/v1/account/can-i/nothing/get/x")
        assert check_error(schemas, resource, 400, 3).endswith(
            "extensions] does not contain nothing"
        )
        three = viewer.get("/api/v1/account/can-i/applications/get/default/argocd/guestbook")
        assert check(schemas, "accountCanIResponse", three) == {"value": "yes"}
        rollback = deployer.get("/api/v1/account/can-i/applications/rollback/default/guestbook")
        assert check(schemas, "accountCanIResponse", rollback) == {"value": "yes"}


def test_terminate_needs_sync_and_says_plain_permission_denied(schemas: SwaggerSchemas) -> None:
    """``TerminateOperation`` fetches the app with the sync right (getAppEnforceRBAC): a reader
    gets exactly ``permission denied``."""
    with running_simulator(make_state(seconds=30)) as sim:
        with client(sim, sim.token_for("admin")) as admin:
            admin.post(BASE + "/sync", json={})
        sim.wait_for("guestbook", lambda a: _op_state(a).get("phase") == "Running")
        with client(sim, TOKEN_VIEWER) as viewer:
            denied = viewer.request(
                "DELETE", BASE + "/operation", headers={"content-type": "application/json"}
            )
            assert check_error(schemas, denied, 403, 7) == "permission denied"


class _Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clocked() -> Iterator[tuple[httpx.Client, _Clock]]:
    """A simulator whose clock the test moves, and an anonymous client of it."""
    clock = _Clock()
    with running_simulator(make_state(), clock=clock) as sim, client(sim) as http:
        yield http, clock


def _login(http: httpx.Client, password: str) -> int:
    answer = http.post("/api/v1/session", json={"username": "deployer", "password": password})
    http.cookies.clear()
    return answer.status_code


def test_login_lockout_counts_failures_until_300s_pass(
    clocked: tuple[httpx.Client, _Clock],
) -> None:
    """``updateFailureCount`` / ``exceededFailedLoginAttempts``: failures 100 s apart still add
    up to a lockout; it lifts 300 s after the last failure."""
    http, clock = clocked
    for _ in range(5):
        assert _login(http, "wrong") == 401
        clock.now += 100
    clock.now -= 100  # the fifth failure was just now
    assert _login(http, "s3cret-pass") == 401
    clock.now += 301
    assert _login(http, "s3cret-pass") == 200


def test_auto_sync_refusal_prints_the_raw_target_revision(schemas: SwaggerSchemas) -> None:
    """``resolveSourceRevisions`` prints ``source.TargetRevision`` as written (empty here)."""
    state = make_state()
    spec = state["applications"][0]["spec"]
    spec["syncPolicy"] = {"automated": {}}
    del spec["source"]["targetRevision"]
    with running_simulator(state) as sim, client(sim, sim.token_for("admin")) as admin:
        message = check_error(schemas, admin.post(BASE + "/sync", json={"revision": "v2"}), 400, 9)
    assert message == "Cannot sync to v2: auto-sync currently set to "


# -- 9. endpoints real clients call -----------------------------------------------------------


def test_project_cluster_and_settings_endpoints(schemas: SwaggerSchemas) -> None:
    """``ProjectServer.Get``, ``ClusterServer.List`` (credentials removed), ``SettingsServer.Get``."""
    state = make_state()
    state["clusters"] = [
        {
            "server": "https://prod.example.invalid",
            "name": "prod",
            "config": {"bearerToken": "very-secret-token", "tlsClientConfig": {"keyData": "a2V5"}},
        }
    ]
    with (
        running_simulator(state) as sim,
        client(sim, sim.token_for("admin")) as admin,
        client(sim, TOKEN_VIEWER) as viewer,
        client(sim) as anon,
    ):
        project = check(schemas, "v1alpha1AppProject", admin.get("/api/v1/projects/default"))
        assert project["metadata"]["name"] == "default"
        check_error(schemas, admin.get("/api/v1/projects/nope"), 404, 5)
        clusters = check(schemas, "v1alpha1ClusterList", admin.get("/api/v1/clusters"))
        assert "very-secret-token" not in json.dumps(clusters) and "a2V5" not in json.dumps(
            clusters
        )
        settings = check(schemas, "clusterSettings", anon.get("/api/v1/settings"))
        assert settings["controllerNamespace"] == "argocd"
        denied = viewer.get("/api/v1/projects/default")
        assert check_error(schemas, denied, 403, 7).startswith("permission denied: projects, get")


def _tree_node(admin: httpx.Client, kind: str) -> dict[str, Any]:
    tree = admin.get(BASE + "/resource-tree").json()
    return next(n for n in tree["nodes"] if n["kind"] == kind)


def test_resource_actions_and_syncwindows(schemas: SwaggerSchemas) -> None:
    """``GetResource`` (live manifest), ``ListResourceActions`` and
    ``GetApplicationSyncWindows``; a resource not in the tree is 400 code 3."""
    state = make_state()
    state["syncWindows"] = {"guestbook": [{"kind": "deny", "from": 0}]}
    with running_simulator(state) as sim, client(sim, sim.token_for("admin")) as admin:
        node = _tree_node(admin, "Deployment")
        params = {
            "group": "apps",
            "kind": "Deployment",
            "namespace": "guestbook",
            "resourceName": "guestbook-ui",
            "version": "v1",
        }
        manifest = check(
            schemas,
            "applicationApplicationResourceResponse",
            admin.get(BASE + "/resource", params=params),
        )
        assert json.loads(manifest["manifest"])["metadata"]["uid"] == node["uid"]
        actions = check(
            schemas,
            "applicationResourceActionsListResponse",
            admin.get(BASE + "/resource/actions", params=params),
        )
        assert "restart" in {a["name"] for a in actions["actions"]}
        missing = admin.get(BASE + "/resource", params={**params, "resourceName": "nope"})
        assert check_error(schemas, missing, 400, 3) == (
            "Deployment apps nope not found as part of application guestbook"
        )
        windows = check(
            schemas, "applicationApplicationSyncWindowsResponse", admin.get(BASE + "/syncwindows")
        )
    assert windows["canSync"] is False
    assert [w["kind"] for w in windows["activeWindows"]] == ["deny"]


def test_logs_stream_result_lines(schemas: SwaggerSchemas) -> None:
    """``PodLogs``: ``{"result": LogEntry}`` lines ending with a ``last`` entry; needs
    ``logs, get`` (a stream error otherwise)."""
    state = make_state()
    state["logs"] = {
        "guestbook": [
            {
                "podName": "guestbook-ui-1",
                "content": "started",
                "timeStamp": "2026-08-01T09:00:00Z",
            },
            {"podName": "guestbook-ui-1", "content": "GET /healthz 200"},
        ]
    }
    with running_simulator(state) as sim:
        with client(sim, sim.token_for("admin")) as admin:
            response = admin.get(
                BASE + "/logs", params={"podName": "guestbook-ui-1", "filter": "healthz"}
            )
            by_pod = admin.get(BASE + "/pods/guestbook-ui-1/logs")
        with client(sim, TOKEN_VIEWER) as viewer:
            denied = viewer.get(BASE + "/logs")
    wrapper = schemas.paths["/api/v1/applications/{name}/logs"]["get"]["responses"]["200"]["schema"]
    lines = [json.loads(line) for line in response.text.splitlines() if line.strip()]
    for line in lines:
        schema = {**wrapper, "additionalProperties": False, "definitions": schemas.definitions}
        assert not schemas._errors(schema, line)
    assert [line["result"]["content"] for line in lines] == ["GET /healthz 200", ""]
    assert [json.loads(line)["result"]["content"] for line in by_pod.text.splitlines()] == [
        "started",
        "GET /healthz 200",
        "",
    ]
    assert [line["result"]["last"] for line in lines] == [False, True]
    assert check_stream_error(schemas, denied, 403, 7).startswith("permission denied: logs, get")


def test_resource_events_are_found_among_tree_nodes(schemas: SwaggerSchemas) -> None:
    """``ListResourceEvents``: a resource is found by uid, name and namespace among the tree's
    nodes (a Pod is not in ``status.resources``), and its events are returned."""
    state = make_state()
    pod = {
        "version": "v1",
        "kind": "Pod",
        "namespace": "guestbook",
        "name": "guestbook-ui-1",
        "uid": "pod-uid-1",
    }
    state["resourceTrees"] = {"guestbook": {"nodes": [pod]}}
    state["events"] = {
        "guestbook": [
            {
                "metadata": {"name": "guestbook-ui-1.1", "namespace": "guestbook"},
                "involvedObject": {
                    "kind": "Pod",
                    "namespace": "guestbook",
                    "name": "guestbook-ui-1",
                    "uid": "pod-uid-1",
                },
                "reason": "BackOff",
                "message": "Back-off restarting failed container",
                "type": "Warning",
            }
        ]
    }
    with running_simulator(state) as sim, client(sim, sim.token_for("admin")) as admin:
        params = {
            "resourceName": "guestbook-ui-1",
            "resourceNamespace": "guestbook",
            "resourceUID": "pod-uid-1",
        }
        found = check(schemas, "eventsEventList", admin.get(BASE + "/events", params=params))
        wrong_uid = admin.get(BASE + "/events", params={**params, "resourceUID": "other"})
        check_error(schemas, wrong_uid, 400, 3)
    assert [e["reason"] for e in found["items"]] == ["BackOff"]
