"""An in-memory store and unit of work, for service tests that need no database and no server.

    store = FakeStore()
    service = IntakeService(settings=..., store=as_store(store), credentials=...)
    ...
    assert [j.application for j in store.committed.jobs.values()] == ["guestbook"]

It keeps the part of :class:`belay.store.UnitOfWork` that the intake and the deploy code use
(:class:`UnitOfWorkPort` spells it out; mypy checks that the real unit of work and this fake
both satisfy it) and the same transaction rule: what a unit of work wrote is seen by others only
after :meth:`FakeUnitOfWork.commit`, and leaving the ``with`` block drops the rest. A submission
whose idempotency key is stored already raises :class:`belay.store.DuplicateKey`, as the
real store does for its unique index.

Records are stored as given: redaction, the audit chain's verification and the job claim's
locking are the real store's (tested in ``tests/store``), not reproduced here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from belay.store import (
    AttestationRecord,
    AuditEvent,
    DecisionRecord,
    DuplicateKey,
    JobRecord,
    NewAuditEvent,
    Store,
    SubmissionRecord,
    UnitOfWork,
    new_id,
)
from belay.store.audit import GENESIS_HASH, canonical_payload, chain_hash

__all__ = [
    "FakeStore",
    "FakeUnitOfWork",
    "StorePort",
    "Tables",
    "UnitOfWorkPort",
    "as_store",
]

T = TypeVar("T")


# --- the interface: what the intake and the deploy code use of belay.store ---------------------


class SubmissionsPort(Protocol):
    def add(self, record: SubmissionRecord, *, bundle: bytes | None = None) -> None: ...
    def get(self, submission_id: str) -> SubmissionRecord | None: ...
    def by_idempotency_key(self, key: str) -> SubmissionRecord | None: ...
    def bundle(self, submission_id: str) -> bytes | None: ...
    def list(self, *, limit: int = 100, project: str | None = None) -> list[SubmissionRecord]: ...


class DecisionsPort(Protocol):
    def add(self, record: DecisionRecord) -> None: ...
    def get(self, decision_id: str) -> DecisionRecord | None: ...
    def for_revision(self, application: str, revision: str) -> list[DecisionRecord]: ...
    def for_revision_prefix(
        self, application: str, prefix: str, *, limit: int = 50
    ) -> list[DecisionRecord]: ...


class AttestationsPort(Protocol):
    def add(self, record: AttestationRecord) -> None: ...
    def get(self, decision_id: str) -> AttestationRecord | None: ...


class JobsPort(Protocol):
    def enqueue(
        self,
        *,
        instance: str,
        application: str,
        spec: dict[str, Any],
        actor: str,
        now: datetime,
        decision_id: str | None = None,
        revision: str | None = None,
        argocd_project: str | None = None,
        app_namespace: str | None = None,
        job_id: str | None = None,
    ) -> JobRecord: ...
    def get(self, job_id: str) -> JobRecord | None: ...
    def for_decision(self, decision_id: str) -> list[JobRecord]: ...
    def supersede_queued(
        self, *, instance: str, application: str, keep_job_id: str, now: datetime
    ) -> list[str]: ...
    def list(
        self, *, states: Sequence[str] = (), application: str | None = None, limit: int = 100
    ) -> list[JobRecord]: ...


class AuditPort(Protocol):
    def append(self, event: NewAuditEvent, *, now: datetime) -> AuditEvent: ...
    def extend(self, events: Sequence[NewAuditEvent], *, now: datetime) -> list[AuditEvent]: ...
    def list(
        self,
        *,
        submission_id: str | None = None,
        decision_id: str | None = None,
        job_id: str | None = None,
        application: str | None = None,
        revision: str | None = None,
        revision_prefix: str | None = None,
        kind: str | None = None,
        after_seq: int = 0,
        limit: int = 1000,
    ) -> list[AuditEvent]: ...


class SnapshotsPort(Protocol):
    def keep(self, *, kind: str, name: str, sha256: str, content: bytes, now: datetime) -> bool: ...


class UnitOfWorkPort(Protocol):
    """The repositories the intake and the deploy code use, and the transaction's end."""

    @property
    def submissions(self) -> SubmissionsPort: ...
    @property
    def decisions(self) -> DecisionsPort: ...
    @property
    def attestations(self) -> AttestationsPort: ...
    @property
    def jobs(self) -> JobsPort: ...
    @property
    def audit(self) -> AuditPort: ...
    @property
    def snapshots(self) -> SnapshotsPort: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class StorePort(Protocol):
    """What those services call on :class:`belay.store.Store`."""

    def unit_of_work(self) -> AbstractContextManager[UnitOfWorkPort]: ...
    def group_commit(self, fn: Callable[[UnitOfWorkPort], T]) -> T: ...


# --- the fake -----------------------------------------------------------------------------------


@dataclass
class Tables:
    """The stored records, by id (the audit chain in order)."""

    submissions: dict[str, SubmissionRecord] = field(default_factory=dict)
    bundles: dict[str, bytes] = field(default_factory=dict)
    decisions: dict[str, DecisionRecord] = field(default_factory=dict)
    attestations: dict[str, AttestationRecord] = field(default_factory=dict)
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    audit: list[AuditEvent] = field(default_factory=list)
    snapshots: dict[str, tuple[str, str, bytes]] = field(default_factory=dict)

    def copy(self) -> Tables:
        """A copy whose tables can change apart from these (records are immutable)."""
        return Tables(**{f.name: getattr(self, f.name).copy() for f in dataclasses.fields(self)})


class _Submissions:
    def __init__(self, t: Tables) -> None:
        self._t = t

    def add(self, record: SubmissionRecord, *, bundle: bytes | None = None) -> None:
        if record.id in self._t.submissions or self.by_idempotency_key(record.idempotency_key):
            raise DuplicateKey("submissions.idempotency_key")
        self._t.submissions[record.id] = record
        if bundle is not None:
            self._t.bundles[record.id] = bundle

    def get(self, submission_id: str) -> SubmissionRecord | None:
        return self._t.submissions.get(submission_id)

    def by_idempotency_key(self, key: str) -> SubmissionRecord | None:
        return next((s for s in self._t.submissions.values() if s.idempotency_key == key), None)

    def bundle(self, submission_id: str) -> bytes | None:
        return self._t.bundles.get(submission_id)

    def list(self, *, limit: int = 100, project: str | None = None) -> list[SubmissionRecord]:
        found = [s for s in self._t.submissions.values() if not project or s.project == project]
        return sorted(found, key=lambda s: s.received_at, reverse=True)[:limit]


class _Decisions:
    def __init__(self, t: Tables) -> None:
        self._t = t

    def add(self, record: DecisionRecord) -> None:
        self._t.decisions[record.id] = record

    def get(self, decision_id: str) -> DecisionRecord | None:
        return self._t.decisions.get(decision_id)

    def for_revision(self, application: str, revision: str) -> list[DecisionRecord]:
        return self._newest_first(application, lambda r: r == revision)

    def for_revision_prefix(
        self, application: str, prefix: str, *, limit: int = 50
    ) -> list[DecisionRecord]:
        return self._newest_first(application, lambda r: r.startswith(prefix))[:limit]

    def _newest_first(
        self, application: str, wanted: Callable[[str], bool]
    ) -> list[DecisionRecord]:
        found = [
            d
            for d in self._t.decisions.values()
            if d.application == application and d.revision is not None and wanted(d.revision)
        ]
        return sorted(found, key=lambda d: d.decided_at, reverse=True)


class _Attestations:
    def __init__(self, t: Tables) -> None:
        self._t = t

    def add(self, record: AttestationRecord) -> None:
        self._t.attestations[record.decision_id] = record

    def get(self, decision_id: str) -> AttestationRecord | None:
        return self._t.attestations.get(decision_id)


class _Jobs:
    def __init__(self, t: Tables) -> None:
        self._t = t

    def enqueue(
        self,
        *,
        instance: str,
        application: str,
        spec: dict[str, Any],
        actor: str,
        now: datetime,
        decision_id: str | None = None,
        revision: str | None = None,
        argocd_project: str | None = None,
        app_namespace: str | None = None,
        job_id: str | None = None,
    ) -> JobRecord:
        record = JobRecord(
            id=job_id or new_id(),
            decision_id=decision_id,
            instance=instance,
            application=application,
            argocd_project=argocd_project,
            app_namespace=app_namespace,
            revision=revision,
            spec=spec,
            actor=actor,
            state="queued",
            attempts=0,
            not_before=now,
            created_at=now,
            updated_at=now,
        )
        self._t.jobs[record.id] = record
        return record

    def get(self, job_id: str) -> JobRecord | None:
        return self._t.jobs.get(job_id)

    def for_decision(self, decision_id: str) -> list[JobRecord]:
        found = [j for j in self._t.jobs.values() if j.decision_id == decision_id]
        return sorted(found, key=lambda j: j.created_at)

    def supersede_queued(
        self, *, instance: str, application: str, keep_job_id: str, now: datetime
    ) -> list[str]:
        ids = sorted(
            j.id
            for j in self._t.jobs.values()
            if (j.instance, j.application, j.state) == (instance, application, "queued")
            and j.attempts == 0
            and j.id != keep_job_id
            and j.created_at <= now
        )
        error = f"superseded by job {keep_job_id}"
        for job_id in ids:
            self._t.jobs[job_id] = self._t.jobs[job_id].model_copy(
                update={
                    "state": "superseded",
                    "finished_at": now,
                    "updated_at": now,
                    "error": error,
                }
            )
        return ids

    def list(
        self, *, states: Sequence[str] = (), application: str | None = None, limit: int = 100
    ) -> list[JobRecord]:
        found = [
            j
            for j in self._t.jobs.values()
            if (not states or j.state in states)
            and (not application or j.application == application)
        ]
        return sorted(found, key=lambda j: j.created_at, reverse=True)[:limit]


class _Audit:
    def __init__(self, t: Tables) -> None:
        self._t = t

    def append(self, event: NewAuditEvent, *, now: datetime) -> AuditEvent:
        return self.extend([event], now=now)[0]

    def extend(self, events: Sequence[NewAuditEvent], *, now: datetime) -> list[AuditEvent]:
        appended = []
        for event in events:
            last = self._t.audit[-1] if self._t.audit else None
            seq, prev = (last.seq, last.hash) if last else (0, GENESIS_HASH)
            fields = event.model_dump()
            event_id = new_id()
            payload = canonical_payload(seq=seq + 1, event_id=event_id, at=now, fields=fields)
            stored = AuditEvent(
                seq=seq + 1,
                id=event_id,
                at=now,
                prev_hash=prev,
                hash=chain_hash(prev, payload),
                **fields,
            )
            self._t.audit.append(stored)
            appended.append(stored)
        return appended

    def list(
        self,
        *,
        submission_id: str | None = None,
        decision_id: str | None = None,
        job_id: str | None = None,
        application: str | None = None,
        revision: str | None = None,
        revision_prefix: str | None = None,
        kind: str | None = None,
        after_seq: int = 0,
        limit: int = 1000,
    ) -> list[AuditEvent]:
        wanted = {
            "submission_id": submission_id,
            "decision_id": decision_id,
            "job_id": job_id,
            "application": application,
            "revision": revision,
            "kind": kind,
        }
        found = [
            e
            for e in self._t.audit
            if e.seq > after_seq
            and all(v is None or getattr(e, k) == v for k, v in wanted.items())
            and (not revision_prefix or (e.revision or "").startswith(revision_prefix))
        ]
        return found[:limit]


class _Snapshots:
    def __init__(self, t: Tables) -> None:
        self._t = t

    def keep(self, *, kind: str, name: str, sha256: str, content: bytes, now: datetime) -> bool:
        if sha256 in self._t.snapshots:
            return False
        self._t.snapshots[sha256] = (kind, name, content)
        return True


class FakeUnitOfWork:
    """One transaction over the fake's tables: a private copy, published by :meth:`commit`."""

    submissions: _Submissions
    decisions: _Decisions
    attestations: _Attestations
    jobs: _Jobs
    audit: _Audit
    snapshots: _Snapshots

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self._tables: Tables | None = None

    def __enter__(self) -> FakeUnitOfWork:
        self._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._tables = None

    def _begin(self) -> None:
        tables = self._store.committed.copy()
        self._tables = tables
        self.submissions = _Submissions(tables)
        self.decisions = _Decisions(tables)
        self.attestations = _Attestations(tables)
        self.jobs = _Jobs(tables)
        self.audit = _Audit(tables)
        self.snapshots = _Snapshots(tables)

    def commit(self) -> None:
        """Publish everything written since the block (or the last commit) began."""
        assert self._tables is not None, "commit() outside a with-block"
        self._store.committed = self._tables
        self._store.commits += 1
        self._begin()

    def rollback(self) -> None:
        """Drop everything written since the last commit."""
        assert self._tables is not None, "rollback() outside a with-block"
        self._begin()


class FakeStore:
    """Stands in for :class:`belay.store.Store` where only units of work are used."""

    def __init__(self) -> None:
        self.committed = Tables()
        """What committed units of work wrote (read it in assertions)."""
        self.commits = 0
        """How many times a unit of work committed."""

    def unit_of_work(self) -> FakeUnitOfWork:
        """A new unit of work (use it in a ``with`` block)."""
        return FakeUnitOfWork(self)

    def group_commit(self, fn: Callable[[UnitOfWorkPort], T]) -> T:
        """Run ``fn(uow)`` and commit (the real store shares that commit with concurrent
        writers; one writer's failure rolls back its own writes only, as here)."""
        with self.unit_of_work() as uow:
            result = fn(uow)
            uow.commit()
        return result


def as_store(fake: FakeStore) -> Store:
    """``fake`` where a service is typed to take a :class:`belay.store.Store`.

    The services use only :class:`StorePort` of it; the cast goes once src types them so.
    """
    return cast(Store, fake)


if TYPE_CHECKING:
    # mypy: the real store and unit of work, and this fake, all satisfy the ports above.
    def _real_uow(uow: UnitOfWork) -> UnitOfWorkPort:
        return uow

    def _fake_uow(uow: FakeUnitOfWork) -> UnitOfWorkPort:
        return uow

    def _real_store(store: Store) -> StorePort:
        return store

    def _fake_store(store: FakeStore) -> StorePort:
        return store
