"""The two look-ups a bypass decision makes in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from belay.store import BelayJobRecord, DecisionRecord, Store
from belay.store.tables import JobRow

REV = "a" * 40
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def _decide(store: Store, decision: str, at: datetime, *, id_: str, revision: str = REV) -> None:
    with store.unit_of_work() as uow:
        uow.decisions.add(
            DecisionRecord(
                id=id_,
                decided_at=at,
                decision=decision,  # type: ignore[arg-type]
                project="shop",
                instance="default",
                application="shop",
                revision=revision,
                verdict={"summary": "test"},
            )
        )
        uow.commit()


def _passing(store: Store) -> set[str]:
    with store.unit_of_work() as uow:
        return uow.bypass.passing("shop", [REV.upper()], project="shop")


def test_a_pass_overruled_by_a_newer_fail_is_not_passing(store: Store) -> None:
    """Passing means the newest decision about the revision is ``pass`` (as the permit and the
    decision API read it), not that some decision ever passed."""
    _decide(store, "pass", T0, id_="d1")
    assert _passing(store) == {REV}
    _decide(store, "fail", T0 + timedelta(minutes=1), id_="d2")
    assert _passing(store) == set()
    _decide(store, "pass", T0 + timedelta(minutes=2), id_="d3")
    assert _passing(store) == {REV}


def test_decisions_at_the_same_time_are_ordered_by_id(store: Store) -> None:
    """Two decisions in the same instant: the greater id is the newer, also for the API."""
    _decide(store, "pass", T0, id_="d1")
    _decide(store, "fail", T0, id_="d2")
    assert _passing(store) == set()
    with store.unit_of_work() as uow:
        assert uow.decisions.for_revision("shop", REV)[0].decision == "fail"


def test_belay_jobs_carry_state_and_times(store: Store) -> None:
    """What the marker rule needs: the job's state, creation and finish times."""
    with store.session() as session:
        session.add(
            JobRow(
                id="job-1",
                instance="default",
                application="shop",
                revision=REV,
                spec={},
                actor="test",
                state="succeeded",
                attempts=1,
                not_before=T0,
                created_at=T0,
                updated_at=T0 + timedelta(minutes=2),
                finished_at=T0 + timedelta(minutes=2),
            )
        )
        session.commit()
    with store.unit_of_work() as uow:
        jobs = uow.bypass.belay_jobs(["job-1", "forged"])
    assert jobs == {
        "job-1": BelayJobRecord(
            instance="default",
            application="shop",
            revision=REV,
            state="succeeded",
            created_at=T0,
            finished_at=T0 + timedelta(minutes=2),
        )
    }
