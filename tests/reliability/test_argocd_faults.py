"""500 deployments against an Argo CD that answers 30% of its API calls with 503, has latency
spikes, cuts every watch stream after one event and drops some connections outright.

Every job must end deployed or failed with a reason, and no job may be synced twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from belay.bootstrap import build_services
from belay.config.settings import load_settings
from belay.deploy.spec import SyncSpec
from belay.sim.testing import running_simulator

from .helpers import (
    accepted_syncs,
    all_jobs,
    argocd_env,
    commit_for,
    marker_of,
    multi_app_state,
    settings_yaml,
    wait_jobs_ended,
    write,
)

pytestmark = pytest.mark.reliability

JOBS = 500
APPS = [f"faulty-{n}" for n in range(25)]
FAILING = {"faulty-3", "faulty-17"}  # their syncs end Failed: the job must fail with a reason
WORKERS = 6  # jobs at a time in one `belay worker` process


def _faults(latency_ms: int) -> dict[str, Any]:
    return {
        "errorRate": 0.3,
        "statusCodes": [503],
        "latencyMs": latency_ms,
        "dropConnections": 0.02,
        "dropWatchAfterEvents": 1,
    }


def test_500_deployments_under_argocd_faults(tmp_path: Path) -> None:
    config = write(
        tmp_path / "belay.yaml", settings_yaml(f"sqlite:///{tmp_path / 'belay.db'}", APPS)
    )
    with running_simulator(multi_app_state(APPS, failing=FAILING)) as sim:
        environ = {
            **argocd_env(sim),
            "BELAY_TOKEN_RELIABILITY": "unused-here",
        }
        services = build_services(load_settings(config), environ=environ)
        now = datetime.now(UTC)
        with services.store.unit_of_work() as uow:
            for n in range(JOBS):
                commit = commit_for(n, "faults")
                uow.jobs.enqueue(
                    instance="default",
                    application=APPS[n % len(APPS)],
                    spec=SyncSpec(
                        revision=commit, approved_commit=commit, timeout_seconds=120
                    ).model_dump(mode="json"),
                    actor="reliability",
                    revision=commit,
                    now=now,
                )
            uow.commit()
        sim.set_faults(_faults(0))
        spikes_done = threading.Event()

        def spikes() -> None:
            # A 150 ms spike on every call for 0.2 s out of each second.
            while not spikes_done.wait(0.8):
                sim.set_faults(_faults(150))
                if spikes_done.wait(0.2):
                    break
                sim.set_faults(_faults(0))

        spiker = threading.Thread(target=spikes, name="latency-spikes")
        spiker.start()
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "belay.cli",
                "worker",
                "--config",
                str(config),
                "--concurrency",
                str(WORKERS),
            ],
            env={**os.environ, **environ},
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "worker.log").open("wb"),
        )
        try:
            wait_jobs_ended(services.store, expected=JOBS, timeout=420)
        finally:
            spikes_done.set()
            spiker.join(timeout=5)
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        requests = sim.requests()
        syncs = accepted_syncs(sim)
        with services.store.unit_of_work() as uow:
            assert uow.audit.verify() is None
        jobs = all_jobs(services.store)
        services.close()

    faults = [r.fault for r in requests if r.fault]
    assert sum(f.startswith("status 503") for f in faults) > 100, "the 503s were not injected"
    assert "drop" in faults
    assert len(jobs) == JOBS
    by_state: dict[str, int] = {}
    for job in jobs:
        by_state[job.state] = by_state.get(job.state, 0) + 1
        assert job.state in ("succeeded", "failed"), (job.id, job.state, job.error)
        if job.state == "failed":
            assert job.error, f"job {job.id} failed without a reason"
        if job.application in FAILING:
            assert job.state == "failed", (job.application, job.error)
    assert by_state.get("succeeded", 0) == sum(j.application not in FAILING for j in jobs)

    markers = [marker_of(r) for r in syncs]
    twice = sorted({m for m in markers if markers.count(m) > 1})
    named = {j.id: (j.application, j.state, j.attempts) for j in jobs}
    assert not twice, f"synced twice: {[named[m] for m in twice]}"
    # Every job was synced exactly once: the failing apps' syncs were accepted, then failed.
    assert set(markers) == {j.id for j in jobs}
