"""One failure throttle for every door a client can knock on without credentials.

Used twice with its own settings: wrong read tokens at ``/login`` and unauthenticated intake
requests. Like Argo CD's login (by default 5 failures within 300 seconds), a client that fails
``max_failures`` times
within ``window_seconds`` is locked out for ``lockout_seconds``: every request of it is then
answered 429 with ``Retry-After``, before any credential is looked at, so a lockout cannot be
used to keep guessing. A success (sign-in only) forgets the client's failures.

Clients are keyed by the address the request came from. At most ``max_clients`` are tracked;
beyond that the oldest entries are forgotten first (memory stays bounded under a flood of
addresses). State is per process: each replica throttles on its own.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from belay.config import ThrottleSettings

__all__ = ["FailureOutcome", "FailureThrottle"]

DEFAULT_MAX_CLIENTS = 10_000


@dataclass(frozen=True)
class FailureOutcome:
    """What one more failure did: the failures counted so far, and whether it locked."""

    failures: int
    locked: bool
    """This failure started a lockout (write it to the audit trail)."""
    retry_after: int = 0
    """Whole seconds until the lockout ends (0 when not locked)."""


@dataclass
class _Entry:
    first: float
    failures: int = 0
    locked_until: float = 0.0


class FailureThrottle:
    """Counts failures per client and locks a client out after too many."""

    def __init__(
        self,
        settings: ThrottleSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = DEFAULT_MAX_CLIENTS,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.max_clients = max_clients
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int | None:
        """Whole seconds the client is still locked out for, or ``None`` when it may try."""
        now = self.clock()
        with self._lock:
            entry = self._entries.get(client)
            if entry is None or entry.locked_until <= now:
                return None
            return max(1, math.ceil(entry.locked_until - now))

    def fail(self, client: str) -> FailureOutcome:
        """Count a failure of ``client``; lock it out when it reaches the limit."""
        now = self.clock()
        policy = self.settings
        with self._lock:
            entry = self._entries.get(client)
            if entry is None or now - entry.first > policy.window_seconds:
                entry = _Entry(first=now)
                self._entries[client] = entry
                self._entries.move_to_end(client)
                while len(self._entries) > self.max_clients:
                    self._entries.popitem(last=False)
            if entry.locked_until > now:
                return FailureOutcome(
                    entry.failures, False, max(1, math.ceil(entry.locked_until - now))
                )
            entry.failures += 1
            if entry.failures < policy.max_failures:
                return FailureOutcome(entry.failures, False)
            entry.locked_until = now + policy.lockout_seconds
            # The next window starts when the lockout ends.
            entry.first = entry.locked_until
            failures, entry.failures = entry.failures, 0
            return FailureOutcome(failures, True, max(1, math.ceil(policy.lockout_seconds)))

    def succeed(self, client: str) -> None:
        """Forget the client's failures (a correct sign-in)."""
        with self._lock:
            self._entries.pop(client, None)
