"""When Belay raises an alert, and what it says: pure functions from observations to alerts.

* :func:`deploy_alerts`: a job's outcome (plus the application's recent jobs) gives at most one
  failure alert (``deploy_failed``, ``sync_failed`` or ``auth_failed``) and, when the failures in
  a row reach the threshold, one ``repeated_failures`` alert per streak;
* :func:`verdict_alert`: a failing verdict;
* :func:`override_alert`: a manual sync queued past the gate (``belay sync --override-gate``);
* :func:`token_alerts`: Argo CD tokens that expire soon, have expired, or never expire.

Dedup keys: ``<event>:<instance>/<application>@<revision>`` for deployments and verdicts (a
retry, a second worker or a restart cannot alert twice about one revision),
``repeated_failures:<instance>/<application>:<first job of the streak>`` (one alert per streak)
``gate_override:<instance>/<application>@<revision>:<job>`` (each override is news) and
``token_expiry:<instance>:<token id>:<stage>`` (one alert per token and stage; a rotated
token starts afresh) and ``deployment_unapproved:<instance>/<application>@<revision>#<start>``
(one alert per unapproved deployment, as the bypass watch's own report key). Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from belay.commits import short_sha
from belay.config import EXPIRY_WARNING_WINDOW, ArgoCDResolution, jwt_claims, token_expiry
from belay.deploy import DeployOutcome
from belay.notify.model import AlertEvent, OutgoingAlert
from belay.store import DecisionRecord, JobRecord
from belay.vocab import FAILURE_STATES, JobState

__all__ = [
    "PERSISTENT_ERRORS",
    "dedup_key",
    "deploy_alerts",
    "failure_streak",
    "override_alert",
    "token_alerts",
    "unapproved_alert",
    "verdict_alert",
]

PERSISTENT_ERRORS: dict[str, AlertEvent] = {
    "ArgoCDAuthError": AlertEvent.auth_failed,
    "ArgoCDPermissionDenied": AlertEvent.auth_failed,
    "ArgoCDNotFound": AlertEvent.sync_failed,
    "AutoSyncConflict": AlertEvent.sync_failed,
}
"""Error classes that waiting cannot fix, and the event each one raises."""

_MAX_KEY = 512


def dedup_key(*parts: str) -> str:
    """Join ``parts`` with ``:``; a key longer than the store's column is shortened by a hash."""
    key = ":".join(parts)
    if len(key) <= _MAX_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{key[: _MAX_KEY - 65]}#{digest}"


def _short(revision: str | None) -> str:
    return short_sha(revision) or "an unknown revision"


def _job_revision(job: JobRecord) -> str:
    spec_revision = job.spec.get("revision") if isinstance(job.spec, dict) else None
    return job.revision or (str(spec_revision) if spec_revision else f"job-{job.id}")


def _failure(job: JobRecord, outcome: DeployOutcome) -> tuple[AlertEvent, str, str, str]:
    """(event, title, what happened, severity) of a job that did not succeed."""
    app = job.application
    rev = _short(job.revision)
    reason = outcome.reason
    cls = outcome.error_class
    if outcome.state == JobState.timed_out:
        return (
            AlertEvent.deploy_failed,
            f"Deployment timed out: {app} at {rev}",
            f"The deployment did not finish in time: {reason}.",
            "error",
        )
    if cls == "ArgoCDAuthError":
        return (
            AlertEvent.auth_failed,
            f"Argo CD refused Belay's credentials: {app} at {rev} not deployed",
            f"Argo CD answered 401 even after Belay re-read its configuration: {reason}. The "
            "token is invalid, expired or revoked; configure a new one and run "
            "`belay integrations verify argocd`.",
            "error",
        )
    if cls == "ArgoCDPermissionDenied":
        return (
            AlertEvent.auth_failed,
            f"Argo CD RBAC denied the sync: {app} at {rev} not deployed",
            f"Argo CD answered 403: {reason}. Grant the gate's account `applications, sync` "
            "(and `get`) on this application in argocd-rbac-cm.",
            "error",
        )
    if cls == "ArgoCDNotFound":
        return (
            AlertEvent.sync_failed,
            f"Application not found: {app} at {rev} not deployed",
            f"Argo CD still answered 404 after the grace period: {reason}. Check the "
            "application, project and appNamespace mapped in belay.yaml.",
            "error",
        )
    if cls == "AttestationInvalid":
        return (
            AlertEvent.sync_failed,
            f"Sync refused, the signed decision does not verify: {app} at {rev} not deployed",
            f"Belay refused to sync: {reason}. The decision or its job was changed in Belay's "
            "database after it was signed, or was never signed; find out who wrote to the "
            "database (docs/attestations.md).",
            "critical",
        )
    if cls == "AutoSyncConflict":
        return (
            AlertEvent.sync_failed,
            f"Sync refused (auto-sync conflict): {app} at {rev} not deployed",
            f"Argo CD refused to sync the pinned revision: {reason}.",
            "error",
        )
    if outcome.assessment is not None:
        return (
            AlertEvent.deploy_failed,
            f"Deployment failed: {app} at {rev}",
            f"The sync ran but the deployment failed: {reason}.",
            "error",
        )
    return (
        AlertEvent.sync_failed,
        f"Sync failed: {app} at {rev}",
        f"Belay could not sync the application: {reason}.",
        "error",
    )


def failure_streak(recent: Sequence[JobRecord]) -> list[JobRecord]:
    """The application's latest unbroken run of failed or timed-out jobs, newest first.

    ``recent`` is newest first; superseded (never run) and unfinished jobs are skipped, and a
    succeeded job ends the streak.
    """
    streak: list[JobRecord] = []
    for job in recent:
        if job.state in FAILURE_STATES:
            streak.append(job)
        elif job.state == JobState.succeeded:
            break
    return streak


def deploy_alerts(
    job: JobRecord,
    outcome: DeployOutcome,
    *,
    recent: Sequence[JobRecord],
    threshold: int,
    now: datetime,
    link: str | None = None,
    project: str | None = None,
) -> list[OutgoingAlert]:
    """The alerts a finished job raises (none for a success).

    ``recent`` are the application's ended jobs, newest first, this one included.
    """
    if outcome.state == JobState.succeeded:
        return []
    event, title, what, severity = _failure(job, outcome)
    assessment = outcome.assessment
    common: dict[str, Any] = {
        "occurred_at": now,
        "instance": job.instance,
        "application": job.application,
        "project": project or job.argocd_project,
        "revision": job.revision,
        "decision_id": job.decision_id,
        "job_id": job.id,
        "operation_message": (assessment.message or None) if assessment else None,
        "failed_resources": assessment.failed_resources if assessment else (),
        "link": link,
    }
    target = f"{job.instance}/{job.application}"
    alerts = [
        OutgoingAlert(
            event=event,
            dedup_key=dedup_key(event.value, f"{target}@{_job_revision(job)}"),
            title=title,
            what_happened=what,
            severity=severity,
            **common,
        )
    ]
    streak = failure_streak(recent)
    if len(streak) >= threshold and any(j.id == job.id for j in streak):
        first = streak[-1]
        alerts.append(
            OutgoingAlert(
                event=AlertEvent.repeated_failures,
                dedup_key=dedup_key(AlertEvent.repeated_failures.value, target, first.id),
                title=f"{len(streak)} deployments in a row failed: {job.application}",
                what_happened=(
                    f"The last {len(streak)} deployments of {job.application} on "
                    f"{job.instance} failed (alert threshold {threshold}); the latest: "
                    f"{outcome.reason}."
                ),
                severity="error",
                **common,
            )
        )
    return alerts


def verdict_alert(
    decision: DecisionRecord, *, now: datetime, link: str | None
) -> OutgoingAlert | None:
    """The alert of a failing verdict (``None`` for a pass)."""
    if decision.decision != "fail":
        return None
    verdict = decision.verdict.get("verdict", decision.verdict)
    summary = str(verdict.get("summary") or "the policy failed the submission")
    reasons = [
        f"{r.get('rule', '?')}: {r.get('message', '')}"
        for r in verdict.get("reasons", ())
        if isinstance(r, dict) and r.get("status") == "fail"
    ]
    subject = decision.application or decision.project or "unmapped project"
    target = f"{decision.instance or '-'}/{subject}"
    what = f"The gate's policy failed the submission: {summary}."
    if decision.project:
        what += f" (Belay project {decision.project!r}.)"
    return OutgoingAlert(
        event=AlertEvent.verdict_fail,
        dedup_key=dedup_key(
            AlertEvent.verdict_fail.value, f"{target}@{decision.revision or decision.id}"
        ),
        title=f"Gate verdict: fail for {subject} at {_short(decision.revision)}",
        what_happened=what,
        occurred_at=now,
        instance=decision.instance,
        application=decision.application,
        revision=decision.revision,
        decision_id=decision.id,
        failed_resources=tuple(reasons[:20]),
        link=link or verdict.get("detailsUrl"),
        severity="warning",
    )


def override_alert(
    job: JobRecord,
    *,
    decision_id: str | None,
    gate: str,
    reason: str,
    refusal: str,
    now: datetime,
    link: str | None,
) -> OutgoingAlert:
    """The alert announcing that ``job`` deploys a revision the gate did not pass.

    ``gate`` is the gate's word on the revision (``fail``, ``none``, ``unchecked``), ``reason``
    the person's reason and ``refusal`` why the gate would have refused.
    """
    who = job.actor.removeprefix("manual:")
    rev = _short(job.revision) if job.revision else "its target revision"
    what = (
        f"{who} overrode the gate to sync {job.application} at {rev}: {refusal}. "
        f"Reason given: {reason}"
    )
    return OutgoingAlert(
        event=AlertEvent.gate_override,
        dedup_key=dedup_key(
            AlertEvent.gate_override.value,
            f"{job.instance}/{job.application}@{job.revision or 'target'}",
            job.id,
        ),
        title=f"Gate overridden by {who}: {job.application} at {rev} (gate: {gate})",
        what_happened=what,
        occurred_at=now,
        instance=job.instance,
        application=job.application,
        project=job.argocd_project,
        revision=job.revision,
        decision_id=decision_id,
        job_id=job.id,
        link=link,
        severity="warning",
    )


def unapproved_alert(
    *,
    report_key: str,
    instance: str,
    application: str,
    project: str | None,
    revision: str,
    initiated_by: str,
    reason: str,
    now: datetime,
    link: str | None,
) -> OutgoingAlert:
    """The alert announcing that Argo CD deployed ``revision`` without a passing decision."""
    who = "auto-sync" if initiated_by == "automated" else initiated_by
    return OutgoingAlert(
        event=AlertEvent.deployment_unapproved,
        dedup_key=dedup_key(AlertEvent.deployment_unapproved.value, report_key),
        title=f"Unapproved deployment: {application} at {_short(revision)} (by {who})",
        what_happened=f"{reason}. Belay did not approve this revision for {application}.",
        occurred_at=now,
        instance=instance,
        application=application,
        project=project,
        revision=revision,
        link=link,
        severity="error",
    )


def _token_id(token: str, claims: dict[str, Any]) -> str:
    jti = claims.get("jti")
    if isinstance(jti, str) and jti and len(jti) <= 64:
        return f"jti={jti}"
    # A short hash of the whole token: names it without revealing it.
    return "sha256=" + hashlib.sha256(token.encode()).hexdigest()[:16]


def _account(claims: dict[str, Any]) -> str:
    sub = claims.get("sub")
    if isinstance(sub, str) and sub:
        return sub.split(":", 1)[0]
    return "belay-webhook"


def token_alerts(
    resolution: ArgoCDResolution, *, now: datetime, window: timedelta = EXPIRY_WARNING_WINDOW
) -> list[OutgoingAlert]:
    """Alerts for every configured Argo CD token that expires within ``window``, has expired,
    or has no ``exp`` at all (a one-time notice). Password logins and non-JWT tokens give none.
    """
    alerts = []
    for instance in resolution.instances:
        if instance.token is None:
            continue
        token = instance.token.get_secret_value()
        claims = jwt_claims(token)
        if claims is None:
            continue
        account = _account(claims)
        rotate = (
            f"Rotate it: argocd account generate-token --account {account} --id <new-id>, "
            "update the secret Belay reads, send Belay SIGHUP (or let it re-read on the next "
            "401), confirm with `belay integrations verify argocd`, then argocd account "
            f"delete-token --account {account} <old-id>."
        )
        expires = token_expiry(token)
        base = {"occurred_at": now, "instance": instance.name}
        token_id = _token_id(token, claims)
        if "exp" not in claims:
            alerts.append(
                OutgoingAlert(
                    event=AlertEvent.token_expiry,
                    dedup_key=dedup_key("token_expiry", instance.name, token_id, "never"),
                    title=f"Argo CD token of {instance.name!r} never expires",
                    what_happened=(
                        f"The token of account {account!r} for Argo CD instance "
                        f"{instance.name!r} has no exp claim, so it stays valid until deleted. "
                        "Prefer a token made with --expires-in, and rotate it regularly. "
                        "(This notice is sent once per token.)"
                    ),
                    severity="info",
                    **base,
                )
            )
            continue
        if expires is None:
            continue
        when = expires.strftime("%Y-%m-%d %H:%M UTC")
        if expires <= now:
            alerts.append(
                OutgoingAlert(
                    event=AlertEvent.token_expiry,
                    dedup_key=dedup_key("token_expiry", instance.name, token_id, "expired"),
                    title=f"Argo CD token of {instance.name!r} has expired",
                    what_happened=(
                        f"The token of account {account!r} for Argo CD instance "
                        f"{instance.name!r} expired on {when}; deployments there will fail "
                        f"with 401. {rotate}"
                    ),
                    severity="error",
                    **base,
                )
            )
        elif expires - now <= window:
            left = expires - now
            days = left.days
            span = f"in {days} day{'s' if days != 1 else ''}" if days else "within a day"
            alerts.append(
                OutgoingAlert(
                    event=AlertEvent.token_expiry,
                    dedup_key=dedup_key("token_expiry", instance.name, token_id, "expiring"),
                    title=f"Argo CD token of {instance.name!r} expires {span}",
                    what_happened=(
                        f"The token of account {account!r} for Argo CD instance "
                        f"{instance.name!r} expires on {when} ({span}). {rotate}"
                    ),
                    severity="warning",
                    **base,
                )
            )
    return alerts
