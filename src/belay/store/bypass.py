"""The gate-bypass watch's tables: reported bypasses (the dedup key) and the replicas' lease.

``bypass_reports`` holds one row per unapproved deployment, under a unique key built from the
instance, application, revision and the deployment's start (or history id). The row is inserted
in the same transaction as the audit event and the alert reservation, so a re-list, a restart
or a second replica that sees the same deployment finds the key taken and reports nothing.

``bypass_leases`` holds one row per Argo CD instance: which replica watches it (``owner``) until
when (``expires_at``), and since when Belay has watched it at all (``since``: deployments that
started before are history, not bypasses). Taking the lease is one conditional ``UPDATE`` (or the
first ``INSERT``), so two replicas racing for an expired lease cannot both win.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, String, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from belay.store.tables import Base, DecisionRow, JobRow

__all__ = [
    "BelayJobRecord",
    "BypassLeaseRow",
    "BypassReportRecord",
    "BypassReportRow",
    "BypassRepository",
    "LeaseGrant",
]


class BypassReportRow(Base):
    """One reported unapproved deployment."""

    __tablename__ = "bypass_reports"

    dedup_key: Mapped[str] = mapped_column(String(512), primary_key=True)
    instance: Mapped[str] = mapped_column(String(255))
    application: Mapped[str] = mapped_column(String(255), index=True)
    revision: Mapped[str] = mapped_column(String(255), index=True)
    project: Mapped[str | None] = mapped_column(String(255))
    history_id: Mapped[int | None]
    initiated_by: Mapped[str] = mapped_column(String(255))
    deployed_at: Mapped[datetime | None]
    reported_at: Mapped[datetime]
    reporter: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class BypassLeaseRow(Base):
    """Which replica watches one Argo CD instance for bypasses, and since when it is watched."""

    __tablename__ = "bypass_leases"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime]
    since: Mapped[datetime]


class BypassReportRecord(BaseModel):
    """A reported bypass, as the web layer and the tests see it."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    dedup_key: str
    instance: str
    application: str
    revision: str
    project: str | None = None
    history_id: int | None = None
    initiated_by: str
    deployed_at: datetime | None = None
    reported_at: datetime
    reporter: str
    action: str
    details: dict[str, Any] = {}


class BelayJobRecord(NamedTuple):
    """A Belay job a marker names, with what decides whether an operation is that job's own."""

    instance: str
    application: str
    revision: str | None
    state: str
    """The job's state (``queued``, ``running``, ``succeeded``, ...)."""
    created_at: datetime
    finished_at: datetime | None = None


class LeaseGrant(BaseModel):
    """The answer to a lease request: held or not, and since when the instance is watched."""

    model_config = ConfigDict(frozen=True)

    held: bool
    since: datetime


class BypassRepository:
    """Reports, the lease, and the two look-ups a bypass decision needs; never commits."""

    def __init__(self, session: Session) -> None:
        self._s = session

    # -- reports ------------------------------------------------------------------------------

    def report(self, record: BypassReportRecord) -> bool:
        """Insert a report; ``False`` when its dedup key was reported before (by anyone)."""
        if self._s.get(BypassReportRow, record.dedup_key) is not None:
            return False
        try:
            with self._s.begin_nested():
                self._s.add(BypassReportRow(**record.model_dump()))
                self._s.flush()
        except IntegrityError:
            return False
        return True

    def reported(self, keys: Iterable[str]) -> set[str]:
        """Which of ``keys`` are reported already."""
        wanted = list(keys)
        if not wanted:
            return set()
        query = select(BypassReportRow.dedup_key).where(BypassReportRow.dedup_key.in_(wanted))
        return set(self._s.scalars(query))

    def for_revision(self, application: str, revision: str) -> list[BypassReportRecord]:
        """Reports about ``application`` at ``revision`` (any letter case), oldest first."""
        query = (
            select(BypassReportRow)
            .where(
                BypassReportRow.application == application,
                func.lower(BypassReportRow.revision) == revision.lower(),
            )
            .order_by(BypassReportRow.reported_at)
        )
        return [BypassReportRecord.model_validate(r) for r in self._s.scalars(query)]

    def recent(self, *, limit: int = 20) -> list[BypassReportRecord]:
        """The newest reports, newest first."""
        query = select(BypassReportRow).order_by(BypassReportRow.reported_at.desc()).limit(limit)
        return [BypassReportRecord.model_validate(r) for r in self._s.scalars(query)]

    def count(self) -> int:
        """How many bypasses were reported."""
        return int(self._s.scalar(select(func.count()).select_from(BypassReportRow)) or 0)

    # -- what Belay approved ------------------------------------------------------------------

    def passing(
        self, application: str, revisions: Iterable[str], *, project: str | None
    ) -> set[str]:
        """Which of ``revisions`` (lower-cased) are passing for ``application`` (for ``project``
        when given): the **newest** decision about the revision (by ``decided_at``, then id, as
        the permit and the decision API read it) is ``pass``. An older pass overruled by a later
        fail or error does not count."""
        lowered = sorted({r.lower() for r in revisions if r})
        if not lowered:
            return set()
        query = select(
            DecisionRow.revision, DecisionRow.decision, DecisionRow.decided_at, DecisionRow.id
        ).where(
            DecisionRow.application == application,
            func.lower(DecisionRow.revision).in_(lowered),
        )
        if project is not None:
            query = query.where(DecisionRow.project == project)
        newest: dict[str, tuple[datetime, str, str]] = {}
        for revision, decision, decided_at, decision_id in self._s.execute(query):
            if not revision:
                continue
            key = str(revision).lower()
            seen = newest.get(key)
            if seen is None or (decided_at, decision_id) > seen[:2]:
                newest[key] = (decided_at, decision_id, decision)
        return {key for key, (_, _, decision) in newest.items() if decision == "pass"}

    def belay_jobs(self, job_ids: Iterable[str]) -> dict[str, BelayJobRecord]:
        """Belay's own jobs among ``job_ids``, with their state and times."""
        wanted = sorted(set(job_ids))
        if not wanted:
            return {}
        query = select(
            JobRow.id,
            JobRow.instance,
            JobRow.application,
            JobRow.revision,
            JobRow.state,
            JobRow.created_at,
            JobRow.finished_at,
        ).where(JobRow.id.in_(wanted))
        return {
            row.id: BelayJobRecord(
                instance=row.instance,
                application=row.application,
                revision=row.revision,
                state=row.state,
                created_at=row.created_at,
                finished_at=row.finished_at,
            )
            for row in self._s.execute(query)
        }

    def belay_revisions(
        self, instance: str, application: str, revisions: Iterable[str]
    ) -> set[str]:
        """Which of ``revisions`` (lower-cased) Belay itself started a sync of (a job that ran,
        whatever its outcome): the history entries of Belay's own syncs, which carry no marker."""
        lowered = sorted({r.lower() for r in revisions if r})
        if not lowered:
            return set()
        query = select(JobRow.revision).where(
            JobRow.instance == instance,
            JobRow.application == application,
            func.lower(JobRow.revision).in_(lowered),
            JobRow.state.in_(("running", "succeeded", "failed", "timed_out")),
        )
        return {str(r).lower() for r in self._s.scalars(query) if r}

    # -- the lease ----------------------------------------------------------------------------

    def take_lease(self, name: str, *, owner: str, ttl: timedelta, now: datetime) -> LeaseGrant:
        """Take or renew the lease ``name`` for ``owner`` unless another owner's is still valid."""
        result = self._s.execute(
            update(BypassLeaseRow)
            .where(
                BypassLeaseRow.name == name,
                or_(BypassLeaseRow.owner == owner, BypassLeaseRow.expires_at <= now),
            )
            .values(owner=owner, expires_at=now + ttl)
        )
        held = bool(getattr(result, "rowcount", 0))
        if not held and self._s.get(BypassLeaseRow, name) is None:
            try:
                with self._s.begin_nested():
                    self._s.add(
                        BypassLeaseRow(name=name, owner=owner, expires_at=now + ttl, since=now)
                    )
                    self._s.flush()
                held = True
            except IntegrityError:
                held = False
        self._s.expire_all()
        row = self._s.get(BypassLeaseRow, name)
        return LeaseGrant(held=held, since=row.since if row is not None else now)

    def release_lease(self, name: str, *, owner: str, now: datetime) -> None:
        """Give the lease up (a clean stop), so another replica takes over at once."""
        self._s.execute(
            update(BypassLeaseRow)
            .where(BypassLeaseRow.name == name, BypassLeaseRow.owner == owner)
            .values(expires_at=now)
        )
