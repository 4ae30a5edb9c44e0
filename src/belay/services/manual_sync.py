"""Manual syncs (``belay sync APP``): the gate's word on the revision, then an audited job.

A manual sync passes the same gate as a Portage delivery (:mod:`belay.deploy.permit`): a
revision without a passing decision is refused, nothing queued, unless the person overrides the
gate with a reason. The override is audited with the job (``sync.override``) and announced on
the ``gate_override`` alert channels before :meth:`ManualSync.queue` returns.

The use case has two steps so the caller can speak between them: :meth:`ManualSync.permit` reads
the store and writes nothing; :meth:`ManualSync.queue` queues (through
:func:`belay.deploy.manual.queue_manual_sync`) and announces.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from belay.config import BelaySettings
from belay.deploy import GateOverride, SyncPermit, check_manual_sync, queue_manual_sync
from belay.errors import BadInput
from belay.notify import Alerting
from belay.store import DecisionRecord, JobRecord, Store

__all__ = ["ANNOUNCE_WAIT_SECONDS", "ManualSync"]

ANNOUNCE_WAIT_SECONDS = 30.0
"""How long :meth:`ManualSync.queue` waits for the override's alert to be delivered before it
returns (an alert not delivered by then is delivered later by ``belay serve``)."""


@dataclass(frozen=True)
class ManualSync:
    """The manual-sync use case over its collaborators (:func:`belay.bootstrap.manual_sync`)."""

    store: Store
    """The unit-of-work factory: decisions are read and the job queued through it."""
    settings: BelaySettings
    trust: Callable[[DecisionRecord], str | None] | None
    """Why a decision cannot be trusted as signed (``None``: this Belay neither signs nor
    verifies decisions)."""
    alerting: Callable[[], Alerting]
    """Builds the alerting service that announces an override (only when there is one)."""

    def permit(self, *, application: str, revision: str | None) -> SyncPermit:
        """The gate's answer for a sync of ``application`` at ``revision``; writes nothing."""
        return check_manual_sync(
            self.store, application=application, revision=revision, trust=self.trust
        )

    def queue(
        self,
        permit: SyncPermit,
        *,
        actor: str,
        instance: str | None = None,
        override_reason: str | None = None,
    ) -> JobRecord:
        """Queue the sync ``permit`` is about, as ``actor``; the job.

        A permit that does not allow the sync needs ``override_reason`` (else
        :class:`~belay.errors.BadInput`, nothing queued): the override is then audited in the
        job's transaction and its alert delivered (waiting up to :data:`ANNOUNCE_WAIT_SECONDS`).
        A reason given for an allowed sync is not used.
        """
        override = None
        alerting = None
        if not permit.allowed:
            reason = (override_reason or "").strip()
            if not reason:
                raise BadInput(f"refused, nothing queued: {permit.reason}")
            # Built before anything is queued: a channel that cannot be used refuses the sync.
            alerting = self.alerting()
            override = GateOverride(actor=f"manual:{actor}", reason=reason, permit=permit)
        job = queue_manual_sync(
            self.store,
            self.settings,
            application=permit.application,
            revision=permit.revision,
            actor=actor,
            instance=instance,
            override=override,
        )
        if override is not None and alerting is not None:
            _announce(alerting, job, override)
        return job


def _announce(alerting: Alerting, job: JobRecord, override: GateOverride) -> None:
    """Send the ``gate_override`` alert for ``job`` and wait for its delivery."""
    permit = override.permit
    alerting.dispatcher.start()
    try:
        alerting.on_gate_override(
            job,
            decision=permit.decision,
            gate=permit.gate,
            reason=override.reason,
            refusal=permit.reason,
        )
        alerting.flush(ANNOUNCE_WAIT_SECONDS)
    finally:
        alerting.close()
