"""Group commit: concurrent writers share one transaction, so one COMMIT (one fsync) serves many.

Under load, the intake's cost per submission was dominated not by its few INSERTs but by what
surrounds them: BEGIN, reading and writing the audit chain's head, and a durable COMMIT (an
fsync with SQLite's ``synchronous=FULL``). :class:`GroupCommit` lets the threads that want to
write at the same moment take turns as *leader*: the leader takes every write waiting at that
moment, runs them one after the other in one unit of work, commits once, and hands each caller
its result. A caller returns only after the commit that holds its write, so "answered" still
means "durable".

Failures are rare, so they are handled by retrying rather than by a savepoint around every
write. When a write raises (a replayed delivery's unique key, a bug), the transaction is rolled
back, that write's caller gets the exception, and the writes that ran before it run again
together: write functions must therefore only write through the unit of work they are given
(running one again after a rollback is harmless). When the database itself fails (a lost
connection, a lock timeout) or the COMMIT does, every caller of the batch gets the error, as with
a unit of work of its own: the COMMIT may have landed, so nothing is run twice. A deadlock or
serialization failure that PostgreSQL resolves by aborting the batch is retried a few times.

Every batch takes the audit chain's head lock first, before any row lock: writers then queue on
that one lock and never wait for each other's rows while holding it (a batch appending audit
events after waiting on another process's uncommitted row could deadlock with it). With no
concurrency, a batch holds one write and costs what a plain unit of work costs.

``group_commit`` must not be called from inside a write function (it would wait for itself);
doing so raises :class:`RuntimeError`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from belay.logs import get_logger
from belay.store.uow import UnitOfWork

__all__ = ["GroupCommit"]

T = TypeVar("T")

_MAX_BATCH = 64
_PENDING: Any = object()
_CONFLICT_RETRIES = 3

_log = get_logger("belay.store")
_inside = threading.local()


@dataclass(eq=False)
class _Write(Generic[T]):
    fn: Callable[[UnitOfWork], T]
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    result: Any = _PENDING
    error: BaseException | None = None


class GroupCommit:
    """Runs write functions for many threads, batching those that arrive together."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork]) -> None:
        self._unit_of_work = unit_of_work
        self._lock = threading.Lock()
        self._waiting: list[_Write[Any]] = []
        self._leader_busy = False

    def run(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run ``fn(uow)`` in a shared transaction; return its result once that has committed.

        ``fn`` must not commit or roll back, and must have no effect outside ``uow`` (it may run
        twice, see the module's docstring); its exception, if any, is raised here and none of its
        writes is kept.
        """
        if getattr(_inside, "batch", False):
            raise RuntimeError("group_commit() called from inside a write function")
        write: _Write[T] = _Write(fn)
        with self._lock:
            self._waiting.append(write)
            if self._leader_busy:
                leader = False
            else:
                self._leader_busy = leader = True
        if not leader:
            write.done.wait()
            if not write.lead:
                return _outcome(write)
        # This thread leads: run one batch (its own write is in it), then pass the lead on.
        self._lead()
        write.done.wait()
        return _outcome(write)

    def _lead(self) -> None:
        with self._lock:
            batch = self._waiting[:_MAX_BATCH]
            del self._waiting[:_MAX_BATCH]
        try:
            self._run_batch(batch)
        finally:
            for write in batch:
                write.done.set()
            with self._lock:
                if self._waiting:
                    # The next waiting writer leads the next batch; this thread returns to its
                    # caller instead of serving others for as long as the load lasts.
                    successor = self._waiting[0]
                    successor.lead = True
                    successor.done.set()
                else:
                    self._leader_busy = False

    def _run_batch(self, batch: list[_Write[Any]]) -> None:
        pending = list(batch)
        conflicts = 0
        while pending:
            ran = 0
            committing = False
            try:
                _inside.batch = True
                with self._unit_of_work() as uow:
                    uow.audit.lock_head()
                    results = []
                    for write in pending:
                        results.append(write.fn(uow))
                        ran += 1
                    committing = True
                    uow.commit()
            except Exception as err:  # noqa: BLE001 - handed to the callers, see the docstring
                if _is_conflict(err) and conflicts < _CONFLICT_RETRIES:
                    conflicts += 1
                    _log.info("store.batch_conflict_retried", error=type(err).__name__)
                    continue
                if committing or _is_database_failure(err):
                    for write in pending:
                        write.error = err
                    return
                # The write at position ``ran`` raised: it alone gets the error; the ones before
                # it were rolled back with it and run again (the ones after it never ran).
                pending[ran].error = err
                del pending[ran]
                continue
            except BaseException as err:
                for write in pending:
                    write.error = err
                raise
            finally:
                _inside.batch = False
            for write, result in zip(pending, results, strict=True):
                write.result = result
            return


def _is_conflict(err: Exception) -> bool:
    """A deadlock or serialization failure: PostgreSQL aborted the batch; running it again may
    succeed (SQLSTATE class 40)."""
    code = getattr(getattr(err, "orig", None), "sqlstate", None)
    return isinstance(err, DBAPIError) and isinstance(code, str) and code.startswith("40")


def _is_database_failure(err: Exception) -> bool:
    """The database failed, not one write: connection lost, lock timeout, server shutting down."""
    return isinstance(err, OperationalError) or (
        isinstance(err, DBAPIError) and err.connection_invalidated
    )


def _outcome(write: _Write[T]) -> T:
    if write.error is not None:
        raise write.error
    if write.result is _PENDING:
        raise RuntimeError("the shared transaction ended before this write ran")
    result: T = write.result
    return result
