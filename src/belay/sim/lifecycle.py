"""The simulated application controller: pure transitions of one Application's JSON.

``advance(app, clock, behavior, now)`` returns the next state, as Argo CD's controller drives it
(``controller/appcontroller.go``): a requested ``operation`` becomes ``operationState`` Running with
``startedAt``; a failing attempt with retries left shows the retry state (Running, ``finishedAt``
and ``retryCount`` set, ``... Retrying attempt #N at 3:04PM.``); the final attempt ends Succeeded,
Failed or Error, removes ``operation``, fills ``syncResult``, updates ``sync`` and appends history
(successful full non-dry-run syncs only); then health moves from Progressing to the behaviour's
health and ``reconciledAt`` passes ``finishedAt``. ``Terminating`` (set by the API) ends Failed
``Operation terminated``. Nothing here does I/O or reads a clock: time is the ``now`` argument.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from belay.sim.state import Behavior
from belay.sim.wire import format_time, kitchen_time, parse_time

__all__ = [
    "AppEvent",
    "OpClock",
    "Step",
    "advance",
    "operation_revision",
    "retry_limit",
]

RUNNING_MESSAGE = "one or more tasks are running"
SUCCESS_MESSAGE = "successfully synced (all tasks run)"
FAILED_MESSAGE = "one or more objects failed to apply, reason: simulated failure"
ERROR_MESSAGE = "simulated error"
DEFAULT_HISTORY_LIMIT = 10
_WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Rollout", "Pod"}


@dataclass(frozen=True)
class OpClock:
    """Scheduler data the controller keeps outside the Application JSON."""

    stage: Literal["running", "retry_wait", "settling"]
    due: float
    attempt: int = 0
    health: str | None = None


@dataclass(frozen=True)
class AppEvent:
    """A Kubernetes event the controller records about the application."""

    reason: str
    message: str
    type: Literal["Normal", "Warning"] = "Normal"
    component: str = "argocd-application-controller"


@dataclass(frozen=True)
class Step:
    """The result of :func:`advance`; ``changed`` is false when nothing happened."""

    app: dict[str, Any]
    clock: OpClock | None
    events: tuple[AppEvent, ...] = ()
    changed: bool = False


def operation_revision(operation: dict[str, Any]) -> str:
    """The revision an operation syncs to."""
    return str((operation.get("sync") or {}).get("revision") or "")


def retry_limit(operation: dict[str, Any]) -> int:
    """How many retries the operation allows (a negative limit means unlimited in Argo CD)."""
    limit = (operation.get("retry") or {}).get("limit") or 0
    try:
        value = int(limit)
    except (TypeError, ValueError):
        return 0
    return 1_000_000 if value < 0 else value


def advance(app: dict[str, Any], clock: OpClock | None, behavior: Behavior, now: float) -> Step:
    """Move ``app`` one transition forward if one is due at ``now``."""
    status = app.get("status") or {}
    operation = app.get("operation")
    state = status.get("operationState")
    if state is not None and state.get("phase") == "Terminating" and operation is not None:
        return _terminate(app, now)
    if clock is None:
        if operation is not None and state is None:
            return _start(app, operation, behavior, now)
        return Step(app, None)
    if now < clock.due:
        return Step(app, clock)
    if clock.stage == "settling":
        return _settle(app, clock, now)
    if operation is None or state is None:
        return Step(app, None)  # someone removed it (e.g. the state was replaced)
    outcome = behavior.for_revision(operation_revision(operation))
    if clock.stage == "retry_wait":
        return _retry_start(app, clock, outcome, now)
    return _finish_attempt(app, clock, outcome, now)


def _start(app: dict[str, Any], operation: dict[str, Any], behavior: Behavior, now: float) -> Step:
    new = copy.deepcopy(app)
    new.setdefault("status", {})["operationState"] = {
        "operation": copy.deepcopy(operation),
        "phase": "Running",
        "message": RUNNING_MESSAGE,
        "startedAt": format_time(now),
    }
    outcome = behavior.for_revision(operation_revision(operation))
    return Step(new, OpClock("running", now + outcome.seconds, 0), (), True)


def _retry_start(app: dict[str, Any], clock: OpClock, outcome: Behavior, now: float) -> Step:
    new = copy.deepcopy(app)
    state = new["status"]["operationState"]
    state["phase"] = "Running"
    state["message"] = RUNNING_MESSAGE
    state.pop("finishedAt", None)
    state.pop("syncResult", None)
    return Step(new, OpClock("running", now + outcome.seconds, clock.attempt + 1), (), True)


def _attempt_fails(outcome: Behavior, attempt: int) -> bool:
    return outcome.phase != "Succeeded" or attempt < outcome.fail_attempts


def _failure_message(outcome: Behavior, phase: str) -> str:
    if outcome.message:
        return outcome.message
    return ERROR_MESSAGE if phase == "Error" else FAILED_MESSAGE


def _finish_attempt(app: dict[str, Any], clock: OpClock, outcome: Behavior, now: float) -> Step:
    new = copy.deepcopy(app)
    status = new["status"]
    state = status["operationState"]
    operation = new["operation"]
    sync_op = operation.get("sync") or {}
    revision = operation_revision(operation)
    fails = _attempt_fails(outcome, clock.attempt)
    retry_count = int(state.get("retryCount") or 0)
    if fails and retry_count < retry_limit(operation):
        phase_failed = "Error" if outcome.phase == "Error" else "Failed"
        message = _failure_message(outcome, phase_failed)
        retry_count += 1
        wait = outcome.retry_seconds if outcome.retry_seconds is not None else outcome.seconds
        state.update(
            phase="Running",
            message=f"{message}. Retrying attempt #{retry_count} at {kitchen_time(now + wait)}.",
            finishedAt=format_time(now),
            retryCount=retry_count,
            syncResult=_sync_result(new, sync_op, revision, failed_message=message),
        )
        return Step(new, OpClock("retry_wait", now + wait, clock.attempt), (), True)

    phase = ("Failed" if outcome.phase == "Succeeded" else outcome.phase) if fails else "Succeeded"
    dry_run = bool(sync_op.get("dryRun"))
    partial = bool(sync_op.get("resources"))
    if fails:
        message = _failure_message(outcome, phase)
        state["syncResult"] = _sync_result(new, sync_op, revision, failed_message=message)
        if retry_count:
            message = f"{message} (retried {retry_count} times)."
    else:
        message = SUCCESS_MESSAGE
        state["syncResult"] = _sync_result(new, sync_op, revision, failed_message=None)
    state.update(phase=phase, message=message, finishedAt=format_time(now))
    del new["operation"]

    events = []
    kind = "Partial sync" if partial else "Sync"
    if fails:
        events.append(
            AppEvent(
                "OperationCompleted", f"{kind} operation to {revision} failed: {message}", "Warning"
            )
        )
    else:
        events.append(AppEvent("OperationCompleted", f"{kind} operation to {revision} succeeded"))

    target_health = outcome.health
    if target_health is None and not fails:
        target_health = "Healthy"
    if dry_run:
        return Step(new, None, tuple(events), True)
    if not fails:
        events.extend(_apply_success(new, sync_op, revision, state, outcome, now, partial))
    if target_health is not None:
        events.extend(_set_health(new, "Progressing", now))
    return Step(
        new,
        OpClock("settling", now + outcome.health_seconds, clock.attempt, target_health),
        tuple(events),
        True,
    )


def _settle(app: dict[str, Any], clock: OpClock, now: float) -> Step:
    new = copy.deepcopy(app)
    status = new.setdefault("status", {})
    events: list[AppEvent] = []
    if clock.health is not None:
        events.extend(_set_health(new, clock.health, now))
        for resource in status.get("resources") or []:
            if resource.get("kind") in _WORKLOAD_KINDS and "health" in resource:
                resource["health"] = {"status": clock.health}
    finished = (status.get("operationState") or {}).get("finishedAt")
    reconciled = now
    if finished:
        # reconciledAt must come strictly after finishedAt, as after the controller's refresh.
        reconciled = max(now, parse_time(finished) + 1)
    status["reconciledAt"] = format_time(reconciled)
    return Step(new, None, tuple(events), True)


def _terminate(app: dict[str, Any], now: float) -> Step:
    new = copy.deepcopy(app)
    state = new["status"]["operationState"]
    state.update(phase="Failed", message="Operation terminated", finishedAt=format_time(now))
    revision = operation_revision(new["operation"])
    del new["operation"]
    event = AppEvent(
        "OperationCompleted",
        f"Sync operation to {revision} failed: Operation terminated",
        "Warning",
    )
    return Step(new, None, (event,), True)


def _set_health(app: dict[str, Any], health: str, now: float) -> list[AppEvent]:
    status = app.setdefault("status", {})
    current = status.get("health") or {}
    old = current.get("status", "")
    if old == health:
        return []
    status["health"] = {"status": health, "lastTransitionTime": format_time(now)}
    return [AppEvent("ResourceUpdated", f"Updated health status: {old} -> {health}")]


def _ref(resource: dict[str, Any]) -> tuple[str, str, str, str]:
    return (
        resource.get("group", ""),
        resource.get("kind", ""),
        resource.get("namespace", ""),
        resource.get("name", ""),
    )


def _selected(app: dict[str, Any], sync_op: dict[str, Any]) -> list[dict[str, Any]]:
    resources = (app.get("status") or {}).get("resources") or []
    wanted = sync_op.get("resources")
    if not wanted:
        return [r for r in resources if not r.get("hook")]
    keys = {(w.get("group", ""), w.get("kind", ""), w.get("name", "")) for w in wanted}
    return [r for r in resources if (r.get("group", ""), r.get("kind", ""), r.get("name")) in keys]


def _sync_result(
    app: dict[str, Any], sync_op: dict[str, Any], revision: str, *, failed_message: str | None
) -> dict[str, Any]:
    result: dict[str, Any] = {"revision": revision}
    if sync_op.get("source") is not None:
        result["source"] = copy.deepcopy(sync_op["source"])
    reason = failed_message or ""
    if "reason: " in reason:
        reason = reason.split("reason: ", 1)[1]
    results = []
    for resource in _selected(app, sync_op):
        group, kind, namespace, name = _ref(resource)
        entry: dict[str, Any] = {
            "group": group,
            "version": resource.get("version", ""),
            "kind": kind,
            "namespace": namespace,
            "name": name,
            "syncPhase": "Sync",
        }
        noun = f"{kind.lower()}.{group}" if group else kind.lower()
        if failed_message is not None:
            entry.update(status="SyncFailed", message=reason, hookPhase="Failed")
        elif resource.get("requiresPruning"):
            if sync_op.get("prune"):
                entry.update(status="Pruned", message="pruned", hookPhase="Succeeded")
            else:
                entry.update(status="PruneSkipped", message="ignored (requires pruning)")
        else:
            entry.update(status="Synced", message=f"{noun}/{name} configured", hookPhase="Running")
        results.append(entry)
    if results:
        result["resources"] = results
    return result


def _apply_success(
    app: dict[str, Any],
    sync_op: dict[str, Any],
    revision: str,
    state: dict[str, Any],
    outcome: Behavior,
    now: float,
    partial: bool,
) -> list[AppEvent]:
    status = app.setdefault("status", {})
    selected = {_ref(r) for r in _selected(app, sync_op)}
    kept = []
    for resource in status.get("resources") or []:
        if _ref(resource) in selected:
            if resource.get("requiresPruning"):
                if sync_op.get("prune"):
                    continue
            else:
                resource["status"] = "Synced"
        kept.append(resource)
    if "resources" in status:
        status["resources"] = kept
    sync = status.setdefault("sync", {})
    old_sync = sync.get("status", "")
    all_synced = all(r.get("status") == "Synced" for r in kept if not r.get("hook"))
    new_sync = "Synced" if all_synced else "OutOfSync"
    sync["status"] = new_sync
    sync["revision"] = revision
    spec = app.get("spec") or {}
    compared: dict[str, Any] = {"destination": copy.deepcopy(spec.get("destination") or {})}
    if spec.get("source") is not None:
        compared["source"] = copy.deepcopy(spec["source"])
    if spec.get("sources"):
        compared["sources"] = copy.deepcopy(spec["sources"])
    sync["comparedTo"] = compared
    if outcome.images is not None:
        status.setdefault("summary", {})["images"] = list(outcome.images)
    if not partial:
        history = list(status.get("history") or [])
        next_id = int(history[-1].get("id", -1)) + 1 if history else 0
        entry: dict[str, Any] = {
            "id": next_id,
            "revision": revision,
            "deployStartedAt": state.get("startedAt"),
            "deployedAt": format_time(now),
            "initiatedBy": copy.deepcopy((state.get("operation") or {}).get("initiatedBy") or {}),
        }
        if sync_op.get("source") is not None:
            entry["source"] = copy.deepcopy(sync_op["source"])
        history.append(entry)
        limit = spec.get("revisionHistoryLimit")
        limit = DEFAULT_HISTORY_LIMIT if limit is None else int(limit)
        status["history"] = history[-limit:] if limit > 0 else []
    if old_sync != new_sync:
        return [AppEvent("ResourceUpdated", f"Updated sync status: {old_sync} -> {new_sync}")]
    return []


def replace(clock: OpClock, **changes: Any) -> OpClock:
    """A copy of ``clock`` with ``changes`` (a convenience for tests)."""
    return dataclasses.replace(clock, **changes)
