"""How a deployment job ended: the value stored with the job, shown in the audit trail and sent
to alerting (which imports it from here, without the worker)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from belay.deploy.decide import Assessment
from belay.vocab import AuditKind, JobState

__all__ = ["OUTCOME_EVENTS", "DeployOutcome"]

OUTCOME_EVENTS = {
    JobState.succeeded: AuditKind.deployment_succeeded,
    JobState.failed: AuditKind.deployment_failed,
    JobState.timed_out: AuditKind.deployment_timed_out,
}
"""The audit event kind that records each outcome state."""


class DeployOutcome(BaseModel):
    """How a job ended, stored with it and shown in the audit trail."""

    model_config = ConfigDict(frozen=True)

    state: Literal[JobState.succeeded, JobState.failed, JobState.timed_out]
    reason: str
    assessment: Assessment | None = None
    error_class: str | None = None

    def as_record(self) -> dict[str, Any]:
        """The JSON stored as the job's outcome."""
        return self.model_dump(mode="json", exclude_none=True)

    @property
    def event_kind(self) -> str:
        """The audit event kind recording this outcome."""
        return OUTCOME_EVENTS[self.state]
