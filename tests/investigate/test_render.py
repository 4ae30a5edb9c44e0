"""Rendering: text, Markdown and JSON name the essentials, show evidence, and leak no secret."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from belay.investigate.diff import ManagedResource, build_diff_evidence
from belay.investigate.models import Alert, InvestigationReport, InvestigationSettings
from belay.investigate.render import render, resolve_pointer
from belay.investigate.rules import RuleContext, evaluate
from belay.investigate.status import summarize_application
from belay.jsonio import dumps_text, loads
from belay.redact import register_secret

NOW = datetime(2026, 5, 1, 9, 20, tzinfo=UTC)
SECRET = "s3cr3t-value-for-render-test"


def _report(make_app: Callable[..., dict[str, Any]]) -> InvestigationReport:
    register_secret(SECRET)
    alert = Alert(
        source="alertmanager",
        name="HighErrorRate",
        application="checkout",
        revision="2222222",
        starts_at=datetime(2026, 5, 1, 9, 10, tzinfo=UTC),
        annotations={"runbook": f"see https://x.example?auth={SECRET}"},
    )
    status = summarize_application(
        make_app(
            health="Degraded",
            sync="OutOfSync",
            history=[("1111111111", "2026-05-01T09:00:00Z")],
            operation_message=f"token {SECRET} leaked",
        ),
        instance="prod",
    )
    live = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "checkout", "namespace": "shop"},
        "spec": {
            "template": {"spec": {"volumes": [{"name": "c", "secret": {"secretName": "tls-a"}}]}}
        },
    }
    target = {
        **live,
        "spec": {
            "template": {"spec": {"volumes": [{"name": "c", "secret": {"secretName": "tls-b"}}]}}
        },
    }
    diff = build_diff_evidence(
        [
            ManagedResource(
                group="apps",
                kind="Deployment",
                namespace="shop",
                name="checkout",
                target_state=dumps_text(target),
                live_state=dumps_text(live),
                normalized_live_state=dumps_text(live),
                predicted_live_state=dumps_text(target),
                modified=True,
            )
        ],
        instance="prod",
        application="checkout",
    )
    ctx = RuleContext(
        alert=alert, settings=InvestigationSettings(), now=NOW, status=status, diff=diff
    )
    findings, ruled_out = evaluate(ctx)
    return InvestigationReport(
        alert=alert,
        instance="prod",
        application="checkout",
        revision="1111111111",
        generated_at=NOW,
        evidence={"argocd_application_status": status, "argocd_application_diff": diff},
        findings=tuple(findings),
        ruled_out=tuple(ruled_out),
        ruled_out_reasons=ruled_out,
    )


def test_json_follows_the_contract(make_app: Callable[..., dict[str, Any]]) -> None:
    """The JSON has DESIGN §4's keys, findings with kind/severity/summary/evidence, and no secret."""
    text = render(_report(make_app), "json")
    data = loads(text)
    assert {"alert", "instance", "application", "evidence", "findings", "ruled_out"} <= set(data)
    assert data["instance"] == "prod"
    diff = data["evidence"]["argocd_application_diff"]
    assert (diff["drift_detected"], diff["diff_count"]) == (True, 1)
    assert set(diff["diffs"][0]) >= {"group", "kind", "namespace", "name", "diff"}
    assert "secretName: tls-b" in diff["diffs"][0]["diff"]
    assert {"kind", "severity", "summary", "evidence"} <= set(data["findings"][0])
    assert data["findings"][0]["kind"] == "degraded"
    assert "recent_rollout" in [f["kind"] for f in data["findings"]]
    assert SECRET not in text
    for finding in data["findings"]:
        for path in finding["evidence"]:
            assert resolve_pointer(data, path) is not None, path


def test_text_report_names_the_essentials(make_app: Callable[..., dict[str, Any]]) -> None:
    """The text report names instance, app, revision, puts the top finding first, shows evidence."""
    text = render(_report(make_app), "text")
    assert "prod" in text
    assert "checkout" in text
    assert "1111111111" in text
    first = text.index("1. CRITICAL degraded")
    assert first < text.index("unexpected_revision")
    assert "argocd_application_status.health_status: Degraded" in text
    assert "secretName: tls-b" in text
    assert SECRET not in text


def test_markdown_report(make_app: Callable[..., dict[str, Any]]) -> None:
    """Markdown has the headline table, numbered findings with evidence, and a diff block."""
    text = render(_report(make_app), "markdown")
    assert text.startswith("## Belay investigation: HighErrorRate")
    assert "| **Instance** | prod |" in text
    assert "1. **CRITICAL `degraded`**" in text
    assert "```diff" in text
    assert "### Ruled out" in text
    assert SECRET not in text
