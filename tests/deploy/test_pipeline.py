"""Intake → verdict → queue → workers → sync → wait → audit, on SQLite and PostgreSQL, with faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs
from tests.support import (
    guestbook_settings,
    portage_bundle,
    serve_services,
    submit_for_verdict,
    wait_until,
)

from belay.bootstrap import Services, build_services
from belay.config.settings import BelaySettings
from belay.deploy import MARKER_NAME
from belay.sim.sample import sample_state
from belay.sim.testing import RunningSimulator, running_simulator
from belay.store import JobRecord

REMOTE = "https://gitlab.com/acme/guestbook.git"
TOKEN = "pipeline-token-5Rt8"


def _settings(database_url: str, tmp_path: Path) -> BelaySettings:
    return guestbook_settings(database_url, tmp_path, remote=REMOTE, token=TOKEN)


def _state(**behavior: Any) -> dict[str, Any]:
    state = sample_state()
    state["syncBehavior"] = {"guestbook": {"seconds": 0.05, "health": "Healthy", **behavior}}
    return state


def _submit(url: str, commit: str) -> dict[str, Any]:
    return submit_for_verdict(
        url, portage_bundle(commit=commit, remote=REMOTE), authorization=TOKEN
    )


def _wait_all_ended(services: Services, count: int, timeout: float = 60) -> None:
    def jobs() -> list[JobRecord]:
        with services.store.unit_of_work() as uow:
            return uow.jobs.list(limit=1000)

    def ended() -> bool:
        found = jobs()
        return len(found) == count and all(j.state not in ("queued", "running") for j in found)

    wait_until(
        ended,
        timeout=timeout,
        what=lambda: f"jobs did not end: {[(j.state, j.error) for j in jobs()]}",
    )


@pytest.fixture
def pipeline(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[tuple[str, Services, RunningSimulator]]:
    """Simulator, gate and two workers sharing one store."""
    behavior = getattr(request, "param", {})
    with running_simulator(_state(**behavior)) as sim:
        environ = {
            "ARGOCD_BASE_URL": sim.url,
            "ARGOCD_USERNAME": "admin",
            "ARGOCD_PASSWORD": "admin",
        }
        services = build_services(_settings(database_url, tmp_path), environ=environ)
        try:
            with serve_services(services, workers=2) as url:
                yield url, services, sim
        finally:
            services.close()


def _accepted_syncs(sim: RunningSimulator) -> list[Any]:
    return [
        r
        for r in sim.requests()
        if r.method == "POST" and r.path.endswith("/sync") and r.status == 200
    ]


def test_each_pass_is_synced_exactly_once(pipeline: tuple[str, Services, RunningSimulator]) -> None:
    """Three passing builds of one app with two workers: each deployed or superseded, one sync each."""
    url, services, sim = pipeline
    commits = [f"{n:x}" * 40 for n in (10, 11, 12)]
    for commit in commits:
        assert _submit(url, commit[:40])["decision"] == "pass"
    _wait_all_ended(services, 3)
    with services.store.unit_of_work() as uow:
        jobs = uow.jobs.list(limit=10)
        assert uow.audit.verify() is None
    markers = [
        next(i["value"] for i in r.body["infos"] if i["name"] == MARKER_NAME)
        for r in _accepted_syncs(sim)
    ]
    assert len(markers) == len(set(markers)), "a job was synced twice"
    deployed = {j.id for j in jobs if j.state == "succeeded"}
    superseded = {j.id for j in jobs if j.state == "superseded"}
    assert set(markers) == deployed
    assert deployed | superseded == {j.id for j in jobs}
    assert deployed, "at least the newest build must be deployed"


@pytest.mark.parametrize("pipeline", [{"seconds": 0.3}], indirect=True)
def test_watch_drops_fall_back_to_polling(pipeline: tuple[str, Services, RunningSimulator]) -> None:
    """Watch streams cut after one event each: the job still ends deployed, with one sync."""
    url, services, sim = pipeline
    sim.set_faults({"dropWatchAfterEvents": 1})
    _submit(url, "ab" * 20)
    _wait_all_ended(services, 1)
    with services.store.unit_of_work() as uow:
        [job] = uow.jobs.list()
    assert job.state == "succeeded", job.error
    assert len(_accepted_syncs(sim)) == 1
    watches = [r for r in sim.requests() if r.path == "/api/v1/stream/applications"]
    assert len(watches) >= 1


def test_sync_request_and_response_are_logged(tmp_path: Path) -> None:
    """One structured event per sync request and per response, with the guide's fields."""
    from belay.deploy.spec import SyncSpec
    from belay.deploy.worker import Worker
    from belay.store import Store

    store = Store(f"sqlite:///{tmp_path / 'l.db'}")
    store.upgrade()
    with running_simulator(_state()) as sim:
        with store.unit_of_work() as uow:
            uow.jobs.enqueue(
                instance="default",
                application="guestbook",
                spec=SyncSpec(revision="c" * 40, approved_commit="c" * 40).model_dump(mode="json"),
                actor="t",
                revision="c" * 40,
                decision_id=None,
                now=datetime.now(UTC),
            )
            uow.commit()
        from belay.argocd import ArgoCDClient

        worker = Worker(
            store,
            lambda _i: ArgoCDClient(sim.url, username="admin", password="admin"),
            settings=_settings("sqlite://", tmp_path).worker,
        )
        with capture_logs() as logs:
            worker.run_once()
    request = next(e for e in logs if e["event"] == "deploy.sync_request")
    response = next(e for e in logs if e["event"] == "deploy.sync_response")
    assert {"timestamp", "application", "revision", "decision_id", "instance", "attempt"} <= set(
        request
    )
    assert {"http_status", "sync_status", "operation_phase", "error"} <= set(response)
    assert response["http_status"] == 200
    assert "admin" not in str(logs)
    store.dispose()
