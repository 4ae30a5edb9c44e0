"""The store adapter behind ``unapproved_revision``: Belay's own decisions about a revision."""

from __future__ import annotations

from belay.investigate.engine import GateLookup
from belay.investigate.models import GateDecision
from belay.store import Store

__all__ = ["store_gate_lookup"]


def store_gate_lookup(store: Store) -> GateLookup:
    """A lookup of decisions about ``(application, revision)`` in ``store``, newest first."""

    def lookup(application: str, revision: str) -> list[GateDecision]:
        with store.unit_of_work() as uow:
            found = uow.decisions.for_revision(application, revision)
        return [
            GateDecision(
                id=d.id,
                application=d.application,
                revision=d.revision,
                decision=d.decision,
                decided_at=d.decided_at,
            )
            for d in found
        ]

    return lookup
