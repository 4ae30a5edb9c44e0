"""The simulated application controller: pure transitions of one Application's JSON.

``advance(app, clock, behavior, now, controller=...)`` returns the next state, as Argo CD's
controller drives it (``controller/appcontroller.go`` ``processRequestedAppOperation``,
``controller/sync.go``):

1. a requested ``operation`` becomes ``operationState`` Running with ``startedAt``;
2. a failing attempt with retries left shows the retry state (Running, ``finishedAt`` and
   ``retryCount`` set, ``<message>. Retrying attempt #N at 3:04PM.``) and waits
   ``duration · factor^N`` capped by ``maxDuration`` (``RetryStrategy.NextRetryAt``, defaults 5s,
   2, 3m; the clock time printed uses ``N-1``, as the real message does); the retry then starts
   with ``Retrying operation. Attempt #N`` (``with latest revisions`` when ``refresh`` is set);
3. the final attempt ends Succeeded, Failed or Error, removes ``operation``, fills ``syncResult``
   with the concrete SHA and appends history (successful full non-dry-run syncs only); sync and
   health stay as they were;
4. the refresh that follows (after ``reconcileSeconds``) updates sync status and revision, sets
   health Progressing and ``reconciledAt``; the final health comes with a later refresh (after
   ``healthSeconds``).

``Terminating`` (set by the API) ends Failed ``Operation terminated``. Every wait is divided by
the state's ``timeScale``. Nothing here does I/O or reads a clock: time is the ``now`` argument.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from belay.sim.state import Behavior
from belay.sim.wire import format_time, kitchen_time, parse_time

__all__ = [
    "AppEvent",
    "Controller",
    "OpClock",
    "Step",
    "advance",
    "backoff_seconds",
    "operation_revision",
    "parse_duration",
    "retry_limit",
]

RUNNING_MESSAGE = "one or more tasks are running"
SUCCESS_MESSAGE = "successfully synced (all tasks run)"
FAILED_MESSAGE = "one or more objects failed to apply, reason: simulated failure"
ERROR_MESSAGE = "simulated error"
DEFAULT_HISTORY_LIMIT = 10
DEFAULT_RETRY_DURATION = 5.0
DEFAULT_RETRY_FACTOR = 2
DEFAULT_RETRY_MAX_DURATION = 180.0
_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Rollout", "Pod"}


@dataclass(frozen=True)
class OpClock:
    """Scheduler data the controller keeps outside the Application JSON."""

    stage: Literal["running", "retry_wait", "reconciling", "settling"]
    due: float
    attempt: int = 0
    health: str | None = None
    settle_after: float = 0.0
    succeeded: bool = False
    images: tuple[str, ...] | None = None


def _same(revision: str) -> str | None:
    return revision


@dataclass(frozen=True)
class Controller:
    """What the controller needs beyond the app: the time scale and the repo server.

    ``complete`` turns an operation's revision into the full SHA checked out (``None`` when the
    repository has no such commit); ``latest`` resolves the app's target revision now (used by a
    retry with ``refresh``).
    """

    time_scale: float = 1.0
    complete: Callable[[str], str | None] = field(default=_same)
    latest: Callable[[], str | None] | None = None

    def wait(self, seconds: float) -> float:
        """``seconds`` of simulated time in real seconds."""
        return seconds / self.time_scale


DEFAULT_CONTROLLER = Controller()


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


def parse_duration(text: str) -> float:
    """Seconds of a backoff duration: a bare integer is seconds, else Go's ``time.ParseDuration``.

    Raises ``ValueError`` with Argo CD's message (``unable to parse X as a duration``).
    """
    value = text.strip()
    if re.fullmatch(r"[+-]?\d+", value):
        return float(int(value))
    body = value.lstrip("+-")
    sign = -1.0 if value.startswith("-") else 1.0
    if body == "0":
        return 0.0
    parts = _GO_DURATION.findall(body)
    if not body or "".join(n + u for n, u in parts) != body:
        raise ValueError(f"unable to parse {text} as a duration")
    return sign * sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def backoff_seconds(retry: dict[str, Any], retry_count: int) -> float:
    """``RetryStrategy.NextRetryAt``: ``duration · factor^count``, capped by ``maxDuration``."""
    backoff = retry.get("backoff") or {}
    duration = DEFAULT_RETRY_DURATION
    maximum = DEFAULT_RETRY_MAX_DURATION
    factor = DEFAULT_RETRY_FACTOR
    if backoff.get("duration"):
        duration = parse_duration(str(backoff["duration"]))
    if backoff.get("maxDuration"):
        maximum = parse_duration(str(backoff["maxDuration"]))
    if backoff.get("factor") is not None:
        factor = int(backoff["factor"])
    try:
        wait = duration * float(factor) ** retry_count
    except OverflowError:
        wait = float("inf")
    return min(maximum, wait) if maximum > 0 else min(wait, 10 * 365 * 86400.0)


def advance(
    app: dict[str, Any],
    clock: OpClock | None,
    behavior: Behavior,
    now: float,
    controller: Controller = DEFAULT_CONTROLLER,
) -> Step:
    """Move ``app`` one transition forward if one is due at ``now``."""
    status = app.get("status") or {}
    operation = app.get("operation")
    state = status.get("operationState")
    if state is not None and state.get("phase") == "Terminating" and operation is not None:
        return _terminate(app, now)
    if clock is None:
        if operation is not None and state is None:
            return _start(app, operation, behavior, now, controller)
        return Step(app, None)
    if now < clock.due:
        return Step(app, clock)
    if clock.stage == "reconciling":
        return _reconcile(app, clock, now, controller)
    if clock.stage == "settling":
        return _settle(app, clock, now)
    if operation is None or state is None:
        return Step(app, None)  # someone removed it (e.g. the state was replaced)
    outcome = behavior.for_revision(operation_revision(operation))
    if clock.stage == "retry_wait":
        return _retry_start(app, clock, behavior, now, controller)
    return _finish_attempt(app, clock, outcome, now, controller)


def _start(
    app: dict[str, Any],
    operation: dict[str, Any],
    behavior: Behavior,
    now: float,
    controller: Controller,
) -> Step:
    new = copy.deepcopy(app)
    new.setdefault("status", {})["operationState"] = {
        "operation": copy.deepcopy(operation),
        "phase": "Running",
        "message": RUNNING_MESSAGE,
        "startedAt": format_time(now),
    }
    outcome = behavior.for_revision(operation_revision(operation))
    return Step(new, OpClock("running", now + controller.wait(outcome.seconds), 0), (), True)


def _retry_start(
    app: dict[str, Any], clock: OpClock, behavior: Behavior, now: float, controller: Controller
) -> Step:
    new = copy.deepcopy(app)
    state = new["status"]["operationState"]
    operation = new["operation"]
    extra = ""
    if (operation.get("retry") or {}).get("refresh"):
        # The real controller clears the revision so the sync uses the latest one of the source.
        extra = " with latest revisions"
        latest = controller.latest() if controller.latest is not None else None
        if latest:
            for op in (operation, state.get("operation") or {}):
                op.setdefault("sync", {})["revision"] = latest
    state["phase"] = "Running"
    state["message"] = f"Retrying operation{extra}. Attempt #{int(state.get('retryCount') or 0)}"
    state.pop("finishedAt", None)
    state.pop("syncResult", None)
    outcome = behavior.for_revision(operation_revision(operation))
    due = now + controller.wait(outcome.seconds)
    return Step(new, OpClock("running", due, clock.attempt + 1), (), True)


def _attempt_fails(outcome: Behavior, attempt: int) -> bool:
    return outcome.phase != "Succeeded" or attempt < outcome.fail_attempts


def _failure_message(outcome: Behavior, phase: str) -> str:
    if outcome.message:
        return outcome.message
    return ERROR_MESSAGE if phase == "Error" else FAILED_MESSAGE


def _finish_attempt(
    app: dict[str, Any], clock: OpClock, outcome: Behavior, now: float, controller: Controller
) -> Step:
    new = copy.deepcopy(app)
    status = new["status"]
    state = status["operationState"]
    operation = new["operation"]
    sync_op = operation.get("sync") or {}
    requested = operation_revision(operation)
    concrete = controller.complete(requested) if requested else requested
    fails = _attempt_fails(outcome, clock.attempt)
    phase_failed = "Error" if outcome.phase == "Error" else "Failed"
    message = _failure_message(outcome, phase_failed) if fails else SUCCESS_MESSAGE
    if concrete is None:
        # The repo server cannot check the truncated SHA out: the comparison fails.
        fails, phase_failed, concrete = True, "Error", requested
        message = (
            f"rpc error: code = Unknown desc = unable to resolve '{requested}' to a commit SHA: "
            "revision not found"
        )
    revision = concrete
    retry_count = int(state.get("retryCount") or 0)
    if fails and retry_count < retry_limit(operation):
        try:
            shown = backoff_seconds(operation.get("retry") or {}, retry_count)
            wait = backoff_seconds(operation.get("retry") or {}, retry_count + 1)
        except ValueError as err:
            shown = wait = -1.0
            message = f"{message} (failed to retry: {err})"
            phase_failed = "Error"
        if wait >= 0:
            if outcome.retry_seconds is not None:
                shown = wait = outcome.retry_seconds
            retry_count += 1
            at = kitchen_time(now + controller.wait(shown))
            state.update(
                phase="Running",
                message=f"{message}. Retrying attempt #{retry_count} at {at}.",
                finishedAt=format_time(now),
                retryCount=retry_count,
                syncResult=_sync_result(new, sync_op, revision, failed_message=message),
            )
            due = now + controller.wait(wait)
            return Step(new, OpClock("retry_wait", due, clock.attempt), (), True)

    phase = phase_failed if fails else "Succeeded"
    dry_run = bool(sync_op.get("dryRun"))
    partial = bool(sync_op.get("resources"))
    if fails:
        state["syncResult"] = _sync_result(new, sync_op, revision, failed_message=message)
        if retry_count:
            message = f"{message} (retried {retry_count} times)."
    else:
        state["syncResult"] = _sync_result(new, sync_op, revision, failed_message=None)
    state.update(phase=phase, message=message, finishedAt=format_time(now))
    del new["operation"]

    kind = "Partial sync" if partial else "Sync"
    if fails:
        event = AppEvent(
            "OperationCompleted", f"{kind} operation to {revision} failed: {message}", "Warning"
        )
    else:
        event = AppEvent("OperationCompleted", f"{kind} operation to {revision} succeeded")
    if dry_run:
        return Step(new, None, (event,), True)
    if not fails and not partial:
        _append_history(new, sync_op, revision, state, now)
    target_health = outcome.health
    if target_health is None and not fails:
        target_health = "Healthy"
    due = now + controller.wait(outcome.reconcile_seconds)
    settle_after = controller.wait(outcome.health_seconds)
    clock_next = OpClock("reconciling", due, clock.attempt, target_health)
    return Step(
        new,
        dataclasses.replace(
            clock_next, settle_after=settle_after, succeeded=not fails, images=outcome.images
        ),
        (event,),
        True,
    )


def _reconcile(app: dict[str, Any], clock: OpClock, now: float, controller: Controller) -> Step:
    """The refresh after the operation: sync status and revision, health Progressing."""
    new = copy.deepcopy(app)
    status = new.setdefault("status", {})
    state = status.get("operationState") or {}
    events: list[AppEvent] = []
    result = state.get("syncResult") or {}
    if clock.succeeded:
        sync_op = (state.get("operation") or {}).get("sync") or {}
        revision = str(result.get("revision") or "")
        partial = bool(sync_op.get("resources"))
        events.extend(_apply_success(new, sync_op, revision, partial, clock.images))
    if clock.health is not None:
        events.extend(_set_health(new, "Progressing", now))
    finished = state.get("finishedAt")
    reconciled = now
    if finished:
        # reconciledAt must come strictly after finishedAt, as after the controller's refresh.
        reconciled = max(now, parse_time(finished) + 1)
    status["reconciledAt"] = format_time(reconciled)
    return Step(
        new,
        dataclasses.replace(clock, stage="settling", due=now + clock.settle_after),
        tuple(events),
        True,
    )


def _settle(app: dict[str, Any], clock: OpClock, now: float) -> Step:
    """A later refresh: the final health."""
    new = copy.deepcopy(app)
    status = new.setdefault("status", {})
    events: list[AppEvent] = []
    if clock.health is not None:
        events.extend(_set_health(new, clock.health, now))
        for resource in status.get("resources") or []:
            if resource.get("kind") in _WORKLOAD_KINDS and "health" in resource:
                resource["health"] = {"status": clock.health}
    previous = status.get("reconciledAt")
    reconciled = max(now, parse_time(previous)) if previous else now
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
    partial: bool,
    images: tuple[str, ...] | None,
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
    if images is not None:
        status.setdefault("summary", {})["images"] = list(images)
    if old_sync != new_sync:
        return [AppEvent("ResourceUpdated", f"Updated sync status: {old_sync} -> {new_sync}")]
    return []


def _append_history(
    app: dict[str, Any], sync_op: dict[str, Any], revision: str, state: dict[str, Any], now: float
) -> None:
    status = app.setdefault("status", {})
    spec = app.get("spec") or {}
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


def replace(clock: OpClock, **changes: Any) -> OpClock:
    """A copy of ``clock`` with ``changes`` (a convenience for tests)."""
    return dataclasses.replace(clock, **changes)
