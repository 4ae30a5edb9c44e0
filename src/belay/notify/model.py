"""The alert as Belay's notification channels see it: one typed, redacted value.

An :class:`OutgoingAlert` (what Belay sends; the alerts it receives and investigates are
:class:`belay.investigate.Alert`) is built by the pure triggers (:mod:`belay.notify.triggers`),
reserved in the store under its :attr:`OutgoingAlert.dedup_key` (so a restart or a retry never
sends it twice), and rendered by each channel. It never holds a secret: every free text is
redacted when built.
"""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import BaseModel, ConfigDict, field_validator

from belay.redact import redact_text

__all__ = ["AlertEvent", "OutgoingAlert"]


class AlertEvent(enum.StrEnum):
    """What an alert is about (the ``events`` vocabulary of ``notifications`` in belay.yaml)."""

    deploy_failed = "deploy_failed"
    """The sync ran but the deployment failed: Degraded, Failed/Error, wrong revision, timeout."""
    sync_failed = "sync_failed"
    """The sync could not be made to happen: 404 after its grace period, auto-sync conflict, ..."""
    auth_failed = "auth_failed"
    """Argo CD refused Belay's credentials (401) or its RBAC denied the sync (403)."""
    repeated_failures = "repeated_failures"
    """N deployments of one application failed in a row."""
    token_expiry = "token_expiry"
    """An Argo CD token expires soon, has expired, or never expires (one-time notice)."""
    verdict_fail = "verdict_fail"
    """The gate's policy failed a submission."""
    gate_override = "gate_override"
    """A person queued a manual sync of a revision the gate did not pass (``--override-gate``)."""
    deployment_unapproved = "deployment_unapproved"
    """Argo CD deployed a revision without a passing decision, past Belay (docs/bypass.md)."""


class OutgoingAlert(BaseModel):
    """One alert: what happened, to which application and revision, and where to look."""

    model_config = ConfigDict(frozen=True)

    event: AlertEvent
    dedup_key: str
    """Application + revision + event (or instance + token + stage): the store's unique key."""
    title: str
    """One line, e.g. ``Deployment failed: guestbook at 1f2e3d4``."""
    what_happened: str
    """Why Belay raises this alert, in a sentence or two."""
    occurred_at: datetime
    instance: str | None = None
    application: str | None = None
    project: str | None = None
    """The Argo CD project of the application."""
    revision: str | None = None
    decision_id: str | None = None
    job_id: str | None = None
    operation_message: str | None = None
    """Argo CD's ``status.operationState.message`` when there was an operation."""
    failed_resources: tuple[str, ...] = ()
    link: str | None = None
    """The submission's page (or the decision's) on Belay's web UI."""
    severity: str = "error"
    """``error``, ``warning`` or ``info``."""

    @field_validator("title", "what_happened", "operation_message")
    @classmethod
    def _redacted(cls, value: str | None) -> str | None:
        return None if value is None else redact_text(value)

    @field_validator("failed_resources")
    @classmethod
    def _redacted_all(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(redact_text(v) for v in value)
