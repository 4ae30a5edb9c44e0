"""The sync step: send our tagged sync once, or find the one already sent.

The decision is :func:`belay.deploy.decide.decide_sync` (pure): SYNC, WAIT (someone else's
operation runs: wait for it, then decide again) or FOLLOW (our sync exists already, e.g. after a
crash). Retried, by :func:`belay.deploy.job_run.should_retry`: network errors, timeouts, 5xx,
429, "another operation is already in progress", a closed sync window (until it opens or the
deadline), a 404 for a short grace period; the delay honours ``Retry-After``. Not retried: 401,
RBAC 403, auto-sync conflicts and other 4xx: the job fails with the reason.

After any retryable error the application is read again before a sync is resent, so a sync that
reached Argo CD even though its answer was lost is found by its marker and followed, never sent
twice.
"""

from __future__ import annotations

from belay.argocd import (
    Application,
    ArgoCDError,
    OperationInProgress,
    SyncWindowBlocked,
)
from belay.deploy.decide import SyncAction, decide_sync
from belay.deploy.job_run import JobRun
from belay.logs import get_logger
from belay.vocab import AuditKind

__all__ = ["SYNC_STEP_TIMEOUT_SECONDS", "send_sync", "sync_step"]

SYNC_STEP_TIMEOUT_SECONDS = 600.0
"""The step's default timeout: it shares the job's ``timeout_seconds`` with the follow step."""

_log = get_logger("belay.deploy")


def sync_step(run: JobRun) -> Application:
    """Send our sync once, or find the one already sent; the application as last seen."""
    app = run.get_app()
    retries = 0
    while True:
        run.check()
        decision = decide_sync(app, marker=run.job.id, revision=run.wanted)
        if decision.action is SyncAction.FOLLOW:
            run.audit(AuditKind.sync_found, {"reason": decision.reason}, once="found")
            return app
        if decision.action is SyncAction.WAIT:
            run.audit(AuditKind.sync_waiting, {"reason": decision.reason}, once=decision.reason)
            run.sleep(run.worker.settings.poll_interval_seconds)
            app = run.get_app()
            continue
        try:
            return send_sync(run)
        except OperationInProgress as err:
            run.audit(AuditKind.sync_busy, {"reason": str(err)}, once="busy")
            failure: ArgoCDError = err
        except SyncWindowBlocked as err:
            run.audit(AuditKind.sync_window_closed, {"reason": str(err)}, once="window")
            failure = err
        except ArgoCDError as err:
            if not run.should_retry(err):
                if err.status_code != 404:
                    run.audit(
                        AuditKind.sync_refused, {"error": str(err), "http_status": err.status_code}
                    )
                raise
            failure = err
        run.backoff(retries, failure)
        retries += 1
        app = run.get_app()


def send_sync(run: JobRun) -> Application:
    """``POST .../sync`` with our marker; logged and audited (``sync.requested``)."""
    client = run.client
    assert client is not None
    run.attempt += 1
    job = run.job
    request = run.spec.request(marker=job.id, decision_id=job.decision_id)
    context = {
        "application": job.application,
        "revision": run.spec.revision,
        "decision_id": job.decision_id,
        "job_id": job.id,
        "instance": job.instance,
        "attempt": run.attempt,
    }
    _log.info("deploy.sync_request", timestamp=run.worker.clock().isoformat(), **context)
    try:
        app = client.sync(job.application, request, **run.scope)
    except ArgoCDError as err:
        _log.warning(
            "deploy.sync_response",
            http_status=err.status_code,
            sync_status=None,
            operation_phase=None,
            error=str(err),
            **context,
        )
        raise
    state = app.status.operation_state
    sync_op = app.operation.sync if app.operation else None
    _log.info(
        "deploy.sync_response",
        http_status=200,
        sync_status=app.status.sync.status,
        operation_phase=state.phase if state else None,
        error=None,
        **context,
    )
    run.audit(
        AuditKind.sync_requested,
        {
            "http_status": 200,
            "attempt": run.attempt,
            "revision": run.spec.revision,
            # What Argo CD resolved the revision to (a branch, tag or HEAD becomes a SHA).
            "resolved_revision": sync_op.revision if sync_op else None,
            "request": request.to_wire(),
        },
    )
    return app
