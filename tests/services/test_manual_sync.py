"""The manual-sync use case over a real SQLite store: the gate's word, then a job (or nothing)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.support import migrated_store

from belay.config.settings import BelaySettings
from belay.errors import BadInput
from belay.notify import Alerting
from belay.services import ManualSync
from belay.store import DecisionRecord, Store, new_id

PASS_SHA = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
FAIL_SHA = "9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated store holding a passing and a failing decision about guestbook."""
    with migrated_store(f"sqlite:///{tmp_path / 'belay.db'}") as store:
        with store.unit_of_work() as uow:
            for decision, revision in (("pass", PASS_SHA), ("fail", FAIL_SHA)):
                uow.decisions.add(
                    DecisionRecord(
                        id=new_id(),
                        decided_at=datetime.now(UTC),
                        decision=decision,  # type: ignore[arg-type]
                        application="guestbook",
                        revision=revision,
                        verdict={"decision": decision, "summary": decision, "reasons": []},
                    )
                )
            uow.commit()
        yield store


class Announcers:
    """An alerting factory that counts the alerting services it built (no channels)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.built = 0

    def __call__(self) -> Alerting:
        self.built += 1
        return Alerting(self.store, ())


def _syncs(store: Store, announcers: Announcers) -> ManualSync:
    return ManualSync(store=store, settings=BelaySettings(), trust=None, alerting=announcers)


def _kinds(store: Store) -> list[str]:
    with store.unit_of_work() as uow:
        return [e.kind for e in uow.audit.list()]


def test_a_passing_revision_is_queued_without_an_override(store: Store) -> None:
    """A revision the gate passed is queued as the person, audited, and announces nothing."""
    announcers = Announcers(store)
    syncs = _syncs(store, announcers)
    permit = syncs.permit(application="guestbook", revision=PASS_SHA[:7])
    assert permit.allowed and permit.revision == PASS_SHA
    job = syncs.queue(permit, actor="alice", override_reason="not needed")
    assert (job.application, job.revision, job.actor) == ("guestbook", PASS_SHA, "manual:alice")
    assert _kinds(store) == ["sync.manual_requested"]
    assert announcers.built == 0


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_refused_revision_without_a_reason_queues_nothing(
    store: Store, reason: str | None
) -> None:
    """A revision the gate failed, with no reason to override it, is refused: no job, no event."""
    announcers = Announcers(store)
    syncs = _syncs(store, announcers)
    permit = syncs.permit(application="guestbook", revision=FAIL_SHA)
    assert not permit.allowed
    with pytest.raises(BadInput, match="refused, nothing queued"):
        syncs.queue(permit, actor="alice", override_reason=reason)
    with store.unit_of_work() as uow:
        assert uow.jobs.list() == []
    assert _kinds(store) == []
    assert announcers.built == 0


def test_an_override_is_audited_with_the_job_and_announced(store: Store) -> None:
    """An override queues the failed revision, audits who and why, and is announced once."""
    announcers = Announcers(store)
    syncs = _syncs(store, announcers)
    permit = syncs.permit(application="guestbook", revision=FAIL_SHA)
    job = syncs.queue(permit, actor="carol", override_reason="  vm2 unused  ")
    assert job.revision == FAIL_SHA
    with store.unit_of_work() as uow:
        events = uow.audit.list()
    assert [e.kind for e in events] == ["sync.manual_requested", "sync.override", "alert.raised"]
    override = events[1]
    assert override.actor == "manual:carol" and override.job_id == job.id
    assert override.data["reason"] == "vm2 unused"
    assert announcers.built == 1
