"""Refusals of unauthenticated clients in the audit trail, aggregated so a flood stays small.

Before, every 401 wrote one audit event (300 events in 3 s from one client). Now, per client and
per one-minute window (:data:`WINDOW_SECONDS`):

* the first refusal is written at once (kind ``<door>.unauthorized`` or ``.sign_in_refused``,
  ``count`` 1), so a single wrong token is in the trail immediately;
* the rest of that minute's refusals, 401s and 429s alike, are counted and written as **one**
  event of the same kind with their ``count``, ``first_at`` and ``last_at`` when the window ends
  (:meth:`RefusalAudit.flush`, run every few seconds by the app and at shutdown);
* a lockout (:mod:`belay.web.throttle`) is written at once as ``<door>.locked_out``.

So one client costs at most two refusal events a minute, plus its lockouts. The reason recorded
is Belay's own one-line reason, never what the client sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from belay.redact import redact_text
from belay.store import NewAuditEvent, Store
from belay.vocab import AuditKind

__all__ = ["INTAKE", "SIGN_IN", "WINDOW_SECONDS", "Door", "RefusalAudit"]

WINDOW_SECONDS = 60.0


@dataclass(frozen=True)
class Door:
    """The audit event kinds of one door (the intake, the sign-in form)."""

    refused: AuditKind
    locked_out: AuditKind


INTAKE = Door(refused=AuditKind.intake_unauthorized, locked_out=AuditKind.intake_locked_out)
SIGN_IN = Door(refused=AuditKind.web_sign_in_refused, locked_out=AuditKind.web_sign_in_locked_out)

_ACTOR = "unauthenticated"


@dataclass
class _Window:
    started: float
    first_at: float = 0.0
    """When the first of the pending (not yet written) refusals came."""
    last_at: float = 0.0
    pending: int = 0
    reason: str = ""
    status: int = 0


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat()


MAX_CLIENTS = 10_000
"""Clients tracked at once in a window; beyond it refusals are counted under ``OTHER_CLIENTS``."""
OTHER_CLIENTS = "(other clients)"


class RefusalAudit:
    """Writes one door's refusals to the audit trail, at most two events per client a minute."""

    def __init__(
        self,
        store: Store,
        door: Door,
        *,
        clock: Callable[[], float] = time.time,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self.store = store
        self.door = door
        self.clock = clock
        self.window_seconds = window_seconds
        self._windows: dict[str, _Window] = {}
        self._lock = threading.Lock()

    def refused(self, client: str, *, reason: str, status: int) -> None:
        """Record one refusal of ``client`` (writes only the first of its window)."""
        now = self.clock()
        self.flush()
        with self._lock:
            if client not in self._windows and len(self._windows) >= MAX_CLIENTS:
                # A flood from many addresses: count the newcomers as one "other clients" window
                # rather than hold (and write) one per address.
                client = OTHER_CLIENTS
            window = self._windows.get(client)
            if window is not None:
                if not window.pending:
                    window.first_at = now
                window.pending += 1
                window.last_at = now
                window.reason, window.status = reason, status
                return
            self._windows[client] = _Window(started=now)
        self._write(
            self.door.refused,
            {
                "client": client,
                "status": status,
                "reason": redact_text(reason),
                "count": 1,
                "first_at": _iso(now),
                "last_at": _iso(now),
            },
        )

    def locked_out(self, client: str, *, failures: int, seconds: int) -> None:
        """Record that ``client`` was locked out after ``failures`` failures."""
        self._write(
            self.door.locked_out,
            {"client": client, "status": 429, "failures": failures, "lockout_seconds": seconds},
        )

    def flush(self, *, everything: bool = False) -> int:
        """Write the counts of windows that ended (all of them with ``everything``); how many
        events were written."""
        now = self.clock()
        with self._lock:
            ended = [
                (client, window)
                for client, window in self._windows.items()
                if everything or now - window.started >= self.window_seconds
            ]
            for client, _ in ended:
                del self._windows[client]
        written = 0
        for client, window in ended:
            if window.pending:
                self._write(
                    self.door.refused,
                    {
                        "client": client,
                        "status": window.status,
                        "reason": redact_text(window.reason),
                        "count": window.pending,
                        "first_at": _iso(window.first_at),
                        "last_at": _iso(window.last_at),
                    },
                )
                written += 1
        return written

    def _write(self, kind: AuditKind, data: dict[str, object]) -> None:
        with self.store.unit_of_work() as uow:
            uow.audit.append(
                NewAuditEvent(kind=kind, actor=_ACTOR, data=data),
                now=datetime.now(UTC),
            )
            uow.commit()
