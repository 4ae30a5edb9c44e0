"""Decision → sync request, and operation finished → outcome recorded, at 50 submissions/s.

``belay serve --config`` runs as a subprocess on SQLite with its in-process worker and the default
worker settings (poll interval 0.5 s); the Argo CD simulator runs in this process with 100
applications whose syncs take 0.05 s. Passing submissions for those applications (one project
each, round robin, so an application gets one every two seconds) are posted at a steady 50/s by a
small thread pool.

* decision → sync: from the decision's ``decided_at`` in the store (stamped when the delivery
  arrives, before judging) to the simulator's log time of the ``POST .../sync`` carrying the job's
  marker.
* result detection: from the moment the simulator stored the application Synced and Healthy
  after that sync (its state changes are timestamped by wrapping the simulator store's ``put``,
  in this process) to the job's ``finished_at`` in Belay's store.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from belay.deploy import MARKER_NAME
from belay.sim.sample import sample_state
from belay.sim.testing import running_simulator
from belay.store import Store
from benchmarks.common import (
    BELAY,
    CONTENT_TYPE,
    TOKEN,
    Figure,
    free_port,
    make_bundles,
    multipart_body,
    percentile,
    project_yaml,
    server_process,
    settings_yaml,
    write_body_files,
)

APPS = 100
RATE = 50.0
SYNC_GOAL_MS = 100.0
DETECT_GOAL_MS = 250.0
SIM_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZWxheS1nYXRlIn0.YmVuY2g"


def app_state(count: int, op_seconds: float = 0.05) -> dict[str, Any]:
    """A simulator state with ``count`` healthy applications ``app-0000``... and a gate account."""
    base = sample_state()
    template = base["applications"][0]
    apps, behavior = [], {}
    for n in range(count):
        app = copy.deepcopy(template)
        name = f"app-{n:04d}"
        app["metadata"]["name"] = name
        app["metadata"]["uid"] = f"00000000-0000-4000-8000-{n:012d}"
        app["spec"]["destination"]["namespace"] = name
        app["spec"]["source"]["path"] = name
        apps.append(app)
        behavior[name] = {"seconds": op_seconds, "health": "Healthy"}
    return {
        "version": base.get("version", "v3.5.1"),
        "accounts": [
            {
                "name": "belay-gate",
                "token": SIM_TOKEN,
                "policies": [
                    "p, role:belay-gate, applications, get, default/*, allow",
                    "p, role:belay-gate, applications, sync, default/*, allow",
                ],
            }
        ],
        "applications": apps,
        "syncBehavior": behavior,
    }


def _remote(n: int) -> str:
    return f"https://gitlab.com/bench/app-{n:04d}.git"


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def measure(quick: bool) -> list[Figure]:
    """Both latency figures from one run."""
    seconds = 8 if quick else 30
    count = int(RATE * seconds)
    bodies = [multipart_body(b) for b in make_bundles(count, [_remote(n) for n in range(APPS)])]
    settled: list[tuple[float, str]] = []
    with (
        tempfile.TemporaryDirectory(prefix="belay-bench-pipeline-") as tmp,
        running_simulator(app_state(APPS)) as sim,
    ):
        work = Path(tmp)
        original_put = sim.store.put

        def put(app: dict[str, Any], **kwargs: Any) -> None:
            original_put(app, **kwargs)
            status = app.get("status") or {}
            phase = (status.get("operationState") or {}).get("phase")
            health = (status.get("health") or {}).get("status")
            if app.get("operation") is None and phase == "Succeeded" and health == "Healthy":
                settled.append((time.time(), app["metadata"]["name"]))

        sim.store.put = put  # type: ignore[method-assign]
        db_url = f"sqlite:///{work / 'pipeline.db'}"
        projects = [project_yaml(f"app-{n:04d}", _remote(n), f"app-{n:04d}") for n in range(APPS)]
        config = work / "belay.yaml"
        config.write_text(settings_yaml(db_url, projects))
        port = free_port()
        env = {"ARGOCD_BASE_URL": sim.url, "ARGOCD_AUTH_TOKEN": SIM_TOKEN}
        argv = [BELAY, "serve", "--config", str(config), "--port", str(port)]
        data, offsets = write_body_files(bodies, work)
        with server_process(argv, port=port, log=work / "serve.log", env=env):
            url = f"http://127.0.0.1:{port}/Build/SubmitArtifacts"
            poster = [sys.executable, str(Path(__file__).with_name("poster.py")), url, TOKEN]
            poster += [CONTENT_TYPE, str(data), str(offsets), str(RATE)]
            done = subprocess.run(
                poster, capture_output=True, text=True, timeout=seconds * 4 + 60, check=True
            )
            posted = json.loads(done.stdout.strip().splitlines()[-1])
            statuses: list[int] = posted["statuses"]
            offered = float(posted["offered_rate"])
            store = Store(db_url)
            try:
                jobs = _wait_ended(store, count, timeout=120)
                decided = _decided_at(store, {j.decision_id for j in jobs if j.decision_id})
            finally:
                store.dispose()
        syncs = {
            _marker(r.body): _ts(r.time)
            for r in sim.requests()
            if r.method == "POST" and r.path.endswith("/sync") and r.status == 200
        }
    to_sync, detect = [], []
    for job in jobs:
        sent = syncs.get(job.id)
        if sent is None or job.decision_id is None:
            continue
        to_sync.append((sent - decided[job.decision_id]) * 1000)
        if job.state == "succeeded" and job.finished_at is not None:
            done = [t for t, name in settled if name == job.application and t >= sent]
            if done:
                detect.append((job.finished_at.timestamp() - min(done)) * 1000)
    states: dict[str, int] = {}
    for job in jobs:
        states[job.state] = states.get(job.state, 0) + 1
    common = {
        "offered_rate": round(offered, 1),
        "submissions": count,
        "http_statuses": {str(c): statuses.count(c) for c in sorted(set(statuses))},
        "job_states": states,
    }
    succeeded = states.get("succeeded", 0)
    # Met only when the run was whole: every job ended deployed (or superseded by a newer one)
    # and every deployed job's sync was measured; latencies of a broken run would flatter it.
    whole = (
        len(jobs) == count
        and succeeded + states.get("superseded", 0) == count
        and len(to_sync) == succeeded
    )
    ok = all(c == 200 for c in statuses) and offered >= RATE * 0.95 and whole
    return [
        _latency_figure(
            "pipeline.decision_to_sync.p99", to_sync, SYNC_GOAL_MS, ok, common, "syncs measured"
        ),
        _latency_figure(
            "pipeline.result_detection.p99", detect, DETECT_GOAL_MS, ok, common, "jobs measured"
        ),
    ]


def _latency_figure(
    name: str, values: list[float], goal: float, ok: bool, common: dict[str, Any], what: str
) -> Figure:
    if not values:
        return Figure(name, None, "ms", f"< {goal:g} ms", False, note="nothing measured")
    p99 = percentile(values, 99)
    details = {
        **common,
        what: len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "max_ms": round(max(values), 1),
    }
    return Figure(
        name=name,
        value=round(p99, 1),
        unit="ms",
        goal=f"< {goal:g} ms at {RATE:g} submissions/s",
        met=ok and p99 < goal,
        note=f"p50 {details['p50_ms']} ms, max {details['max_ms']} ms, {len(values)} {what}",
        details=details,
    )


def _marker(body: Any) -> str | None:
    for info in (body or {}).get("infos") or []:
        if info.get("name") == MARKER_NAME:
            return str(info.get("value"))
    return None


def _wait_ended(store: Store, count: int, timeout: float) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        with store.unit_of_work() as uow:
            jobs = uow.jobs.list(limit=count + 10)
        if len(jobs) >= count and all(j.state not in ("queued", "running") for j in jobs):
            return list(jobs)
        if time.monotonic() > deadline:
            return list(jobs)
        time.sleep(0.2)


def _decided_at(store: Store, ids: set[str]) -> dict[str, float]:
    out = {}
    with store.unit_of_work() as uow:
        for decision_id in ids:
            found = uow.decisions.get(decision_id)
            if found is not None:
                out[decision_id] = found.decided_at.timestamp()
    return out
