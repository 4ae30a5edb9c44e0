"""Grouped notifications against the simulator: each app once, a budget that grows with apps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr

from belay.config.models import ArgoCDInstance, ArgoCDResolution
from belay.investigate import investigate_alerts, parse_notification, render_many
from belay.investigate.engine import CALLS_PER_APPLICATION, MAX_APPLICATIONS
from belay.sim.testing import running_simulator

from .conftest import build_app

NOW = datetime(2026, 5, 1, 9, 20, tzinfo=UTC)
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.c2lnbmF0dXJlLW9mLXRlc3Q"


def _state(names: list[str]) -> dict[str, Any]:
    return {
        "version": "v3.5.1",
        "accounts": [
            {
                "name": "reader",
                "token": TOKEN,
                "policies": ["p, role:reader, applications, get, */*, allow"],
            }
        ],
        "applications": [build_app(n, health="Degraded") for n in names],
    }


def _notification(apps: list[str], per_app: int = 2) -> dict[str, Any]:
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": "KubePodNotReady",
                "pod": f"{app}-{i}",
                "app_kubernetes_io_instance": app,
            },
            "startsAt": "2026-05-01T09:15:00Z",
            "fingerprint": f"{app}-{i}",
        }
        for app in apps
        for i in range(per_app)
    ]
    return {"version": "4", "status": "firing", "alerts": alerts}


def _resolution(url: str) -> ArgoCDResolution:
    return ArgoCDResolution(
        instances=(ArgoCDInstance(name="default", base_url=url, token=SecretStr(TOKEN)),)
    )


def test_each_app_once_within_the_grown_budget() -> None:
    """Three apps, two alerts each: three reports, each covering its two fingerprints."""
    apps = ["cart", "search", "ledger"]
    with running_simulator(_state(apps)) as sim:
        reports = investigate_alerts(
            parse_notification(_notification(apps)), _resolution(sim.url), now=NOW
        )
        calls = sim.requests()
    assert [r.application for r in reports] == apps
    assert [r.fingerprints for r in reports] == [(f"{a}-0", f"{a}-1") for a in apps]
    assert all("degraded" in {f.kind for f in r.findings} for r in reports)
    assert len(calls) <= CALLS_PER_APPLICATION * len(apps)
    per_app = {a: sum(f"/applications/{a}" in c.path for c in calls) for a in apps}
    assert all(1 <= n <= CALLS_PER_APPLICATION for n in per_app.values()), per_app
    data = json.loads(render_many(reports, "json"))
    assert data["application"] == "cart"
    assert [r["application"] for r in data["related_reports"]] == ["search", "ledger"]


def test_more_apps_than_the_limit_are_named_not_investigated() -> None:
    """A storm of alerts investigates the first MAX_APPLICATIONS apps and names the rest."""
    apps = [f"app{i:02d}" for i in range(MAX_APPLICATIONS + 2)]
    with running_simulator(_state(apps)) as sim:
        reports = investigate_alerts(
            parse_notification(_notification(apps, per_app=1)), _resolution(sim.url), now=NOW
        )
        touched = {c.path.split("/")[4] for c in sim.requests() if c.path.count("/") >= 4}
    assert len(reports) == MAX_APPLICATIONS
    assert touched == set(apps[:MAX_APPLICATIONS])
    assert any("app10, app11" in n for n in reports[0].notes)


def test_an_app_named_two_ways_is_investigated_once() -> None:
    """One alert names cart by label, another only by its namespace: one report for both."""
    notification = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "A", "app_kubernetes_io_instance": "cart"},
                "fingerprint": "by-label",
            },
            {
                "status": "firing",
                "labels": {"alertname": "B", "namespace": "cart"},
                "fingerprint": "by-namespace",
            },
        ],
    }
    with running_simulator(_state(["cart", "search"])) as sim:
        reports = investigate_alerts(
            parse_notification(notification), _resolution(sim.url), now=NOW
        )
        gets = [c for c in sim.requests() if c.path == "/api/v1/applications/cart"]
    (report,) = reports
    assert report.application == "cart"
    assert report.fingerprints == ("by-label", "by-namespace")
    assert len(gets) == 1


def test_a_bad_name_in_one_alert_does_not_sink_the_others() -> None:
    """An alert naming an app that could never be a Kubernetes name made the whole notification
    bad input (no report at all). Now its report says Argo CD was not asked, and the other
    apps are investigated."""
    notification = {
        "version": "4",
        "status": "firing",
        "alerts": [
            {"status": "firing", "labels": {"alertname": "Down", "argocd_application": "cart"}},
            {"status": "firing", "labels": {"alertname": "Down", "argocd_application": "Bad_Name"}},
        ],
    }
    with running_simulator(_state(["cart"])) as sim:
        reports = investigate_alerts(
            parse_notification(notification), _resolution(sim.url), now=NOW
        )
        calls = sim.requests()
    by_app = {r.application: r for r in reports}
    assert "degraded" in {f.kind for f in by_app["cart"].findings}
    assert any("Argo CD was not asked" in n for n in by_app["Bad_Name"].notes)
    assert not any("Bad_Name" in c.path for c in calls)
