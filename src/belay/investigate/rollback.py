"""The rollback candidate (pure): the revision deployed before the current one, and its verdict.

An unhealthy app whose history holds an earlier, different revision was (as far as Argo CD's
history tells) running that revision before the rollout that broke it. Belay names it, says
whether it passed Belay's gate, and prints the ``belay sync`` command that would deploy it
through the same audited engine.
"""

from __future__ import annotations

import shlex

from belay.investigate.models import ApplicationStatusEvidence, GateDecision, RollbackCandidate

__all__ = ["UNHEALTHY", "previous_revision", "rollback_candidate"]

UNHEALTHY = frozenset({"Degraded", "Progressing", "Missing"})
"""Health states in which a rollback is worth naming."""


def previous_revision(status: ApplicationStatusEvidence) -> tuple[int, str] | None:
    """The index in the history and the revision of the newest entry unlike the deployed one."""
    current = set(status.deployed_revisions)
    for i, entry in enumerate(status.history):
        revision = entry.revision or (entry.revisions[0] if entry.revisions else "")
        if revision and revision not in current:
            return i, revision
    return None


def rollback_candidate(
    status: ApplicationStatusEvidence,
    *,
    failed_sync: bool,
    decisions: tuple[GateDecision, ...] | None,
) -> RollbackCandidate | None:
    """The candidate for an unhealthy (or failed-sync) app; ``None`` when there is none.

    ``decisions`` are Belay's decisions about the candidate revision, newest first (``None`` when
    the store was not consulted, which leaves ``gate`` as ``unknown``).
    """
    if not status.found or not (status.health_status in UNHEALTHY or failed_sync):
        return None
    found = previous_revision(status)
    if found is None:
        return None
    index, revision = found
    entry = status.history[index]
    gate, decision_id = "unknown", None
    if decisions is not None:
        passed = next((d for d in decisions if d.decision == "pass"), None)
        chosen = passed or (decisions[0] if decisions else None)
        gate = chosen.decision if chosen is not None else "none"
        decision_id = chosen.id if chosen is not None else None
    command = ["belay", "sync", status.application, "--revision", revision]
    command += ["--instance", status.instance]
    return RollbackCandidate(
        application=status.application,
        revision=revision,
        history_id=entry.id,
        deployed_at=entry.deployed_at,
        gate=gate,
        decision_id=decision_id,
        command=shlex.join(command),
    )
