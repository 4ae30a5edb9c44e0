"""Fixtures of the store tests: a migrated store on each backend (see ``database_url``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from belay.store import Store


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store on the backend under test."""
    s = Store(database_url)
    s.upgrade()
    yield s
    s.dispose()
