"""The deploy worker against the real simulator: exactly one sync per job, proven by its log."""

from __future__ import annotations

import threading
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from belay.argocd import ArgoCDClient, SyncRequest
from belay.argocd.models import Info
from belay.config.settings import SyncSettings, WorkerSettings
from belay.deploy import MARKER_NAME
from belay.deploy.spec import SyncSpec
from belay.deploy.worker import Doorbell, Worker
from belay.sim.sample import sample_state
from belay.sim.testing import RunningSimulator, running_simulator
from belay.store import JobRecord, Store

APP = "guestbook"
SHA = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
FAST = WorkerSettings(
    lease_seconds=5, poll_interval_seconds=0.02, backoff_base_seconds=0.01, backoff_max_seconds=0.05
)


def _state(**behavior: Any) -> dict[str, Any]:
    state = sample_state()
    state["syncBehavior"] = {APP: {"seconds": 0.05, **behavior}}
    return state


def _clients(sim: RunningSimulator) -> Any:
    def factory(_instance: str) -> AbstractContextManager[ArgoCDClient]:
        return ArgoCDClient(sim.url, username="admin", password="admin", timeout=5.0)

    return factory


def _enqueue(store: Store, *, timeout: float = 10.0, commit: str = SHA, **sync: Any) -> JobRecord:
    spec = SyncSpec.from_settings(
        SyncSettings.model_validate({"timeoutSeconds": timeout, **sync}),
        commit=commit,
        branch="main",
    )
    with store.unit_of_work() as uow:
        job = uow.jobs.enqueue(
            instance="default",
            application=APP,
            spec=spec.model_dump(mode="json"),
            actor="test",
            revision=commit,
            now=datetime.now(UTC),
        )
        uow.commit()
    return job


def _syncs(sim: RunningSimulator, *, accepted_only: bool = True) -> list[Any]:
    return [
        r
        for r in sim.requests()
        if r.method == "POST"
        and r.path.endswith("/sync")
        and (not accepted_only or r.status == 200)
    ]


def _kinds(store: Store, job: JobRecord) -> list[str]:
    with store.unit_of_work() as uow:
        return [e.kind for e in uow.audit.list(job_id=job.id)]


def test_sync_to_healthy(store: Store) -> None:
    """A job syncs the approved commit once, follows it to Healthy, and records the chain."""
    with running_simulator(_state(health="Healthy")) as sim:
        job = _enqueue(store, prune=True, syncOptions=["Validate=false"])
        worker = Worker(store, _clients(sim), settings=FAST)
        assert worker.run_once() is not None
        syncs = _syncs(sim)
    assert len(syncs) == 1
    body = syncs[0].body
    assert body["revision"] == SHA
    assert body["prune"] is True
    assert body["syncOptions"] == {"items": ["Validate=false"]}
    assert {"name": MARKER_NAME, "value": job.id} in body["infos"]
    assert body["retryStrategy"]["limit"] == 5
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
        assert uow.audit.verify() is None
    assert done is not None
    assert done.state == "succeeded"
    assert done.outcome is not None
    assert done.outcome["assessment"]["synced_revision"] == SHA
    assert _kinds(store, job) == [
        "deployment.started",
        "security.plain_http",
        "sync.requested",
        "operation.started",
        "operation.finished",
        "deployment.succeeded",
    ]


def test_degraded_fails_with_reason(store: Store) -> None:
    """A sync that leaves the app Degraded fails the job and says why."""
    with running_simulator(_state(health="Degraded")) as sim:
        job = _enqueue(store)
        Worker(store, _clients(sim), settings=FAST).run_once()
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    assert done.state == "failed"
    assert "Degraded" in (done.error or "")
    assert _kinds(store, job)[-1] == "deployment.failed"


def test_failed_operation_names_message(store: Store) -> None:
    """A Failed operation fails the job with Argo CD's message."""
    state = _state(phase="Failed", message='namespaces "guestbook" not found')
    state["timeScale"] = 1000  # Argo CD's five backoffs (10 s to 3 min) last under a second
    with running_simulator(state) as sim:
        job = _enqueue(store)
        Worker(store, _clients(sim), settings=FAST).run_once()
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    assert done.state == "failed"
    assert "not found" in (done.error or "")


def test_restart_after_sync_follows_instead_of_resyncing(store: Store) -> None:
    """When our sync already reached Argo CD (worker died after sending), it is followed, not resent."""
    with running_simulator(_state(health="Healthy")) as sim:
        job = _enqueue(store)
        spec = SyncSpec.model_validate(job.spec)
        with ArgoCDClient(sim.url, username="admin", password="admin") as client:
            client.sync(APP, spec.request(marker=job.id, decision_id=None))
        sim.reset()
        Worker(store, _clients(sim), settings=FAST).run_once()
        assert _syncs(sim, accepted_only=False) == []
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    assert done.state == "succeeded"
    assert "sync.found" in _kinds(store, job)


def test_waits_for_someone_elses_operation(store: Store) -> None:
    """Another operation in progress is waited for; then our one sync goes out."""
    # Alice's operation lasts 2 s so that even on a loaded machine the worker meets it running.
    with running_simulator(_state(health="Healthy", seconds=2.0)) as sim:
        with ArgoCDClient(sim.url, username="admin", password="admin") as client:
            client.sync(APP, SyncRequest(infos=[Info(name="who", value="alice")]))
        job = _enqueue(store)
        Worker(store, _clients(sim), settings=FAST).run_once()
        ours = [
            s
            for s in _syncs(sim)
            if {"name": MARKER_NAME, "value": job.id} in s.body.get("infos", [])
        ]
    assert len(ours) == 1
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    assert done.state == "succeeded", done.error
    assert "sync.waiting" in _kinds(store, job), _kinds(store, job)


def test_survives_503s_with_one_sync(store: Store) -> None:
    """With half of all calls answering 503, the job still ends with exactly one accepted sync."""
    with running_simulator(_state(health="Healthy")) as sim:
        sim.set_faults({"errorRate": 0.5, "statusCodes": [503], "seed": 7})
        job = _enqueue(store, timeout=30)
        Worker(store, _clients(sim), settings=FAST).run_once()
        accepted = _syncs(sim)
        failed = [r for r in sim.requests() if r.status == 503]
    assert len(accepted) == 1
    assert failed, "the fault injection should have produced some 503s"
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    assert done.state == "succeeded"


def test_sync_window_waits_until_open(store: Store) -> None:
    """A deny window is waited out (not an RBAC failure), then the sync goes through."""
    with running_simulator(_state(health="Healthy")) as sim:
        sim.set_faults({"syncWindows": {APP: [{"kind": "deny", "until": time.time() + 0.5}]}})
        job = _enqueue(store)
        Worker(store, _clients(sim), settings=FAST).run_once()
        refused = [r for r in sim.requests() if r.path.endswith("/sync") and r.status == 403]
        assert len(_syncs(sim)) == 1
    assert refused
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    assert done.state == "succeeded"
    assert "sync.window_closed" in _kinds(store, job)


def test_auto_sync_conflict_is_persistent(store: Store) -> None:
    """Pinning a revision while auto-sync is on fails at once with a configuration hint."""
    state = _state(health="Healthy")
    state["applications"][0]["spec"]["syncPolicy"] = {"automated": {"prune": True}}
    with running_simulator(state) as sim:
        job = _enqueue(store)
        Worker(store, _clients(sim), settings=FAST).run_once()
        attempts = [r for r in sim.requests() if r.path.endswith("/sync")]
    assert len(attempts) == 1
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    assert done.state == "failed"
    assert "auto-sync" in (done.error or "")


def test_wrong_credentials_fail_without_retry(store: Store) -> None:
    """A 401 fails the job once, with no sync sent and no password in the error."""
    with running_simulator(_state()) as sim:
        job = _enqueue(store)

        def bad(_instance: str) -> AbstractContextManager[ArgoCDClient]:
            return ArgoCDClient(
                sim.url, username="admin", password="wrong-pass-canary", timeout=5.0
            )

        Worker(store, bad, settings=FAST).run_once()
        assert _syncs(sim, accepted_only=False) == []
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    assert done.state == "failed"
    assert "wrong-pass-canary" not in (done.error or "")


def test_deadline_times_out(store: Store) -> None:
    """A deployment that stays Progressing past the deadline ends as timed_out."""
    with running_simulator(_state(health="Healthy", healthSeconds=30)) as sim:
        job = _enqueue(store, timeout=0.6)
        Worker(store, _clients(sim), settings=FAST).run_once()
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    assert done.state == "timed_out"


def test_stopping_releases_the_running_job(store: Store) -> None:
    """A worker told to stop mid-deployment gives the job back; the next worker finishes it once."""
    import threading

    with running_simulator(_state(health="Healthy", healthSeconds=1.0)) as sim:
        job = _enqueue(store)
        first = Worker(store, _clients(sim), settings=FAST)
        runner = threading.Thread(target=first.run_once)
        runner.start()
        sim.wait_for(APP, lambda app: app.get("status", {}).get("operationState") is not None)
        first.stop_event.set()
        runner.join(timeout=10)
        with store.unit_of_work() as uow:
            released = uow.jobs.get(job.id)
        assert released is not None
        assert released.state == "queued"
        Worker(store, _clients(sim), settings=FAST).run_once()
        assert len(_syncs(sim)) == 1
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    assert done.state == "succeeded"
    kinds = _kinds(store, job)
    assert "deployment.released" in kinds
    assert "sync.found" in kinds


def test_gives_up_after_max_attempts(store: Store) -> None:
    """A job whose workers kept dying is failed after max_attempts claims, not retried forever."""
    from datetime import timedelta

    settings = FAST.model_copy(update={"max_attempts": 2})
    job = _enqueue(store)
    later = datetime.now(UTC)
    for _ in range(2):
        with store.unit_of_work() as uow:
            assert (
                uow.jobs.claim(worker_id="dead", lease=timedelta(seconds=1), now=later) is not None
            )
            uow.commit()
        later += timedelta(seconds=5)
    with running_simulator(_state()) as sim:
        worker = Worker(store, _clients(sim), settings=settings, clock=lambda: later)
        assert worker.run_once() is not None
        assert _syncs(sim, accepted_only=False) == []
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    assert done.state == "failed"
    assert "gave up after 2 attempts" in (done.error or "")


def test_doorbell_wakes_one_idle_worker_per_ring() -> None:
    """One queued job wakes one waiting worker, not all of them (each woken worker runs a
    claim; waking every one for a single job made all but one claim for nothing)."""
    bell = Doorbell()
    waited: list[float] = []
    lock = threading.Lock()
    waiting = threading.Barrier(5)

    def idle_worker() -> None:
        seen = bell.rings()
        waiting.wait()
        started = time.monotonic()
        bell.wait(seen, timeout=2.0)
        with lock:
            waited.append(time.monotonic() - started)

    threads = [threading.Thread(target=idle_worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    waiting.wait()
    time.sleep(0.1)  # let the four enter their wait
    bell.ring()
    for thread in threads:
        thread.join(timeout=5)
    woken_at_once = [w for w in waited if w < 1.0]
    assert len(waited) == 4 and len(woken_at_once) == 1, waited


def test_doorbell_rung_before_the_wait_is_not_missed() -> None:
    """A ring between looking for work and waiting ends the wait at once."""
    bell = Doorbell()
    seen = bell.rings()
    bell.ring()
    started = time.monotonic()
    assert bell.wait(seen, timeout=5.0) is True
    assert time.monotonic() - started < 1.0
