"""Lenient parsing of real Argo CD objects (the shared fixtures) and of the wire's quirks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from belay.argocd import Application, ArgoCDClient, ResourceDiff, VersionInfo, WatchEvent
from belay.argocd.watch import iter_sse_payloads, parse_watch_payload


def test_rich_application_fixture_parses(wire_fixture: Any) -> None:
    """diff-cache.yaml (a real install's app) parses with typed access to what Belay reads."""
    data = wire_fixture("diff-cache.yaml")
    app = Application.model_validate(data)
    assert app.name == "velero-test"
    assert app.project == "sre"
    assert app.metadata.namespace == "argo-cd"
    assert app.spec.source is not None
    assert app.spec.source.repo_url == "https://github.com/foo/manifests-velero.git"
    assert app.spec.auto_sync is False
    assert app.status.health.status == "Healthy"
    assert app.status.sync.status == "Synced"
    assert [h.id for h in app.status.history] == list(range(14, 24))
    last = app.status.history[-1]
    assert last.revision == "ea8759964626a583667a2bfd08f334ec2070040a"
    assert isinstance(last.deployed_at, datetime)
    assert last.deployed_at.tzinfo is not None
    state = app.status.operation_state
    assert state is not None
    assert state.phase == "Succeeded"
    assert state.completed
    assert state.operation.initiated_by.username
    assert state.operation.sync is not None
    assert state.operation.sync.sync_strategy is not None
    assert state.operation.sync.sync_strategy.hook == {}
    assert state.sync_result is not None
    assert state.sync_result.resources
    assert all(r.sync_phase for r in state.sync_result.resources)
    assert app.status.source_type == "Plugin"
    assert app.status.summary.images
    assert app.operation is None
    assert app.status.reconciled_at is not None


def test_unknown_fields_are_kept_and_raw_round_trips(wire_fixture: Any) -> None:
    """Fields the models do not name survive, and ``raw`` is the JSON as received."""
    data = wire_fixture("diff-cache.yaml")
    app = Application.model_validate(data)
    assert app.raw == data
    assert app.model_dump(by_alias=True, exclude_unset=True)["kind"] == "Application"
    # ownerReferences is not modelled but kept on the metadata model
    assert app.metadata.model_extra is not None
    assert app.metadata.model_extra["ownerReferences"][0]["kind"] == "ApplicationSet"


def test_minimal_health_fixtures_parse(wire_fixture: Any) -> None:
    """The two minimal apps carry only a health status; everything else defaults."""
    healthy = Application.model_validate(wire_fixture("application-healthy.yaml"))
    degraded = Application.model_validate(wire_fixture("application-degraded.yaml"))
    assert healthy.status.health.status == "Healthy"
    assert degraded.status.health.status == "Degraded"
    assert degraded.name == ""
    assert degraded.status.operation_state is None
    assert degraded.status.history == []


def test_live_manifest_as_managed_resource_state(wire_fixture: Any) -> None:
    """A managed-resources item carries states as JSON strings and ``"null"`` for a gap."""
    import json

    live = wire_fixture("live-deployment.yaml")
    item = ResourceDiff.model_validate(
        {
            "group": "apps",
            "kind": "Deployment",
            "namespace": "default",
            "name": live["metadata"]["name"],
            "liveState": json.dumps(live),
            "targetState": "null",
            "normalizedLiveState": json.dumps(live),
            "predictedLiveState": "null",
        }
    )
    assert item.modified is False
    assert item.target_state == "null"
    assert json.loads(item.live_state)["kind"] == "Deployment"


def test_never_reconciled_app_with_empty_structs() -> None:
    """Argo CD's ``{}`` empty structs and omitted fields parse to defaults."""
    app = Application.model_validate(
        {
            "metadata": {"name": "new", "namespace": "argocd"},
            "spec": {"project": "default", "destination": {}, "source": {"repoURL": ""}},
            "status": {
                "sync": {
                    "status": "",
                    "comparedTo": {"source": {"repoURL": ""}, "destination": {}},
                },
                "health": {},
                "summary": {},
                "sourceHydrator": {},
            },
        }
    )
    assert app.status.health.status == ""
    assert app.status.summary.images == []
    assert app.status.model_extra == {"sourceHydrator": {}}


def test_bad_times_become_none_not_errors() -> None:
    """A time Belay cannot parse is None (the raw text stays in ``raw``)."""
    app = Application.model_validate(
        {"status": {"reconciledAt": "yesterday", "operationState": {"startedAt": None}}}
    )
    assert app.status.reconciled_at is None
    assert app.raw["status"]["reconciledAt"] == "yesterday"
    ok = Application.model_validate({"status": {"reconciledAt": "2024-03-05T07:33:04Z"}})
    assert ok.status.reconciled_at == datetime(2024, 3, 5, 7, 33, 4, tzinfo=UTC)


def test_version_without_session_has_only_version() -> None:
    """``/api/version`` uses capitalised keys; without a session only ``Version`` is sent."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"Version": "v3.5.1+109ca7c"})

    with ArgoCDClient(
        "https://argocd.example.com", transport=httpx.MockTransport(handler)
    ) as client:
        info = client.version()
    assert isinstance(info, VersionInfo)
    assert info.version == "v3.5.1+109ca7c"
    assert info.git_commit == ""
    full = VersionInfo.model_validate({"Version": "v3.5.1", "GitCommit": "109ca7c", "X": 1})
    assert full.git_commit == "109ca7c"


def test_list_with_null_items_is_empty() -> None:
    """``items: null`` (the ``fields`` filter with zero apps) is an empty list."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"items": None, "metadata": {"resourceVersion": "1"}})

    with ArgoCDClient(
        "https://argocd.example.com", transport=httpx.MockTransport(handler)
    ) as client:
        assert client.list_applications() == []
        assert client.managed_resources("g") == []


def test_watch_payload_parsing() -> None:
    """NDJSON objects become WatchEvents; a stream error object becomes a typed error."""
    import pytest

    from belay.argocd import ArgoCDPermissionDenied, ArgoCDProtocolError

    event = parse_watch_payload(
        '{"result": {"type": "MODIFIED", "application": {"metadata": {"name": "g"}}}}'
    )
    assert isinstance(event, WatchEvent)
    assert event.type == "MODIFIED"
    assert event.application.name == "g"
    with pytest.raises(ArgoCDPermissionDenied) as info:
        parse_watch_payload(
            '{"error": {"grpc_code": 7, "http_code": 403, "message": "permission denied",'
            ' "http_status": "Forbidden"}}',
            instance="prod",
            path="/api/v1/stream/applications",
        )
    assert info.value.status_code == 403
    assert "watch stream failed: permission denied" in str(info.value)
    for bad in ("not json", "[1]", '{"result": 3}', '{"result": {"application": {"spec": 1}}}'):
        with pytest.raises(ArgoCDProtocolError):
            parse_watch_payload(bad)


def test_sse_framing() -> None:
    """SSE ``data:`` lines are joined per event; comments and other fields are ignored."""
    lines = [
        ": keepalive",
        'data: {"result": {"type": "ADDED",',
        'data: "application": {}}}',
        "",
        "event: message",
        'data:{"result": {"type": "DELETED", "application": {}}}',
        "",
        ":",
    ]
    payloads = list(iter_sse_payloads(lines))
    assert [parse_watch_payload(p).type for p in payloads] == ["ADDED", "DELETED"]


def test_sse_until_ends_the_stream_at_a_keepalive() -> None:
    """``until`` is asked at each comment between events; once true the iteration ends there,
    and a comment inside an unfinished event never cuts it."""
    asked: list[int] = []

    def until() -> bool:
        asked.append(1)
        return len(asked) >= 2

    lines = [
        ": keepalive",
        'data: {"result": {"type": "ADDED",',
        ": inside an event",
        'data: "application": {}}}',
        "",
        ":",
        'data: {"result": {"type": "DELETED", "application": {}}}',
        "",
    ]
    payloads = list(iter_sse_payloads(lines, until=until))
    assert [parse_watch_payload(p).type for p in payloads] == ["ADDED"]
    assert len(asked) == 2
