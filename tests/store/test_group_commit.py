"""Group commit on real SQLite and PostgreSQL: shared transactions, failures kept apart."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from belay.store import DuplicateKey, NewAuditEvent, Store, SubmissionRecord, UnitOfWork, new_id

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WRITERS = 24


def _submission(key: str) -> SubmissionRecord:
    return SubmissionRecord(
        id=new_id(), received_at=T0, idempotency_key=key, content_digest="c" * 64, state="decided"
    )


def _writer(key: str, *, pause: float = 0.0) -> tuple[SubmissionRecord, object]:
    record = _submission(key)

    def write(uow: UnitOfWork) -> str:
        # A pause inside the transaction lets the other writers queue up behind it.
        time.sleep(pause)
        uow.submissions.add(record)
        uow.audit.append(
            NewAuditEvent(kind="test.written", actor="test", submission_id=record.id), now=T0
        )
        return record.id

    return record, write


def _count_commits(store: Store) -> list[int]:
    commits = [0]

    @event.listens_for(store.engine, "commit")
    def _on_commit(_conn: object) -> None:
        commits[0] += 1

    return commits


def _run_concurrently(store: Store, writes: list[object]) -> list[object]:
    """Start every write at the same moment from its own thread; results (or errors) in order."""
    results: list[object] = [None] * len(writes)
    start = threading.Barrier(len(writes))

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = store.group_commit(writes[index])  # type: ignore[arg-type]
        except Exception as err:  # noqa: BLE001 - the test looks at it
            results[index] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(writes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_writers_share_commits_and_all_land(store: Store) -> None:
    """Every caller gets its own result after a commit that holds its write, with fewer commits
    than writers; the audit chain stays one verified chain."""
    commits = _count_commits(store)
    pairs = [_writer(f"key-{n}", pause=0.005) for n in range(WRITERS)]
    results = _run_concurrently(store, [write for _, write in pairs])
    assert results == [record.id for record, _ in pairs]
    with store.unit_of_work() as uow:
        for record, _ in pairs:
            stored = uow.submissions.get(record.id)
            assert stored is not None and stored.idempotency_key == record.idempotency_key
        events = uow.audit.list(limit=1000)
        assert sorted(e.submission_id or "" for e in events) == sorted(r.id for r, _ in pairs)
        assert uow.audit.verify() is None
    assert 1 <= commits[0] < WRITERS


def test_a_failing_write_is_refused_alone(store: Store) -> None:
    """A write that breaks a unique key raises for its caller only; the rest of its batch
    lands, and none of the failed write's rows (nor its audit event) are kept."""
    first, write_first = _writer("taken")
    assert store.group_commit(write_first) == first.id
    pairs = [_writer(f"fresh-{n}") for n in range(WRITERS - 1)]
    duplicate, write_duplicate = _writer("taken")
    writes = [write for _, write in pairs]
    writes.insert(WRITERS // 2, write_duplicate)
    results = _run_concurrently(store, writes)
    failed = results.pop(WRITERS // 2)
    assert isinstance(failed, DuplicateKey)
    assert results == [record.id for record, _ in pairs]
    with store.unit_of_work() as uow:
        assert uow.submissions.get(duplicate.id) is None
        assert uow.audit.list(submission_id=duplicate.id) == []
        assert len(uow.audit.list(limit=1000)) == WRITERS  # the first one and the fresh ones
        assert uow.audit.verify() is None


def test_an_exception_reaches_its_caller_and_nothing_is_written(store: Store) -> None:
    """A bug inside a write is raised to that caller; its partial writes are rolled back."""
    record = _submission("boom")

    def write(uow: UnitOfWork) -> None:
        uow.submissions.add(record)
        raise ValueError("broken write")

    with pytest.raises(ValueError, match="broken write"):
        store.group_commit(write)
    with store.unit_of_work() as uow:
        assert uow.submissions.get(record.id) is None


def test_a_commit_that_fails_after_landing_runs_nothing_twice(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection lost during COMMIT may leave the commit landed: every caller of the batch
    gets the error, and no write is run again (which would store it twice)."""
    make_uow = store._group._unit_of_work

    def landed_then_lost() -> UnitOfWork:
        uow = make_uow()
        real_commit = uow.commit

        def commit() -> None:
            real_commit()
            raise OperationalError("COMMIT", {}, ConnectionError("connection lost"))

        uow.commit = commit  # type: ignore[method-assign]
        return uow

    monkeypatch.setattr(store._group, "_unit_of_work", landed_then_lost)
    pairs = [_writer(f"lost-{n}", pause=0.005) for n in range(8)]
    results = _run_concurrently(store, [write for _, write in pairs])
    assert all(isinstance(r, OperationalError) for r in results), results
    monkeypatch.undo()
    with store.unit_of_work() as uow:
        for record, _ in pairs:
            assert len(uow.audit.list(submission_id=record.id)) == 1
        assert uow.audit.verify() is None


def test_group_commit_inside_a_write_is_refused(store: Store) -> None:
    """Calling group_commit from a write function would wait for itself; it raises instead."""

    def nested(uow: UnitOfWork) -> None:
        store.group_commit(lambda inner: None)

    with pytest.raises(RuntimeError, match="inside a write"):
        store.group_commit(nested)
