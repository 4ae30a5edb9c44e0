"""Every delivery sent 5 times at once (Portage tokens and Standard Webhooks ids alike): one
stored verdict each, the same answer to every copy, one job and one sync per passing delivery."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import SUBMIT_PATH, delivery_request, serve_services, signed_webhook_headers

from belay.bootstrap import Services, build_services
from belay.config.settings import load_settings
from belay.sim.testing import RunningSimulator, running_simulator

from .helpers import (
    BundleFactory,
    accepted_syncs,
    commit_for,
    marker_of,
    multi_app_state,
    settings_yaml,
    wait_jobs_ended,
    write,
)

pytestmark = pytest.mark.reliability

DELIVERIES = 24
COPIES = 5
APPS = [f"replay-{n}" for n in range(DELIVERIES)]
TOKEN = "replay-submit-token-Zk3"
WEBHOOK_KEY = b"replay-webhook-key-0123456789ab"


@pytest.fixture
def gate(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Services, RunningSimulator]]:
    monkeypatch.setenv("BELAY_TOKEN_RELIABILITY", TOKEN)
    monkeypatch.setenv(
        "BELAY_WEBHOOK_RELIABILITY", "whsec_" + base64.b64encode(WEBHOOK_KEY).decode()
    )
    config = write(
        tmp_path / "belay.yaml",
        settings_yaml(database_url, APPS, webhook_secret_env="BELAY_WEBHOOK_RELIABILITY"),
    )
    with running_simulator(multi_app_state(APPS)) as sim:
        monkeypatch.setenv("ARGOCD_BASE_URL", sim.url)
        monkeypatch.setenv("ARGOCD_USERNAME", "admin")
        monkeypatch.setenv("ARGOCD_PASSWORD", "admin")
        services = build_services(load_settings(config))
        try:
            with serve_services(services, workers=2, join_timeout=30) as url:
                yield url, services, sim
        finally:
            services.close()


def _request(url: str, n: int, data: bytes) -> httpx.Request:
    """One delivery, built once so that every copy carries the very same bytes."""
    built = delivery_request(url, data)
    body = built.content
    headers = {"content-type": built.headers["content-type"]}
    if n % 2:
        headers |= signed_webhook_headers(WEBHOOK_KEY, body, f"msg_replay_{n}")
    else:
        headers["authorization"] = TOKEN
    return httpx.Request("POST", f"{url}{SUBMIT_PATH}", content=body, headers=headers)


def _passing(n: int) -> bool:
    return n % 4 != 3


def test_each_delivery_five_times_concurrently(
    gate: tuple[str, Services, RunningSimulator],
) -> None:
    url, services, sim = gate
    make_bundle = BundleFactory()
    requests = [
        _request(url, n, make_bundle(APPS[n], commit_for(n, "replay"), passing=_passing(n)))
        for n in range(DELIVERIES)
    ]
    answers: dict[int, list[httpx.Response]] = {n: [] for n in range(DELIVERIES)}
    with httpx.Client(timeout=60) as client, ThreadPoolExecutor(DELIVERIES * COPIES) as pool:
        barrier = threading.Barrier(DELIVERIES * COPIES)

        def send(n: int) -> tuple[int, httpx.Response]:
            barrier.wait(timeout=30)
            return n, client.send(requests[n])

        jobs = [pool.submit(send, n) for n in range(DELIVERIES) for _ in range(COPIES)]
        for future in jobs:
            n, response = future.result(timeout=120)
            answers[n].append(response)
        # A copy that met its twin mid-judgement got 409; Portage retries it, and so do we.
        for n, responses in answers.items():
            for _ in range(50):
                if any(r.status_code == 200 for r in responses):
                    break
                time.sleep(0.1)
                responses.append(client.send(requests[n]))

    verdicts: dict[int, dict[str, Any]] = {}
    for n, responses in answers.items():
        codes = {r.status_code for r in responses}
        assert codes <= {200, 409}, (n, [r.text[:200] for r in responses])
        bodies = [r.json()["verdict"] for r in responses if r.status_code == 200]
        assert bodies, f"delivery {n} never got a verdict"
        assert all(b == bodies[0] for b in bodies), f"delivery {n} got different answers"
        assert bodies[0]["decision"] == ("pass" if _passing(n) else "fail")
        verdicts[n] = bodies[0]

    passing = sum(_passing(n) for n in range(DELIVERIES))
    wait_jobs_ended(services.store, expected=passing, timeout=120)
    with services.store.unit_of_work() as uow:
        submissions = uow.submissions.list(limit=1000)
        per_commit: dict[str | None, int] = {}
        for sub in submissions:
            per_commit[sub.commit_sha] = per_commit.get(sub.commit_sha, 0) + 1
        jobs = uow.jobs.list(limit=1000)
        assert uow.audit.verify() is None
    assert len(submissions) == DELIVERIES
    assert set(per_commit.values()) == {1}
    assert len(jobs) == passing
    assert all(j.state == "succeeded" for j in jobs), [(j.state, j.error) for j in jobs]
    markers = [marker_of(r) for r in accepted_syncs(sim)]
    assert sorted(markers) == sorted(j.id for j in jobs), (
        "not exactly one sync per passing delivery"
    )
    synced_apps = {j.application for j in jobs}
    assert synced_apps == {APPS[n] for n in range(DELIVERIES) if _passing(n)}
