"""Four ``belay worker`` processes over 1,000 jobs on a private PostgreSQL that is restarted
mid-run: no job taken twice (one accepted sync each), every job ends, work resumes after."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from belay.deploy.spec import SyncSpec
from belay.sim.testing import running_simulator
from belay.store import Store

from .helpers import (
    END_STATES,
    accepted_syncs,
    all_jobs,
    belay_env,
    commit_for,
    marker_of,
    multi_app_state,
    settings_yaml,
    write,
)
from .pgcluster import PgCluster, find_bindir

pytestmark = [pytest.mark.reliability, pytest.mark.postgres]

JOBS = 1000
APPS = [f"pg-{n}" for n in range(20)]
PROCESSES = 4
RESTART_AFTER = 300  # ended jobs


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    """A private cluster made with initdb and pg_ctl, deleted afterwards."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("initdb/pg_ctl not found (install PostgreSQL's server package)")
    pg = PgCluster(bindir)
    try:
        pg.init()
        pg.start()
        yield pg
    finally:
        pg.destroy()


def _ended(store: Store) -> int:
    """Ended jobs, or -1 while the database is unreachable."""
    try:
        return sum(j.state in END_STATES for j in all_jobs(store))
    except DBAPIError:
        store.engine.dispose()
        return -1


def _wait_ended(
    store: Store, count: int, workers: list[subprocess.Popen[bytes]], timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while _ended(store) < count:
        for proc in workers:
            assert proc.poll() is None, f"a worker process exited with {proc.returncode}"
        assert time.monotonic() < deadline, f"fewer than {count} jobs ended in {timeout}s"
        time.sleep(0.2)


def test_four_worker_processes_survive_a_postgres_restart(
    cluster: PgCluster, tmp_path: Path
) -> None:
    config = write(tmp_path / "belay.yaml", settings_yaml(cluster.url, APPS))
    store = Store(cluster.url)
    store.upgrade()
    now = datetime.now(UTC)
    with store.unit_of_work() as uow:
        for n in range(JOBS):
            commit = commit_for(n, "pg")
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

    with running_simulator(multi_app_state(APPS)) as sim:
        env = belay_env(sim, BELAY_TOKEN_RELIABILITY="unused-here")
        workers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "belay.cli",
                    "worker",
                    "--config",
                    str(config),
                    "--concurrency",
                    "2",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(tmp_path / f"worker-{n}.log").open("wb"),
            )
            for n in range(PROCESSES)
        ]
        try:
            _wait_ended(store, RESTART_AFTER, workers, timeout=300)
            cluster.restart(down_seconds=1.5)
            after_restart = _ended(store)
            while after_restart < 0:
                time.sleep(0.2)
                after_restart = _ended(store)
            _wait_ended(store, JOBS, workers, timeout=300)
        finally:
            for proc in workers:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in workers:
                proc.wait(timeout=60)
        syncs = accepted_syncs(sim)

    assert after_restart < JOBS, "every job ended before the restart; it proved nothing"
    assert all(proc.returncode == 0 for proc in workers)
    jobs = all_jobs(store)
    with store.unit_of_work() as uow:
        assert uow.audit.verify() is None
        started = [e for e in uow.audit.list(limit=100_000) if e.kind == "deployment.started"]
    store.dispose()

    assert len(jobs) == JOBS
    assert all(j.state == "succeeded" for j in jobs), {(j.state, j.error) for j in jobs}
    markers = [marker_of(r) for r in syncs]
    twice = {m for m in markers if markers.count(m) > 1}
    assert not twice, f"{len(twice)} jobs were synced twice"
    assert set(markers) == {j.id for j in jobs}
    pids = {str(e.data.get("worker", "")).split(":")[1] for e in started}
    assert len(pids) == PROCESSES, "not every worker process took jobs"
    assert {str(p.pid) for p in workers} == pids
    retaken = sum(j.attempts > 1 for j in jobs)
    print(f"jobs taken over after the restart: {retaken}; ended before it: {after_restart}")
