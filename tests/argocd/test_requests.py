"""Request shape: methods, paths, query parameters, headers and bodies the client sends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from belay import jsonio
from belay.argocd import ArgoCDClient, ArgoCDProtocolError, Info, SyncRequest, SyncResource
from belay.config.models import ArgoCDInstance
from belay.errors import BadInput

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjaS1ib3QifQ.abcdefghijklmnop"


class Recorder:
    """A MockTransport handler that records requests and answers from a route table."""

    def __init__(self, answers: dict[tuple[str, str], Any] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answers = answers or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        body = self.answers.get((request.method, request.url.path), {})
        return httpx.Response(200, json=body)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def _client(recorder: Recorder, **kwargs: Any) -> ArgoCDClient:
    kwargs.setdefault("token", TOKEN)
    return ArgoCDClient(
        "https://argocd.example.com", transport=httpx.MockTransport(recorder), **kwargs
    )


def test_projects_are_repeated_and_optional_params_dropped() -> None:
    """``projects`` is sent as ?projects=a&projects=b; unset filters are not sent at all."""
    rec = Recorder()
    with _client(rec) as client:
        client.list_applications(projects=["a", "b"], selector="team=x", app_namespace="argocd")
        client.list_applications()
    first, second = rec.requests
    assert first.url.params.get_list("projects") == ["a", "b"]
    assert first.url.params["selector"] == "team=x"
    assert first.url.params["appNamespace"] == "argocd"
    assert "name" not in first.url.params
    assert str(second.url) == "https://argocd.example.com/api/v1/applications"


def test_get_sends_project_namespace_refresh_and_quotes_the_name() -> None:
    """Path segments are URL-quoted; project/appNamespace/refresh are query parameters."""
    rec = Recorder()
    with _client(rec) as client:
        client.get_application("web.api-1", project="p", app_namespace="ns", refresh="hard")
        client.revision_metadata("web", "feature/x y")
    req = rec.requests[0]
    assert req.url.raw_path.startswith(b"/api/v1/applications/web.api-1?")
    assert rec.last.url.raw_path == b"/api/v1/applications/web/revisions/feature%2Fx%20y/metadata"
    assert dict(req.url.params) == {"project": "p", "appNamespace": "ns", "refresh": "hard"}
    assert req.headers["authorization"] == f"Bearer {TOKEN}"
    assert "content-type" not in req.headers


def test_sync_post_has_exact_content_type_and_wire_body() -> None:
    """POST .../sync sends exactly application/json and SyncRequest.to_wire() plus scoping."""
    rec = Recorder()
    request = SyncRequest.hook(
        revision="abc123",
        prune=True,
        dry_run=False,
        sync_options=["CreateNamespace=true"],
        infos=[Info(name="belay-decision", value="d-1")],
        resources=[SyncResource(kind="Deployment", name="web", group="apps")],
    )
    with _client(rec) as client:
        client.sync("guestbook", request, project="default", app_namespace="argocd")
    req = rec.last
    assert req.method == "POST"
    assert req.url.path == "/api/v1/applications/guestbook/sync"
    assert req.headers["content-type"] == "application/json"
    body = jsonio.loads(req.content)
    wire = request.to_wire()
    assert body == {**wire, "name": "guestbook", "project": "default", "appNamespace": "argocd"}
    assert wire == {
        "revision": "abc123",
        "prune": True,
        "dryRun": False,
        "strategy": {"hook": {}},
        "syncOptions": {"items": ["CreateNamespace=true"]},
        "infos": [{"name": "belay-decision", "value": "d-1"}],
        "resources": [{"group": "apps", "kind": "Deployment", "name": "web"}],
    }


def test_to_wire_omits_unset_fields() -> None:
    """An empty SyncRequest is an empty body; multi-source fields keep their wire names."""
    assert SyncRequest().to_wire() == {}
    wire = SyncRequest(revisions=["a", "b"], source_positions=[1, 2]).to_wire()
    assert wire == {"revisions": ["a", "b"], "sourcePositions": [1, 2]}


def test_terminate_is_a_delete_with_exact_content_type() -> None:
    """DELETE .../operation also carries exactly Content-Type: application/json."""
    rec = Recorder()
    with _client(rec) as client:
        client.terminate_operation("guestbook", project="default")
    req = rec.last
    assert req.method == "DELETE"
    assert req.url.path == "/api/v1/applications/guestbook/operation"
    assert req.headers["content-type"] == "application/json"
    assert req.url.params["project"] == "default"


def test_other_endpoints_paths() -> None:
    """Tree, metadata, events and can-i use the documented paths."""
    rec = Recorder(
        {
            ("GET", "/api/v1/account/can-i/applications/sync/default/guestbook"): {"value": "yes"},
            ("GET", "/api/v1/account/can-i/applications/delete/default/guestbook"): {"value": "no"},
            ("GET", "/api/v1/account/can-i/applications/get/*/*"): {"value": "yes"},
        }
    )
    with _client(rec) as client:
        client.resource_tree("g", project="p")
        client.revision_metadata("g", "v1.2.3", source_index=0)
        client.events("g", app_namespace="ns")
        client.managed_resources("g", project="p")
        assert client.can_i("applications", "sync", "default/guestbook") is True
        assert client.can_i("applications", "delete", "default/guestbook") is False
        assert client.can_i("applications", "get", "*/*") is True
        with pytest.raises(ArgoCDProtocolError):
            client.can_i("applications", "get", "unknown/answer")
    paths = [r.url.path for r in rec.requests]
    assert paths[:4] == [
        "/api/v1/applications/g/resource-tree",
        "/api/v1/applications/g/revisions/v1.2.3/metadata",
        "/api/v1/applications/g/events",
        "/api/v1/applications/g/managed-resources",
    ]
    assert rec.requests[1].url.params["sourceIndex"] == "0"


def test_bearer_prefix_is_stripped_and_token_registered() -> None:
    """A token given as ``Bearer x`` is sent once-prefixed and never logged or shown."""
    from belay.redact import redact_text

    secret = "plain-api-token-without-shape"
    rec = Recorder()
    with _client(rec, token=f"Bearer {secret}") as client:
        client.version()
    assert rec.last.headers["authorization"] == f"Bearer {secret}"
    assert secret not in redact_text(f"x {secret} y")


def test_one_log_line_per_call_without_secrets() -> None:
    """Each call logs instance, method, path, status and duration, and no token or body."""
    rec = Recorder({("GET", "/api/v1/applications"): {"items": []}})
    with capture_logs() as logs, _client(rec, instance_name="prod") as client:
        client.list_applications()
        client.sync("guestbook", SyncRequest(infos=[Info(name="k", value="v")]))
    calls = [entry for entry in logs if entry["event"] == "argocd.call"]
    assert len(calls) == 2
    for entry in calls:
        assert entry["instance"] == "prod"
        assert entry["status"] == 200
        assert isinstance(entry["duration_ms"], float)
        assert TOKEN not in repr(entry)
        assert "infos" not in repr(entry)
    assert [c["method"] for c in calls] == ["GET", "POST"]
    assert calls[1]["path"] == "/api/v1/applications/guestbook/sync"


def test_empty_name_is_refused_before_any_request() -> None:
    """An empty app name would hit the list endpoint; it is bad input instead."""
    rec = Recorder()
    with _client(rec) as client, pytest.raises(BadInput):
        client.get_application("")
    assert rec.requests == []


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"token": "t0ken-123456", "username": "u", "password": "p4ssword"}, "not both"),
        ({"username": "u"}, "needs a password"),
        ({"token": "Bearer "}, "empty"),
    ],
)
def test_bad_construction_is_bad_input(kwargs: dict[str, Any], words: str) -> None:
    """Ambiguous or incomplete credentials are refused with a clear line."""
    with pytest.raises(BadInput, match=words):
        ArgoCDClient("https://argocd.example.com", **kwargs)


def test_bad_base_url_is_bad_input() -> None:
    """A base URL that is not http(s) is refused."""
    with pytest.raises(BadInput, match="base URL"):
        ArgoCDClient("ftp://argocd.example.com")


def test_from_instance_maps_credentials_tls_and_defaults(tmp_path: Path) -> None:
    """from_instance takes token, name, project and namespace from the resolved instance."""
    rec = Recorder()
    instance = ArgoCDInstance(
        name="prod",
        base_url="https://argocd.example.com/",
        token=SecretStr("Bearer inst-token-12345"),
        project="payments",
        app_namespace="argocd",
        verify_ssl=False,
    )
    with capture_logs() as logs:
        client = ArgoCDClient.from_instance(instance, transport=httpx.MockTransport(rec))
    with client:
        client.version()
    assert rec.last.headers["authorization"] == "Bearer inst-token-12345"
    assert client.instance_name == "prod"
    assert client.default_project == "payments"
    assert client.default_app_namespace == "argocd"
    assert any(e["event"] == "argocd.tls_verification_off" for e in logs)


def test_from_instance_with_unreadable_ca_bundle_fails_closed(tmp_path: Path) -> None:
    """A CA bundle that cannot be read is a TLS error, not a silent fallback."""
    from belay.argocd import ArgoCDTLSError

    instance = ArgoCDInstance(
        name="prod",
        base_url="https://argocd.example.com",
        token=SecretStr("inst-token-12345"),
        ca_bundle=tmp_path / "missing.pem",
    )
    with pytest.raises(ArgoCDTLSError, match="CA bundle"):
        ArgoCDClient.from_instance(instance)
