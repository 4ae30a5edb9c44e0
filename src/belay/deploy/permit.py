"""Whether a manual sync may be queued: the gate's decision for the revision, or an override.

A manual sync (``belay sync APP --revision R``) deploys what a person names, so it passes the
same gate as a Portage delivery: the newest decision Belay holds about that application at that
revision must be ``pass``. Everything else fails closed and is refused: a failing verdict, no
verdict, no revision (the application's target is whatever its branch points at when the sync
runs), a branch or tag name, a prefix matching several judged commits. A person may still deploy
such a revision by overriding the gate with a reason; :class:`GateOverride` is the audit event
(``sync.override``) written in the same transaction as the job, and the alert that announces it.

A SHA prefix of at least :data:`MIN_PREFIX` hex characters that matches exactly one judged
commit stands for that commit, and the job syncs the full SHA the gate judged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from belay.deploy.revision import MIN_PREFIX, is_full_sha, is_short_sha
from belay.store import DecisionRecord, JobRecord, NewAuditEvent, Store
from belay.vocab import AuditKind

__all__ = [
    "MIN_PREFIX",
    "OVERRIDE_KIND",
    "GateOverride",
    "GateStanding",
    "SyncPermit",
    "check_manual_sync",
]

OVERRIDE_KIND = AuditKind.sync_override
"""The audit kind of a manual sync that went past the gate."""

GateStanding = Literal["pass", "fail", "none", "unchecked"]
"""The gate's word on a revision: passed, failed, never judged, or not a judgeable commit."""


class SyncPermit(BaseModel):
    """What the gate says about a manual sync of ``application`` at ``requested``."""

    model_config = ConfigDict(frozen=True)

    application: str
    requested: str | None
    """The revision as the person gave it (``None``: the application's target)."""
    revision: str | None
    """The revision to sync: the full SHA the gate judged when a prefix named it."""
    gate: GateStanding
    decision: DecisionRecord | None = None
    """The newest decision about that revision, if any."""
    reason: str
    """One line: why the sync may or may not go ahead."""

    @property
    def allowed(self) -> bool:
        """True only when the newest decision about the revision is a pass."""
        return self.gate == "pass"


class GateOverride(BaseModel):
    """A person's decision to sync a revision the gate did not pass, and why."""

    model_config = ConfigDict(frozen=True)

    actor: str
    """Who overrides, as the audit trail names people (``manual:<user>``)."""
    reason: str
    permit: SyncPermit

    def audit_event(self, job: JobRecord, *, project: str | None) -> NewAuditEvent:
        """The ``sync.override`` event for ``job`` (linked to the overridden decision, if any)."""
        decision = self.permit.decision
        return NewAuditEvent(
            kind=OVERRIDE_KIND,
            actor=self.actor,
            project=project,
            instance=job.instance,
            application=job.application,
            revision=job.revision,
            decision_id=decision.id if decision else None,
            submission_id=decision.submission_id if decision else None,
            job_id=job.id,
            data={
                "reason": self.reason,
                "gate": self.permit.gate,
                "requested": self.permit.requested,
                "refusal": self.permit.reason,
            },
        )


def _standing(found: DecisionRecord) -> GateStanding:
    return "pass" if found.decision == "pass" else "fail"


def check_manual_sync(
    store: Store,
    *,
    application: str,
    revision: str | None,
    trust: Callable[[DecisionRecord], str | None] | None = None,
) -> SyncPermit:
    """The gate's answer for a manual sync; reads the store, writes nothing.

    ``trust`` (when this Belay signs) says why a decision row cannot be trusted as signed: a
    'pass' that does not verify grants nothing, and the sync then needs an override.
    """

    def refused(gate: GateStanding, reason: str) -> SyncPermit:
        return SyncPermit(
            application=application,
            requested=revision,
            revision=revision,
            gate=gate,
            reason=reason,
        )

    if revision is None:
        return refused(
            "unchecked", f"no --revision given: the gate cannot vouch for {application}'s target"
        )
    wanted = revision.strip().lower()
    if not (is_full_sha(wanted) or is_short_sha(wanted)):
        return refused(
            "unchecked",
            f"{revision!r} is not a commit SHA the gate judged (branches and tags are not)",
        )
    with store.unit_of_work() as uow:
        if is_full_sha(wanted):
            found = uow.decisions.for_revision(application, wanted)
        else:
            found = uow.decisions.for_revision_prefix(application, wanted)
    commits = sorted({d.revision for d in found if d.revision})
    if len(commits) > 1:
        return refused(
            "unchecked",
            f"{revision!r} matches {len(commits)} judged commits of {application}: "
            "give more of the SHA",
        )
    if not found:
        return refused("none", f"no gate decision for {application} at {revision}")
    newest = found[0]
    if trust is not None and newest.decision == "pass":
        problem = trust(newest)
        if problem is not None:
            return refused("unchecked", f"the stored pass does not verify: {problem}")
    gate = _standing(newest)
    verdict = newest.verdict.get("verdict", newest.verdict)
    summary = str(verdict.get("summary") or "").strip()[:200]
    said = f"the gate's decision for {application} at {newest.revision} is {newest.decision}"
    return SyncPermit(
        application=application,
        requested=revision,
        revision=newest.revision,
        gate=gate,
        decision=newest,
        reason=f"{said} ({summary})" if summary and gate != "pass" else said,
    )
