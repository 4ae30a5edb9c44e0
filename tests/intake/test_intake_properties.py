"""Generated hostile bundles against a served gate: never a 5xx, never a pass on a failing report,
never a job for one, and no planted secret in anything stored or answered."""

from __future__ import annotations

import base64
import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from tests.gate.bundle_strategies import CANARY, COMMIT, hostile_bundles

from .conftest import OTHER_TOKEN, REMOTE, TOKEN, WEBHOOK_KEY, Gate, post, start_gate


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gate]:
    """One gate on SQLite for all the examples (a gate per example would take minutes)."""
    tmp: Path = tmp_path_factory.mktemp("properties")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BELAY_TOKEN_EXAMPLE_APP", TOKEN)
        env.setenv("BELAY_TOKEN_OTHER", OTHER_TOKEN)
        env.setenv(
            "BELAY_WEBHOOK_SECRET_EXAMPLE_APP", "whsec_" + base64.b64encode(WEBHOOK_KEY).decode()
        )
        yield from start_gate(tmp, f"sqlite:///{tmp / 'belay.db'}")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=hostile_bundles(commit=COMMIT, remote=REMOTE))
def test_served_gate_never_fails_open(served: Gate, case: tuple[bytes, bool, bool]) -> None:
    """Each generated delivery gets a 200 verdict (or a one-line 4xx), never 5xx or a leak."""
    blob, failing, _ = case
    response = post(served, blob)
    assert response.status_code < 500, response.text[:300]
    assert CANARY not in response.text
    if response.status_code != 200:
        assert "error" in response.json()
        return
    verdict = response.json()["verdict"]
    if failing:
        assert verdict["decision"] == "fail", verdict
        submission_id = verdict["detailsUrl"].rsplit("/", 1)[1]
        with served.services.store.unit_of_work() as uow:
            submission = uow.submissions.get(submission_id)
            assert submission is not None
            assert uow.jobs.for_decision(submission.decision_id or "") == []
    with served.services.store.unit_of_work() as uow:
        stored = uow.submissions.bundle(verdict["detailsUrl"].rsplit("/", 1)[1])
    if stored is not None:
        assert CANARY.encode() not in gzip.decompress(stored)
