"""Read models for the audit page and the read APIs, built from the store.

The submission list (a submission with its decision and its latest deployment job) is the store's
read model (``uow.read_models``); everything else comes from the unit of work's repositories.
Nothing here writes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict

from belay.store import (
    AuditEvent,
    BypassReportRecord,
    DecisionRecord,
    JobRecord,
    Store,
    SubmissionRecord,
    SubmissionSummary,
)
from belay.vocab import IN_FLIGHT_STATES, AuditKind, JobState

__all__ = [
    "DEPLOYMENT_STATES",
    "AcceptedException",
    "DecisionStatus",
    "SubmissionDetail",
    "SubmissionFilter",
    "SubmissionSummary",
    "decision_status",
    "deployment_state",
    "list_submissions",
    "recent_unapproved",
    "submission_detail",
]

DEPLOYMENT_STATES = tuple(JobState)
SUBMISSION_STATES = ("pass", "fail", "none", *DEPLOYMENT_STATES)
"""What the ``state`` filter of the submission list accepts (verdict, no job, or job state)."""
"""A job's states; ``none`` is shown when a verdict created no job (a fail, or unmapped)."""

_MAX_LIST = 500
_EXCEPTION_RE = re.compile(r"exception (\S+) \(owner ([^,()]+), expires (\d{4}-\d{2}-\d{2})\)")


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class SubmissionFilter(_View):
    """Filters of the submission list (all optional, combined with AND)."""

    project: str | None = None
    application: str | None = None
    commit: str | None = None
    """A commit SHA or a prefix of at least 4 characters."""
    state: str | None = None
    """A verdict (``pass``, ``fail``) or a deployment state (``succeeded``, ``none``...)."""
    limit: int = 100


class AcceptedException(_View):
    """A policy exception that accepted findings in this verdict."""

    id: str
    owner: str
    expires: str
    rule: str


class SubmissionDetail(_View):
    """Everything the submission page shows."""

    submission: SubmissionRecord
    decision: DecisionRecord | None
    jobs: tuple[JobRecord, ...]
    events: tuple[AuditEvent, ...]
    reasons: dict[str, list[dict[str, Any]]]
    """Reasons grouped by status: ``fail``, ``accepted``, ``pass``; each with its finding rows."""
    exceptions: tuple[AcceptedException, ...]

    links: dict[str, str] = {}
    """Where to read more: ``commit`` (GitLab or GitHub), ``pipeline``, ``application``."""

    @property
    def in_flight(self) -> bool:
        """True while the latest deployment is queued or running (the page refreshes itself)."""
        return self.deployment in IN_FLIGHT_STATES

    @property
    def job(self) -> JobRecord | None:
        """The latest deployment job, if any."""
        return self.jobs[-1] if self.jobs else None

    @property
    def deployment(self) -> str:
        """The latest job's state, or ``none``."""
        return self.job.state if self.job else "none"

    @property
    def overrides(self) -> tuple[AuditEvent, ...]:
        """Manual syncs that went past the gate for this decision (who, why: in ``data``)."""
        return tuple(e for e in self.events if e.kind == AuditKind.sync_override)


class DecisionStatus(_View):
    """The decision API's answer (see docs/decision-api.md; keys are camelCase on the wire)."""

    application: str
    revision: str
    found: bool
    decision: str
    """``pass``, ``fail`` or ``none``."""
    approved: bool
    deployment: str
    """A job state or ``none``."""
    deployed: bool
    summary: str | None = None
    decision_id: str | None = None
    submission_id: str | None = None
    project: str | None = None
    decided_at: datetime | None = None
    details_url: str | None = None
    job: dict[str, Any] | None = None
    override: dict[str, Any] | None = None
    """The newest gate override of this revision: ``{by, reason, at, gate, jobId, jobState}``."""
    unapproved: dict[str, Any] | None = None
    """The newest deployment of this revision past the gate (docs/bypass.md):
    ``{by, at, instance, historyId, action, reportedAt}``."""

    def to_wire(self) -> dict[str, Any]:
        """The JSON body, with the documented camelCase keys."""
        return {
            "application": self.application,
            "revision": self.revision,
            "found": self.found,
            "decision": self.decision,
            "approved": self.approved,
            "deployment": self.deployment,
            "deployed": self.deployed,
            "summary": self.summary,
            "decisionId": self.decision_id,
            "submissionId": self.submission_id,
            "project": self.project,
            "decidedAt": self.decided_at.isoformat() if self.decided_at else None,
            "detailsUrl": self.details_url,
            "job": self.job,
            "override": self.override,
            "unapproved": self.unapproved,
        }


def deployment_state(jobs: list[JobRecord] | tuple[JobRecord, ...]) -> str:
    """The state of the newest job, or ``none``."""
    return jobs[-1].state if jobs else "none"


def list_submissions(store: Store, filters: SubmissionFilter) -> list[SubmissionSummary]:
    """Submissions newest first, with their verdict and latest deployment state, filtered."""
    state = (filters.state or "").strip().lower()
    deployment: JobState | Literal["none"] | None = None
    if state == "none":
        deployment = "none"
    elif state in DEPLOYMENT_STATES:
        deployment = JobState(state)
    with store.unit_of_work() as uow:
        return uow.read_models.submissions(
            limit=max(1, min(filters.limit, _MAX_LIST)),
            project=filters.project,
            application=filters.application,
            commit=filters.commit.strip().lower() if filters.commit else None,
            verdict=state if state in ("pass", "fail") else None,
            deployment=deployment,
        )


FINDING_SORTS = ("severity", "epss", "package", "id", "path")
"""The orders the submission page's finding tables can be sorted in (``?sort=``)."""

_SEVERITY_RANK = {
    s: n
    for n, s in enumerate(
        (
            "critical",
            "high",
            "error",
            "secret",
            "infected",
            "scan-error",
            "medium",
            "warning",
            "low",
            "note",
            "info",
            "negligible",
            "none",
            "unknown",
        )
    )
}


def _sort_key(order: str) -> Any:
    def severity(row: dict[str, Any]) -> tuple[int, str]:
        return _SEVERITY_RANK.get(str(row.get("severity", "")).lower(), 99), str(row.get("id"))

    def epss(row: dict[str, Any]) -> tuple[float, str]:
        value = row.get("epss")
        return -(value if isinstance(value, int | float) else -1.0), str(row.get("id"))

    def text(name: str) -> Any:
        return lambda row: (str(row.get(name) or "~"), str(row.get("id")))

    return {"severity": severity, "epss": epss}.get(order) or text(order)


def _grouped(verdict: dict[str, Any], sort: str | None = None) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {"fail": [], "accepted": [], "pass": []}
    for reason in verdict.get("reasons") or []:
        if isinstance(reason, dict):
            status = str(reason.get("status", ""))
            rows = [r for r in reason.get("findings") or [] if isinstance(r, dict)]
            if sort in FINDING_SORTS:
                rows.sort(key=_sort_key(sort))
            groups.setdefault(status, []).append(
                {
                    "rule": str(reason.get("rule", "")),
                    "message": str(reason.get("message", "")),
                    "findings": rows,
                    "findings_total": int(reason.get("findings_total") or len(rows)),
                }
            )
    return groups


def _exceptions(groups: dict[str, list[dict[str, Any]]]) -> tuple[AcceptedException, ...]:
    found: dict[str, AcceptedException] = {}
    for status in ("accepted", "fail"):
        for reason in groups.get(status, []):
            for ident, owner, expires in _EXCEPTION_RE.findall(reason["message"]):
                found.setdefault(
                    ident,
                    AcceptedException(
                        id=ident, owner=owner.strip(), expires=expires, rule=reason["rule"]
                    ),
                )
    return tuple(found.values())


def commit_link(remote: str | None, commit: str | None) -> str | None:
    """The commit's page on GitLab or GitHub, from the remote it was cloned from (https or
    ``git@host:path`` form, credentials dropped); ``None`` for other hosts or a bad commit."""
    if not remote or not commit or not all(c in "0123456789abcdef" for c in commit.lower()):
        return None
    text = remote.strip()
    if text.startswith("git@") and ":" in text:
        host, _, path = text[4:].partition(":")
    else:
        parsed = urlsplit(text)
        if parsed.scheme not in ("https", "http", "ssh") or not parsed.hostname:
            return None
        host, path = parsed.hostname, parsed.path
    path = path.strip("/").removesuffix(".git")
    if not path or any(c in path for c in " ?#\\"):
        return None
    if host == "github.com":
        return f"https://{host}/{path}/commit/{commit}"
    if host == "gitlab.com" or host.startswith("gitlab."):
        return f"https://{host}/{path}/-/commit/{commit}"
    return None


def _pipeline_link(manifest: dict[str, Any] | None) -> str | None:
    """A CI pipeline URL the bundle's context names (``pipelineUrl``), when it is https."""
    context = (manifest or {}).get("context")
    if not isinstance(context, dict):
        return None
    for key in ("pipelineUrl", "pipeline_url", "ciPipelineUrl"):
        value = context.get(key)
        if isinstance(value, str) and value.startswith("https://") and len(value) < 1024:
            return value
    return None


def application_link(base_url: str | None, application: str, namespace: str | None) -> str | None:
    """The application's page in the Argo CD UI."""
    if not base_url:
        return None
    where = f"{quote(namespace, safe='')}/" if namespace else ""
    return f"{base_url.rstrip('/')}/applications/{where}{quote(application, safe='')}"


def submission_detail(
    store: Store,
    submission_id: str,
    *,
    sort: str | None = None,
    argocd_urls: dict[str, str] | None = None,
) -> SubmissionDetail | None:
    """The submission, its decision, jobs and full event chain; ``None`` if unknown. ``sort``
    orders the findings behind each rule (one of :data:`FINDING_SORTS`)."""
    with store.unit_of_work() as uow:
        submission = uow.submissions.get(submission_id)
        if submission is None:
            return None
        decision = uow.decisions.get(submission.decision_id) if submission.decision_id else None
        jobs = uow.jobs.for_decision(decision.id) if decision else []
        events: dict[int, AuditEvent] = {
            e.seq: e for e in uow.audit.list(submission_id=submission.id)
        }
        if decision is not None:
            events.update({e.seq: e for e in uow.audit.list(decision_id=decision.id)})
        for job in jobs:
            events.update({e.seq: e for e in uow.audit.list(job_id=job.id)})
    groups = (
        _grouped(decision.verdict, sort) if decision else {"fail": [], "accepted": [], "pass": []}
    )
    return SubmissionDetail(
        submission=submission,
        decision=decision,
        jobs=tuple(jobs),
        events=tuple(events[k] for k in sorted(events)),
        reasons=groups,
        exceptions=_exceptions(groups),
        links=_links(submission, jobs, argocd_urls or {}),
    )


def _links(
    submission: SubmissionRecord, jobs: list[JobRecord], argocd_urls: dict[str, str]
) -> dict[str, str]:
    found = {
        "commit": commit_link(submission.remote, submission.commit_sha),
        "pipeline": _pipeline_link(submission.manifest),
    }
    if jobs:
        job = jobs[-1]
        found["application"] = application_link(
            argocd_urls.get(job.instance), job.application, job.app_namespace
        )
    return {key: value for key, value in found.items() if value}


def _job_view(job: JobRecord) -> dict[str, Any]:
    assessment = (job.outcome or {}).get("assessment") or {}
    return {
        "id": job.id,
        "state": job.state,
        "attempts": job.attempts,
        "createdAt": job.created_at.isoformat(),
        "finishedAt": job.finished_at.isoformat() if job.finished_at else None,
        "reason": (job.outcome or {}).get("reason") or job.error,
        "health": assessment.get("health") or None,
        "syncStatus": assessment.get("sync_status") or None,
        "syncedRevision": assessment.get("synced_revision") or None,
    }


def _override_view(event: AuditEvent, job: JobRecord | None) -> dict[str, Any]:
    return {
        "by": event.actor.removeprefix("manual:"),
        "reason": event.data.get("reason"),
        "at": event.at.isoformat(),
        "gate": event.data.get("gate"),
        "jobId": event.job_id,
        "jobState": job.state if job else None,
    }


def _unapproved_view(report: BypassReportRecord) -> dict[str, Any]:
    return {
        "by": report.initiated_by,
        "at": report.deployed_at.isoformat() if report.deployed_at else None,
        "instance": report.instance,
        "historyId": report.history_id,
        "action": report.action,
        "reportedAt": report.reported_at.isoformat(),
    }


def recent_unapproved(store: Store, *, limit: int = 5) -> list[BypassReportRecord]:
    """The newest deployments past the gate, for the page's badge (docs/bypass.md)."""
    with store.unit_of_work() as uow:
        return uow.bypass.recent(limit=limit)


def decision_status(
    store: Store, *, application: str, revision: str, public_url: str
) -> DecisionStatus:
    """The latest decision about ``application`` at ``revision``, its deployment state and the
    newest gate override of that revision (if a person deployed it past the gate)."""
    with store.unit_of_work() as uow:
        decisions = uow.decisions.for_revision(application, revision)
        latest = decisions[0] if decisions else None
        jobs = uow.jobs.for_decision(latest.id) if latest else []
        overrides = uow.audit.list(
            application=application, revision=revision, kind=AuditKind.sync_override, limit=1000
        )
        newest = overrides[-1] if overrides else None
        override_job = uow.jobs.get(newest.job_id) if newest and newest.job_id else None
        bypasses = uow.bypass.for_revision(application, revision)
    override = _override_view(newest, override_job) if newest else None
    unapproved = _unapproved_view(bypasses[-1]) if bypasses else None
    if latest is None:
        return DecisionStatus(
            application=application,
            revision=revision,
            found=False,
            decision="none",
            approved=False,
            deployment="none",
            deployed=False,
            override=override,
            unapproved=unapproved,
        )
    state = deployment_state(jobs)
    return DecisionStatus(
        application=application,
        revision=revision,
        found=True,
        decision=latest.decision,
        approved=latest.decision == "pass",
        deployment=state,
        deployed=state == JobState.succeeded,
        summary=str(latest.verdict.get("summary", "")) or None,
        decision_id=latest.id,
        submission_id=latest.submission_id,
        project=latest.project,
        decided_at=latest.decided_at,
        details_url=(
            f"{public_url}/submissions/{latest.submission_id}" if latest.submission_id else None
        ),
        job=_job_view(jobs[-1]) if jobs else None,
        override=override,
        unapproved=unapproved,
    )
