"""The store on real SQLite and real PostgreSQL: migrations, unit of work, queue, audit chain."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from belay.store import (
    DecisionRecord,
    DuplicateKey,
    NewAuditEvent,
    Store,
    StoreConfigError,
    StoreError,
    SubmissionRecord,
    new_id,
)
from belay.store.tables import Base

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_migrations_match_the_tables(store: Store) -> None:
    """The hand-written migration creates exactly what tables.py declares."""
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    store.check_ready()


def test_upgrade_is_idempotent(store: Store) -> None:
    """Running the migrations again changes nothing and keeps the store ready."""
    store.upgrade()
    assert store.current_revision() == store.head_revision()


def test_unmigrated_store_is_not_ready(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """check_ready names the missing migration and the command that applies it."""
    s = Store(f"sqlite:///{tmp_path / 'fresh.db'}")
    with pytest.raises(StoreError, match="belay db upgrade"):
        s.check_ready()


@pytest.mark.parametrize("url", ["not a url", "mysql://u@h/db"])
def test_bad_database_url_is_bad_input(url: str) -> None:
    """An unusable URL is one clear BadInput line."""
    with pytest.raises(StoreConfigError):
        Store(url)


def test_unreachable_postgres_message_hides_password() -> None:
    """A connection failure is a StoreError whose message does not carry the password."""
    s = Store("postgresql+psycopg://belay:sup3r-s3cret-pw@127.0.0.1:1/belay?connect_timeout=2")
    with pytest.raises(StoreError) as info:
        s.upgrade()
    assert "sup3r-s3cret-pw" not in str(info.value)


def test_uncommitted_work_is_rolled_back(store: Store) -> None:
    """Leaving a unit of work without commit() keeps nothing."""
    with store.unit_of_work() as uow:
        uow.jobs.enqueue(instance="i", application="a", spec={}, actor="t", now=T0, job_id="j1")
    with store.unit_of_work() as uow:
        assert uow.jobs.get("j1") is None


def _submission(key: str, manifest: dict | None = None) -> SubmissionRecord:  # type: ignore[type-arg]
    return SubmissionRecord(
        id=new_id(),
        received_at=T0,
        idempotency_key=key,
        content_digest="d" * 64,
        project="example-app",
        commit_sha="a" * 40,
        manifest=manifest,
        state="judging",
    )


def test_submission_decision_round_trip_redacts(store: Store) -> None:
    """Submissions and decisions come back typed, with secrets in them redacted."""
    sub = _submission("k1", manifest={"webhookSecret": "whsec-canary-123456", "version": "1"})
    decision = DecisionRecord(
        id=new_id(),
        submission_id=sub.id,
        decided_at=T0,
        decision="pass",
        application="app",
        revision="a" * 40,
        verdict={"decision": "pass", "note": "Bearer abcdefghijklmnop"},
    )
    with store.unit_of_work() as uow:
        uow.submissions.add(sub, bundle=b"tarball")
        uow.decisions.add(decision)
        uow.submissions.set_decision(sub.id, decision.id)
        uow.commit()
    with store.unit_of_work() as uow:
        got = uow.submissions.by_idempotency_key("k1")
        assert got is not None and got.decision_id == decision.id and got.state == "decided"
        assert got.manifest is not None and "canary" not in str(got.manifest)
        assert uow.submissions.bundle(sub.id) == b"tarball"
        found = uow.decisions.for_revision("app", "a" * 40)
        assert [d.id for d in found] == [decision.id]
        assert "abcdefghijklmnop" not in str(found[0].verdict)
        assert found[0].decided_at == T0


def test_idempotency_key_is_unique(store: Store) -> None:
    """A second submission with the same key cannot be stored: the store says DuplicateKey."""
    with store.unit_of_work() as uow:
        uow.submissions.add(_submission("dup"))
        uow.commit()
    with store.unit_of_work() as uow, pytest.raises(DuplicateKey):
        uow.submissions.add(_submission("dup"))


def test_claim_lease_finish(store: Store) -> None:
    """A job is claimed once, its lease renewed, and it ends exactly once."""
    lease = timedelta(seconds=30)
    with store.unit_of_work() as uow:
        job = uow.jobs.enqueue(
            instance="i", application="a", spec={"prune": True}, actor="t", now=T0
        )
        uow.commit()
    with store.unit_of_work() as uow:
        claimed = uow.jobs.claim(worker_id="w1", lease=lease, now=T0)
        uow.commit()
    assert claimed is not None and claimed.id == job.id and claimed.attempts == 1
    with store.unit_of_work() as uow:
        assert uow.jobs.claim(worker_id="w2", lease=lease, now=T0) is None
        assert uow.jobs.renew(job.id, worker_id="w1", lease=lease, now=T0 + timedelta(seconds=10))
        assert not uow.jobs.renew(job.id, worker_id="w2", lease=lease, now=T0)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.jobs.finish(job.id, worker_id="w1", state="succeeded", now=T0, outcome={"x": 1})
        assert not uow.jobs.finish(job.id, worker_id="w1", state="failed", now=T0)
        uow.commit()
    with store.unit_of_work() as uow:
        done = uow.jobs.get(job.id)
        assert done is not None and done.state == "succeeded" and done.outcome == {"x": 1}


def test_expired_lease_is_taken_over(store: Store) -> None:
    """A crashed worker's job is claimed by another once its lease has expired."""
    lease = timedelta(seconds=5)
    with store.unit_of_work() as uow:
        job = uow.jobs.enqueue(instance="i", application="a", spec={}, actor="t", now=T0)
        uow.jobs.claim(worker_id="dead", lease=lease, now=T0)
        uow.commit()
    with store.unit_of_work() as uow:
        assert uow.jobs.claim(worker_id="w2", lease=lease, now=T0 + timedelta(seconds=4)) is None
        taken = uow.jobs.claim(worker_id="w2", lease=lease, now=T0 + timedelta(seconds=6))
        uow.commit()
    assert taken is not None and taken.id == job.id and taken.attempts == 2
    with store.unit_of_work() as uow:
        assert not uow.jobs.finish(job.id, worker_id="dead", state="failed", now=T0)


def test_one_running_job_per_application(store: Store) -> None:
    """A second job for a busy application waits; another application's job goes ahead."""
    lease = timedelta(seconds=30)
    with store.unit_of_work() as uow:
        first = uow.jobs.enqueue(instance="i", application="a", spec={}, actor="t", now=T0)
        uow.jobs.enqueue(instance="i", application="a", spec={}, actor="t", now=T0 + timedelta(1))
        other = uow.jobs.enqueue(instance="i", application="b", spec={}, actor="t", now=T0)
        uow.commit()
    later = T0 + timedelta(days=2)
    with store.unit_of_work() as uow:
        got1 = uow.jobs.claim(worker_id="w1", lease=lease, now=later)
        got2 = uow.jobs.claim(worker_id="w2", lease=lease, now=later)
        got3 = uow.jobs.claim(worker_id="w3", lease=lease, now=later)
        uow.commit()
    assert got1 is not None and got1.id == first.id
    assert got2 is not None and got2.id == other.id
    assert got3 is None


def test_supersede_queued(store: Store) -> None:
    """Older queued jobs of an application are marked superseded, not dropped."""
    with store.unit_of_work() as uow:
        old = uow.jobs.enqueue(instance="i", application="a", spec={}, actor="t", now=T0)
        new = uow.jobs.enqueue(instance="i", application="a", spec={}, actor="t", now=T0)
        ids = uow.jobs.supersede_queued(instance="i", application="a", keep_job_id=new.id, now=T0)
        uow.commit()
    assert ids == [old.id]
    with store.unit_of_work() as uow:
        got = uow.jobs.get(old.id)
        assert got is not None and got.state == "superseded" and new.id in (got.error or "")


def test_a_released_job_is_not_superseded(store: Store) -> None:
    """A job given back to the queue after a claim (its sync may have been sent, as when the
    follower releases what it follows at shutdown) is resumed, never superseded: superseding it
    would leave a sync that ran without an outcome or an alert."""
    lease = timedelta(seconds=30)
    with store.unit_of_work() as uow:
        old = uow.jobs.enqueue(instance="i", application="a", spec={}, actor="t", now=T0)
        uow.commit()
    with store.unit_of_work() as uow:
        claimed = uow.jobs.claim(worker_id="w1", lease=lease, now=T0)
        assert claimed is not None and claimed.id == old.id
        assert uow.follows.hand_over(
            old.id, from_owner="w1", to_owner="follower", lease=lease, now=T0
        )
        assert uow.jobs.release(old.id, worker_id="follower", not_before=T0, now=T0)
        uow.commit()
    later = T0 + timedelta(seconds=1)
    with store.unit_of_work() as uow:
        new = uow.jobs.enqueue(instance="i", application="a", spec={}, actor="t", now=later)
        never = uow.jobs.enqueue(instance="i", application="a", spec={}, actor="t", now=T0)
        ids = uow.jobs.supersede_queued(
            instance="i", application="a", keep_job_id=new.id, now=later
        )
        uow.commit()
    assert ids == [never.id]
    with store.unit_of_work() as uow:
        got = uow.jobs.get(old.id)
        assert got is not None and got.state == "queued" and got.error is None
        resumed = uow.jobs.claim(worker_id="w2", lease=lease, now=later)
        uow.commit()
    assert resumed is not None and resumed.id == old.id and resumed.attempts == 2


def test_concurrent_claims_never_share_a_job(store: Store) -> None:
    """Eight threads racing over 40 jobs of 40 applications each get distinct jobs, all claimed."""
    lease = timedelta(seconds=60)
    with store.unit_of_work() as uow:
        for n in range(40):
            uow.jobs.enqueue(instance="i", application=f"app{n}", spec={}, actor="t", now=T0)
        uow.commit()
    claimed: list[str] = []
    lock = threading.Lock()

    errors: list[BaseException] = []

    def work(worker: str) -> None:
        try:
            while True:
                with store.unit_of_work() as uow:
                    job = uow.jobs.claim(worker_id=worker, lease=lease, now=T0)
                    uow.commit()
                if job is None:
                    return
                with lock:
                    claimed.append(job.id)
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(claimed) == 40
    assert len(set(claimed)) == 40


def test_audit_chain_appends_and_verifies(store: Store) -> None:
    """Events chain by hash, keep their data (redacted), and verify."""
    with store.unit_of_work() as uow:
        first = uow.audit.append(
            NewAuditEvent(kind="submission.received", actor="portage", data={"token": "t0ken-xyz"}),
            now=T0,
        )
        second = uow.audit.append(
            NewAuditEvent(
                kind="verdict", actor="belay", application="a", data={"decision": "pass"}
            ),
            now=T0 + timedelta(seconds=1),
        )
        uow.commit()
    assert second.prev_hash == first.hash
    with store.unit_of_work() as uow:
        events = uow.audit.list()
        assert [e.kind for e in events] == ["submission.received", "verdict"]
        assert events[0].data == {"token": "[REDACTED]"}
        assert uow.audit.list(application="a")[0].id == second.id
        assert uow.audit.verify() is None


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("UPDATE audit_events SET kind = 'forged' WHERE seq = 2", "column 'kind'"),
        (
            "UPDATE audit_events SET payload = replace(payload, 'pass', 'fail') WHERE seq = 2",
            "hash",
        ),
        ("DELETE FROM audit_events WHERE seq = 2", "previous-hash"),
        ("DELETE FROM audit_events WHERE seq = 3", "head"),
    ],
)
def test_audit_tampering_is_detected(store: Store, statement: str, reason: str) -> None:
    """An edited column, an edited payload, a removed event or a removed tail breaks the chain."""
    with store.unit_of_work() as uow:
        for n in range(3):
            uow.audit.append(
                NewAuditEvent(kind="k", actor="a", data={"d": "pass"}), now=T0 + timedelta(n)
            )
        uow.commit()
    with store.engine.begin() as conn:
        conn.execute(text(statement))
    with store.unit_of_work() as uow:
        broken = uow.audit.verify()
    assert broken is not None
    assert reason in broken.reason


def test_concurrent_audit_appends_form_one_chain(store: Store) -> None:
    """Appends from several threads serialise on the head row: the chain stays linear."""

    errors: list[BaseException] = []

    def append_many(worker: int) -> None:
        try:
            for n in range(10):
                with store.unit_of_work() as uow:
                    event = NewAuditEvent(kind="k", actor=f"w{worker}", data={"n": n})
                    uow.audit.append(event, now=T0)
                    uow.commit()
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=append_many, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with store.unit_of_work() as uow:
        assert len(uow.audit.list()) == 40
        assert uow.audit.verify() is None


def test_alert_dedup_key_reserved_once(store: Store) -> None:
    """The same dedup key is reserved only once, across units of work."""
    with store.unit_of_work() as uow:
        assert uow.alerts.reserve(
            dedup_key="a|r|deploy_failed", event="deploy_failed", message={}, now=T0
        )
        uow.commit()
    with store.unit_of_work() as uow:
        assert not uow.alerts.reserve(
            dedup_key="a|r|deploy_failed", event="deploy_failed", message={}, now=T0
        )


def test_queued_jobs_of_busy_applications_do_not_hide_claimable_ones(store: Store) -> None:
    """More queued jobs of a busy application than a claim looks at, all older than another
    application's job and than an expired running job: both are still found."""
    lease = timedelta(seconds=30)
    with store.unit_of_work() as uow:
        busy = uow.jobs.enqueue(instance="i", application="busy", spec={}, actor="t", now=T0)
        orphan = uow.jobs.enqueue(instance="i", application="orphan", spec={}, actor="t", now=T0)
        uow.commit()
    with store.unit_of_work() as uow:
        for worker, app in (("w-busy", busy), ("w-dead", orphan)):
            claimed = uow.jobs.claim(worker_id=worker, lease=lease, now=T0)
            assert claimed is not None and claimed.id == app.id
        uow.commit()
    with store.unit_of_work() as uow:
        for n in range(50):
            for app in ("busy", "orphan"):
                uow.jobs.enqueue(
                    instance="i", application=app, spec={}, actor="t", now=T0 + timedelta(seconds=n)
                )
        waiting = uow.jobs.enqueue(
            instance="i", application="free", spec={}, actor="t", now=T0 + timedelta(hours=1)
        )
        uow.commit()
    # The dead worker's lease has expired, the busy one's has not (renewed just now).
    later = T0 + timedelta(hours=2)
    with store.unit_of_work() as uow:
        assert uow.jobs.renew(busy.id, worker_id="w-busy", lease=timedelta(days=1), now=later)
        first = uow.jobs.claim(worker_id="w2", lease=lease, now=later)
        second = uow.jobs.claim(worker_id="w3", lease=lease, now=later)
        third = uow.jobs.claim(worker_id="w4", lease=lease, now=later)
        uow.commit()
    assert first is not None and first.id == orphan.id and first.attempts == 2
    assert second is not None and second.id == waiting.id
    assert third is None
