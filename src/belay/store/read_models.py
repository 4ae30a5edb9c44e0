"""Read models: the joined and aggregate reads the web pages and the metrics need.

The repositories of the unit of work read and write one kind of record each; the submission list
(a submission with its decision and its latest deployment job) and the metrics' counts cut across
tables, so they are queries of their own here, each returning typed records. Nothing here writes.

    with store.unit_of_work() as uow:
        rows = uow.read_models.submissions(project="shop", limit=50)
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from belay.store.bypass import BypassReportRow
from belay.store.tables import AuditEventRow, DecisionRow, JobRow, SubmissionRow
from belay.vocab import JobState

__all__ = ["EndedJob", "ReadModels", "StoreCounts", "SubmissionSummary"]

FULL_SHA_LENGTH = 40
"""A commit given with at least this many characters is matched exactly, else as a prefix."""


class _ReadModel(BaseModel):
    model_config = ConfigDict(frozen=True)


class SubmissionSummary(_ReadModel):
    """One row of the submission list."""

    id: str
    received_at: datetime
    project: str | None
    commit: str | None
    branch: str | None
    application: str | None
    decision: str | None
    """``pass``, ``fail`` or ``None`` while being judged."""
    deployment: JobState | Literal["none"]
    """The latest job's state, or ``none``."""
    deployment_finished_at: datetime | None = None


class StoreCounts(_ReadModel):
    """What the metrics count, as of one read."""

    verdicts: dict[str, int]
    """Judged submissions by their decision (``pass``, ``fail``)."""
    judging: int
    """Submissions without a decision yet."""
    jobs: dict[str, int]
    """Deployment jobs by state (states without a job are left out)."""
    oldest_queued_at: datetime | None
    """When the oldest queued job was created, ``None`` when none is queued."""
    audit_kinds: dict[str, int]
    """Audit events of the asked kinds, by kind (kinds without an event are left out)."""
    unapproved_deployments: int
    """Gate bypasses reported (deployments at a revision without a passing decision)."""


class EndedJob(_ReadModel):
    """A job that ended: when it was created and when it ended."""

    id: str
    state: JobState
    created_at: datetime
    finished_at: datetime


class ReadModels:
    """Joined and aggregate reads; never writes."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def submissions(
        self,
        *,
        limit: int,
        project: str | None = None,
        application: str | None = None,
        commit: str | None = None,
        verdict: str | None = None,
        deployment: JobState | Literal["none"] | None = None,
    ) -> list[SubmissionSummary]:
        """Submissions newest first with their verdict and latest deployment state, filtered by
        any of: project, the decision's application, a commit SHA or prefix (lower case), the
        verdict, or the latest job's state (``none``: the decision has no job)."""
        query = (
            select(SubmissionRow, DecisionRow)
            .outerjoin(DecisionRow, DecisionRow.id == SubmissionRow.decision_id)
            .order_by(SubmissionRow.received_at.desc())
            .limit(limit)
        )
        if project:
            query = query.where(SubmissionRow.project == project)
        if application:
            query = query.where(DecisionRow.application == application)
        if commit:
            if len(commit) >= FULL_SHA_LENGTH:
                query = query.where(SubmissionRow.commit_sha == commit)
            else:
                query = query.where(SubmissionRow.commit_sha.startswith(commit, autoescape=True))
        if verdict:
            query = query.where(DecisionRow.decision == verdict)
        if deployment == "none":
            query = query.where(~exists().where(JobRow.decision_id == SubmissionRow.decision_id))
        elif deployment is not None:
            # The newest job of the decision is in that state.
            newest_state = (
                select(JobRow.state)
                .where(JobRow.decision_id == SubmissionRow.decision_id)
                .order_by(JobRow.created_at.desc())
                .limit(1)
                .scalar_subquery()
            )
            query = query.where(newest_state == deployment)
        rows = self._s.execute(query).all()
        ids = [d.id for _, d in rows if d is not None]
        jobs: dict[str, JobRow] = {}
        if ids:
            for found in self._s.scalars(
                select(JobRow).where(JobRow.decision_id.in_(ids)).order_by(JobRow.created_at)
            ):
                if found.decision_id is not None:
                    jobs[found.decision_id] = found
        out = []
        for sub, dec in rows:
            job = jobs.get(dec.id) if dec is not None else None
            out.append(
                SubmissionSummary(
                    id=sub.id,
                    received_at=sub.received_at,
                    project=sub.project,
                    commit=sub.commit_sha,
                    branch=sub.branch,
                    application=dec.application if dec is not None else None,
                    decision=dec.decision if dec is not None else None,
                    deployment=job.state if job is not None else "none",
                    deployment_finished_at=job.finished_at if job is not None else None,
                )
            )
        return out

    def counts(self, *, audit_kinds: Collection[str]) -> StoreCounts:
        """Submissions by verdict, jobs by state, the oldest queued job and the number of audit
        events of each of ``audit_kinds``."""
        verdicts = self._s.execute(
            select(DecisionRow.decision, func.count())
            .join(SubmissionRow, SubmissionRow.decision_id == DecisionRow.id)
            .group_by(DecisionRow.decision)
        ).all()
        judging = self._s.scalar(
            select(func.count())
            .select_from(SubmissionRow)
            .where(SubmissionRow.decision_id.is_(None))
        )
        states = self._s.execute(select(JobRow.state, func.count()).group_by(JobRow.state)).all()
        oldest = self._s.scalar(
            select(func.min(JobRow.created_at)).where(JobRow.state == JobState.queued)
        )
        kinds = self._s.execute(
            select(AuditEventRow.kind, func.count())
            .where(AuditEventRow.kind.in_(list(audit_kinds)))
            .group_by(AuditEventRow.kind)
        ).all()
        return StoreCounts(
            verdicts={str(d): int(n) for d, n in verdicts},
            judging=int(judging or 0),
            jobs={str(s): int(n) for s, n in states},
            oldest_queued_at=oldest,
            audit_kinds={str(k): int(n) for k, n in kinds},
            # Counted in the shared store: every replica reports the same total.
            unapproved_deployments=int(
                self._s.scalar(select(func.count()).select_from(BypassReportRow)) or 0
            ),
        )

    def ended_jobs(self, *, states: Collection[JobState], since: datetime | None) -> list[EndedJob]:
        """Jobs that ended in one of ``states`` at or after ``since`` (all when ``None``), in
        the order they ended."""
        query = select(JobRow.id, JobRow.state, JobRow.created_at, JobRow.finished_at).where(
            JobRow.finished_at.is_not(None), JobRow.state.in_(list(states))
        )
        if since is not None:
            query = query.where(JobRow.finished_at >= since)
        rows = self._s.execute(query.order_by(JobRow.finished_at)).mappings()
        return [EndedJob.model_validate(dict(row)) for row in rows]
