"""A gate override shows in the decision API's answer for that revision."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import FAIL_COMMIT, PASS_COMMIT, Belay, read_headers


def _decision(running: Belay, revision: str) -> dict[str, Any]:
    response = httpx.get(
        f"{running.url}/api/v1/decisions",
        params={"application": "guestbook", "revision": revision},
        headers=read_headers(),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_decision_api_shows_the_override(
    deployed: tuple[Belay, dict[str, Any], dict[str, Any]],
) -> None:
    """After `belay sync --override-gate`, the failing revision's answer names who, why, the job
    and its state, while `deployed` stays false (a gate reading it is never satisfied by an
    override); a revision nobody overrode has ``override: null``."""
    running, _passing, _failing = deployed
    assert _decision(running, FAIL_COMMIT)["override"] is None
    running.override_sync(FAIL_COMMIT, reason="vm2 unused in production", actor="carol")
    running.wait_for_job("succeeded")
    answer = _decision(running, FAIL_COMMIT)
    assert answer["decision"] == "fail" and answer["approved"] is False
    assert answer["deployment"] == "none" and answer["deployed"] is False
    override = answer["override"]
    assert override["by"] == "carol"
    assert override["reason"] == "vm2 unused in production"
    assert override["gate"] == "fail"
    assert override["jobState"] == "succeeded"
    with running.services.store.unit_of_work() as uow:
        job = uow.jobs.get(override["jobId"])
    assert job is not None and job.revision == FAIL_COMMIT and job.actor == "manual:carol"
    assert _decision(running, PASS_COMMIT)["override"] is None
