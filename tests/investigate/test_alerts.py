"""Alert parsing: every supported shape, the GitOps fields, and one-line errors for bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from belay.investigate.alerts import AlertParseError, parse_alert, parse_alert_bytes
from belay.jsonio import dumps

ALERTMANAGER: dict[str, Any] = {
    "version": "4",
    "status": "firing",
    "receiver": "belay",
    "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate", "severity": "critical", "namespace": "shop"},
    "commonAnnotations": {"summary": "5xx above 5% since the last Argo CD sync"},
    "alerts": [
        {
            "status": "resolved",
            "labels": {"alertname": "HighErrorRate", "pod": "old"},
            "annotations": {},
            "startsAt": "2026-05-01T08:00:00Z",
        },
        {
            "status": "firing",
            "labels": {"alertname": "HighErrorRate", "argocd.argoproj.io/instance": "checkout"},
            "annotations": {"argocd_revision": "abc1234"},
            "startsAt": "2026-05-01T09:10:00.123456789Z",
        },
    ],
}

GRAFANA: dict[str, Any] = {
    "receiver": "belay",
    "status": "firing",
    "orgId": 1,
    "title": "[FIRING:1] Latency",
    "state": "alerting",
    "message": "latency high",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "Latency", "argocd_app": "payments"},
            "annotations": {"argocd_project": "shop", "argocd_instance": "prod"},
            "startsAt": "2026-05-01T09:00:00+02:00",
            "valueString": "[ var='A' value=3 ]",
        }
    ],
    "commonLabels": {"alertname": "Latency"},
}


def test_documented_shape_reads_top_level_and_annotation_fields() -> None:
    """The documented shape takes argocd_application at top level and revision from annotations."""
    alert = parse_alert(
        {
            "alert_name": "CheckoutDown",
            "severity": "critical",
            "argocd_application": "checkout",
            "annotations": {"revision": "deadbeef", "argocd_app_namespace": "apps"},
        }
    )
    assert alert.source == "documented"
    assert alert.name == "CheckoutDown"
    assert alert.application == "checkout"
    assert alert.application_from == "argocd_application"
    assert alert.revision == "deadbeef"
    assert alert.app_namespace == "apps"
    assert alert.starts_at is None


def test_application_name_annotation() -> None:
    """application_name in annotations names the app when no argocd_* field does."""
    alert = parse_alert({"alert_name": "x", "annotations": {"application_name": "cart"}})
    assert alert.application == "cart"
    assert alert.application_from == "annotations.application_name"


def test_alertmanager_picks_first_firing_and_merges_common_labels() -> None:
    """Of several alerts the first firing one is used, with commonLabels merged under its own."""
    alert = parse_alert(ALERTMANAGER)
    assert alert.source == "alertmanager"
    assert alert.alert_count == 2
    assert alert.application == "checkout"
    assert alert.application_from == "labels.argocd.argoproj.io/instance"
    assert alert.revision == "abc1234"
    assert alert.namespace == "shop"
    assert alert.severity == "critical"
    assert alert.starts_at == datetime(2026, 5, 1, 9, 10, 0, 123456, tzinfo=UTC)
    assert "argo cd" in alert.gitops_hints


def test_grafana_webhook() -> None:
    """Grafana's unified webhook is recognised, with project and instance from annotations."""
    alert = parse_alert(GRAFANA)
    assert alert.source == "grafana"
    assert alert.application == "payments"
    assert alert.project == "shop"
    assert alert.instance == "prod"
    assert alert.starts_at == datetime(2026, 5, 1, 7, 0, tzinfo=UTC)


def test_grafana_legacy_webhook() -> None:
    """Grafana's legacy webhook (ruleName, tags) is recognised; tags act as labels."""
    alert = parse_alert(
        {
            "ruleName": "OutOfSynced apps",
            "state": "alerting",
            "tags": {"argocd_app": "web"},
            "evalMatches": [],
        }
    )
    assert alert.source == "grafana_legacy"
    assert alert.application == "web"
    assert "outofsync" in alert.gitops_hints


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("ArgoCDAppOutOfSync", "argocd"),
        ("deployed by Argo CD", "argo cd"),
        ("argo-cd sync", "argo-cd"),
        ("GitOps pipeline", "gitops"),
        ("app OutOfSynced", "outofsync"),
    ],
)
def test_gitops_hints(text: str, hint: str) -> None:
    """Each documented hint word is found case-insensitively in the alert's text."""
    alert = parse_alert({"alert_name": text})
    assert hint in alert.gitops_hints
    assert alert.has_gitops_context
    assert alert.application is None


def test_plain_alert_has_no_gitops_context() -> None:
    """A node alert with no app and no hint has no GitOps context."""
    alert = parse_alert({"alert_name": "NodeDiskPressure", "labels": {"node": "n1"}})
    assert not alert.has_gitops_context


def test_alertmanager_zero_time_is_no_time() -> None:
    """Alertmanager's zero time means "not set"."""
    raw = {
        "alerts": [
            {"status": "firing", "labels": {"alertname": "a"}, "startsAt": "0001-01-01T00:00:00Z"}
        ]
    }
    assert parse_alert(raw).starts_at is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "alert.json: the alert is empty"),
        (b"   \n", "alert.json: the alert is empty"),
        (b"{not json", "alert.json: not valid JSON"),
        (b"[1, 2]", "alert.json: expected a JSON object, got an array"),
        (b'"text"', "alert.json: expected a JSON object, got a string"),
        (b'{"foo": 1}', "alert.json: not a known alert shape"),
        (b'{"alerts": []}', "alert.json: the webhook's alerts[] holds no alert"),
    ],
)
def test_bad_input_is_one_clear_line(data: bytes, message: str) -> None:
    """Empty, non-JSON and unknown shapes raise AlertParseError with one line naming the input."""
    with pytest.raises(AlertParseError) as info:
        parse_alert_bytes(data, origin="alert.json")
    text = str(info.value)
    assert text.startswith(message)
    assert "\n" not in text


def test_bytes_round_trip() -> None:
    """parse_alert_bytes accepts the Alertmanager payload as bytes."""
    assert parse_alert_bytes(dumps(ALERTMANAGER)).application == "checkout"


def _am(*alerts: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "4",
        "status": "firing",
        "commonLabels": {"team": "shop"},
        "alerts": list(alerts),
    }


@pytest.mark.parametrize(
    "label",
    [
        "argocd_argoproj_io_instance",
        "label_argocd_argoproj_io_instance",
        "app_kubernetes_io_instance",
        "label_app_kubernetes_io_instance",
    ],
)
def test_prometheus_valid_app_labels(label: str) -> None:
    """Every Prometheus-valid form of Argo CD's tracking label names the application."""
    alert = parse_alert(_am({"status": "firing", "labels": {"alertname": "X", label: "cart"}}))
    assert (alert.application, alert.application_from) == ("cart", f"labels.{label}")


def test_argocd_metric_labels() -> None:
    """On argocd_app_info, `name` is the app, `namespace` its app namespace, `project` its project."""
    labels = {
        "alertname": "ArgoCdAppUnhealthy",
        "name": "web",
        "namespace": "team-a",
        "dest_namespace": "web-prod",
        "project": "team-a",
        "health_status": "Degraded",
        "job": "argocd-metrics",
    }
    alert = parse_alert(_am({"status": "firing", "labels": labels}))
    assert alert.argocd_metric
    assert (alert.application, alert.app_namespace, alert.namespace, alert.project) == (
        "web",
        "team-a",
        "web-prod",
        "team-a",
    )


def test_name_label_alone_is_not_an_app() -> None:
    """A `name` label without Argo CD's metric labels is not read as the application."""
    alert = parse_alert(_am({"status": "firing", "labels": {"alertname": "X", "name": "disk"}}))
    assert alert.application is None and not alert.argocd_metric


def test_project_label_needs_gitops_words() -> None:
    """`project` is the Argo CD project only when the alert mentions GitOps."""
    plain = parse_alert(
        _am({"status": "firing", "labels": {"alertname": "Quota", "project": "gcp-1"}})
    )
    argo = parse_alert(
        _am(
            {
                "status": "firing",
                "labels": {"alertname": "ArgoCdAppsDegraded", "project": "finance"},
            }
        )
    )
    assert plain.project is None and not plain.has_gitops_context
    assert argo.project == "finance" and argo.has_gitops_context


def test_notification_keeps_every_alert_with_fingerprints() -> None:
    """All alerts come back in order, common labels merged, resolved ones with their end time."""
    from belay.investigate.alerts import parse_notification

    alerts = parse_notification(
        _am(
            {"status": "firing", "labels": {"alertname": "A"}, "fingerprint": "f1"},
            {
                "status": "resolved",
                "labels": {"alertname": "B"},
                "endsAt": "2026-05-01T09:30:00Z",
            },
        )
    )
    assert [a.name for a in alerts] == ["A", "B"]
    assert all(a.labels["team"] == "shop" for a in alerts)
    assert alerts[0].fingerprint == "f1" and not alerts[0].resolved
    assert alerts[1].resolved and alerts[1].ends_at == datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    # No fingerprint sent: a stable hash of the labels stands in.
    again = parse_notification(_am({"status": "resolved", "labels": {"alertname": "B"}}))
    assert len(alerts[1].fingerprint) == 16 and again[0].fingerprint == alerts[1].fingerprint


def test_alert_fields_are_bounded() -> None:
    """A megabyte 'revision' was copied three times into the report; fields are cut to 512."""
    from belay.investigate import parse_alert

    alert = parse_alert({"alert_name": "Down", "argocd_revision": "a" * 1_000_000})
    assert alert.revision is not None and len(alert.revision) == 512
