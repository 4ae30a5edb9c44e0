"""One replica watches each Argo CD instance: a lease row in the shared store.

:meth:`Lease.renew` takes or renews the lease in one transaction (see
:mod:`belay.store.bypass`); :meth:`Lease.held` answers from the local monotonic clock, and
stops answering yes a safety margin before the lease could have passed to another replica, even
when the store cannot be reached to renew it. So a replica that lost its database, or froze,
stops reporting before another one starts. The unique report key is the second line of defence:
even two replicas that both believed they held the lease could not report one bypass twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from belay.logs import get_logger
from belay.store import Store

__all__ = ["Lease"]

SAFETY_FRACTION = 0.2
"""The share of the lease given up locally before it expires in the store (clock drift, a
renewal that took long)."""

_log = get_logger("belay.bypass")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Lease:
    """A replica's claim on the bypass watch of one instance (``bypass:<instance>``)."""

    def __init__(
        self,
        store: Store,
        *,
        instance: str,
        owner: str,
        ttl_seconds: float,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.store = store
        self.name = f"bypass:{instance}"
        self.owner = owner
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock
        self.since: datetime | None = None
        """Since when Belay watches the instance (the first lease ever taken), once known."""
        self._valid_until = 0.0

    def renew(self) -> bool:
        """Take or renew the lease; whether this replica holds it now."""
        started = time.monotonic()
        try:
            with self.store.unit_of_work() as uow:
                grant = uow.bypass.take_lease(
                    self.name, owner=self.owner, ttl=self.ttl, now=self.clock()
                )
                uow.commit()
        except Exception as err:  # noqa: BLE001 - a store outage must not end the watch
            _log.warning("bypass.lease_unreachable", lease=self.name, error=type(err).__name__)
            return self.held()
        self.since = grant.since
        if grant.held:
            margin = self.ttl.total_seconds() * (1 - SAFETY_FRACTION)
            self._valid_until = started + margin
        else:
            self._valid_until = 0.0
        return grant.held

    def held(self) -> bool:
        """Whether this replica may report now."""
        return time.monotonic() < self._valid_until

    def release(self) -> None:
        """Give the lease up at a clean stop, so another replica takes over at once."""
        if not self.held():
            return
        self._valid_until = 0.0
        try:
            with self.store.unit_of_work() as uow:
                uow.bypass.release_lease(self.name, owner=self.owner, now=self.clock())
                uow.commit()
        except Exception as err:  # noqa: BLE001 - it expires on its own anyway
            _log.warning("bypass.lease_release_failed", lease=self.name, error=type(err).__name__)
