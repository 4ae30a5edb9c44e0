"""The bypass watch end to end: syncs sent to the real simulator over HTTP by another account,
judged by the handler on a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from belay.argocd.models import Info
from belay.bypass import UNAPPROVED_KIND
from belay.deploy import MARKER_NAME
from belay.notify import AlertEvent, Alerting, WebhookChannel
from belay.sim.testing import RunningSimulator
from belay.store import Store
from belay.store.tables import AlertRow
from belay.web.metrics import Metrics
from belay.web.views import decision_status

from ..notify.conftest import Receiver
from ..notify.conftest import receiver as receiver
from .conftest import (
    ADMIN_TOKEN,
    OTHER_TOKEN,
    START,
    Watcher,
    approve,
    commit,
    history_ids,
    push,
    settings_for,
    sync_as,
    wait_until,
)

APPS = ("shop", "auto")


def _sync_and_settle(
    sim: RunningSimulator, watcher: Watcher, token: str, revision: str, **kw: object
) -> None:
    before = len(history_ids(sim, "shop"))
    sync_as(sim, token, "shop", revision, **kw)  # type: ignore[arg-type]
    wait_until(lambda: len(history_ids(sim, "shop")) > before, "the sync's history entry")
    watcher.caught_up(sim, "shop")


def _reports(store: Store) -> list[tuple[str, str, str]]:
    with store.unit_of_work() as uow:
        return [(r.application, r.revision, r.initiated_by) for r in uow.bypass.recent(limit=100)]


def test_sync_by_another_account_is_reported_once_everywhere(
    sim: RunningSimulator, store: Store, make_watcher: Callable[..., Watcher]
) -> None:
    """Audit event, one alert, decision API and metric for a sync past the gate."""
    settings = settings_for(APPS, store.url)
    watcher = make_watcher(sim, store, settings, alerting=Alerting(store, ()))
    bad = commit(66)
    _sync_and_settle(sim, watcher, OTHER_TOKEN, bad)

    assert _reports(store) == [("shop", bad, "mallory")]
    with store.unit_of_work() as uow:
        events = uow.audit.list(application="shop", kind=UNAPPROVED_KIND, limit=10)
    assert [(e.revision, e.actor, e.data["initiated_by"]) for e in events] == [
        (bad, "argocd:mallory", "mallory")
    ]
    assert events[0].data["at"] is not None
    with store.session() as session:
        alerts = session.scalars(select(AlertRow.event).where(AlertRow.revision == bad)).all()
    assert alerts == ["deployment_unapproved"]
    answer = decision_status(store, application="shop", revision=bad, public_url="http://b")
    assert answer.approved is False
    assert answer.to_wire()["unapproved"]["by"] == "mallory"
    assert b"belay_unapproved_deployments_total 1.0" in Metrics(store).render()


def test_approved_resync_and_rollback_are_not_flagged(
    sim: RunningSimulator, store: Store, make_watcher: Callable[..., Watcher]
) -> None:
    """Re-syncing or rolling back to revisions that passed is fine, whoever does it."""
    settings = settings_for(APPS, store.url)
    watcher = make_watcher(sim, store, settings)
    good = commit(1)
    approve(store, "shop", START)
    approve(store, "shop", good)
    _sync_and_settle(sim, watcher, OTHER_TOKEN, good)
    _sync_and_settle(sim, watcher, ADMIN_TOKEN, START)
    _sync_and_settle(sim, watcher, OTHER_TOKEN, good)
    assert _reports(store) == []
    approve(store, "shop", commit(2), decision="fail")
    _sync_and_settle(sim, watcher, OTHER_TOKEN, commit(2))
    assert _reports(store) == [("shop", commit(2), "mallory")]


def test_belay_own_sync_passes_and_a_copied_marker_does_not(
    sim: RunningSimulator, store: Store, make_watcher: Callable[..., Watcher]
) -> None:
    """A sync carrying the marker of a Belay job at that revision is Belay's; a copy is not;
    and after a restart, when the history entry has lost the marker, it is still Belay's."""
    from datetime import UTC, datetime, timedelta

    settings = settings_for(APPS, store.url)
    watcher = make_watcher(sim, store, settings)
    own = commit(5)
    with store.unit_of_work() as uow:
        job = uow.jobs.enqueue(
            instance="default",
            application="shop",
            revision=own,
            spec={},
            actor="manual:alice",
            now=datetime.now(UTC),
        )
        uow.jobs.claim(worker_id="w", lease=timedelta(minutes=5), now=datetime.now(UTC))
        uow.commit()
    marker = [Info(name=MARKER_NAME, value=job.id)]
    _sync_and_settle(sim, watcher, ADMIN_TOKEN, own, infos=marker)
    assert _reports(store) == []
    _sync_and_settle(sim, watcher, OTHER_TOKEN, commit(6), infos=marker)
    assert _reports(store) == [("shop", commit(6), "mallory")]
    restarted = make_watcher(sim, store, settings)  # a new process: nothing settled in memory
    restarted.caught_up(sim, "shop")
    assert _reports(store) == [("shop", commit(6), "mallory")]


def test_auto_sync_after_a_push_is_flagged_unless_approved(
    sim: RunningSimulator, store: Store, make_watcher: Callable[..., Watcher]
) -> None:
    """A push that auto-sync deploys is a bypass unless the pushed commit passed the gate."""
    settings = settings_for(APPS, store.url)
    watcher = make_watcher(sim, store, settings)
    approve(store, "auto", commit(8))
    for revision in (commit(7), commit(8)):
        before = len(history_ids(sim, "auto"))
        wait_until(lambda: sim.application("auto").get("operation") is None, "auto idle")
        assert push(sim, revision) == ["auto"]
        wait_until(lambda n=before: len(history_ids(sim, "auto")) > n, "auto-sync history")
        watcher.caught_up(sim, "auto")
    assert _reports(store) == [("auto", commit(7), "automated")]


def test_a_second_replica_reports_nothing_twice(
    sim: RunningSimulator,
    store: Store,
    make_watcher: Callable[..., Watcher],
    receiver: Receiver,
) -> None:
    """Two handlers on one store judging the same events, each with its own alerting on the
    same webhook: one report, one audit event and one delivered alert per bypass."""
    settings = settings_for(APPS, store.url)
    events = frozenset({AlertEvent.deployment_unapproved})
    alertings = [
        Alerting(store, (WebhookChannel(name="hook", url=receiver.url, events=events),))
        for _ in range(2)
    ]
    for alerting in alertings:
        alerting.start()
    first = make_watcher(sim, store, settings, reporter="one", alerting=alertings[0])
    second = make_watcher(sim, store, settings, reporter="two", alerting=alertings[1])
    try:
        for n in range(3):
            _sync_and_settle(sim, first, OTHER_TOKEN, commit(100 + n))
            second.caught_up(sim, "shop")
        for alerting in alertings:
            assert alerting.flush(timeout=30)
    finally:
        for alerting in alertings:
            alerting.close()
    assert len(_reports(store)) == 3
    with store.unit_of_work() as uow:
        audited = uow.audit.list(application="shop", kind=UNAPPROVED_KIND, limit=10)
    assert sorted(e.revision for e in audited) == [commit(100 + n) for n in range(3)]
    delivered = [r.json() for r in receiver.received]
    assert sorted(d["data"]["revision"] for d in delivered) == [commit(100 + n) for n in range(3)]
    assert {d["type"] for d in delivered} == {"belay.alert.deployment_unapproved"}


def test_revert_queues_a_sync_back_to_the_last_approved_revision(
    sim: RunningSimulator, store: Store, make_watcher: Callable[..., Watcher]
) -> None:
    """``on_unapproved: revert`` queues Belay's own sync of the newest approved revision."""
    settings = settings_for(APPS, store.url, on_unapproved="revert")
    watcher = make_watcher(sim, store, settings)
    approve(store, "shop", START)
    _sync_and_settle(sim, watcher, OTHER_TOKEN, commit(9))
    with store.unit_of_work() as uow:
        jobs = uow.jobs.list(application="shop")
        reports = uow.bypass.recent()
    assert [(j.revision, j.actor, j.state) for j in jobs] == [
        (START, "manual:bypass-watch", "queued")
    ]
    assert [(r.revision, r.action, r.details["revert_to"]) for r in reports] == [
        (commit(9), "revert", START)
    ]
