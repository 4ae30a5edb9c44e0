"""Drift: one-sided resources count as the CLI counts them; redaction is by value, not resource."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from belay.investigate.diff import ManagedResource, build_diff_evidence
from belay.jsonio import dumps_text
from belay.redact import REDACTED


def _item(
    live: Any,
    target: Any,
    *,
    predicted: Any = "same",
    modified: bool = True,
    normalized: Any = "same",
    hook: bool = False,
) -> ManagedResource:
    obj = target if target is not None else live
    meta = obj["metadata"]
    group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
    return ManagedResource.model_validate(
        {
            "group": group,
            "kind": obj["kind"],
            "namespace": meta.get("namespace", ""),
            "name": meta["name"],
            "targetState": dumps_text(target),
            "liveState": dumps_text(live),
            "normalizedLiveState": dumps_text(live if normalized == "same" else normalized),
            "predictedLiveState": dumps_text(
                (target if target is not None else None) if predicted == "same" else predicted
            ),
            "modified": modified,
            "hook": hook,
        }
    )


def _deployment(
    image: str = "app:1", replicas: int = 2, env: list[Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "api",
            "namespace": "shop",
            "managedFields": [{"manager": "argocd"}],
            "resourceVersion": "42",
        },
        "spec": {
            "replicas": replicas,
            "template": {
                "spec": {"containers": [{"name": "api", "image": image, "env": env or []}]}
            },
        },
    }


def test_modified_resource_gives_a_unified_diff() -> None:
    """A modified Deployment's diff shows the image change and drops managedFields."""
    ev = build_diff_evidence(
        [_item(_deployment("app:1"), _deployment("app:2"))], instance="d", application="shop"
    )
    assert ev.drift_detected
    assert ev.diff_count == 1
    record = ev.diffs[0]
    assert (record.group, record.kind, record.namespace, record.name, record.change) == (
        "apps",
        "Deployment",
        "shop",
        "api",
        "modified",
    )
    assert "-        image: app:1" in record.diff
    assert "+        image: app:2" in record.diff
    assert "managedFields" not in record.diff


def test_one_sided_resources_count_like_the_cli() -> None:
    """Live-only (modified false, target "null") and target-only resources are drift; hooks are not."""
    extra = _deployment()
    extra["metadata"]["name"] = "leftover"
    missing = _deployment()
    missing["metadata"]["name"] = "new"
    items = [
        _item(extra, None, modified=False, predicted=None),
        ManagedResource.model_validate(
            {
                "group": "apps",
                "kind": "Deployment",
                "namespace": "shop",
                "name": "new",
                "targetState": dumps_text(missing),
                "liveState": "null",
                "normalizedLiveState": "null",
                "predictedLiveState": dumps_text(missing),
                "modified": True,
            }
        ),
        _item(_deployment(), _deployment(), modified=False),
        _item(_deployment("a"), _deployment("b"), hook=True),
    ]
    ev = build_diff_evidence(items, instance="d", application="shop")
    assert ev.diff_count == 2
    assert ev.resources_compared == 3
    assert {(d.name, d.change) for d in ev.diffs} == {
        ("leftover", "extraneous"),
        ("new", "missing"),
    }


def test_ignore_extraneous_annotation_is_skipped() -> None:
    """A live-only object annotated IgnoreExtraneous is not drift."""
    extra = _deployment()
    extra["metadata"]["annotations"] = {"argocd.argoproj.io/compare-options": "IgnoreExtraneous"}
    ev = build_diff_evidence(
        [_item(extra, None, modified=False, predicted=None)], instance="d", application="a"
    )
    assert not ev.drift_detected


def test_ignored_replica_difference_is_not_drift() -> None:
    """Live replicas differ from git but ignoreDifferences normalises them away: no drift."""
    live = _deployment(replicas=7)
    target = _deployment(replicas=2)
    normalized = _deployment(replicas=2)
    ev = build_diff_evidence(
        [_item(live, target, normalized=normalized, predicted=normalized, modified=False)],
        instance="d",
        application="a",
    )
    assert not ev.drift_detected
    assert ev.resources_compared == 1


def test_secret_diff_is_fully_redacted() -> None:
    """A Secret's diff is withheld entirely, masked tokens included; it still counts as drift."""
    live = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "data": {"password": "++++++++"},
        "stringData": {"note": "plain-value-xyz"},
    }
    target = copy.deepcopy(live)
    target["data"]["password"] = "++++++++++++"
    ev = build_diff_evidence([_item(live, target)], instance="d", application="a")
    record = ev.diffs[0]
    assert record.redacted
    assert "plain-value-xyz" not in record.diff
    assert "++++" not in record.diff
    assert record.diff.startswith(REDACTED)


def test_secret_reference_keeps_its_diff_with_values_masked() -> None:
    """A Deployment that references a secret keeps its diff; only secret-looking values are masked."""
    env_live = [
        {"name": "DB_HOST", "value": "db.shop"},
        {"name": "DB_PASSWORD", "value": "hunter2-live-value"},
        {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "api-creds", "key": "key"}}},
    ]
    env_target = copy.deepcopy(env_live)
    env_target[1]["value"] = "hunter2-git-value"
    live = _deployment("app:1", env=env_live)
    target = _deployment("app:2", env=env_target)
    target["spec"]["template"]["spec"]["volumes"] = [
        {"name": "certs", "secret": {"secretName": "tls-certs"}}
    ]
    ev = build_diff_evidence([_item(live, target)], instance="d", application="a")
    record = ev.diffs[0]
    assert not record.redacted
    assert "image: app:2" in record.diff
    assert "hunter2" not in record.diff
    # The password changed: both sides masked, differently, so the change stays visible.
    assert "-          value: '[REDACTED]'" in record.diff
    assert "+          value: '[REDACTED:2]'" in record.diff
    assert "secretKeyRef" in record.diff
    assert "api-creds" in record.diff
    assert "secretName: tls-certs" in record.diff


def test_diff_is_cut_after_redaction() -> None:
    """A huge diff is cut at max_chars (after redaction) and marked truncated."""
    live = _deployment()
    target = _deployment()
    target["metadata"]["annotations"] = {f"note-{i}": "x" * 80 for i in range(400)}
    ev = build_diff_evidence([_item(live, target)], instance="d", application="a", max_chars=10_000)
    record = ev.diffs[0]
    assert record.truncated
    assert len(record.diff) < 10_100
    assert record.diff.endswith("(diff cut at 10000 characters)")


def test_fixture_live_deployment(fixture_yaml: Callable[[str], Any]) -> None:
    """The real live Deployment fixture against a target with a new image: the diff is readable."""
    live = fixture_yaml("live-deployment.yaml")
    target = copy.deepcopy(live)
    target.pop("status", None)
    container = target["spec"]["template"]["spec"]["containers"][0]
    container["image"] = "quay.io/argoprojlabs/argocd-e2e-container:0.2"
    predicted = copy.deepcopy(live)
    predicted["spec"]["template"]["spec"]["containers"][0]["image"] = container["image"]
    ev = build_diff_evidence(
        [_item(live, target, predicted=predicted)], instance="d", application="guestbook"
    )
    diff = ev.diffs[0].diff
    assert "-        image: quay.io/argoprojlabs/argocd-e2e-container:0.1" in diff
    assert "+        image: quay.io/argoprojlabs/argocd-e2e-container:0.2" in diff
    assert "last-applied-configuration" not in diff
    assert len(diff.splitlines()) < 20
