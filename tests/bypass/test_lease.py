"""The replicas' lease on the real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from belay.bypass import Lease
from belay.store import Store


def _clock(start: datetime) -> tuple[Callable[[], datetime], Callable[[float], None]]:
    now = [start]

    def advance(seconds: float) -> None:
        now[0] += timedelta(seconds=seconds)

    return (lambda: now[0]), advance


def test_one_holder_until_it_expires_then_the_other(store: Store) -> None:
    """Two owners: the first holds; the second gets it only once the first's lease expired."""
    clock, advance = _clock(datetime(2026, 12, 1, tzinfo=UTC))
    first = Lease(store, instance="default", owner="one", ttl_seconds=10, clock=clock)
    second = Lease(store, instance="default", owner="two", ttl_seconds=10, clock=clock)
    assert first.renew()
    assert not second.renew()
    advance(5)
    assert first.renew()  # renewed: good for 10 s from now
    advance(9)
    assert not second.renew()
    advance(2)  # the first stopped renewing (it died) 11 s ago
    assert second.renew()
    assert not first.renew()
    assert first.since == second.since == datetime(2026, 12, 1, tzinfo=UTC)


def test_release_hands_over_at_once(store: Store) -> None:
    """A clean stop releases the lease; the other replica need not wait for it to expire."""
    clock, _advance = _clock(datetime(2026, 12, 1, tzinfo=UTC))
    first = Lease(store, instance="default", owner="one", ttl_seconds=10, clock=clock)
    second = Lease(store, instance="default", owner="two", ttl_seconds=10, clock=clock)
    assert first.renew()
    first.release()
    assert not first.held()
    assert second.renew()


def test_instances_have_separate_leases(store: Store) -> None:
    """Each Argo CD instance is leased on its own, so replicas can share the work."""
    one = Lease(store, instance="prod", owner="one", ttl_seconds=10)
    two = Lease(store, instance="staging", owner="two", ttl_seconds=10)
    assert one.renew()
    assert two.renew()
