"""Group commit: concurrent writers share one transaction, so one COMMIT (one fsync) serves many.

Under load, the intake's cost per submission was dominated not by its few INSERTs but by what
surrounds them: BEGIN, reading and writing the audit chain's head, and a durable COMMIT (an
fsync with SQLite's ``synchronous=FULL``). :class:`GroupCommit` lets the threads that want to
write at the same moment take turns as *leader*: the leader takes every write waiting at that
moment, runs them one after the other in one unit of work, commits once, and hands each caller
its result. A caller returns only after the commit that holds its write, so "answered" still
means "durable".

Failures are rare (a replayed delivery's unique key, a lost connection), so they are handled by
retrying rather than by a savepoint around every write: when any write of a batch raises or the
commit fails, the whole transaction is rolled back and each write runs again in a transaction of
its own, where it gets its own result or exception. Write functions must therefore only write
through the unit of work they are given (running one twice after a rollback is harmless). With no
concurrency, a batch holds one write and costs what a plain unit of work costs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from belay.store.uow import UnitOfWork

__all__ = ["GroupCommit"]

T = TypeVar("T")

_MAX_BATCH = 64
_PENDING: Any = object()


@dataclass(eq=False)
class _Write(Generic[T]):
    fn: Callable[[UnitOfWork], T]
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    result: Any = _PENDING
    error: BaseException | None = None


class GroupCommit:
    """Runs write functions for many threads, batching those that arrive together."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], *, max_batch: int = _MAX_BATCH):
        self._unit_of_work = unit_of_work
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._waiting: list[_Write[Any]] = []
        self._leader_busy = False

    def run(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run ``fn(uow)`` in a shared transaction; return its result once that has committed.

        ``fn`` must not commit or roll back, and must have no effect outside ``uow`` (it may run
        twice, see the module's docstring); its exception, if any, is raised here and none of its
        writes is kept.
        """
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
            batch = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
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
        if len(batch) > 1 and self._run_together(batch):
            return
        # One write of the batch failed (or the shared commit did): nothing of it was kept, so
        # each write runs again alone and gets its own result or error.
        for write in batch:
            self._run_together([write])

    def _run_together(self, batch: list[_Write[Any]]) -> bool:
        """Run ``batch`` in one transaction; ``False`` if it was rolled back (retry alone)."""
        try:
            with self._unit_of_work() as uow:
                results = [write.fn(uow) for write in batch]
                uow.commit()
        except Exception as err:  # noqa: BLE001 - handed to the caller (or retried alone)
            if len(batch) > 1:
                return False
            batch[0].error = err
            return True
        except BaseException as err:
            for write in batch:
                write.error = err
            raise
        for write, result in zip(batch, results, strict=True):
            write.result = result
        return True


def _outcome(write: _Write[T]) -> T:
    if write.error is not None:
        raise write.error
    if write.result is _PENDING:
        raise RuntimeError("the shared transaction ended before this write ran")
    result: T = write.result
    return result
