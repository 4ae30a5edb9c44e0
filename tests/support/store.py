"""Real stores for tests (SQLite or PostgreSQL); the in-memory one is :mod:`.fake_uow`."""

from __future__ import annotations

from collections.abc import Iterator

from belay.store import Store

__all__ = ["open_store"]


def open_store(url: str) -> Iterator[Store]:
    """A migrated store at ``url``, disposed when the generator closes (``yield from`` it in a
    fixture)."""
    store = Store(url)
    store.upgrade()
    try:
        yield store
    finally:
        store.dispose()
