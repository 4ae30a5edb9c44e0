"""Signed-in web sessions: the table, its record and its repository.

A session is stored under the SHA-256 of its random id (the cookie holds the id itself), so the
table alone lets nobody sign in. Every replica on one database shares the table, so a session
made on one is valid on all and signing out on one ends it everywhere. Rows carry a fingerprint
of the read token they were made with: rotating the token ends them (see ``belay.web.sessions``).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy import String, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from belay.store.tables import Base

__all__ = ["WebSessionRecord", "WebSessionRepository", "WebSessionRow"]


class WebSessionRow(Base):
    """One signed-in browser session (by the SHA-256 of its id)."""

    __tablename__ = "web_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    client: Mapped[str | None] = mapped_column(String(255))


class WebSessionRecord(BaseModel):
    """A stored session, as the web layer sees it."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id_sha256: str
    token_fingerprint: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    """The absolute end, fixed at sign-in."""
    client: str | None = None


class WebSessionRepository:
    """Create, read, touch and delete sessions; never commits."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, record: WebSessionRecord) -> None:
        """Store a new session."""
        self._s.add(WebSessionRow(**record.model_dump()))
        self._s.flush()

    def get(self, id_sha256: str) -> WebSessionRecord | None:
        """The session stored under this digest, if any."""
        row = self._s.get(WebSessionRow, id_sha256)
        return WebSessionRecord.model_validate(row) if row is not None else None

    def touch(self, id_sha256: str, *, now: datetime) -> None:
        """Record a use of the session (moves its idle expiry)."""
        self._s.execute(
            update(WebSessionRow)
            .where(WebSessionRow.id_sha256 == id_sha256)
            .values(last_seen_at=now)
        )

    def delete(self, id_sha256: str) -> bool:
        """Remove one session; whether it existed."""
        result = self._s.execute(delete(WebSessionRow).where(WebSessionRow.id_sha256 == id_sha256))
        return bool(getattr(result, "rowcount", 0))

    def delete_ended(self, *, now: datetime, idle_since: datetime, fingerprint: str) -> int:
        """Remove sessions past their absolute end, idle since before ``idle_since``, or made
        with another read token; how many were removed."""
        result = self._s.execute(
            delete(WebSessionRow).where(
                or_(
                    WebSessionRow.expires_at <= now,
                    WebSessionRow.last_seen_at < idle_since,
                    WebSessionRow.token_fingerprint != fingerprint,
                )
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def count(self) -> int:
        """How many sessions are stored (tests and metrics)."""
        return len(self._s.scalars(select(WebSessionRow.id_sha256)).all())
