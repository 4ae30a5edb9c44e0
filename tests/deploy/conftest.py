"""Fixtures shared by the deploy tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import migrated_store

from belay.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store."""
    with migrated_store(f"sqlite:///{tmp_path / 'belay.db'}") as made:
        yield made
