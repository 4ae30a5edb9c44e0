"""2,000 submissions while ``belay serve`` (SQLite, in-process worker) is SIGKILLed twice.

Every delivery is retried until the gate acknowledges it (as Portage's retried job would), so
afterwards each one must be stored once with its verdict, each passing one deployed exactly once
(or superseded by a newer build of the same app) and the simulator, which lives in the test
process and so survives the gate's deaths, must have accepted exactly one sync per deployed job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from tests.support import bearer, free_port, post_delivery, wait_http

from belay.sim.testing import running_simulator
from belay.store import Store

from .helpers import (
    BundleFactory,
    accepted_syncs,
    all_jobs,
    belay_env,
    commit_for,
    marker_of,
    multi_app_state,
    settings_yaml,
    wait_jobs_ended,
    write,
)

pytestmark = pytest.mark.reliability

TOTAL = 2000
KILL_AT = (600, 1300)
APPS = [f"crash-{n}" for n in range(8)]
TOKEN = "crash-test-submit-token-4dQ"
POOL = 8


def _serve(config: Path, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "belay.cli",
                "serve",
                "--config",
                str(config),
                "--port",
                str(port),
            ],
            env=env,
            stdout=out,
            stderr=out,
        )


def _is_passing(n: int) -> bool:
    return n % 3 != 0


def test_sigkill_twice_during_2000_submissions(tmp_path: Path) -> None:
    db = tmp_path / "belay.db"
    config = write(tmp_path / "belay.yaml", settings_yaml(f"sqlite:///{db}", APPS))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    make_bundle = BundleFactory()
    acked: dict[int, str] = {}
    lock = threading.Lock()
    failures: list[str] = []

    with running_simulator(multi_app_state(APPS)) as sim:
        env = belay_env(sim, BELAY_TOKEN_RELIABILITY=TOKEN)
        server = _serve(config, port, env, log)
        wait_http(f"{url}/healthz", proc=server)

        def submit(n: int, client: httpx.Client) -> None:
            app = APPS[n % len(APPS)]
            data = make_bundle(app, commit_for(n, "crash"), passing=_is_passing(n))
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:
                try:
                    response = post_delivery(url, data, authorization=bearer(TOKEN), client=client)
                except httpx.TransportError:
                    time.sleep(0.05)  # the gate is down: retry, as Portage's job would
                    continue
                if response.status_code == 200:
                    with lock:
                        acked[n] = response.json()["verdict"]["decision"]
                    return
                if response.status_code in (409, 503):
                    time.sleep(0.05)
                    continue
                with lock:
                    failures.append(f"{n}: {response.status_code} {response.text[:200]}")
                return
            with lock:
                failures.append(f"{n}: never acknowledged")

        def killer() -> None:
            nonlocal server
            for threshold in KILL_AT:
                while len(acked) < threshold and not failures:
                    time.sleep(0.01)
                os.kill(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
                server = _serve(config, port, env, log)

        kills = threading.Thread(target=killer, name="killer")
        kills.start()
        with (
            httpx.Client(timeout=30) as client,
            ThreadPoolExecutor(POOL) as pool,
        ):
            list(pool.map(lambda n: submit(n, client), range(TOTAL)))
        kills.join(timeout=60)
        assert not failures, failures[:10]
        assert len(acked) == TOTAL
        store = Store(f"sqlite:///{db}")
        try:
            wait_jobs_ended(store, timeout=300)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        syncs = accepted_syncs(sim)

    assert server.returncode is not None
    restarts = log.read_text(errors="replace").count("Belay listening")
    assert restarts == 3, "the gate was not killed and restarted twice"

    with store.unit_of_work() as uow:
        submissions = uow.submissions.list(limit=10 * TOTAL)
        by_commit: dict[str, list[str]] = {}
        for sub in submissions:
            by_commit.setdefault(sub.commit_sha or "", []).append(sub.id)
        decisions = {}
        for n, decision in acked.items():
            ids = by_commit.get(commit_for(n, "crash"), [])
            assert len(ids) == 1, f"submission {n} stored {len(ids)} times"
            sub = uow.submissions.get(ids[0])
            assert sub is not None
            assert sub.decision_id is not None, f"submission {n} has no decision"
            stored = uow.decisions.get(sub.decision_id)
            assert stored is not None
            assert stored.decision == decision == ("pass" if _is_passing(n) else "fail")
            decisions[n] = stored
        jobs_of = {n: uow.jobs.for_decision(d.id) for n, d in decisions.items()}
        assert uow.audit.verify() is None
    jobs = {j.id: j for j in all_jobs(store)}
    store.dispose()

    for n, found in jobs_of.items():
        if not _is_passing(n):
            assert found == [], f"failing submission {n} got a job"
            continue
        assert len(found) == 1, f"passing submission {n} has {len(found)} jobs"
        job = found[0]
        assert job.state in ("succeeded", "superseded"), (n, job.state, job.error)
        if job.state == "superseded":
            newer_id = (job.error or "").rsplit(" ", 1)[-1]
            newer = jobs[newer_id]
            assert newer.application == job.application
            assert newer.created_at >= job.created_at

    markers = [marker_of(r) for r in syncs]
    assert len(markers) == len(set(markers)), "a job was synced twice"
    succeeded = {j.id for j in jobs.values() if j.state == "succeeded"}
    assert set(markers) == succeeded
    # Each app's newest passing build is never superseded, so every app was deployed.
    assert {jobs[m].application for m in markers} == set(APPS)
