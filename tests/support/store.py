"""Real stores for tests (SQLite or PostgreSQL); the in-memory one is :mod:`.fake_uow`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from belay.store import Store

__all__ = ["migrated_store"]


@contextmanager
def migrated_store(url: str) -> Iterator[Store]:
    """A migrated store at ``url``, disposed when the block ends."""
    store = Store(url)
    store.upgrade()
    try:
        yield store
    finally:
        store.dispose()
