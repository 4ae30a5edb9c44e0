"""Deployments in flight, followed by one informer, through a SIGKILL and through cut watches.

``belay worker`` with two workers holds 60 deployments in flight at once (each sync lasts seconds
in the simulator; ``BELAY_RELIABILITY_INFLIGHT=2000`` runs the SIGKILL case at the issue's size,
which takes minutes, so CI runs 60). It is SIGKILLed while every one of them waits for its outcome; a new process
must resume each from the store (lease expiry, then the sync step finds our marker) and record
it, with no application synced twice. A second run cuts every watch stream after a few events
and refuses every resumed version as too old: no outcome may be missed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from belay.deploy.spec import SyncSpec
from belay.sim.testing import RunningSimulator, running_simulator
from belay.store import Store
from belay.vocab import AuditKind

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

APPS = [f"inflight-{n}" for n in range(int(os.environ.get("BELAY_RELIABILITY_INFLIGHT", "60")))]
# Each sync lasts long enough that the last one is sent before the first one ends.
SYNC_SECONDS = max(8.0, len(APPS) * 0.1)
WORKERS = 2  # far fewer than the deployments in flight: none may hold a worker while it waits


def _worker(config: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
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
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=out,
        )


def _enqueue(store: Store, salt: str) -> None:
    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        for n, app in enumerate(APPS):
            commit = commit_for(n, salt)
            uow.jobs.enqueue(
                instance="default",
                application=app,
                spec=SyncSpec(
                    revision=commit, approved_commit=commit, timeout_seconds=300
                ).model_dump(mode="json"),
                actor="reliability",
                revision=commit,
                now=now,
            )
        uow.commit()


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


@contextmanager
def _setup(
    tmp_path: Path, seconds: float
) -> Iterator[tuple[RunningSimulator, Store, Path, dict[str, str]]]:
    """The simulator (syncs lasting ``seconds``), a migrated store, belay.yaml and the env."""
    config = write(
        tmp_path / "belay.yaml", settings_yaml(f"sqlite:///{tmp_path / 'belay.db'}", APPS)
    )
    with running_simulator(multi_app_state(APPS, seconds=seconds)) as sim:
        env = {**os.environ, **argocd_env(sim), "BELAY_TOKEN_RELIABILITY": "unused-here"}
        store = Store(f"sqlite:///{tmp_path / 'belay.db'}")
        store.upgrade()
        try:
            yield sim, store, config, env
        finally:
            store.dispose()


def _check_once_each(sim: RunningSimulator, store: Store) -> None:
    jobs = all_jobs(store)
    assert len(jobs) == len(APPS)
    for job in jobs:
        assert job.state == "succeeded", (job.application, job.state, job.error)
    markers = [marker_of(r) for r in accepted_syncs(sim)]
    assert sorted(markers) == sorted(j.id for j in jobs), "a job synced twice, or not at all"
    with store.unit_of_work() as uow:
        assert uow.audit.verify() is None


def test_sigkill_while_every_deployment_is_in_flight(tmp_path: Path) -> None:
    with _setup(tmp_path, seconds=SYNC_SECONDS) as (sim, store, config, env):
        _enqueue(store, "inflight")
        log = tmp_path / "worker.log"
        first = _worker(config, env, log)
        try:
            # Every sync sent while each lasts seconds: all 60 are in flight in one process.
            _wait(
                lambda: len(accepted_syncs(sim)) == len(APPS),
                max(60.0, SYNC_SECONDS),
                "not every sync was sent",
            )
            assert all(j.state == "running" for j in all_jobs(store))
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
        second = _worker(config, env, log)
        try:
            wait_jobs_ended(store, expected=len(APPS), timeout=max(240.0, 4 * SYNC_SECONDS))
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
        _check_once_each(sim, store)
        with store.unit_of_work() as uow:
            found = uow.audit.list(kind=AuditKind.sync_found, limit=len(APPS) * 10)
        assert {e.job_id for e in found} == {j.id for j in all_jobs(store)}, (
            "every job was resumed by finding its own sync"
        )


def test_cut_watches_and_expired_versions_miss_no_outcome(tmp_path: Path) -> None:
    with _setup(tmp_path, seconds=1.0) as (sim, store, config, env):
        sim.set_faults({"dropWatchAfterEvents": 3, "expireWatchVersions": True})
        _enqueue(store, "cut")
        worker = _worker(config, env, tmp_path / "worker.log")
        try:
            wait_jobs_ended(store, expected=len(APPS), timeout=240)
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        watches = [r for r in sim.requests() if r.path == "/api/v1/stream/applications"]
        assert any(r.status == 410 for r in watches), "no resumed version was refused"
        assert sum(1 for r in watches if r.status == 200) > 3, "the streams were not cut"
        _check_once_each(sim, store)
