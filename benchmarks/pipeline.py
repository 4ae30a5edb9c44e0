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

Then ``pipeline.inflight`` (:func:`measure_inflight`): 2,000 deployments in flight at once, each
sync lasting 60 simulated seconds, in one ``belay serve``: outcome detection p99, peak RSS and
the watch connections the simulator logged. ``python -m benchmarks.pipeline --inflight
[--quick]`` runs it alone.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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
    commit_for,
    free_port,
    make_bundles,
    multipart_body,
    percentile,
    project_yaml,
    rss_mb,
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


def _on_settled(sim: Any, record: Callable[[str], object]) -> None:
    """Call ``record(name)`` whenever the simulator stores an application whose operation ended
    Succeeded and which is Healthy (its state changes, timestamped in this process)."""
    original_put = sim.store.put

    def put(app: dict[str, Any], **kwargs: Any) -> None:
        original_put(app, **kwargs)
        status = app.get("status") or {}
        phase = (status.get("operationState") or {}).get("phase")
        health = (status.get("health") or {}).get("status")
        if app.get("operation") is None and phase == "Succeeded" and health == "Healthy":
            record(app["metadata"]["name"])

    sim.store.put = put


def _remote(n: int) -> str:
    return f"https://gitlab.com/bench/app-{n:04d}.git"


def _ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def measure(quick: bool) -> list[Figure]:
    """Both latency figures from one run, then the in-flight figures from another."""
    seconds = 8 if quick else 30
    count = int(RATE * seconds)
    bodies = [multipart_body(b) for b in make_bundles(count, [_remote(n) for n in range(APPS)])]
    settled: list[tuple[float, str]] = []
    with (
        tempfile.TemporaryDirectory(prefix="belay-bench-pipeline-") as tmp,
        running_simulator(app_state(APPS)) as sim,
    ):
        work = Path(tmp)
        _on_settled(sim, lambda name: settled.append((time.time(), name)))
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
        *measure_inflight(quick),
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


# --- pipeline.inflight: thousands of deployments in flight at once (issue 18) ---------------

INFLIGHT_APPS = 2000
INFLIGHT_SIM_SECONDS = 60.0
INFLIGHT_RSS_GOAL_MB = 300.0
INFLIGHT_WATCH_GOAL = 2


def measure_inflight(quick: bool) -> list[Figure]:
    """2,000 deployments (400 with ``quick``) in flight at once over as many applications.

    The jobs are queued in the store before ``belay serve`` (SQLite, its in-process workers and
    follower, default worker settings) starts; each sync lasts 60 simulated seconds (60 s, or
    15 s with ``quick`` through the simulator's ``timeScale``, so every sync is sent before the
    first ends). Figures: outcome detection p99 (the simulator storing the application
    Succeeded and Healthy → the job's ``finished_at``), the peak RSS of the serve process while
    they were in flight, and the watch connections the simulator logged (one instance).
    """
    count = 400 if quick else INFLIGHT_APPS
    # Long enough that every sync is sent before the first ends (sending 2,000 took about 40 s
    # on a shared two-core machine), so that all are in flight at once.
    real_seconds = 15.0 if quick else 60.0
    state = app_state(count, op_seconds=INFLIGHT_SIM_SECONDS)
    state["timeScale"] = INFLIGHT_SIM_SECONDS / real_seconds
    settled: dict[str, float] = {}
    peak_rss = 0.0
    peak_following = 0
    with (
        tempfile.TemporaryDirectory(prefix="belay-bench-inflight-") as tmp,
        running_simulator(state) as sim,
    ):
        work = Path(tmp)
        _on_settled(sim, lambda name: settled.setdefault(name, time.time()))
        db_url = f"sqlite:///{work / 'inflight.db'}"
        store = Store(db_url)
        store.upgrade()
        _queue_jobs(store, count)
        config = work / "belay.yaml"
        config.write_text(settings_yaml(db_url, [project_yaml("app-0000", _remote(0), None)]))
        port = free_port()
        env = {"ARGOCD_BASE_URL": sim.url, "ARGOCD_AUTH_TOKEN": SIM_TOKEN}
        argv = [BELAY, "serve", "--config", str(config), "--port", str(port)]
        started = time.monotonic()
        try:
            with server_process(argv, port=port, log=work / "serve.log", env=env) as proc:
                deadline = started + real_seconds * 4 + 240
                while True:
                    peak_rss = max(peak_rss, rss_mb(proc.pid))
                    # Counted by SQL: loading 2,000 jobs every half second in this process (which
                    # also runs the simulator) delayed the simulator's events it measures.
                    open_jobs, following = _open_and_followed(store)
                    peak_following = max(peak_following, following)
                    if open_jobs == 0 or time.monotonic() > deadline:
                        break
                    time.sleep(0.5)
            with store.unit_of_work() as uow:
                jobs = uow.jobs.list(limit=count + 10)
        finally:
            store.dispose()
            if os.environ.get("BELAY_BENCH_KEEP_LOG"):
                shutil.copy(work / "serve.log", os.environ["BELAY_BENCH_KEEP_LOG"])
        watches = [
            r for r in sim.requests() if r.path == "/api/v1/stream/applications" and r.status == 200
        ]
    states: dict[str, int] = {}
    detect = []
    for job in jobs:
        states[job.state] = states.get(job.state, 0) + 1
        at = settled.get(job.application)
        if job.state == "succeeded" and job.finished_at is not None and at is not None:
            detect.append((job.finished_at.timestamp() - at) * 1000)
    whole = states.get("succeeded", 0) == count and len(detect) == count
    details: dict[str, Any] = {
        "deployments": count,
        "job_states": states,
        "peak_followed_at_once": peak_following,
        "sync_real_seconds": real_seconds,
        "watch_connections": len(watches),
        "peak_rss_mb": round(peak_rss, 1),
    }
    figures = []
    if detect:
        p99 = percentile(detect, 99)
        details["p50_ms"] = round(percentile(detect, 50), 1)
        figures.append(
            Figure(
                name="pipeline.inflight.detection.p99",
                value=round(p99, 1),
                unit="ms",
                goal=f"< {DETECT_GOAL_MS:g} ms, {count} in flight, every outcome recorded",
                met=whole and p99 < DETECT_GOAL_MS,
                note=f"p50 {details['p50_ms']} ms; {states.get('succeeded', 0)}/{count} "
                f"succeeded; at most {peak_following} followed at once",
                details=details,
            )
        )
    else:
        figures.append(
            Figure(
                "pipeline.inflight.detection.p99",
                None,
                "ms",
                f"< {DETECT_GOAL_MS:g} ms",
                False,
                note="nothing measured",
                details=details,
            )
        )
    figures.append(
        Figure(
            name="pipeline.inflight.rss",
            value=round(peak_rss, 1),
            unit="MB RSS",
            goal=f"< {INFLIGHT_RSS_GOAL_MB:g} MB with {count} in flight",
            met=whole and peak_rss < INFLIGHT_RSS_GOAL_MB,
            note="peak of belay serve, sampled every 0.5 s",
            details=details,
        )
    )
    figures.append(
        Figure(
            name="pipeline.inflight.watch_connections",
            value=float(len(watches)),
            unit="connections",
            goal=f"<= {INFLIGHT_WATCH_GOAL} per instance",
            met=len(watches) <= INFLIGHT_WATCH_GOAL,
            note="GET /api/v1/stream/applications answered 200, from the simulator's log",
            details=details,
        )
    )
    return figures


def _open_and_followed(store: Store) -> tuple[int, int]:
    """(jobs queued or running, running jobs held by a follower)."""
    from sqlalchemy import text

    with store.session() as session:
        row = session.execute(
            text(
                "SELECT COUNT(*), SUM(CASE WHEN lease_owner LIKE '%:follower:%' THEN 1 ELSE 0 END)"
                " FROM jobs WHERE state IN ('queued', 'running')"
            )
        ).one()
    return int(row[0]), int(row[1] or 0)


def _queue_jobs(store: Store, count: int) -> None:
    from datetime import UTC

    from belay.deploy.spec import SyncSpec

    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        for n in range(count):
            commit = commit_for(n)
            uow.jobs.enqueue(
                instance="default",
                application=f"app-{n:04d}",
                argocd_project="default",
                spec=SyncSpec(
                    revision=commit, approved_commit=commit, timeout_seconds=600
                ).model_dump(mode="json"),
                actor="bench",
                revision=commit,
                now=now,
            )
        uow.commit()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--inflight", action="store_true", help="only pipeline.inflight")
    args = parser.parse_args()
    results = measure_inflight(args.quick) if args.inflight else measure(args.quick)
    for figure in results:
        print(json.dumps(figure.as_json(), default=str))
