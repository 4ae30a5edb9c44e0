"""The store side of following deployments without a thread each: lease hand-over and renewal.

A job whose sync was sent stays ``running``; its lease passes from the worker that sent the sync
to the process's follower (:class:`belay.deploy.follower.Follower`), which renews the leases of
everything it follows in one statement. If the process dies, the leases expire and any worker
claims the jobs again: the sync step finds our marker on the application and hands the job to
its own follower, so a sync is never sent twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from belay.store.tables import JobRow

__all__ = ["FollowRepository"]


class FollowRepository:
    """Bulk lease operations for followed jobs."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def hand_over(
        self, job_id: str, *, from_owner: str, to_owner: str, lease: timedelta, now: datetime
    ) -> bool:
        """Pass a running job's lease from ``from_owner`` to ``to_owner``; ``False`` if it was
        not ``from_owner``'s any more (nothing is changed then)."""
        result = self._s.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.lease_owner == from_owner, JobRow.state == "running")
            .values(lease_owner=to_owner, lease_expires_at=now + lease, updated_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def renew_all(self, *, owner: str, lease: timedelta, now: datetime) -> set[str]:
        """Extend the lease of every running job ``owner`` holds; the ids still held."""
        result = self._s.execute(
            update(JobRow)
            .where(JobRow.lease_owner == owner, JobRow.state == "running")
            .values(lease_expires_at=now + lease)
            .returning(JobRow.id)
        )
        return set(result.scalars())
