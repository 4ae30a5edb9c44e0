"""Pod-level evidence and the rules over it: causes from tree nodes and events, image changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from belay.investigate.models import (
    Alert,
    InvestigationSettings,
    ResourceTreeEvidence,
)
from belay.investigate.pods import image_changes, needs_events, pod_causes, with_events
from belay.investigate.rules import RuleContext, evaluate
from belay.investigate.status import summarize_application

from .conftest import build_app

NOW = datetime(2026, 5, 1, 9, 20, tzinfo=UTC)
OLD = "registry.example.com/shop/cart:1.4.2"
NEW = "registry.example.com/shop/cart:1.5.0-typo"


def _pod(
    name: str,
    reason: str,
    *,
    health: str = "Degraded",
    restarts: int = 0,
    containers: str = "0/1",
    message: str = "",
    image: str = NEW,
) -> dict[str, Any]:
    info = [{"name": "Status Reason", "value": reason}, {"name": "Containers", "value": containers}]
    if restarts:
        info.append({"name": "Restart Count", "value": str(restarts)})
    node: dict[str, Any] = {
        "version": "v1",
        "kind": "Pod",
        "namespace": "cart",
        "name": name,
        "uid": f"uid-{name}",
        "info": info,
        "images": [image],
        "health": {"status": health},
        "parentRefs": [{"group": "apps", "kind": "ReplicaSet", "name": "cart-7d9c"}],
    }
    if message:
        node["health"]["message"] = message
    return node


def _rs(name: str, revision: int, image: str) -> dict[str, Any]:
    return {
        "group": "apps",
        "kind": "ReplicaSet",
        "namespace": "cart",
        "name": name,
        "images": [image],
        "info": [{"name": "Revision", "value": f"Rev:{revision}"}],
        "parentRefs": [{"group": "apps", "kind": "Deployment", "name": "cart"}],
    }


def _kinds(
    pods: list[dict[str, Any]], events: list[dict[str, Any]] | None = None, health: str = "Degraded"
) -> tuple[list[str], dict[str, str]]:
    tree = {"nodes": [_rs("cart-6b8d", 6, OLD), _rs("cart-7d9c", 7, NEW), *pods]}
    seen, causes = pod_causes(tree)
    target = needs_events(causes)
    if target is not None and events is not None:
        causes = tuple(with_events(target, events) if p is target else p for p in causes)
    evidence = ResourceTreeEvidence(
        instance="default",
        application="cart",
        pods_seen=seen,
        unhealthy_pods=causes,
        image_changes=image_changes(tree),
    )
    status = summarize_application(build_app("cart", health=health), instance="default")
    ctx = RuleContext(
        alert=Alert(source="documented", application="cart"),
        settings=InvestigationSettings(),
        now=NOW,
        status=status,
        tree=evidence,
    )
    findings, ruled_out = evaluate(ctx)
    return [f.kind for f in findings], ruled_out


@pytest.mark.parametrize(
    ("pod", "kind"),
    [
        (
            _pod("a", "ImagePullBackOff", message=f'Back-off pulling image "{NEW}"'),
            "image_pull_error",
        ),
        (_pod("a", "ErrImagePull"), "image_pull_error"),
        (_pod("a", "CrashLoopBackOff", restarts=7), "crash_loop"),
        (_pod("a", "Error", restarts=4, health="Progressing"), "crash_loop"),
        (_pod("a", "OOMKilled", restarts=1), "oom_killed"),
    ],
    ids=["backoff", "err-image-pull", "crashloop", "restarts", "oom"],
)
def test_decisive_reason_is_the_top_finding(pod: dict[str, Any], kind: str) -> None:
    """A reason that names the cause leads the report, before degraded."""
    kinds, _ = _kinds([pod])
    assert kinds[0] == kind
    assert "degraded" in kinds


def test_pending_pod_needs_its_events_for_unschedulable() -> None:
    """A Pending pod says nothing by itself; its FailedScheduling event does."""
    pending = _pod("a", "Pending", health="Progressing")
    kinds, ruled_out = _kinds([pending], events=None)
    assert "unschedulable" not in kinds and "unschedulable" in ruled_out
    event = {
        "type": "Warning",
        "reason": "FailedScheduling",
        "message": "0/3 nodes are available: 3 Insufficient memory.",
        "lastTimestamp": "2026-05-01T09:10:00Z",
    }
    kinds, _ = _kinds([pending], events=[event])
    assert kinds[0] == "unschedulable"


def test_probe_failing_from_events_only() -> None:
    """A running pod that is not ready, with Unhealthy events, is probe_failing (not crash_loop)."""
    running = _pod("a", "Running", health="Progressing", containers="0/1")
    event = {
        "type": "Warning",
        "reason": "Unhealthy",
        "message": "Readiness probe failed: HTTP probe failed with statuscode: 503",
    }
    normal = {"type": "Normal", "reason": "Pulled", "message": "Successfully pulled image"}
    kinds, _ = _kinds([running], events=[normal, event])
    assert kinds[0] == "probe_failing" and "crash_loop" not in kinds


def test_healthy_pods_are_not_causes() -> None:
    """Ready, running pods give no pod finding, and every pod kind is ruled out."""
    ok = _pod("a", "Running", health="Healthy", containers="1/1", image=OLD)
    kinds, ruled_out = _kinds([ok], health="Healthy")
    assert not {"image_pull_error", "crash_loop", "oom_killed"} & set(kinds)
    assert {
        "image_pull_error",
        "crash_loop",
        "oom_killed",
        "unschedulable",
        "probe_failing",
    } <= set(ruled_out)


def test_image_change_pairs_the_same_repository() -> None:
    """The newest ReplicaSet's image is paired with the previous one of the same repository."""
    sidecar = "registry.example.com/mesh/proxy:2.0"
    tree = {
        "nodes": [
            {**_rs("cart-6b8d", 6, OLD), "images": [sidecar, OLD]},
            {**_rs("cart-7d9c", 7, NEW), "images": [sidecar, NEW]},
            _rs("solo-1", 1, "x:1"),
        ]
    }
    (change,) = image_changes(tree)
    assert (change.workload, change.before, change.after) == ("Deployment cart", OLD, NEW)


def test_decisive_reason_needs_no_events() -> None:
    """When a pod names its cause no events call is wanted; otherwise the first unhealthy pod."""
    _, causes = pod_causes({"nodes": [_pod("b", "Pending"), _pod("a", "CrashLoopBackOff")]})
    assert [p.name for p in causes] == ["a", "b"]  # decisive reasons first
    assert needs_events(causes) is None
    _, pending = pod_causes({"nodes": [_pod("b", "Pending")]})
    target = needs_events(pending)
    assert target is not None and target.uid == "uid-b"
