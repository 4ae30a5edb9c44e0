"""Typed records the store hands to the rest of Belay (never the SQLAlchemy rows themselves)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from belay.vocab import JobState

__all__ = [
    "AttestationRecord",
    "AuditEvent",
    "DecisionRecord",
    "InvestigationRecord",
    "JobRecord",
    "NewAuditEvent",
    "StoredJudgement",
    "SubmissionRecord",
]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class SubmissionRecord(_Record):
    """A delivery received by the intake. ``bundle`` (the stored copy) is loaded only on demand."""

    id: str
    received_at: datetime
    idempotency_key: str
    content_digest: str
    webhook_id: str | None = None
    project: str | None = None
    remote: str | None = None
    branch: str | None = None
    commit_sha: str | None = None
    bundle_sha256: str | None = None
    manifest: dict[str, Any] | None = None
    auth_method: str | None = None
    credential_label: str | None = None
    state: str
    decision_id: str | None = None


class DecisionRecord(_Record):
    """A verdict and what it applies to."""

    id: str
    submission_id: str | None = None
    decided_at: datetime
    decision: Literal["pass", "fail"]
    project: str | None = None
    instance: str | None = None
    application: str | None = None
    revision: str | None = None
    branch: str | None = None
    policy: str | None = None
    verdict: dict[str, Any]
    data_digests: dict[str, str] | None = None
    """SHA-256 of each KEV/EPSS file the judgement used, by kind."""


class AttestationRecord(_Record):
    """A decision's signed envelope (``envelope``: its JSON text, never redacted or reformatted,
    since a changed byte breaks the signature; it holds no secret)."""

    decision_id: str
    keyid: str
    sha256: str
    envelope: str
    created_at: datetime


class JobRecord(_Record):
    """A deployment job and its lease."""

    id: str
    decision_id: str | None = None
    instance: str
    application: str
    argocd_project: str | None = None
    app_namespace: str | None = None
    revision: str | None = None
    spec: dict[str, Any]
    actor: str
    state: JobState
    attempts: int
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    not_before: datetime
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None = None
    outcome: dict[str, Any] | None = None
    error: str | None = None


class NewAuditEvent(BaseModel):
    """What a caller appends to the audit trail; the store adds sequence, time and hashes."""

    model_config = ConfigDict(frozen=True)

    kind: str
    """An :class:`~belay.vocab.AuditKind` (typed ``str``: the chain keeps whatever it is given)."""
    actor: str
    project: str | None = None
    instance: str | None = None
    application: str | None = None
    revision: str | None = None
    submission_id: str | None = None
    decision_id: str | None = None
    job_id: str | None = None
    data: dict[str, Any] = {}


class AuditEvent(_Record):
    """One stored link of the chain."""

    seq: int
    id: str
    at: datetime
    kind: str
    actor: str
    project: str | None = None
    instance: str | None = None
    application: str | None = None
    revision: str | None = None
    submission_id: str | None = None
    decision_id: str | None = None
    job_id: str | None = None
    data: dict[str, Any]
    prev_hash: str
    hash: str


class StoredJudgement(_Record):
    """A submission with its decision: what a policy replay needs besides the stored bundle."""

    submission_id: str
    project: str | None
    branch: str | None
    commit: str | None
    decision_id: str
    decided_at: datetime
    decision: Literal["pass", "fail"]
    verdict: dict[str, Any]
    policy: str | None = None
    data_digests: dict[str, str] | None = None


class InvestigationRecord(_Record):
    """A stored investigation as the list shows it (the report itself is loaded on demand)."""

    id: str
    created_at: datetime
    instance: str | None = None
    application: str | None = None
    alert_name: str | None = None
    finding_kinds: tuple[str, ...] = ()
    top_finding: dict[str, Any] | None = None
    """``{kind, severity, summary}`` of the first finding."""
    fingerprints: tuple[str, ...] = ()
    resolved_at: datetime | None = None

    @property
    def state(self) -> Literal["firing", "resolved"]:
        """``resolved`` once every alert it covers has resolved."""
        return "resolved" if self.resolved_at is not None else "firing"
