"""The pure deploy decisions, one named case per branch (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest

from belay.argocd import Application
from belay.deploy import MARKER_NAME, Progress, SyncAction, assess, decide_sync

OURS = [{"name": MARKER_NAME, "value": "job-1"}]
THEIRS = [{"name": MARKER_NAME, "value": "job-0"}]
SHA = "a" * 40
OTHER_SHA = "b" * 40


def app(
    *,
    operation: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    health: str = "Healthy",
    reconciled: str | None = "2026-11-22T12:00:10Z",
    health_message: str = "",
) -> Application:
    """An Application as Argo CD returns it, with just the fields the decisions read."""
    status: dict[str, Any] = {
        "sync": {"status": "Synced", "revision": SHA},
        "health": {"status": health, "message": health_message},
    }
    if reconciled:
        status["reconciledAt"] = reconciled
    if state is not None:
        status["operationState"] = state
    body: dict[str, Any] = {"metadata": {"name": "guestbook"}, "status": status}
    if operation is not None:
        body["operation"] = operation
    return Application.model_validate(body)


def op_state(phase: str, info: list[dict[str, str]], **extra: Any) -> dict[str, Any]:
    """An operationState of a sync carrying ``info``."""
    return {
        "operation": {"sync": {"revision": SHA}, "info": info},
        "phase": phase,
        "startedAt": "2026-11-22T12:00:00Z",
        **extra,
    }


@pytest.mark.parametrize(
    ("application", "action", "reason"),
    [
        (app(), SyncAction.SYNC, "no operation"),
        (app(operation={"sync": {}, "info": OURS}), SyncAction.FOLLOW, "already in progress"),
        (
            app(operation={"sync": {}, "initiatedBy": {"username": "alice"}}),
            SyncAction.WAIT,
            "alice",
        ),
        (
            app(operation={"sync": {}, "initiatedBy": {"automated": True}}),
            SyncAction.WAIT,
            "automated",
        ),
        (app(state=op_state("Running", THEIRS)), SyncAction.WAIT, "still running"),
        (app(state=op_state("Succeeded", THEIRS)), SyncAction.SYNC, "no operation"),
        (
            app(state=op_state("Succeeded", OURS, syncResult={"revision": SHA})),
            SyncAction.FOLLOW,
            "already ran",
        ),
        (app(state=op_state("Failed", OURS)), SyncAction.FOLLOW, "already ran (Failed)"),
        (
            app(state=op_state("Succeeded", OURS, syncResult={"revision": OTHER_SHA})),
            SyncAction.SYNC,
            "not " + SHA,
        ),
    ],
    ids=[
        "idle",
        "ours-set",
        "someone-elses-set",
        "auto-sync-set",
        "someone-elses-running",
        "someone-elses-finished",
        "ours-succeeded",
        "ours-failed",
        "ours-at-wrong-revision",
    ],
)
def test_decide_sync(application: Application, action: SyncAction, reason: str) -> None:
    """Each observed state maps to one action, with a reason a person can read."""
    decision = decide_sync(application, marker="job-1", revision=SHA)
    assert decision.action is action
    assert reason in decision.reason


FINISHED = "2026-11-22T12:00:05Z"


@pytest.mark.parametrize(
    ("application", "progress", "reason"),
    [
        (app(operation={"sync": {}, "info": OURS}), Progress.PENDING, "not started"),
        (
            app(operation={"sync": {}, "info": OURS}, state=op_state("Running", OURS)),
            Progress.PENDING,
            "running",
        ),
        (
            app(
                operation={"sync": {}, "info": OURS},
                state=op_state(
                    "Running",
                    OURS,
                    finishedAt=FINISHED,
                    retryCount=1,
                    message="retrying attempt #1",
                ),
            ),
            Progress.PENDING,
            "Argo CD will retry",
        ),
        (
            app(
                state=op_state("Succeeded", OURS, finishedAt=FINISHED, syncResult={"revision": SHA})
            ),
            Progress.DEPLOYED,
            "synced and healthy",
        ),
        (
            app(
                state=op_state(
                    "Succeeded", OURS, finishedAt=FINISHED, syncResult={"revision": SHA}
                ),
                reconciled="2026-11-22T12:00:01Z",
            ),
            Progress.PENDING,
            "reconcile",
        ),
        (
            app(
                state=op_state(
                    "Succeeded", OURS, finishedAt=FINISHED, syncResult={"revision": SHA}
                ),
                reconciled=None,
            ),
            Progress.PENDING,
            "reconcile",
        ),
        (
            app(
                state=op_state(
                    "Succeeded", OURS, finishedAt=FINISHED, syncResult={"revision": SHA}
                ),
                health="Progressing",
            ),
            Progress.PENDING,
            "Progressing",
        ),
        (
            app(
                state=op_state(
                    "Succeeded", OURS, finishedAt=FINISHED, syncResult={"revision": SHA}
                ),
                health="Missing",
            ),
            Progress.PENDING,
            "Missing",
        ),
        (
            app(
                state=op_state(
                    "Succeeded", OURS, finishedAt=FINISHED, syncResult={"revision": SHA}
                ),
                health="Degraded",
                health_message="Deployment exceeded its progress deadline",
            ),
            Progress.FAILED,
            "progress deadline",
        ),
        (
            app(
                state=op_state(
                    "Failed",
                    OURS,
                    finishedAt=FINISHED,
                    message="one or more objects failed to apply",
                    syncResult={
                        "revision": SHA,
                        "resources": [
                            {
                                "kind": "Deployment",
                                "namespace": "web",
                                "name": "api",
                                "status": "SyncFailed",
                                "message": 'namespaces "web" not found',
                            },
                            {"kind": "Service", "name": "api", "status": "Synced"},
                        ],
                    },
                )
            ),
            Progress.FAILED,
            "failed to apply",
        ),
        (
            app(state=op_state("Error", OURS, finishedAt=FINISHED, message="boom")),
            Progress.FAILED,
            "sync error: boom",
        ),
        (
            app(
                state=op_state(
                    "Succeeded", OURS, finishedAt=FINISHED, syncResult={"revision": OTHER_SHA}
                )
            ),
            Progress.FAILED,
            "revision mismatch",
        ),
        (
            app(state=op_state("Succeeded", THEIRS, finishedAt=FINISHED)),
            Progress.PENDING,
            "not visible",
        ),
        (app(operation={"sync": {}, "initiatedBy": {"username": "bob"}}), Progress.PENDING, "bob"),
    ],
    ids=[
        "accepted",
        "running",
        "argo-retry-pending",
        "deployed",
        "reconciled-before-finish",
        "never-reconciled",
        "progressing",
        "missing",
        "degraded",
        "failed-with-resources",
        "error",
        "revision-mismatch",
        "someone-elses-state",
        "someone-elses-operation",
    ],
)
def test_assess(application: Application, progress: Progress, reason: str) -> None:
    """Each observation while following our sync has one meaning."""
    result = assess(application, marker="job-1", revision=SHA, pin_revision=True)
    assert result.progress is progress
    assert reason in result.reason


def test_assess_lists_failed_resources() -> None:
    """A failed sync names its failed resources and their messages."""
    application = app(
        state=op_state(
            "Failed",
            OURS,
            finishedAt=FINISHED,
            syncResult={
                "revision": SHA,
                "resources": [
                    {
                        "kind": "Deployment",
                        "namespace": "web",
                        "name": "api",
                        "status": "SyncFailed",
                        "message": "ns missing",
                    },
                    {"kind": "Service", "name": "api", "status": "Synced"},
                ],
            },
        )
    )
    result = assess(application, marker="job-1", revision=SHA, pin_revision=True)
    assert result.failed_resources == ("Deployment/web/api: ns missing",)


def test_head_mode_accepts_another_revision() -> None:
    """Without pinning (HEAD/branch mode), the resolved revision is recorded, not refused."""
    application = app(
        state=op_state("Succeeded", OURS, finishedAt=FINISHED, syncResult={"revision": OTHER_SHA})
    )
    result = assess(application, marker="job-1", revision=None, pin_revision=False)
    assert result.progress is Progress.DEPLOYED
    assert result.synced_revision == OTHER_SHA


def test_dry_run_needs_no_health() -> None:
    """A dry run is done when its operation succeeded, whatever the health."""
    application = app(
        state=op_state("Succeeded", OURS, finishedAt=FINISHED, syncResult={"revision": SHA}),
        health="Progressing",
        reconciled=None,
    )
    result = assess(application, marker="job-1", revision=SHA, pin_revision=True, dry_run=True)
    assert result.progress is Progress.DEPLOYED
