"""A worker process killed (SIGKILL) between its sync request and the result: one sync in all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from belay.deploy.spec import SyncSpec
from belay.sim.sample import sample_state
from belay.sim.testing import running_simulator
from belay.store import Store

COMMIT = "d" * 40


def _worker(config: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "belay.cli", "worker", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_sigkill_after_sync_request(tmp_path: Path) -> None:
    """The second worker finds the first one's sync by its marker and follows it; no resend."""
    state = sample_state()
    state["syncBehavior"] = {"guestbook": {"seconds": 1.5, "health": "Healthy"}}
    config = tmp_path / "belay.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'belay.db'}\n"
        "worker: {lease_seconds: 1, poll_interval_seconds: 0.05, backoff_base_seconds: 0.05}\n"
    )
    store = Store(f"sqlite:///{tmp_path / 'belay.db'}")
    store.upgrade()
    with store.unit_of_work() as uow:
        job = uow.jobs.enqueue(
            instance="default",
            application="guestbook",
            spec=SyncSpec(revision=COMMIT, approved_commit=COMMIT).model_dump(mode="json"),
            actor="test",
            revision=COMMIT,
            now=datetime.now(UTC),
        )
        uow.commit()
    with running_simulator(state) as sim:
        env = {
            **os.environ,
            "ARGOCD_BASE_URL": sim.url,
            "ARGOCD_USERNAME": "admin",
            "ARGOCD_PASSWORD": "admin",
        }
        first = _worker(config, env)
        deadline = time.monotonic() + 30
        while not any(r.path.endswith("/sync") and r.status == 200 for r in sim.requests()):
            assert time.monotonic() < deadline, "the first worker never synced"
            assert first.poll() is None, first.stderr.read() if first.stderr else b""
            time.sleep(0.01)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        second = _worker(config, env)
        try:
            deadline = time.monotonic() + 60
            while True:
                with store.unit_of_work() as uow:
                    current = uow.jobs.get(job.id)
                assert current is not None
                if current.state not in ("queued", "running"):
                    break
                assert time.monotonic() < deadline, "the job was not taken over"
                time.sleep(0.1)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        syncs = [r for r in sim.requests() if r.method == "POST" and r.path.endswith("/sync")]
    assert current.state == "succeeded", current.error
    assert current.attempts == 2
    assert len(syncs) == 1
    with store.unit_of_work() as uow:
        kinds = [e.kind for e in uow.audit.list(job_id=job.id)]
        assert uow.audit.verify() is None
    assert kinds.count("deployment.started") == 2
    assert "sync.found" in kinds
    assert kinds[-1] == "deployment.succeeded"
    store.dispose()
