"""The unit of work and its repositories: the only way Belay reads and writes its store.

    with store.unit_of_work() as uow:
        uow.decisions.add(...)
        uow.jobs.enqueue(...)
        uow.audit.append(...)
        uow.commit()

Leaving the block without :meth:`UnitOfWork.commit` rolls everything back, so a crash between
verdict, queue entry and audit record leaves nothing half-written. Repositories never commit.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased, sessionmaker

from belay.redact import redact_data
from belay.store.audit import ChainBreak, canonical_payload, chain_hash, verify_chain
from belay.store.bypass import BypassRepository
from belay.store.errors import DuplicateKey
from belay.store.follow import FollowRepository
from belay.store.read_models import ReadModels
from belay.store.records import (
    AttestationRecord,
    AuditEvent,
    DecisionRecord,
    InvestigationRecord,
    JobRecord,
    NewAuditEvent,
    StoredJudgement,
    SubmissionRecord,
)
from belay.store.tables import (
    AlertRow,
    AttestationRow,
    AuditEventRow,
    AuditHeadRow,
    DataSnapshotRow,
    DecisionRow,
    InvestigationAlertRow,
    InvestigationRow,
    JobRow,
    SubmissionRow,
)
from belay.store.websessions import WebSessionRepository
from belay.vocab import END_STATES, JobState

__all__ = [
    "AlertRepository",
    "AttestationRepository",
    "AuditRepository",
    "DataSnapshotRepository",
    "DecisionRepository",
    "InvestigationRepository",
    "JobRepository",
    "SubmissionRepository",
    "UnitOfWork",
    "new_id",
]

_MANIFEST_NAME_MAPS = frozenset({"files"})

# New rows are written with Core INSERTs on the session's connection rather than as ORM objects:
# each is one statement in program order (no unit-of-work bookkeeping, no flush ordering between
# tables without ORM relationships), which is most of the intake's cost per submission.
_SUBMISSIONS: Table = SubmissionRow.__table__  # type: ignore[assignment]
_DECISIONS: Table = DecisionRow.__table__  # type: ignore[assignment]
_JOBS: Table = JobRow.__table__  # type: ignore[assignment]
_AUDIT_EVENTS: Table = AuditEventRow.__table__  # type: ignore[assignment]
_AUDIT_HEAD: Table = AuditHeadRow.__table__  # type: ignore[assignment]
_ATTESTATIONS: Table = AttestationRow.__table__  # type: ignore[assignment]


# The intake's statements, built once: SQLAlchemy then reuses their cache keys and compiled forms.
_INSERT_SUBMISSION = insert(_SUBMISSIONS)
_INSERT_DECISION = insert(_DECISIONS)
_INSERT_JOB = insert(_JOBS)
_INSERT_AUDIT_EVENT = insert(_AUDIT_EVENTS)
_INSERT_ATTESTATION = insert(_ATTESTATIONS)
_SUBMISSION_COLUMNS = [c for c in _SUBMISSIONS.c if c.name != "bundle"]
_SUBMISSION_BY_KEY = select(*_SUBMISSION_COLUMNS).where(
    _SUBMISSIONS.c.idempotency_key == bindparam("b_key")
)
_LOCK_AUDIT_HEAD = (
    select(_AUDIT_HEAD.c.seq, _AUDIT_HEAD.c.hash).where(_AUDIT_HEAD.c.id == 1).with_for_update()
)
_WRITE_AUDIT_HEAD = (
    update(_AUDIT_HEAD)
    .where(_AUDIT_HEAD.c.id == 1)
    .values(seq=bindparam("b_seq"), hash=bindparam("b_hash"))
)
_SUPERSEDE_QUEUED = (
    update(_JOBS)
    .where(
        _JOBS.c.instance == bindparam("b_instance"),
        _JOBS.c.application == bindparam("b_application"),
        _JOBS.c.state == JobState.queued,
        # Never claimed: a job given back after a claim (a worker or the follower shutting
        # down) may have had its sync sent; it is resumed and its outcome recorded instead.
        _JOBS.c.attempts == 0,
        _JOBS.c.id != bindparam("b_keep"),
        _JOBS.c.created_at <= bindparam("b_now"),
    )
    .values(
        state=JobState.superseded,
        finished_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        error=bindparam("b_error"),
    )
    .returning(_JOBS.c.id)
)


# A claim's candidates: due queued jobs of applications with no running job, and running jobs
# whose lease expired, oldest first (see JobRepository.claim).
_RUNNING = aliased(JobRow, name="running")  # an alias, not a state
_CLAIM_CANDIDATES = (
    select(_JOBS.c.id)
    .where(
        or_(
            and_(
                _JOBS.c.state == JobState.queued,
                _JOBS.c.not_before <= bindparam("b_now"),
                ~exists()
                .where(
                    _RUNNING.instance == _JOBS.c.instance,
                    _RUNNING.application == _JOBS.c.application,
                    _RUNNING.state == JobState.running,
                )
                .correlate(_JOBS),
            ),
            and_(_JOBS.c.state == JobState.running, _JOBS.c.lease_expires_at < bindparam("b_now")),
        )
    )
    .order_by(_JOBS.c.created_at)
    .limit(20)
    .with_for_update(skip_locked=True, of=_JOBS)
)
# Take one candidate, if it is still due (the same conditions, on the row itself).
_TAKE_JOB = (
    update(_JOBS)
    .where(
        _JOBS.c.id == bindparam("b_id"),
        or_(
            _JOBS.c.state == JobState.queued,
            and_(_JOBS.c.state == JobState.running, _JOBS.c.lease_expires_at < bindparam("b_now")),
        ),
    )
    .values(
        state=JobState.running,
        lease_owner=bindparam("b_owner"),
        lease_expires_at=bindparam("b_until"),
        attempts=_JOBS.c.attempts + 1,
        updated_at=bindparam("b_now"),
    )
    .returning(*_JOBS.c)
)


def _connection(session: Session) -> Connection:
    return session.connection()


def new_id() -> str:
    """A new random identifier (UUID4 text) for records."""
    return str(uuid.uuid4())


class SubmissionRepository:
    """Deliveries received by the intake."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, record: SubmissionRecord, *, bundle: bytes | None = None) -> None:
        """Store a new submission (its manifest redacted) and, optionally, the bundle's bytes."""
        values = record.model_dump()
        manifest = values["manifest"]
        # A manifest's "files" are keyed by file name ("gitleaks-secrets-report.json" names a
        # report, not a secret): redact their values, keep the names.
        values["manifest"] = (
            redact_data(manifest, name_maps=_MANIFEST_NAME_MAPS) if manifest else None
        )
        values["bundle"] = bundle
        _connection(self._s).execute(_INSERT_SUBMISSION, values)

    def get(self, submission_id: str) -> SubmissionRecord | None:
        """The submission with this id, or ``None``."""
        row = self._s.get(SubmissionRow, submission_id)
        return SubmissionRecord.model_validate(row) if row else None

    def by_idempotency_key(self, key: str) -> SubmissionRecord | None:
        """The submission stored under this idempotency key, or ``None``."""
        found = _connection(self._s).execute(_SUBMISSION_BY_KEY, {"b_key": key}).first()
        return SubmissionRecord.model_validate(found._asdict()) if found else None

    def set_decision(self, submission_id: str, decision_id: str) -> None:
        """Link a submission to its decision and mark it decided."""
        self._s.execute(
            update(SubmissionRow)
            .where(SubmissionRow.id == submission_id)
            .values(decision_id=decision_id, state="decided")
        )

    def bundle(self, submission_id: str) -> bytes | None:
        """The stored copy of the submission's bundle, if one was kept."""
        return self._s.scalar(select(SubmissionRow.bundle).where(SubmissionRow.id == submission_id))

    def judged(
        self,
        *,
        projects: Sequence[str],
        since: datetime | None,
        after: tuple[datetime, str] | None = None,
        limit: int = 200,
    ) -> list[StoredJudgement]:
        """Submissions of ``projects`` decided at or after ``since``, oldest first, each with its
        decision (the bundle is fetched apart, one at a time: :meth:`bundle`); ``after`` (the
        last one's decision time and submission id) pages through them in a stable order."""
        sub, dec = _SUBMISSIONS, _DECISIONS
        query = (
            select(
                sub.c.id.label("submission_id"),
                sub.c.project,
                sub.c.branch,
                sub.c.commit_sha.label("commit"),
                dec.c.id.label("decision_id"),
                dec.c.decided_at,
                dec.c.decision,
                dec.c.verdict,
                dec.c.policy,
                dec.c.data_digests,
            )
            .join(dec, dec.c.id == sub.c.decision_id)
            .where(sub.c.project.in_(list(projects)))
            .order_by(dec.c.decided_at, sub.c.id)
            .limit(limit)
        )
        if since is not None:
            query = query.where(dec.c.decided_at >= since)
        if after is not None:
            at, last = after
            query = query.where(
                or_(dec.c.decided_at > at, and_(dec.c.decided_at == at, sub.c.id > last))
            )
        rows = _connection(self._s).execute(query).mappings()
        return [StoredJudgement.model_validate(dict(row)) for row in rows]

    def list(self, *, limit: int = 100, project: str | None = None) -> list[SubmissionRecord]:
        """Newest first."""
        query = select(SubmissionRow).order_by(SubmissionRow.received_at.desc()).limit(limit)
        if project:
            query = query.where(SubmissionRow.project == project)
        return [SubmissionRecord.model_validate(r) for r in self._s.scalars(query)]


class DataSnapshotRepository:
    """KEV and EPSS files as decisions used them (by SHA-256), for replays."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def keep(self, *, kind: str, name: str, sha256: str, content: bytes, now: datetime) -> bool:
        """Store a data file unless one with this digest is kept already; True when stored."""
        if self._s.get(DataSnapshotRow, sha256) is not None:
            return False
        try:
            with self._s.begin_nested():
                self._s.add(
                    DataSnapshotRow(
                        sha256=sha256,
                        kind=kind,
                        name=name[:1024],
                        created_at=now,
                        content=gzip.compress(content, compresslevel=6),
                    )
                )
        except DuplicateKey:  # another process kept the same file a moment ago
            return False
        return True

    def content(self, sha256: str) -> tuple[str, str, bytes] | None:
        """The kind, name and bytes of the kept file with this digest, or ``None``."""
        row = self._s.get(DataSnapshotRow, sha256)
        if row is None:
            return None
        return row.kind, row.name, gzip.decompress(row.content)

    def forget(self, sha256: str) -> None:
        """Drop a kept file (retention; replays of the decisions that used it say so)."""
        self._s.execute(delete(DataSnapshotRow).where(DataSnapshotRow.sha256 == sha256))


class DecisionRepository:
    """Verdicts."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, record: DecisionRecord) -> None:
        """Store a decision (its verdict redacted)."""
        values = record.model_dump()
        values["verdict"] = redact_data(values["verdict"])
        _connection(self._s).execute(_INSERT_DECISION, values)

    def get(self, decision_id: str) -> DecisionRecord | None:
        """The decision with this id, or ``None``."""
        row = self._s.get(DecisionRow, decision_id)
        return DecisionRecord.model_validate(row) if row else None

    def for_revision(self, application: str, revision: str) -> list[DecisionRecord]:
        """Every decision about ``application`` at ``revision``, newest first (then by id)."""
        query = (
            select(DecisionRow)
            .where(DecisionRow.application == application, DecisionRow.revision == revision)
            .order_by(DecisionRow.decided_at.desc(), DecisionRow.id.desc())
        )
        return [DecisionRecord.model_validate(r) for r in self._s.scalars(query)]

    def for_revision_prefix(
        self, application: str, prefix: str, *, limit: int = 50
    ) -> list[DecisionRecord]:
        """Decisions about ``application`` whose revision starts with ``prefix``, newest first.

        For a short commit SHA given by a person; the caller decides what an ambiguous prefix
        (several revisions) means.
        """
        query = (
            select(DecisionRow)
            .where(
                DecisionRow.application == application,
                DecisionRow.revision.startswith(prefix, autoescape=True),
            )
            .order_by(DecisionRow.decided_at.desc())
            .limit(limit)
        )
        return [DecisionRecord.model_validate(r) for r in self._s.scalars(query)]


class AttestationRepository:
    """Decisions' signed envelopes (one per decision), stored byte for byte."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, record: AttestationRecord) -> None:
        """Store a decision's envelope (not redacted: a changed byte would break the signature)."""
        _connection(self._s).execute(_INSERT_ATTESTATION, record.model_dump())

    def get(self, decision_id: str) -> AttestationRecord | None:
        """The envelope of a decision, or ``None`` when it was not signed."""
        row = self._s.get(AttestationRow, decision_id)
        return AttestationRecord.model_validate(row) if row else None


class JobRepository:
    """The durable deployment queue.

    Claiming takes one due job under a lease. On PostgreSQL the candidate rows are locked with
    ``FOR UPDATE SKIP LOCKED`` so concurrent workers pass over each other's picks; on every backend
    a partial unique index allows one ``running`` job per application, so a second claim for the
    same application fails inside a savepoint and the worker moves on.
    """

    def __init__(self, session: Session) -> None:
        self._s = session

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
        """Add a queued job, due now."""
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
            state=JobState.queued,
            attempts=0,
            not_before=now,
            created_at=now,
            updated_at=now,
        )
        _connection(self._s).execute(_INSERT_JOB, record.model_dump())
        return record

    def get(self, job_id: str) -> JobRecord | None:
        """The job with this id, or ``None``."""
        row = self._s.get(JobRow, job_id)
        return JobRecord.model_validate(row) if row else None

    def for_decision(self, decision_id: str) -> list[JobRecord]:
        """The jobs created for a decision (normally one)."""
        query = select(JobRow).where(JobRow.decision_id == decision_id).order_by(JobRow.created_at)
        return [JobRecord.model_validate(r) for r in self._s.scalars(query)]

    def supersede_queued(
        self, *, instance: str, application: str, keep_job_id: str, now: datetime
    ) -> list[str]:
        """Mark the other queued jobs of this application created up to ``now`` superseded.

        Only jobs never claimed (``attempts == 0``) are superseded: one given back to the queue
        after a claim (a worker or the follower shutting down) may have had its sync sent to
        Argo CD, so it is resumed (the sync step finds its marker) and its outcome recorded.

        Jobs created after ``now`` stay queued: a slower, concurrent submission that was received
        earlier but commits later must not supersede a newer build (claims run in created order).
        Returns the superseded ids.
        """
        result = _connection(self._s).execute(
            _SUPERSEDE_QUEUED,
            {
                "b_instance": instance,
                "b_application": application,
                "b_keep": keep_job_id,
                "b_now": now,
                "b_error": f"superseded by job {keep_job_id}",
            },
        )
        return sorted(result.scalars())

    def claim(self, *, worker_id: str, lease: timedelta, now: datetime) -> JobRecord | None:
        """Take the oldest due job (or one whose lease expired) under a new lease, or ``None``.

        Queued jobs of an application that has a running job are left out by the query itself:
        looking at the oldest due jobs and skipping those afterwards let a crowd of queued jobs
        of busy applications hide every claimable job, including the expired running ones that
        would free those applications (found by the PostgreSQL-restart reliability test).
        """
        conn = _connection(self._s)
        candidates = conn.execute(_CLAIM_CANDIDATES, {"b_now": now}).scalars().all()
        for job_id in candidates:
            values = {"b_id": job_id, "b_now": now, "b_owner": worker_id, "b_until": now + lease}
            try:
                with self._s.begin_nested():
                    row = conn.execute(_TAKE_JOB, values).first()
            except DuplicateKey:
                # Another worker started a job for this application in the meantime.
                continue
            if row is not None:
                return JobRecord.model_validate(row._asdict())
        return None

    def renew(self, job_id: str, *, worker_id: str, lease: timedelta, now: datetime) -> bool:
        """Extend our lease; ``False`` means the job is no longer ours (taken over or ended)."""
        result = self._s.execute(
            update(JobRow)
            .where(
                JobRow.id == job_id,
                JobRow.lease_owner == worker_id,
                JobRow.state == JobState.running,
            )
            .values(lease_expires_at=now + lease, updated_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def release(self, job_id: str, *, worker_id: str, not_before: datetime, now: datetime) -> bool:
        """Give a running job back to the queue (graceful shutdown, or retry later)."""
        result = self._s.execute(
            update(JobRow)
            .where(
                JobRow.id == job_id,
                JobRow.lease_owner == worker_id,
                JobRow.state == JobState.running,
            )
            .values(
                state=JobState.queued,
                lease_owner=None,
                lease_expires_at=None,
                not_before=not_before,
                updated_at=now,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def finish(
        self,
        job_id: str,
        *,
        worker_id: str,
        state: JobState,
        now: datetime,
        outcome: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """End a job we hold in one of :data:`~belay.vocab.END_STATES`; ``False`` if it is not
        ours any more (nothing is changed then)."""
        if state not in END_STATES:
            raise ValueError(f"{str(state)!r} is not an end state")
        result = self._s.execute(
            update(JobRow)
            .where(
                JobRow.id == job_id,
                JobRow.lease_owner == worker_id,
                JobRow.state == JobState.running,
            )
            .values(
                state=state,
                finished_at=now,
                updated_at=now,
                lease_expires_at=None,
                outcome=redact_data(outcome) if outcome else None,
                error=error,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def list(
        self, *, states: Sequence[str] = (), application: str | None = None, limit: int = 100
    ) -> list[JobRecord]:
        """Jobs, newest first, optionally filtered."""
        query = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
        if states:
            query = query.where(JobRow.state.in_(list(states)))
        if application:
            query = query.where(JobRow.application == application)
        return [JobRecord.model_validate(r) for r in self._s.scalars(query)]


class AuditRepository:
    """The append-only audit chain."""

    def __init__(self, session: Session) -> None:
        self._s = session
        # The chain's head as this transaction sees it: read (and locked) by the first append,
        # advanced in memory by each append, written back once by write_head() before commit.
        self._head: tuple[int, str] | None = None
        self._head_dirty = False

    def end_transaction(self) -> None:
        """Forget the head (the transaction that held its lock has ended)."""
        self._head = None
        self._head_dirty = False

    def write_head(self) -> None:
        """Store the advanced head; the unit of work calls this just before it commits."""
        if self._head is not None and self._head_dirty:
            seq, digest = self._head
            _connection(self._s).execute(_WRITE_AUDIT_HEAD, {"b_seq": seq, "b_hash": digest})
            self._head_dirty = False

    def lock_head(self) -> None:
        """Read and lock the chain's head now (before any other lock this transaction takes)."""
        if self._head is None:
            found = _connection(self._s).execute(_LOCK_AUDIT_HEAD).first()
            if found is None:
                raise RuntimeError("audit_head row missing: the store was not migrated")
            self._head = (found.seq, found.hash)

    def append(self, event: NewAuditEvent, *, now: datetime) -> AuditEvent:
        """Append one event after the current head (the head row is locked until commit)."""
        return self.extend([event], now=now)[0]

    def extend(self, events: Sequence[NewAuditEvent], *, now: datetime) -> list[AuditEvent]:
        """Append several events in order, written with one statement."""
        conn = _connection(self._s)
        self.lock_head()
        assert self._head is not None
        seq, prev_hash = self._head
        rows: list[dict[str, Any]] = []
        appended: list[AuditEvent] = []
        for event in events:
            seq += 1
            event_id = new_id()
            fields = event.model_dump()
            fields["data"] = redact_data(fields["data"])
            payload = canonical_payload(seq=seq, event_id=event_id, at=now, fields=fields)
            digest = chain_hash(prev_hash, payload)
            data = fields.pop("data")  # a column of its own only inside the hashed payload
            common: dict[str, Any] = {
                "seq": seq,
                "id": event_id,
                "at": now,
                "prev_hash": prev_hash,
                "hash": digest,
            }
            rows.append({**common, "payload": payload, **fields})
            # Built from values this method just produced, so validation would only cost time.
            appended.append(AuditEvent.model_construct(**common, data=data, **fields))
            prev_hash = digest
        if rows:
            conn.execute(_INSERT_AUDIT_EVENT, rows)
            self._head = (seq, prev_hash)
            self._head_dirty = True
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
        """Events in chain order, filtered by any of the linking ids, a revision's prefix or
        the event kind."""
        query = select(AuditEventRow).where(AuditEventRow.seq > after_seq)
        if revision_prefix:
            query = query.where(AuditEventRow.revision.startswith(revision_prefix, autoescape=True))
        filters = {
            AuditEventRow.submission_id: submission_id,
            AuditEventRow.decision_id: decision_id,
            AuditEventRow.job_id: job_id,
            AuditEventRow.application: application,
            AuditEventRow.revision: revision,
            AuditEventRow.kind: kind,
        }
        for column, value in filters.items():
            if value is not None:
                query = query.where(column == value)
        query = query.order_by(AuditEventRow.seq).limit(limit)
        return [_audit_event(r) for r in self._s.scalars(query)]

    def get(self, event_id: str) -> AuditEvent | None:
        """One event by id."""
        row = self._s.scalars(select(AuditEventRow).where(AuditEventRow.id == event_id)).first()
        return _audit_event(row) if row else None

    def verify(self) -> ChainBreak | None:
        """Walk the whole chain; the first break, or ``None`` when intact (head included)."""
        rows = self._s.scalars(select(AuditEventRow).order_by(AuditEventRow.seq))
        links = (
            (
                r.seq,
                r.payload,
                r.prev_hash,
                r.hash,
                {
                    "id": r.id,
                    "kind": r.kind,
                    "actor": r.actor,
                    "project": r.project,
                    "instance": r.instance,
                    "application": r.application,
                    "revision": r.revision,
                    "submission_id": r.submission_id,
                    "decision_id": r.decision_id,
                    "job_id": r.job_id,
                    "at": r.at.isoformat(),
                },
            )
            for r in rows
        )
        broken = verify_chain(links)
        if broken:
            return broken
        head = self._s.get(AuditHeadRow, 1)
        last = self._s.scalars(
            select(AuditEventRow).order_by(AuditEventRow.seq.desc()).limit(1)
        ).first()
        if last is not None and (head is None or head.hash != last.hash):
            return ChainBreak(seq=last.seq, reason="the chain's head does not match its last event")
        return None


def _audit_event(row: AuditEventRow) -> AuditEvent:
    from belay.jsonio import loads

    data = loads(row.payload).get("data", {})
    return AuditEvent(
        seq=row.seq,
        id=row.id,
        at=row.at,
        kind=row.kind,
        actor=row.actor,
        project=row.project,
        instance=row.instance,
        application=row.application,
        revision=row.revision,
        submission_id=row.submission_id,
        decision_id=row.decision_id,
        job_id=row.job_id,
        data=data,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class AlertRepository:
    """Alert dedup keys and delivery state."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def reserve(
        self,
        *,
        dedup_key: str,
        event: str,
        message: dict[str, Any],
        now: datetime,
        application: str | None = None,
        revision: str | None = None,
    ) -> bool:
        """Record an alert as pending; ``False`` when this key was already recorded."""
        if self._s.get(AlertRow, dedup_key) is not None:
            return False
        try:
            with self._s.begin_nested():
                self._s.add(
                    AlertRow(
                        dedup_key=dedup_key,
                        event=event,
                        application=application,
                        revision=revision,
                        created_at=now,
                        state="pending",
                        attempts=0,
                        message=redact_data(message),
                    )
                )
                self._s.flush()
        except DuplicateKey:
            return False
        return True

    def claim_unfinished(self, *, older_than: datetime) -> list[dict[str, Any]]:
        """Take over alerts a dead process left undelivered; their stored messages.

        An alert still ``pending`` or ``sending`` and raised before ``older_than`` is claimed by
        a conditional update, so of several replicas starting at once only one resends it.
        """
        keys = list(
            self._s.scalars(
                select(AlertRow.dedup_key).where(
                    AlertRow.state.in_(("pending", "sending")), AlertRow.created_at < older_than
                )
            )
        )
        claimed: list[dict[str, Any]] = []
        for key in keys:
            result = self._s.execute(
                update(AlertRow)
                .where(AlertRow.dedup_key == key, AlertRow.state.in_(("pending", "sending")))
                .values(state="resending")
            )
            if result.rowcount:  # type: ignore[attr-defined]
                row = self._s.get(AlertRow, key)
                if row is not None:
                    claimed.append(dict(row.message))
        return claimed

    def mark(self, dedup_key: str, *, state: str, error: str | None = None) -> None:
        """Record a delivery attempt's result."""
        self._s.execute(
            update(AlertRow)
            .where(AlertRow.dedup_key == dedup_key)
            .values(state=state, attempts=AlertRow.attempts + 1, last_error=error)
        )


class InvestigationRepository:
    """Stored investigation reports, the alerts (fingerprints) they cover, and their resolution."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(
        self,
        *,
        alert: dict[str, Any],
        report: dict[str, Any],
        now: datetime,
        instance: str | None = None,
        application: str | None = None,
        alert_name: str | None = None,
        fingerprints: Sequence[str] = (),
    ) -> str:
        """Store a report (redacted) covering the alerts ``fingerprints``; return its id."""
        report_id = new_id()
        kinds = [str(f.get("kind")) for f in report.get("findings") or [] if isinstance(f, dict)]
        joined = ",".join(dict.fromkeys(kinds))
        self._s.add(
            InvestigationRow(
                id=report_id,
                created_at=now,
                instance=instance,
                application=application,
                alert=redact_data(alert),
                report=redact_data(report),
                alert_name=(alert_name or None) and str(alert_name)[:255],
                finding_kinds=f",{joined}," if joined else "",
            )
        )
        self._s.flush()
        for fingerprint in dict.fromkeys(f[:64] for f in fingerprints if f):
            self._s.add(InvestigationAlertRow(investigation_id=report_id, fingerprint=fingerprint))
        self._s.flush()
        return report_id

    def get(self, report_id: str) -> dict[str, Any] | None:
        """A stored report by id."""
        row = self._s.get(InvestigationRow, report_id)
        return dict(row.report) if row else None

    def record(self, report_id: str) -> InvestigationRecord | None:
        """A stored investigation's list entry (resolution included) by id."""
        row = self._s.get(InvestigationRow, report_id)
        if row is None:
            return None
        return self._records([row])[0]

    def firing_for(self, fingerprint: str) -> list[str]:
        """The ids of the investigations that cover the alert ``fingerprint`` and still fire."""
        return list(
            self._s.scalars(
                select(InvestigationAlertRow.investigation_id).where(
                    InvestigationAlertRow.fingerprint == fingerprint[:64],
                    InvestigationAlertRow.resolved_at.is_(None),
                )
            )
        )

    def resolve(self, fingerprint: str, *, at: datetime) -> list[str]:
        """Record that the alert ``fingerprint`` resolved at ``at``.

        Every investigation still firing for it is updated; one whose alerts have all resolved
        is marked resolved (at the latest of their times). Returns the ids of the investigations
        that covered the alert; an unknown fingerprint changes nothing.
        """
        ids = self.firing_for(fingerprint)
        if not ids:
            return []
        self._s.execute(
            update(InvestigationAlertRow)
            .where(
                InvestigationAlertRow.fingerprint == fingerprint[:64],
                InvestigationAlertRow.resolved_at.is_(None),
            )
            .values(resolved_at=at)
        )
        for report_id in ids:
            times = list(
                self._s.scalars(
                    select(InvestigationAlertRow.resolved_at).where(
                        InvestigationAlertRow.investigation_id == report_id
                    )
                )
            )
            if times and all(t is not None for t in times):
                self._s.execute(
                    update(InvestigationRow)
                    .where(InvestigationRow.id == report_id)
                    .values(resolved_at=max(t for t in times if t is not None))
                )
        self._s.flush()
        return ids

    def search(
        self,
        *,
        application: str | None = None,
        alert_name: str | None = None,
        finding_kind: str | None = None,
        state: str | None = None,
        limit: int = 100,
    ) -> list[InvestigationRecord]:
        """Investigations, newest first, filtered (``state`` is ``firing`` or ``resolved``)."""
        query = select(InvestigationRow)
        if application:
            query = query.where(InvestigationRow.application == application)
        if alert_name:
            query = query.where(InvestigationRow.alert_name == alert_name)
        if finding_kind:
            escaped = finding_kind.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(InvestigationRow.finding_kinds.like(f"%,{escaped},%", escape="\\"))
        if state == "resolved":
            query = query.where(InvestigationRow.resolved_at.is_not(None))
        elif state == "firing":
            query = query.where(InvestigationRow.resolved_at.is_(None))
        query = query.order_by(InvestigationRow.created_at.desc(), InvestigationRow.id).limit(limit)
        return self._records(list(self._s.scalars(query)))

    def _records(self, rows: Sequence[InvestigationRow]) -> list[InvestigationRecord]:
        fingerprints: dict[str, list[str]] = {row.id: [] for row in rows}
        if rows:
            pairs = self._s.execute(
                select(InvestigationAlertRow.investigation_id, InvestigationAlertRow.fingerprint)
                .where(InvestigationAlertRow.investigation_id.in_(list(fingerprints)))
                .order_by(InvestigationAlertRow.fingerprint)
            )
            for report_id, fingerprint in pairs:
                fingerprints[report_id].append(fingerprint)
        records = []
        for row in rows:
            findings = [f for f in (row.report or {}).get("findings") or [] if isinstance(f, dict)]
            top = findings[0] if findings else None
            records.append(
                InvestigationRecord(
                    id=row.id,
                    created_at=row.created_at,
                    instance=row.instance,
                    application=row.application,
                    alert_name=row.alert_name,
                    finding_kinds=tuple(k for k in (row.finding_kinds or "").split(",") if k),
                    top_finding=(
                        {k: top.get(k) for k in ("kind", "severity", "summary")} if top else None
                    ),
                    fingerprints=tuple(fingerprints[row.id]),
                    resolved_at=row.resolved_at,
                )
            )
        return records


class UnitOfWork:
    """One transaction over every repository; rolls back unless :meth:`commit` is called."""

    submissions: SubmissionRepository
    decisions: DecisionRepository
    attestations: AttestationRepository
    jobs: JobRepository
    audit: AuditRepository
    alerts: AlertRepository
    investigations: InvestigationRepository
    snapshots: DataSnapshotRepository
    web_sessions: WebSessionRepository
    read_models: ReadModels
    """Joined and aggregate reads (the submission list, the metrics' counts)."""
    bypass: BypassRepository
    follows: FollowRepository

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._session: Session | None = None

    def __enter__(self) -> UnitOfWork:
        session = self._sessions()
        self._session = session
        self.submissions = SubmissionRepository(session)
        self.decisions = DecisionRepository(session)
        self.attestations = AttestationRepository(session)
        self.jobs = JobRepository(session)
        self.audit = AuditRepository(session)
        self.alerts = AlertRepository(session)
        self.investigations = InvestigationRepository(session)
        self.snapshots = DataSnapshotRepository(session)
        self.web_sessions = WebSessionRepository(session)
        self.read_models = ReadModels(session)
        self.bypass = BypassRepository(session)
        self.follows = FollowRepository(session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._session is not None
        try:
            self._session.rollback()
        finally:
            self._session.close()
            self._session = None

    def commit(self) -> None:
        """Make everything done in this unit of work durable."""
        assert self._session is not None, "commit() outside a with-block"
        try:
            self.audit.write_head()
            self._session.commit()
        finally:
            self.audit.end_transaction()

    def rollback(self) -> None:
        """Discard everything done since the last commit."""
        assert self._session is not None, "rollback() outside a with-block"
        self._session.rollback()
        self.audit.end_transaction()
