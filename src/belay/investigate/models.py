"""Typed values that cross the investigation's module boundaries.

An :class:`Alert` comes in (parsed by :mod:`belay.investigate.alerts`), evidence models are
gathered (:mod:`belay.investigate.evidence`), findings come out of the rules
(:mod:`belay.investigate.rules`), and an :class:`InvestigationReport` holds all of it for the
renderers and the JSON contract (DESIGN §4).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from belay.config import InvestigationSettings
from belay.investigate.sanitize import redact_diff_text
from belay.redact import redact_data

__all__ = [
    "FINDING_KINDS",
    "Alert",
    "AppListEntry",
    "ApplicationListEvidence",
    "ApplicationStatusEvidence",
    "Condition",
    "DiffEvidence",
    "DiffRecord",
    "EvidenceError",
    "FindingKind",
    "GateDecision",
    "HistoryEntry",
    "ImageChange",
    "InvestigationFinding",
    "InvestigationReport",
    "InvestigationSettings",
    "OperationSummary",
    "PodCause",
    "ResourceRef",
    "ResourceTreeEvidence",
    "RollbackCandidate",
    "Severity",
    "SourceSummary",
]


class FindingKind(enum.StrEnum):
    """The stable vocabulary of finding kinds (DESIGN §4): add new ones, never rename."""

    out_of_sync = "out_of_sync"
    degraded = "degraded"
    progressing_stuck = "progressing_stuck"
    sync_failed = "sync_failed"
    unexpected_revision = "unexpected_revision"
    recent_rollout = "recent_rollout"
    drift = "drift"
    comparison_error = "comparison_error"
    unapproved_revision = "unapproved_revision"
    missing_resources = "missing_resources"
    app_not_found = "app_not_found"
    permission_denied = "permission_denied"
    argocd_unreachable = "argocd_unreachable"
    auth_failed = "auth_failed"
    no_gitops_context = "no_gitops_context"
    # Belay's addition: no usable Argo CD instance was configured (or every one was rejected).
    argocd_not_configured = "argocd_not_configured"
    # Pod-level causes, from the resource tree and the pods' events.
    image_pull_error = "image_pull_error"
    crash_loop = "crash_loop"
    oom_killed = "oom_killed"
    unschedulable = "unschedulable"
    probe_failing = "probe_failing"


FINDING_KINDS: tuple[str, ...] = tuple(kind.value for kind in FindingKind)


class GateDecision(BaseModel):
    """One of Belay's own gate decisions about a revision (from its store)."""

    model_config = ConfigDict(frozen=True)

    id: str
    application: str | None = None
    revision: str | None = None
    decision: str
    decided_at: datetime


class Severity(enum.StrEnum):
    """How urgent a finding is; reports list critical first."""

    critical = "critical"
    warning = "warning"
    info = "info"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Alert(_Model):
    """An alert reduced to what an investigation needs, whatever shape it arrived in."""

    source: str
    """``documented``, ``alertmanager``, ``grafana`` or ``grafana_legacy``."""
    name: str = ""
    status: str = ""
    severity: str = ""
    summary: str = ""
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    application: str | None = None
    application_from: str | None = None
    """Which field named the application (``argocd_application``, ``label:...``)."""
    revision: str | None = None
    project: str | None = None
    app_namespace: str | None = None
    instance: str | None = None
    namespace: str | None = None
    """The Kubernetes namespace the alert is about (label ``namespace``), if any."""
    gitops_hints: tuple[str, ...] = ()
    """GitOps words found in the alert's text and labels (``argocd``, ``outofsync``...)."""
    alert_count: int = 1
    """How many alerts the payload carried."""
    fingerprint: str = ""
    """Alertmanager's (or Grafana's) fingerprint; computed from the labels when absent."""
    ends_at: datetime | None = None
    argocd_metric: bool = False
    """True when the labels are those of Argo CD's own metrics (``name``, ``dest_namespace``...)."""

    @property
    def has_gitops_context(self) -> bool:
        """True when the alert names an app, a revision or a project, or mentions GitOps."""
        return bool(self.application or self.gitops_hints or self.revision or self.project)

    @property
    def resolved(self) -> bool:
        """True for a resolved notification (``status: resolved``)."""
        return self.status.lower() in {"resolved", "ok", "normal"}


class EvidenceError(_Model):
    """An Argo CD call that failed, captured into the evidence instead of raised."""

    finding_kind: str
    """The finding it leads to: ``argocd_unreachable``, ``auth_failed``, ``permission_denied``..."""
    error_type: str
    message: str
    """One redacted line."""
    status_code: int | None = None
    call: str = ""
    """Which call failed: ``get_application``, ``managed_resources``, ``list_applications``."""
    ambiguous_not_found: bool = False
    """A bare 403 ``permission denied`` with no project: Argo CD hides whether the app exists."""


class ResourceRef(_Model):
    """One Kubernetes resource an app manages, with why it is listed."""

    group: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    status: str = ""
    """Sync status (``OutOfSync``) or sync-result status (``SyncFailed``)."""
    health: str = ""
    message: str = ""
    requires_pruning: bool = False

    @property
    def label(self) -> str:
        """``group/Kind namespace/name`` as Argo CD's CLI prints it."""
        group_kind = f"{self.group}/{self.kind}" if self.group else self.kind
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{group_kind} {where}"


class HistoryEntry(_Model):
    """One successful deployment, from ``status.history``."""

    id: int | None = None
    revision: str = ""
    revisions: tuple[str, ...] = ()
    deployed_at: datetime | None = None
    deploy_started_at: datetime | None = None
    initiated_by: str = ""


class Condition(_Model):
    """An application condition (``ComparisonError``, ``SyncError``...)."""

    type: str
    message: str = ""
    last_transition_time: datetime | None = None


class OperationSummary(_Model):
    """The current or last operation (``status.operationState``)."""

    phase: str = ""
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    revision: str = ""
    revisions: tuple[str, ...] = ()
    initiated_by: str = ""
    in_progress: bool = False
    """True while a top-level ``operation`` is set or the phase is Running/Terminating."""
    failed_resources: tuple[ResourceRef, ...] = ()


class SourceSummary(_Model):
    """Where an app's manifests come from (one per source for multi-source apps)."""

    repo_url: str = ""
    path: str = ""
    chart: str = ""
    target_revision: str = ""


class ApplicationStatusEvidence(_Model):
    """``argocd_application_status`` for one named application."""

    instance: str
    application: str
    project: str | None = None
    app_namespace: str | None = None
    found: bool = False
    error: EvidenceError | None = None
    sync_status: str = ""
    sync_revision: str = ""
    sync_revisions: tuple[str, ...] = ()
    health_status: str = ""
    health_message: str = ""
    health_since: datetime | None = None
    operation: OperationSummary | None = None
    destination: dict[str, str] = Field(default_factory=dict)
    sources: tuple[SourceSummary, ...] = ()
    multi_source: bool = False
    images: tuple[str, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    """Newest first."""
    conditions: tuple[Condition, ...] = ()
    unhealthy_resources: tuple[ResourceRef, ...] = ()
    out_of_sync_resources: tuple[ResourceRef, ...] = ()
    ignore_differences: tuple[dict[str, Any], ...] = ()
    reconciled_at: datetime | None = None
    auto_sync: bool = False

    @property
    def deployed_revisions(self) -> tuple[str, ...]:
        """The revision(s) last deployed: the newest history entry, else the compared revision.

        ``status.sync.revision`` is what Argo CD last *compared* (a moved branch shows there
        before it is deployed), so the history wins when there is one.
        """
        if self.history:
            newest = self.history[0]
            revs = [newest.revision, *newest.revisions]
        else:
            revs = [self.sync_revision, *self.sync_revisions]
        return tuple(dict.fromkeys(r for r in revs if r))


class AppListEntry(_Model):
    """One row of the name-less ``argocd_application_status``."""

    name: str
    project: str = ""
    app_namespace: str = ""
    sync_status: str = ""
    health_status: str = ""
    revision: str = ""
    destination_namespace: str = ""
    history_revisions: tuple[str, ...] = ()
    """Every revision in the app's deployment history, newest first."""


class ApplicationListEvidence(_Model):
    """``argocd_application_status`` without a name: the apps this account can see."""

    instance: str
    projects: tuple[str, ...] = ()
    error: EvidenceError | None = None
    count: int = 0
    applications: tuple[AppListEntry, ...] = ()
    truncated: bool = False


class DiffRecord(_Model):
    """One drifted resource: its key, why it differs, and a redacted unified diff."""

    group: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    change: str = "modified"
    """``modified``, ``missing`` (in git, not live) or ``extraneous`` (live, not in git)."""
    diff: str = ""
    redacted: bool = False
    """True when the whole diff was withheld (a Secret)."""
    truncated: bool = False


class DiffEvidence(_Model):
    """``argocd_application_diff``: drift between the live and the desired state."""

    instance: str
    application: str
    error: EvidenceError | None = None
    drift_detected: bool = False
    diff_count: int = 0
    diffs: tuple[DiffRecord, ...] = ()
    resources_compared: int = 0


class ImageChange(_Model):
    """An image that the newest rollout changed (from the previous ReplicaSet's image)."""

    workload: str
    """``Deployment payments`` (or the ReplicaSet when no owner is known)."""
    before: str
    after: str


class PodCause(_Model):
    """One unhealthy pod and what the resource tree (and its events) say is wrong with it."""

    namespace: str = ""
    name: str = ""
    uid: str = ""
    kind: str = "Pod"
    health: str = ""
    message: str = ""
    """The health message, else the most telling event's message (redacted)."""
    reason: str = ""
    """The tree's ``Status Reason``: ``ImagePullBackOff``, ``CrashLoopBackOff``, ``OOMKilled``..."""
    restarts: int = 0
    containers: str = ""
    """Ready/total, as ``0/1``."""
    images: tuple[str, ...] = ()
    owner: str = ""
    """The owning ReplicaSet/StatefulSet/Job (``ReplicaSet payments-7d9f``)."""
    events: tuple[str, ...] = ()
    """``Reason: message`` of the pod's Warning events, newest first (a few at most)."""

    @property
    def label(self) -> str:
        """``Pod namespace/name`` as Argo CD's CLI prints it."""
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else self.name


class ResourceTreeEvidence(_Model):
    """``argocd_resource_tree``: the unhealthy pods of an app and the images its rollout changed."""

    instance: str
    application: str
    error: EvidenceError | None = None
    pods_seen: int = 0
    unhealthy_pods: tuple[PodCause, ...] = ()
    image_changes: tuple[ImageChange, ...] = ()
    events_read_for: str | None = None
    """The pod whose events were read (one call at most), if any."""


class RollbackCandidate(_Model):
    """The revision to go back to: the one deployed before the current, with its gate decision."""

    application: str
    revision: str
    history_id: int | None = None
    deployed_at: datetime | None = None
    gate: str = "unknown"
    """``pass``, ``fail``, ``none`` (no decision in Belay's store), ``unknown`` (not looked up)."""
    decision_id: str | None = None
    command: str = ""


class InvestigationFinding(_Model):
    """One judgement, with the evidence paths that support it."""

    kind: str
    severity: Severity
    summary: str
    evidence: tuple[str, ...] = ()
    application: str | None = None


class InvestigationReport(_Model):
    """Everything one investigation produced; ``to_json_data`` gives the DESIGN §4 shape."""

    alert: Alert
    instance: str | None = None
    application: str | None = None
    revision: str | None = None
    """The deployed revision, when Argo CD told us."""
    generated_at: datetime
    evidence: dict[str, Any] = Field(default_factory=dict)
    findings: tuple[InvestigationFinding, ...] = ()
    ruled_out: tuple[str, ...] = ()
    ruled_out_reasons: dict[str, str] = Field(default_factory=dict)
    notes: tuple[str, ...] = ()
    fleet_context: tuple[InvestigationFinding, ...] = ()
    """Findings about apps the alert does not point at (from a listing); never top findings."""
    rollback_candidate: RollbackCandidate | None = None
    fingerprints: tuple[str, ...] = ()
    """The fingerprints of the alerts this report covers (a grouped notification's, per app)."""
    alert_names: tuple[str, ...] = ()

    def to_json_data(self) -> dict[str, Any]:
        """The report as JSON-ready, redacted data (DESIGN §4 keys, plus a few extras).

        Everything passes through :func:`belay.redact.redact_data`, except the diff texts, which
        :func:`belay.investigate.sanitize.redact_diff_text` redacts value by value (a key-based
        pass over YAML text would hide a ``secretName:`` reference and the line after it).
        """
        alert = self.alert.model_dump(mode="json")
        alert["has_gitops_context"] = self.alert.has_gitops_context
        evidence = {
            name: value.model_dump(mode="json") if isinstance(value, BaseModel) else value
            for name, value in self.evidence.items()
        }
        diff_texts: list[str] = []
        diff_ev = evidence.get("argocd_application_diff")
        if isinstance(diff_ev, dict):
            for record in diff_ev.get("diffs") or []:
                if isinstance(record, dict):
                    diff_texts.append(str(record.get("diff", "")))
                    record["diff"] = ""
        data: dict[str, Any] = redact_data(
            {
                "alert": alert,
                "instance": self.instance,
                "application": self.application,
                "revision": self.revision,
                "generated_at": self.generated_at.isoformat(),
                "evidence": evidence,
                "findings": [f.model_dump(mode="json") for f in self.findings],
                "ruled_out": list(self.ruled_out),
                "ruled_out_reasons": dict(self.ruled_out_reasons),
                "notes": list(self.notes),
                "fleet_context": [f.model_dump(mode="json") for f in self.fleet_context],
                "rollback_candidate": (
                    self.rollback_candidate.model_dump(mode="json")
                    if self.rollback_candidate is not None
                    else None
                ),
                "fingerprints": list(self.fingerprints),
                "alert_names": list(self.alert_names or (self.alert.name,)),
            }
        )
        redacted_diff = data["evidence"].get("argocd_application_diff")
        if diff_texts and isinstance(redacted_diff, dict):
            for record, text in zip(redacted_diff.get("diffs") or [], diff_texts, strict=False):
                record["diff"] = redact_diff_text(text)
        return data
