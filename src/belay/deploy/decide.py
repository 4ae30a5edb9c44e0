"""The deploy decisions, pure: whether to send a sync, and what the application's state means.

Both functions look only at an :class:`~belay.argocd.Application` as Argo CD returned it, plus our
marker: the value of the ``infos`` entry (:data:`MARKER_NAME`) that every Belay sync carries and
that Argo CD copies into ``operation.info`` and then ``status.operationState.operation.info``.
That marker is how a restarted worker recognises its own operation instead of syncing twice.

:func:`decide_sync`   before sending: SYNC, WAIT (an operation is running) or FOLLOW (ours exists).
:func:`assess`        while waiting: PENDING (keep waiting, with why), DEPLOYED or FAILED.

The completion rule follows ``argocd app wait``: the top-level ``operation`` is gone, the phase is
Succeeded/Failed/Error (``Running`` with ``finishedAt`` is a pending Argo CD retry), the controller
has reconciled after the operation finished, and health is Healthy (deployed) or Degraded
(failed); Missing and Progressing mean not ready yet.
"""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from belay.argocd.models import Application, Operation, OperationState
from belay.deploy.revision import revision_matches

__all__ = [
    "MARKER_NAME",
    "Assessment",
    "Progress",
    "SyncAction",
    "SyncDecision",
    "assess",
    "decide_sync",
]

MARKER_NAME = "belay-job"
"""The ``infos`` name under which a sync carries Belay's job marker."""

_ENDED = frozenset({"Succeeded", "Failed", "Error"})
_RUNNING = frozenset({"Running", "Terminating"})


class SyncAction(enum.StrEnum):
    """What to do before sending a sync."""

    SYNC = "sync"
    WAIT = "wait"
    FOLLOW = "follow"


class SyncDecision(BaseModel):
    """The decision and why, for the log and the audit trail."""

    model_config = ConfigDict(frozen=True)

    action: SyncAction
    reason: str


class Progress(enum.StrEnum):
    """Where a followed deployment stands."""

    PENDING = "pending"
    DEPLOYED = "deployed"
    FAILED = "failed"


class Assessment(BaseModel):
    """The meaning of one observation of the application while following our sync."""

    model_config = ConfigDict(frozen=True)

    progress: Progress
    reason: str
    phase: str = ""
    message: str = ""
    synced_revision: str = ""
    sync_status: str = ""
    health: str = ""
    retry_count: int = 0
    finished_at: datetime | None = None
    failed_resources: tuple[str, ...] = ()


def _carries(marker: str, operation: Operation | None) -> bool:
    return operation is not None and any(
        info.name == MARKER_NAME and info.value == marker for info in operation.info
    )


def _state_is_ours(marker: str, state: OperationState | None) -> bool:
    return state is not None and _carries(marker, state.operation)


def _resolved(state: OperationState) -> str:
    """The revision Argo CD set on the operation (a ref's resolved SHA)."""
    sync = state.operation.sync
    return sync.revision if sync is not None else ""


def _initiator(operation: Operation) -> str:
    who = operation.initiated_by
    if who.automated:
        return "automated sync"
    return who.username or "someone else"


def decide_sync(app: Application, *, marker: str, revision: str | None) -> SyncDecision:
    """Decide whether to send our sync now.

    * our operation is set or ran already → FOLLOW it (never a second sync for one job), unless it
      succeeded at a different revision than wanted, which means it must be synced again;
    * someone else's operation is set or still running → WAIT (Argo CD does not queue syncs);
    * otherwise → SYNC.
    """
    state = app.status.operation_state
    if _carries(marker, app.operation):
        return SyncDecision(action=SyncAction.FOLLOW, reason="our sync is already in progress")
    if app.operation is not None:
        return SyncDecision(
            action=SyncAction.WAIT,
            reason=f"another operation is in progress ({_initiator(app.operation)})",
        )
    if _state_is_ours(marker, state):
        assert state is not None
        result_revision = state.sync_result.revision if state.sync_result else ""
        if state.phase == "Succeeded" and not revision_matches(
            revision or "", result_revision, resolved=_resolved(state)
        ):
            return SyncDecision(
                action=SyncAction.SYNC,
                reason=f"our earlier sync ended at {result_revision}, not {revision}",
            )
        return SyncDecision(
            action=SyncAction.FOLLOW, reason=f"our sync already ran ({state.phase})"
        )
    if state is not None and state.phase in _RUNNING:
        return SyncDecision(
            action=SyncAction.WAIT,
            reason=f"another operation is still {state.phase.lower()}",
        )
    return SyncDecision(action=SyncAction.SYNC, reason="no operation in progress")


def assess(
    app: Application,
    *,
    marker: str,
    revision: str | None,
    pin_revision: bool,
    dry_run: bool = False,
) -> Assessment:
    """Judge one observation of the application while following our sync.

    ``revision`` is the commit we asked for; with ``pin_revision`` (``sync.revision: commit``) a
    successful sync at any other revision is a failure (``revision mismatch``). A short SHA or a
    ref we sent is compared with the full SHA Argo CD synced by :func:`revision_matches`.
    """
    state = app.status.operation_state
    health = app.status.health.status
    sync_status = app.status.sync.status
    base = {"health": health, "sync_status": sync_status}
    if _carries(marker, app.operation) and not _state_is_ours(marker, state):
        return Assessment(
            progress=Progress.PENDING, reason="sync accepted, not started yet", **base
        )
    if not _state_is_ours(marker, state):
        if app.operation is not None:
            return Assessment(
                progress=Progress.PENDING,
                reason=f"another operation took over ({_initiator(app.operation)})",
                **base,
            )
        return Assessment(
            progress=Progress.PENDING, reason="our operation is not visible yet", **base
        )
    assert state is not None
    result = state.sync_result
    details = {
        "phase": state.phase,
        "message": state.message,
        "synced_revision": result.revision if result else "",
        "retry_count": state.retry_count,
        "finished_at": state.finished_at,
        "failed_resources": tuple(
            f"{r.kind}/{r.namespace + '/' if r.namespace else ''}{r.name}: {r.message}".rstrip(": ")
            for r in (result.resources if result else [])
            if r.status == "SyncFailed" or r.hook_phase in ("Failed", "Error")
        ),
        **base,
    }
    if app.operation is not None or state.phase not in _ENDED:
        if state.phase == "Running" and state.finished_at is not None:
            reason = f"attempt {state.retry_count} failed, Argo CD will retry: {state.message}"
        else:
            reason = f"operation {state.phase.lower() or 'pending'}"
        return Assessment(progress=Progress.PENDING, reason=reason, **details)
    if state.phase in ("Failed", "Error"):
        return Assessment(
            progress=Progress.FAILED,
            reason=f"sync {state.phase.lower()}: {state.message}".rstrip(": "),
            **details,
        )
    synced = result.revision if result else ""
    if pin_revision and not revision_matches(revision or "", synced, resolved=_resolved(state)):
        return Assessment(
            progress=Progress.FAILED,
            reason=f"revision mismatch: Argo CD synced {synced}, the approved commit is {revision}",
            **details,
        )
    if dry_run:
        return Assessment(progress=Progress.DEPLOYED, reason="dry run succeeded", **details)
    reconciled = app.status.reconciled_at
    if reconciled is None or (state.finished_at is not None and reconciled < state.finished_at):
        return Assessment(
            progress=Progress.PENDING, reason="waiting for Argo CD to reconcile", **details
        )
    if health == "Healthy":
        return Assessment(progress=Progress.DEPLOYED, reason="synced and healthy", **details)
    if health == "Degraded":
        message = app.status.health.message
        reason = f"application is Degraded{': ' + message if message else ''}"
        return Assessment(progress=Progress.FAILED, reason=reason, **details)
    return Assessment(
        progress=Progress.PENDING,
        reason=f"health is {health or 'unknown'}, not ready yet",
        **details,
    )
