"""The real Alertmanager (Debian's prometheus-alertmanager) delivering to `belay serve`.

Three real processes on loopback: the Argo CD simulator (scenario 025's state: cart crash-loops,
search is OutOfSync), `belay serve`, and Alertmanager routing every alert to Belay's
``POST /api/v1/alerts`` with ``send_resolved``. Alerts are injected through Alertmanager's own
API (``POST /api/v2/alerts``), so Belay sees exactly what Alertmanager sends: a firing
notification, a grouped one (two apps), and the resolution of the first.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import free_port, start_server, stopped_at_exit, wait_http, wait_until

REPO = Path(__file__).resolve().parents[2]
SCENARIO = REPO / "tests/scenarios/025-grouped-two-apps"
BELAY = [sys.executable, "-m", "belay.cli"]
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

pytestmark = pytest.mark.alertmanager


@dataclass
class Running:
    """Loopback URLs of the three processes."""

    belay: str
    alertmanager: str
    sim: str

    def investigations(self, **params: str) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.belay}/api/v1/investigations", params=params, timeout=10)
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()["investigations"]
        return rows

    def sim_calls(self) -> int:
        return len(httpx.get(f"{self.sim}/_sim/requests", timeout=10).json())

    def inject(self, alerts: list[dict[str, Any]]) -> None:
        response = httpx.post(f"{self.alertmanager}/api/v2/alerts", json=alerts, timeout=10)
        assert response.status_code == 200, response.text


def _until(what: str, check: Callable[[], Any]) -> Any:
    """Poll until ``check()`` is truthy (Alertmanager delivers on its own schedule)."""
    return wait_until(check, interval=0.2, what=f"Alertmanager did not deliver: {what}")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    """The simulator, `belay serve` and Alertmanager as real processes on loopback."""
    if ALERTMANAGER is None:
        pytest.skip("prometheus-alertmanager is not installed (.ci/run installs it)")
    sim_port, belay_port, am_port = free_port(), free_port(), free_port()
    token = json.loads((SCENARIO / "env.json").read_text())["ARGOCD_AUTH_TOKEN"]
    config = tmp_path / "belay.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'belay.db'}\n"
        f"public_url: http://127.0.0.1:{belay_port}\n"
    )
    (tmp_path / "alertmanager.yml").write_text(
        "route:\n"
        "  receiver: belay\n"
        "  group_by: [alertname]\n"
        "  group_wait: 1s\n"
        "  group_interval: 1s\n"
        "  repeat_interval: 1h\n"
        "receivers:\n"
        "  - name: belay\n"
        "    webhook_configs:\n"
        f"      - url: http://127.0.0.1:{belay_port}/api/v1/alerts\n"
        "        send_resolved: true\n"
    )
    env = {
        **os.environ,
        "ARGOCD_BASE_URL": f"http://127.0.0.1:{sim_port}",
        "ARGOCD_AUTH_TOKEN": token,
    }
    procs = [
        start_server(
            [
                *BELAY,
                "sim",
                "argocd",
                "--port",
                str(sim_port),
                "--state",
                str(SCENARIO / "argocd.json"),
            ],
            env=env,
        ),
        start_server(
            [*BELAY, "serve", "--config", str(config), "--port", str(belay_port)],
            env=env,
            cwd=tmp_path,
        ),
        start_server(
            [
                ALERTMANAGER,
                f"--config.file={tmp_path / 'alertmanager.yml'}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ]
        ),
    ]
    with stopped_at_exit(*procs):
        wait_http(f"http://127.0.0.1:{sim_port}/api/version", procs[0])
        wait_http(f"http://127.0.0.1:{belay_port}/healthz", procs[1])
        wait_http(f"http://127.0.0.1:{am_port}/-/ready", procs[2])
        yield Running(
            belay=f"http://127.0.0.1:{belay_port}",
            alertmanager=f"http://127.0.0.1:{am_port}",
            sim=f"http://127.0.0.1:{sim_port}",
        )


def _alert(name: str, app: str, pod: str, *, ends_at: str | None = None) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "labels": {
            "alertname": name,
            "severity": "warning",
            "namespace": app,
            "pod": pod,
            "job": "kube-state-metrics",
            "app_kubernetes_io_instance": app,
        },
        "annotations": {"summary": f"{name} on {app}"},
        "generatorURL": "http://prometheus.example.com/graph",
        "startsAt": "2026-05-04T10:00:00Z",
    }
    if ends_at is not None:
        alert["endsAt"] = ends_at
    return alert


def test_firing_grouped_and_resolved_notifications(running: Running) -> None:
    """Firing: one report; grouped: one per app; resolved: the first report resolved, no call."""
    # Why Belay reads the underscore forms: Alertmanager refuses Argo CD's label name as is.
    dotted = _alert("Dotted", "cart", "p")
    dotted["labels"]["argocd.argoproj.io/instance"] = "cart"
    refused = httpx.post(f"{running.alertmanager}/api/v2/alerts", json=[dotted], timeout=10)
    assert refused.status_code == 400, refused.text
    crash = _alert("KubePodCrashLooping", "cart", "cart-7d9c8b6f5-a1b2c")
    running.inject([crash])
    (first,) = _until(
        "the firing notification",
        lambda: running.investigations(alertname="KubePodCrashLooping"),
    )
    assert first["application"] == "cart" and first["state"] == "firing"
    assert "crash_loop" in first["finding_kinds"]
    assert first["top_finding"]["kind"] == "crash_loop"

    running.inject(
        [
            _alert("KubePodNotReady", "cart", "cart-7d9c8b6f5-d3e4f"),
            _alert("KubePodNotReady", "search", "search-5c6d7e8f9-q1w2e"),
        ]
    )
    grouped = _until(
        "the grouped notification",
        lambda: running.investigations(alertname="KubePodNotReady"),
    )
    # Both apps of the one notification are investigated, each once.
    assert sorted(r["application"] for r in grouped) == ["cart", "search"]
    search = next(r for r in grouped if r["application"] == "search")
    assert "out_of_sync" in search["finding_kinds"]
    detail = httpx.get(f"{running.belay}/api/v1/investigations/{search['id']}", timeout=10)
    assert any("held 2 alerts" in n for n in detail.json()["report"]["notes"])

    calls = running.sim_calls()
    total = len(running.investigations())
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    running.inject([{**crash, "endsAt": now}])
    resolved = _until(
        "the resolved notification",
        lambda: running.investigations(alertname="KubePodCrashLooping", state="resolved"),
    )
    assert [r["id"] for r in resolved] == [first["id"]]
    assert resolved[0]["resolved_at"] is not None
    assert len(running.investigations()) == total  # no new report for a resolution
    assert running.sim_calls() == calls  # and no Argo CD call
    page = httpx.get(f"{running.belay}/investigations/{first['id']}", timeout=10)
    assert 'data-state="resolved"' in page.text
    firing = running.investigations(state="firing")
    assert sorted(r["application"] for r in firing) == ["cart", "search"]
