"""The follow step's pure decision: notes written once each, and the outcome when final."""

from __future__ import annotations

from belay.deploy.follow_step import observe
from belay.deploy.spec import SyncSpec

from .test_decide import OURS, SHA, THEIRS, app, op_state

SPEC = SyncSpec(revision=SHA, approved_commit=SHA)


def test_pending_while_our_operation_runs() -> None:
    """Our operation running: one 'operation.started' note and no outcome."""
    seen = observe(
        app(operation={"sync": {}, "info": OURS}, state=op_state("Running", OURS)),
        marker="job-1",
        spec=SPEC,
    )
    assert [n.kind for n in seen.notes] == ["operation.started"]
    assert seen.outcome is None


def test_notes_already_recorded_are_left_out() -> None:
    """A note whose key was recorded is not produced again."""
    seen = observe(
        app(operation={"sync": {}, "info": OURS}, state=op_state("Running", OURS)),
        marker="job-1",
        spec=SPEC,
        recorded={"op-started"},
    )
    assert seen.notes == ()


def test_succeeded_and_healthy_is_deployed() -> None:
    """Ended, reconciled and Healthy: succeeded, with the operation's end noted."""
    seen = observe(
        app(state=op_state("Succeeded", OURS, syncResult={"revision": SHA})),
        marker="job-1",
        spec=SPEC,
        recorded={"op-started"},
    )
    assert [n.kind for n in seen.notes] == ["operation.finished"]
    assert seen.outcome is not None and seen.outcome.state == "succeeded"


def test_failed_operation_fails_the_job() -> None:
    """Our operation Failed: the job fails with Argo CD's message."""
    seen = observe(app(state=op_state("Failed", OURS, message="boom")), marker="job-1", spec=SPEC)
    assert seen.outcome is not None and seen.outcome.state == "failed"
    assert "boom" in seen.outcome.reason


def test_someone_elses_operation_is_not_ours() -> None:
    """Another job's finished operation decides nothing for this one."""
    seen = observe(app(state=op_state("Succeeded", THEIRS)), marker="job-1", spec=SPEC)
    assert seen.outcome is None and seen.notes == ()


def test_argo_retrying_is_noted_per_attempt() -> None:
    """Argo CD retrying (Running with finishedAt) notes each retry once, keyed by its count."""
    state = op_state(
        "Running", OURS, finishedAt="2026-11-22T12:00:05Z", retryCount=2, message="again"
    )
    seen = observe(
        app(operation={"sync": {}, "info": OURS}, state=state), marker="job-1", spec=SPEC
    )
    assert {n.once for n in seen.notes} == {"op-started", "retry-2"}
    assert seen.outcome is None
