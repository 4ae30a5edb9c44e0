"""Server-side sign-in sessions (random id in the cookie, stored in the database).

:meth:`SessionManager.create` makes a random 256-bit id, stores its SHA-256 with the time and a
fingerprint of the read token, and returns the id for the cookie. :meth:`SessionManager.valid`
accepts a cookie only when its session exists, was made with the current read token, is younger
than the absolute limit and was used within the idle limit; an ended session is deleted when
it is seen. :meth:`SessionManager.end` deletes one (sign-out). Since the store is shared, every
replica sees the same sessions, and signing out on one ends the session on all. Rotating the
read token changes the fingerprint, which ends every session made with the old one.

A use moves the idle expiry, but the row is written at most once per :data:`TOUCH_EVERY`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from belay.config import WebSettings
from belay.store import Store, WebSessionRecord

__all__ = ["SESSION_COOKIE", "TOUCH_EVERY", "SessionManager", "SessionPolicy"]

SESSION_COOKIE = "belay_session"
TOUCH_EVERY = timedelta(seconds=60)
_MAX_COOKIE = 128


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lives: unused (``idle``) and at most (``absolute``)."""

    idle: timedelta
    absolute: timedelta

    @classmethod
    def from_settings(cls, settings: WebSettings) -> SessionPolicy:
        """The limits of ``web.session_idle_minutes`` and ``web.session_max_hours``."""
        return cls(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_max_hours),
        )


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionManager:
    """Create, check and end sessions in the store."""

    def __init__(
        self,
        store: Store,
        *,
        fingerprint: str,
        policy: SessionPolicy,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.store = store
        self.fingerprint = fingerprint
        self.policy = policy
        self.clock = clock

    def create(self, *, client: str | None) -> str:
        """A new session; returns its id (the cookie value). Ended sessions are cleared."""
        session_id = secrets.token_urlsafe(32)
        now = self.clock()
        record = WebSessionRecord(
            id_sha256=_digest(session_id),
            token_fingerprint=self.fingerprint,
            created_at=now,
            last_seen_at=now,
            expires_at=now + self.policy.absolute,
            client=(client or "")[:255] or None,
        )
        with self.store.unit_of_work() as uow:
            uow.web_sessions.delete_ended(
                now=now, idle_since=now - self.policy.idle, fingerprint=self.fingerprint
            )
            uow.web_sessions.add(record)
            uow.commit()
        return session_id

    def valid(self, session_id: str) -> bool:
        """Whether the cookie names a live session (an ended one is deleted)."""
        if not session_id or len(session_id) > _MAX_COOKIE:
            return False
        key = _digest(session_id)
        now = self.clock()
        with self.store.unit_of_work() as uow:
            found = uow.web_sessions.get(key)
            if found is None:
                return False
            ended = (
                found.token_fingerprint != self.fingerprint
                or found.expires_at <= now
                or found.last_seen_at + self.policy.idle <= now
            )
            if ended:
                uow.web_sessions.delete(key)
                uow.commit()
                return False
            if now - found.last_seen_at >= TOUCH_EVERY:
                uow.web_sessions.touch(key, now=now)
                uow.commit()
        return True

    def end(self, session_id: str) -> bool:
        """Delete the session (sign-out); whether there was one."""
        if not session_id or len(session_id) > _MAX_COOKIE:
            return False
        with self.store.unit_of_work() as uow:
            deleted = uow.web_sessions.delete(_digest(session_id))
            uow.commit()
        return deleted
