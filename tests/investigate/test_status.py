"""Status evidence: Argo CD's Application JSON summarised into typed, redacted evidence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from belay.investigate.status import summarize_application, summarize_list_entry


def test_rich_fixture_from_a_real_install(fixture_yaml: Callable[[str], Any]) -> None:
    """The diff-cache fixture: history newest first, operation, images, destination, resources."""
    app = fixture_yaml("diff-cache.yaml")
    ev = summarize_application(app, instance="prod", history_limit=3)
    assert ev.found
    assert ev.application == "velero-test"
    assert ev.project == "sre"
    assert ev.sync_status == "Synced"
    assert ev.health_status == "Healthy"
    assert [h.id for h in ev.history] == [23, 22, 21]
    assert ev.history[0].deployed_at == datetime(2024, 3, 5, 7, 33, 4, tzinfo=UTC)
    # sync.revision is the placeholder "rev1": the history's SHA is what is deployed.
    assert ev.deployed_revisions == ("ea8759964626a583667a2bfd08f334ec2070040a",)
    assert ev.operation is not None
    assert ev.operation.phase == "Succeeded"
    assert not ev.operation.in_progress
    assert ev.operation.initiated_by == "foo@example.com"
    assert ev.images == ("nginx:latest",)
    assert ev.destination == {"name": "gke-alpha-01-europe-west1", "namespace": "test-lla"}
    assert ev.unhealthy_resources == ()
    assert not ev.multi_source


def test_failed_operation_lists_failed_resources(make_app: Callable[..., dict[str, Any]]) -> None:
    """SyncFailed resources of the last sync result are kept with their (redacted) messages."""
    app = make_app(
        operation_phase="Failed",
        operation_message="one or more objects failed to apply, reason: token=abcdef123456 bad",
        failed_resources=[
            {
                "group": "apps",
                "kind": "Deployment",
                "namespace": "shop",
                "name": "api",
                "status": "SyncFailed",
                "message": "admission webhook denied",
            },
            {
                "group": "",
                "kind": "Service",
                "namespace": "shop",
                "name": "api",
                "status": "Synced",
                "message": "service/api configured",
            },
        ],
    )
    ev = summarize_application(app, instance="default")
    assert ev.operation is not None
    assert ev.operation.phase == "Failed"
    assert "abcdef123456" not in ev.operation.message
    assert [r.kind for r in ev.operation.failed_resources] == ["Deployment"]
    assert ev.operation.failed_resources[0].message == "admission webhook denied"


def test_pending_operation_is_in_progress(make_app: Callable[..., dict[str, Any]]) -> None:
    """A top-level operation (controller not started yet) counts as in progress."""
    app = make_app(operation_phase="Running")
    assert summarize_application(app, instance="d").operation.in_progress  # type: ignore[union-attr]
    app = make_app(operation_phase=None)
    app["operation"] = {"sync": {"revision": "x"}, "initiatedBy": {"automated": True}}
    op = summarize_application(app, instance="d").operation
    assert op is not None
    assert op.in_progress
    assert op.initiated_by == "automated"


def test_multi_source_app(make_app: Callable[..., dict[str, Any]]) -> None:
    """Multi-source apps keep every source and their revisions."""
    app = make_app(history=[])
    app["spec"].pop("source")
    app["spec"]["sources"] = [
        {"repoURL": "https://git.example.com/a.git", "targetRevision": "main", "path": "a"},
        {"repoURL": "https://charts.example.com", "chart": "redis", "targetRevision": "18.1.0"},
    ]
    app["status"]["sync"].pop("revision")
    app["status"]["sync"]["revisions"] = ["aaaaaaa1", "18.1.0"]
    ev = summarize_application(app, instance="d")
    assert ev.multi_source
    assert [s.chart for s in ev.sources] == ["", "redis"]
    assert ev.deployed_revisions == ("aaaaaaa1", "18.1.0")


def test_unhealthy_and_out_of_sync_resources(make_app: Callable[..., dict[str, Any]]) -> None:
    """Non-healthy and OutOfSync resources are listed; pruning candidates too."""
    app = make_app(
        resources=[
            {
                "group": "apps",
                "kind": "Deployment",
                "namespace": "s",
                "name": "api",
                "status": "Synced",
                "health": {"status": "Degraded", "message": "ProgressDeadlineExceeded"},
            },
            {
                "kind": "ConfigMap",
                "namespace": "s",
                "name": "old",
                "status": "OutOfSync",
                "requiresPruning": True,
            },
            {
                "kind": "Service",
                "namespace": "s",
                "name": "api",
                "status": "Synced",
                "health": {"status": "Missing", "message": "Resource has not been created"},
            },
        ]
    )
    ev = summarize_application(app, instance="d")
    assert [(r.name, r.health) for r in ev.unhealthy_resources] == [
        ("api", "Degraded"),
        ("api", "Missing"),
    ]
    assert [(r.name, r.requires_pruning) for r in ev.out_of_sync_resources] == [("old", True)]
    assert ev.out_of_sync_resources[0].label == "ConfigMap s/old"


def test_list_entry(make_app: Callable[..., dict[str, Any]]) -> None:
    """A list row keeps name, project, states and destination namespace."""
    row = summarize_list_entry(make_app("web", project="shop", sync="OutOfSync"))
    assert (row.name, row.project, row.sync_status, row.destination_namespace) == (
        "web",
        "shop",
        "OutOfSync",
        "web",
    )


def test_tolerates_an_unreconciled_app() -> None:
    """An app never reconciled (empty structs) gives empty, not failing, evidence."""
    app = {
        "metadata": {"name": "new"},
        "spec": {"project": "default", "destination": {}},
        "status": {"sync": {"status": "", "comparedTo": {}}, "health": {}, "summary": {}},
    }
    ev = summarize_application(app, instance="d")
    assert ev.sync_status == ""
    assert ev.operation is None
    assert ev.history == ()
