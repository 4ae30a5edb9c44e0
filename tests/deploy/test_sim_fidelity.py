"""The deploy worker against the simulator's realistic behaviours (issue 17).

Revisions resolved by Argo CD (short SHA, tag, branch, HEAD), transient repo-server errors,
retry backoff under the job's deadline, termination on time-out, and the refresh that follows
an operation. Waits are real but scaled by the state's ``timeScale``; nothing asserts a duration.
"""

from __future__ import annotations

from typing import Any

import pytest

from belay.argocd import ArgoCDClient
from belay.config.settings import BelaySettings
from belay.deploy.decide import assess
from belay.deploy.manual import queue_manual_sync
from belay.deploy.revision import revision_matches
from belay.deploy.spec import SyncSpec
from belay.deploy.worker import Worker
from belay.sim.sample import sample_state
from belay.sim.testing import running_simulator
from belay.store import JobRecord, Store

from .test_worker import FAST, _clients, _enqueue

APP = "guestbook"
REPO = "https://github.com/argoproj/argocd-example-apps.git"
SHA_MAIN = "1111111111111111111111111111111111111111"
SHA_TAG = "2222222222222222222222222222222222222222"
SHA_OLD = "3a4b5c6d7e8f90123456789abcdef0123456789a"


def _state(*, time_scale: float = 1.0, **behavior: Any) -> dict[str, Any]:
    state = sample_state()
    state["syncBehavior"] = {APP: {"seconds": 0.05, "health": "Healthy", **behavior}}
    state["repositories"] = {
        REPO: {
            "refs": {"HEAD": SHA_MAIN, "main": SHA_MAIN, "v1.4.3": SHA_TAG},
            "commits": [SHA_MAIN, SHA_TAG, SHA_OLD],
        }
    }
    state["timeScale"] = time_scale
    return state


def _done(store: Store, job: JobRecord) -> JobRecord:
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
    assert done is not None
    return done


def _audit(store: Store, job: JobRecord, kind: str) -> list[dict[str, Any]]:
    with store.unit_of_work() as uow:
        return [e.data for e in uow.audit.list(job_id=job.id) if e.kind == kind]


@pytest.mark.parametrize(
    ("wanted", "synced", "resolved", "matches"),
    [
        (SHA_MAIN, SHA_MAIN, SHA_MAIN, True),
        (SHA_MAIN.upper(), SHA_MAIN, SHA_MAIN, True),
        (SHA_MAIN, SHA_TAG, SHA_MAIN, False),
        ("3a4b5c6", SHA_OLD, "3a4b5c6", True),
        ("3a4b5c6", SHA_MAIN, "3a4b5c6", False),
        ("v1.4.3", SHA_TAG, SHA_TAG, True),
        ("v1.4.3", SHA_MAIN, SHA_TAG, False),
        ("2024010", SHA_TAG, SHA_TAG, True),  # a hex-looking tag Argo CD resolved as a ref
        ("main", SHA_MAIN, "main", True),  # resolution unknown: nothing to compare with
        ("", SHA_MAIN, "", True),
    ],
)
def test_revision_matches(wanted: str, synced: str, resolved: str, matches: bool) -> None:
    """A short SHA, tag or branch matches the full SHA Argo CD synced for it."""
    assert revision_matches(wanted, synced, resolved=resolved) is matches


@pytest.mark.parametrize(("sent", "concrete"), [("3a4b5c6", SHA_OLD), ("v1.4.3", SHA_TAG)])
def test_manual_sync_of_short_sha_or_tag_succeeds(store: Store, sent: str, concrete: str) -> None:
    """``belay sync APP --revision <short SHA|tag>`` is not failed as a revision mismatch."""
    with running_simulator(_state()) as sim:
        job = queue_manual_sync(
            store, BelaySettings(), application=APP, revision=sent, actor="alice"
        )
        Worker(store, _clients(sim), settings=FAST).run_once()
    done = _done(store, job)
    assert done.state == "succeeded", done.error
    assert done.outcome is not None
    assert done.outcome["assessment"]["synced_revision"] == concrete


@pytest.mark.parametrize("mode", ["HEAD", "branch"])
def test_head_and_branch_modes_record_the_resolved_sha(store: Store, mode: str) -> None:
    """In HEAD and branch mode the audit trail holds the SHA Argo CD resolved, from the sync's
    answer on, not only the ref."""
    with running_simulator(_state()) as sim:
        job = _enqueue(store, commit=SHA_OLD, revision=mode)
        Worker(store, _clients(sim), settings=FAST).run_once()
    assert _done(store, job).state == "succeeded"
    [requested] = _audit(store, job, "sync.requested")
    sent = "HEAD" if mode == "HEAD" else "main"
    assert (requested["revision"], requested["resolved_revision"]) == (sent, SHA_MAIN)
    [finished] = _audit(store, job, "operation.finished")
    assert finished["synced_revision"] == SHA_MAIN
    assert finished["approved_commit"] == SHA_OLD


def test_transient_repo_errors_are_retried(store: Store) -> None:
    """Code-9 answers saying the repository could not be reached are retried, then succeed."""
    state = _state()
    state["faults"] = {"repoErrors": 2}
    with running_simulator(state) as sim:
        job = _enqueue(store)
        Worker(store, _clients(sim), settings=FAST).run_once()
        statuses = [r.status for r in sim.requests() if r.path.endswith("/sync")]
    assert _done(store, job).state == "succeeded"
    assert statuses == [400, 400, 200]


def test_unknown_branch_is_retried_until_the_deadline(store: Store) -> None:
    """A branch Argo CD cannot resolve (maybe not pushed yet) is retried, within the deadline."""
    with running_simulator(_state()) as sim:
        job = _enqueue(store, revision="release-9", timeout=0.5)
        Worker(store, _clients(sim), settings=FAST).run_once()
        refused = [r for r in sim.requests() if r.path.endswith("/sync") and r.status == 400]
    assert _done(store, job).state == "timed_out"
    assert len(refused) >= 2


def test_backoff_retries_succeed_within_the_deadline(store: Store) -> None:
    """Two failed attempts, each followed by Argo CD's real backoff (scaled), then success."""
    with running_simulator(_state(time_scale=40, failAttempts=2, message="boom")) as sim:
        job = _enqueue(store, timeout=30)
        Worker(store, _clients(sim), settings=FAST).run_once()
    assert _done(store, job).state == "succeeded"
    retries = _audit(store, job, "operation.retrying")
    assert [r["retry_count"] for r in retries] == [1, 2]
    assert all("Retrying attempt #" in r["message"] for r in retries)


@pytest.mark.parametrize("terminate", [True, False])
def test_timeout_during_backoff(store: Store, terminate: bool) -> None:
    """A job whose sync keeps failing times out while Argo CD backs off; with
    ``terminateOnTimeout`` the operation is terminated, otherwise left running."""
    with running_simulator(_state(time_scale=10, phase="Failed", message="boom")) as sim:
        job = _enqueue(store, timeout=1.5, terminateOnTimeout=terminate)
        Worker(store, _clients(sim), settings=FAST).run_once()
        if terminate:
            app = sim.wait_for(APP, lambda a: "operation" not in a)
        else:
            app = sim.application(APP)
    done = _done(store, job)
    assert done.state == "timed_out"
    state = app["status"]["operationState"]
    if terminate:
        assert "the operation was terminated" in (done.error or "")
        assert (state["phase"], state["message"]) == ("Failed", "Operation terminated")
    else:
        assert "operation" in app
        assert state["phase"] == "Running"


def _reasons_after_sync(state: dict[str, Any], last: str) -> list[str]:
    """Sync while watching; ``assess``'s reason for every observation, until ``last``."""
    marker = "job-1"
    spec = SyncSpec(revision_mode="HEAD", revision="HEAD")
    reasons: list[str] = []
    with (
        running_simulator(state) as sim,
        ArgoCDClient(sim.url, username="admin", password="admin") as client,
    ):
        events = client.watch_applications(name=APP, read_timeout=5)
        next(events)  # ADDED
        client.sync(APP, spec.request(marker=marker, decision_id=None))
        for event in events:
            result = assess(event.application, marker=marker, revision=None, pin_revision=False)
            reasons.append(result.reason)
            if result.reason == last or result.progress.value != "pending":
                break
    return reasons


def test_reconciled_but_progressing_is_waited_for() -> None:
    """After the operation, Belay first waits for the refresh, then for health: the
    "reconciled but Progressing" branch of ``assess`` runs before "synced and healthy"."""
    reasons = _reasons_after_sync(
        _state(healthSeconds=0.3, reconcileSeconds=0.1), "synced and healthy"
    )
    assert reasons[-1] == "synced and healthy"
    waiting = reasons.index("waiting for Argo CD to reconcile")
    progressing = reasons.index("health is Progressing, not ready yet")
    assert waiting < progressing < len(reasons) - 1


def test_reconciled_but_missing_is_not_deployed() -> None:
    """A refresh that ends Missing keeps the job pending ("health is Missing, not ready yet")."""
    reasons = _reasons_after_sync(_state(health="Missing"), "health is Missing, not ready yet")
    assert reasons[-1] == "health is Missing, not ready yet"
    assert "synced and healthy" not in reasons


def test_sha256_commits_are_full_commits() -> None:
    """A 64-hex commit (a SHA-256 repository) is a full commit: another one does not match it.
    It used to fall through to 'a ref Belay cannot resolve', which matched anything."""
    from belay.deploy.revision import is_full_sha, is_short_sha, revision_matches

    assert is_full_sha("a" * 64) and not is_short_sha("a" * 64)
    assert not revision_matches("a" * 64, "b" * 64)
    assert revision_matches("a" * 64, "A" * 64)
    assert not revision_matches("a" * 64, "b" * 64, resolved="a" * 64)
