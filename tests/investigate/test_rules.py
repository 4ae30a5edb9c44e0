"""The rule table: one named case per branch, evidence built from Argo CD-shaped apps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from belay.investigate.diff import ManagedResource, build_diff_evidence
from belay.investigate.models import (
    Alert,
    ApplicationListEvidence,
    ApplicationStatusEvidence,
    DiffEvidence,
    EvidenceError,
    FindingKind,
    InvestigationSettings,
)
from belay.investigate.rules import RULES, RuleContext, evaluate
from belay.investigate.status import summarize_application, summarize_list_entry
from belay.jsonio import dumps_text

NOW = datetime(2026, 5, 1, 9, 20, tzinfo=UTC)
SHA_NEW = "2222222222222222222222222222222222222222"


def _alert(**kw: Any) -> Alert:
    base: dict[str, Any] = {
        "source": "documented",
        "name": "HighErrorRate",
        "application": "checkout",
    }
    base.update(kw)
    return Alert(**base)


def _status(app: dict[str, Any]) -> ApplicationStatusEvidence:
    return summarize_application(app, instance="default")


def _clean_diff() -> DiffEvidence:
    return DiffEvidence(instance="default", application="checkout", resources_compared=2)


def _run(
    make_app: Callable[..., dict[str, Any]],
    alert: Alert | None = None,
    diff: DiffEvidence | None = None,
    settings: InvestigationSettings | None = None,
    now: datetime = NOW,
    **app_kw: Any,
) -> tuple[set[str], dict[str, str], list[Any]]:
    ctx = RuleContext(
        alert=alert or _alert(),
        settings=settings or InvestigationSettings(),
        now=now,
        status=_status(make_app(**app_kw)),
        diff=diff if diff is not None else _clean_diff(),
    )
    findings, ruled_out = evaluate(ctx)
    return {f.kind for f in findings}, ruled_out, findings


def test_every_rule_kind_is_in_the_vocabulary() -> None:
    """The table only judges kinds of the stable vocabulary."""
    assert {r.kind for r in RULES} <= set(FindingKind)


def test_healthy_app_rules_everything_out(make_app: Callable[..., dict[str, Any]]) -> None:
    """A healthy, synced app with an old rollout: no finding, every app-level kind ruled out."""
    kinds, ruled_out, _ = _run(
        make_app, alert=_alert(starts_at=datetime(2026, 5, 1, 12, tzinfo=UTC))
    )
    assert kinds == set()
    assert {
        "out_of_sync",
        "degraded",
        "progressing_stuck",
        "sync_failed",
        "recent_rollout",
        "drift",
        "comparison_error",
        "missing_resources",
    } <= set(ruled_out)
    assert "no rollout in the 30 min before the alert started" in ruled_out["recent_rollout"]


@pytest.mark.parametrize(
    ("name", "alert_kw", "expect"),
    [
        ("alert revision matches full sha", {"revision": SHA_NEW}, "ruled_out"),
        ("alert revision is a short prefix", {"revision": SHA_NEW[:7]}, "ruled_out"),
        ("alert revision differs", {"revision": "3333333"}, "finding"),
        ("too-short prefix does not match", {"revision": "222"}, "finding"),
        ("no revision in alert", {}, "neither"),
    ],
)
def test_unexpected_revision(
    make_app: Callable[..., dict[str, Any]], name: str, alert_kw: dict[str, Any], expect: str
) -> None:
    """Deployed revision against the alert's, with short-SHA prefixes of 7+ characters."""
    kinds, ruled_out, findings = _run(make_app, alert=_alert(**alert_kw))
    assert ("unexpected_revision" in kinds) == (expect == "finding"), name
    assert ("unexpected_revision" in ruled_out) == (expect == "ruled_out"), name
    if expect == "finding":
        f = next(f for f in findings if f.kind == "unexpected_revision")
        assert SHA_NEW in f.summary
        assert "argocd_application_status.history[0].revision" in f.evidence


@pytest.mark.parametrize(
    ("name", "starts_at", "deployed_at", "window", "expect"),
    [
        (
            "deployed 10 min before the alert",
            "2026-05-01T09:00:00Z",
            "2026-05-01T08:50:00Z",
            30,
            True,
        ),
        (
            "deployed 2 h before the alert",
            "2026-05-01T09:00:00Z",
            "2026-05-01T07:00:00Z",
            30,
            False,
        ),
        ("2 h is inside a 3 h window", "2026-05-01T09:00:00Z", "2026-05-01T07:00:00Z", 180, True),
        (
            "deployed after the alert started",
            "2026-05-01T09:00:00Z",
            "2026-05-01T09:05:00Z",
            30,
            False,
        ),
        ("no alert time: judged against now", None, "2026-05-01T09:15:00Z", 30, True),
    ],
)
def test_recent_rollout(
    make_app: Callable[..., dict[str, Any]],
    name: str,
    starts_at: str | None,
    deployed_at: str,
    window: int,
    expect: bool,
) -> None:
    """A deployment inside the window before startsAt (or now) is a recent rollout."""
    from belay.investigate.alerts import parse_time

    kinds, ruled_out, findings = _run(
        make_app,
        alert=_alert(starts_at=parse_time(starts_at)),
        settings=InvestigationSettings(rollout_window_minutes=window),
        history=[("1111111", "2026-01-01T00:00:00Z"), (SHA_NEW, deployed_at)],
    )
    assert ("recent_rollout" in kinds) == expect, name
    assert ("recent_rollout" in ruled_out) == (not expect), name
    if expect:
        f = next(f for f in findings if f.kind == "recent_rollout")
        assert f.evidence == ("argocd_application_status.history[0].deployed_at",)


def test_sync_failed_names_message_and_failed_resources(
    make_app: Callable[..., dict[str, Any]],
) -> None:
    """A Failed last operation is critical and carries its message and the failed resources."""
    kinds, _, findings = _run(
        make_app,
        operation_phase="Failed",
        operation_message="one or more objects failed to apply",
        failed_resources=[
            {
                "group": "batch",
                "kind": "Job",
                "namespace": "shop",
                "name": "migrate",
                "status": "SyncFailed",
                "message": "Job has reached the specified backoff limit",
            }
        ],
    )
    assert "sync_failed" in kinds
    f = findings[0]
    assert f.kind == "sync_failed"
    assert f.severity == "critical"
    assert "one or more objects failed to apply" in f.summary
    assert "batch/Job shop/migrate" in f.summary
    assert "argocd_application_status.operation.failed_resources" in f.evidence


@pytest.mark.parametrize("phase", ["Error", "Failed"])
def test_sync_failed_phases(make_app: Callable[..., dict[str, Any]], phase: str) -> None:
    """Both Failed and Error phases count."""
    kinds, _, _ = _run(make_app, operation_phase=phase)
    assert "sync_failed" in kinds


def test_sync_error_condition_is_sync_failed(make_app: Callable[..., dict[str, Any]]) -> None:
    """An auto-sync failure surfaces as a SyncError condition and is reported as sync_failed."""
    kinds, ruled_out, _ = _run(
        make_app, conditions=[{"type": "SyncError", "message": "Failed sync attempt"}]
    )
    assert "sync_failed" in kinds
    assert "comparison_error" in ruled_out


def test_comparison_error(make_app: Callable[..., dict[str, Any]]) -> None:
    """ComparisonError conditions give comparison_error with the condition as evidence."""
    kinds, _, findings = _run(
        make_app,
        sync="Unknown",
        conditions=[{"type": "ComparisonError", "message": "rpc error: repository not found"}],
    )
    assert "comparison_error" in kinds
    f = next(f for f in findings if f.kind == "comparison_error")
    assert f.evidence == ("argocd_application_status.conditions[0]",)


def test_degraded(make_app: Callable[..., dict[str, Any]]) -> None:
    """Degraded health is critical and lists the unhealthy resources."""
    kinds, _, findings = _run(make_app, health="Degraded")
    assert "degraded" in kinds
    assert findings[0].kind == "degraded"
    assert "apps/Deployment checkout/checkout [Degraded]" in findings[0].summary


@pytest.mark.parametrize(
    ("since", "expect"),
    [("2026-05-01T08:00:00Z", "finding"), ("2026-05-01T09:15:00Z", "ruled_out")],
)
def test_progressing_stuck(
    make_app: Callable[..., dict[str, Any]], since: str, expect: str
) -> None:
    """Progressing longer than the threshold (default 10 min) is stuck; shorter is ruled out."""
    kinds, ruled_out, _ = _run(make_app, health="Progressing", health_since=since)
    assert ("progressing_stuck" in kinds) == (expect == "finding")
    assert ("progressing_stuck" in ruled_out) == (expect == "ruled_out")


def test_out_of_sync_and_drift(make_app: Callable[..., dict[str, Any]]) -> None:
    """OutOfSync status and a diff with a drifted resource give out_of_sync and drift."""
    live = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "shop"},
        "data": {"a": "1"},
    }
    target = {**live, "data": {"a": "2"}}
    diff = build_diff_evidence(
        [
            ManagedResource(
                kind="ConfigMap",
                namespace="shop",
                name="cfg",
                target_state=dumps_text(target),
                live_state=dumps_text(live),
                normalized_live_state=dumps_text(live),
                predicted_live_state=dumps_text(target),
                modified=True,
            )
        ],
        instance="default",
        application="checkout",
    )
    kinds, _, findings = _run(make_app, sync="OutOfSync", diff=diff)
    assert {"out_of_sync", "drift"} <= kinds
    drift = next(f for f in findings if f.kind == "drift")
    assert drift.evidence == (
        "argocd_application_diff.drift_detected",
        "argocd_application_diff.diffs[0]",
    )
    assert "ConfigMap shop/cfg (modified)" in drift.summary


def test_missing_resources(make_app: Callable[..., dict[str, Any]]) -> None:
    """A resource with health Missing is reported as missing_resources."""
    kinds, _, _ = _run(
        make_app,
        health="Missing",
        resources=[
            {
                "kind": "Service",
                "namespace": "shop",
                "name": "api",
                "status": "OutOfSync",
                "health": {"status": "Missing"},
            }
        ],
    )
    assert "missing_resources" in kinds


@pytest.mark.parametrize(
    ("kind", "ambiguous"),
    [
        ("argocd_unreachable", False),
        ("auth_failed", False),
        ("permission_denied", False),
        ("app_not_found", False),
        ("app_not_found", True),
    ],
)
def test_access_errors(kind: str, ambiguous: bool) -> None:
    """An error captured in the evidence becomes its finding; app-level rules stay silent."""
    status = ApplicationStatusEvidence(
        instance="default",
        application="checkout",
        error=EvidenceError(
            finding_kind=kind,
            error_type="X",
            message="permission denied",
            status_code=403,
            call="get_application",
            ambiguous_not_found=ambiguous,
        ),
    )
    findings, ruled_out = evaluate(
        RuleContext(alert=_alert(), settings=InvestigationSettings(), now=NOW, status=status)
    )
    assert [f.kind for f in findings] == [kind]
    assert findings[0].evidence == ("argocd_application_status.error",)
    assert ruled_out == {}
    if ambiguous:
        assert "does not exist or this account may not read it" in findings[0].summary


def test_not_configured() -> None:
    """No usable instance gives argocd_not_configured with the reason."""
    findings, _ = evaluate(
        RuleContext(
            alert=_alert(),
            settings=InvestigationSettings(),
            now=NOW,
            not_configured="ARGOCD_BASE_URL is not set",
        )
    )
    assert [f.kind for f in findings] == ["argocd_not_configured"]
    assert "ARGOCD_BASE_URL is not set" in findings[0].summary


def test_no_gitops_context() -> None:
    """An alert without app or hint and without evidence gives the info finding no_gitops_context."""
    alert = Alert(source="documented", name="NodeDiskPressure")
    findings, _ = evaluate(RuleContext(alert=alert, settings=InvestigationSettings(), now=NOW))
    assert [(f.kind, f.severity) for f in findings] == [("no_gitops_context", "info")]


def test_app_list_findings(make_app: Callable[..., dict[str, Any]]) -> None:
    """Without a name, Degraded and OutOfSync apps of the visible list are reported by name."""
    rows = tuple(
        summarize_list_entry(make_app(n, sync=s, health=h))
        for n, s, h in [
            ("a", "Synced", "Healthy"),
            ("b", "OutOfSync", "Healthy"),
            ("c", "Synced", "Degraded"),
        ]
    )
    listing = ApplicationListEvidence(instance="default", count=3, applications=rows)
    alert = Alert(source="documented", name="ArgoCD apps unhappy", gitops_hints=("argocd",))
    findings, _ = evaluate(
        RuleContext(alert=alert, settings=InvestigationSettings(), now=NOW, app_list=listing)
    )
    assert [(f.kind, f.application) for f in findings] == [("degraded", "c"), ("out_of_sync", "b")]
    assert findings[0].evidence == ("argocd_application_status.applications[2].health_status",)


def test_findings_are_ordered_by_severity(make_app: Callable[..., dict[str, Any]]) -> None:
    """Critical findings come before warnings, whatever the table order."""
    _, _, findings = _run(
        make_app, sync="OutOfSync", health="Degraded", alert=_alert(revision="999999999")
    )
    severities = [f.severity for f in findings]
    assert severities == sorted(severities, key=["critical", "warning", "info"].index)
    assert findings[0].kind == "degraded"


@pytest.mark.parametrize(
    ("wanted", "deployed", "same"),
    [
        ("abc123", "abc123def4567890abc123def4567890abc12345", True),
        ("ABC123", "abc123def4567890abc123def4567890abc12345", True),
        ("abc12", "abc123def4567890abc123def4567890abc12345", False),
        ("18.1", "18.1.0", False),
        ("18.1.0", "18.1.0", True),
        ("abc124", "abc123def4567890abc123def4567890abc12345", False),
    ],
)
def test_revision_prefix_matching(wanted: str, deployed: str, same: bool) -> None:
    """A hexadecimal prefix of 6+ characters matches; shorter or non-hex prefixes do not."""
    from belay.investigate.rules import revision_matches

    assert revision_matches(wanted, deployed) is same


def test_no_gitops_context_says_what_was_asked() -> None:
    """After a lookup list call, the summary names it instead of saying Argo CD was not called."""
    plain = Alert(source="alertmanager", name="KubePodCrashLooping", namespace="monitoring")
    asked = "Argo CD was asked which applications deploy to namespace 'monitoring'; none does"
    findings, _ = evaluate(
        RuleContext(alert=plain, settings=InvestigationSettings(), now=NOW, lookup=asked)
    )
    (finding,) = findings
    assert finding.kind == "no_gitops_context" and asked in finding.summary
    assert "not called" not in finding.summary and "not consulted" not in finding.summary
    untouched, _ = evaluate(RuleContext(alert=plain, settings=InvestigationSettings(), now=NOW))
    assert "Argo CD was not called" in untouched[0].summary
