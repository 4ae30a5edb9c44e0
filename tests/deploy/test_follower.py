"""Deployments followed by the shared informer: a worker is free once its sync is sent."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from belay.argocd import ArgoCDClient
from belay.argocd.informer import InformerRegistry
from belay.config.settings import SyncSettings, WorkerSettings
from belay.deploy.follower import Follower
from belay.deploy.spec import SyncSpec
from belay.deploy.worker import Worker
from belay.sim.sample import sample_state
from belay.sim.testing import RunningSimulator, running_simulator
from belay.store import JobRecord, Store

SHA = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
FAST = WorkerSettings(
    lease_seconds=5, poll_interval_seconds=0.02, backoff_base_seconds=0.01, backoff_max_seconds=0.05
)
APPS = [f"app-{n}" for n in range(12)]


def _state(seconds: float) -> dict[str, Any]:
    base = sample_state()
    template = base["applications"][0]
    apps = []
    for name in APPS:
        item = copy.deepcopy(template)
        item["metadata"]["name"] = name
        item["metadata"]["uid"] = f"uid-{name}"
        apps.append(item)
    return {
        "version": base["version"],
        "applications": apps,
        "syncBehavior": {name: {"seconds": seconds, "health": "Healthy"} for name in APPS},
    }


def _client(sim: RunningSimulator) -> ArgoCDClient:
    return ArgoCDClient(sim.url, username="admin", password="admin", timeout=5.0)


def _enqueue(store: Store, app: str, *, timeout: float = 30.0) -> JobRecord:
    spec = SyncSpec.from_settings(
        SyncSettings.model_validate({"timeoutSeconds": timeout}), commit=SHA, branch="main"
    )
    with store.unit_of_work() as uow:
        job = uow.jobs.enqueue(
            instance="default",
            application=app,
            spec=spec.model_dump(mode="json"),
            actor="test",
            revision=SHA,
            now=datetime.now(UTC),
        )
        uow.commit()
    return job


def _jobs(store: Store) -> list[JobRecord]:
    with store.unit_of_work() as uow:
        return uow.jobs.list(limit=1000)


@contextmanager
def _following(store: Store, sim: RunningSimulator) -> Iterator[tuple[Worker, Follower]]:
    """A worker handing jobs to a follower that runs on its thread until the block ends."""
    informers = InformerRegistry(lambda _name: _client(sim))
    follower = Follower(store, informers, settings=FAST, clients=lambda _n: _client(sim))
    worker = Worker(store, lambda _n: _client(sim), settings=FAST, follower=follower)
    stop = threading.Event()
    thread = threading.Thread(target=follower.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield worker, follower
    finally:
        stop.set()
        thread.join(10)
        informers.stop()


def _wait_none_running(store: Store) -> None:
    pause = threading.Event()
    while any(j.state == "running" for j in _jobs(store)):
        pause.wait(0.05)


def test_one_worker_keeps_every_deployment_in_flight(store: Store) -> None:
    """One worker thread sends all twelve syncs before any ends; each ends succeeded, once."""
    with (
        running_simulator(_state(seconds=2.0)) as sim,
        _following(store, sim) as (worker, follower),
    ):
        for app in APPS:
            _enqueue(store, app)
        for _ in APPS:
            assert worker.run_once() is not None
        # Every job was handed over: none has ended, the worker is free.
        assert follower.following() == len(APPS)
        assert all(j.state == "running" for j in _jobs(store))
        _wait_none_running(store)
    assert all(j.state == "succeeded" for j in _jobs(store))
    syncs = [r for r in sim.requests() if r.method == "POST" and r.path.endswith("/sync")]
    assert len(syncs) == len(APPS), "one sync per job"
    watches = [r for r in sim.requests() if r.path == "/api/v1/stream/applications"]
    assert len(watches) == 1, "one watch for every deployment"
    with store.unit_of_work() as uow:
        kinds = [e.kind for e in uow.audit.list(limit=1000)]
    assert kinds.count("deployment.succeeded") == len(APPS)
    assert kinds.count("operation.finished") == len(APPS)


def test_shutdown_gives_followed_jobs_back(store: Store) -> None:
    """Stopping the follower puts the jobs it follows back in the queue, with a reason."""
    with running_simulator(_state(seconds=60.0)) as sim, _following(store, sim) as (worker, _):
        job = _enqueue(store, APPS[0])
        worker.run_once()
    [after] = _jobs(store)
    assert after.state == "queued"
    with store.unit_of_work() as uow:
        kinds = [e.kind for e in uow.audit.list(job_id=job.id)]
    assert kinds[-1] == "deployment.released"


def test_deadline_ends_a_followed_job_timed_out(store: Store) -> None:
    """A followed job past its timeout ends timed_out, its operation terminated when asked."""
    with running_simulator(_state(seconds=60.0)) as sim, _following(store, sim) as (worker, _):
        spec = SyncSpec.from_settings(
            SyncSettings.model_validate({"timeoutSeconds": 0.5, "terminateOnTimeout": True}),
            commit=SHA,
            branch="main",
        )
        with store.unit_of_work() as uow:
            uow.jobs.enqueue(
                instance="default",
                application=APPS[0],
                spec=spec.model_dump(mode="json"),
                actor="test",
                revision=SHA,
                now=datetime.now(UTC),
            )
            uow.commit()
        worker.run_once()
        _wait_none_running(store)
        [job] = _jobs(store)
    assert job.state == "timed_out"
    assert "terminated" in (job.error or "")
    assert any(r.method == "DELETE" and r.path.endswith("/operation") for r in sim.requests())
