"""Investigation: wall time and Argo CD calls for one alert against 2,000 applications.

The simulator (in this process, real HTTP on loopback) holds 2,000 applications; the alert names
one of them. ``investigate()`` runs as ``belay investigate`` does (the one resolver, an API token
as Argo CD accounts use), five times; the figure is the median wall time, and the calls are
counted from the simulator's request log for one investigation.
"""

from __future__ import annotations

import statistics
import time

from belay.config import resolve_argocd
from belay.investigate.alerts import parse_alert
from belay.investigate.engine import investigate
from benchmarks.common import Figure
from benchmarks.pipeline import SIM_TOKEN, app_state

APPS = 2000
TIME_GOAL_S = 1.0
CALLS_GOAL = 6


def measure(quick: bool) -> list[Figure]:
    """Both investigation figures."""
    from belay.sim.testing import running_simulator

    runs = 3 if quick else 5
    alert = parse_alert(
        {
            "alert_name": "CheckoutLatencyHigh",
            "severity": "warning",
            "argocd_application": f"app-{APPS * 5 // 8:04d}",
            "startsAt": "2026-05-04T10:00:00Z",
            "annotations": {"summary": "p99 latency above 800ms", "argocd_project": "default"},
        }
    )
    with running_simulator(app_state(APPS)) as sim:
        resolution = resolve_argocd({"ARGOCD_BASE_URL": sim.url, "ARGOCD_AUTH_TOKEN": SIM_TOKEN})
        walls, calls = [], []
        for _ in range(runs):
            sim.reset()
            start = time.perf_counter()
            report = investigate(alert, resolution)
            walls.append(time.perf_counter() - start)
            calls.append(len(sim.requests()))
    kinds = sorted({f.kind for f in report.findings})
    wall = statistics.median(walls)
    return [
        Figure(
            name="investigation.wall_time",
            value=round(wall * 1000, 1),
            unit="ms",
            goal=f"< {TIME_GOAL_S * 1000:g} ms with {APPS} applications",
            met=wall < TIME_GOAL_S,
            note=f"median of {runs}, max {max(walls) * 1000:.1f} ms; findings {kinds}",
        ),
        Figure(
            name="investigation.argocd_calls",
            value=max(calls),
            unit="calls",
            goal=f"<= {CALLS_GOAL}",
            met=max(calls) <= CALLS_GOAL,
            note=f"per investigation, from the simulator's request log: {calls}",
        ),
    ]
