"""Helpers for configuration tests: resolve from explicit inputs only, never the real home."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from belay.config import ArgoCDResolution, resolve_argocd

Resolve = Callable[..., ArgoCDResolution]


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    """A store path inside the test's temporary folder (not created)."""
    return tmp_path / "tracer" / "integrations.json"


@pytest.fixture
def write_store(store_file: Path) -> Callable[[Any], Path]:
    """Write a JSON document (or raw text) to the store path with mode 0600."""

    def write(document: Any) -> Path:
        store_file.parent.mkdir(parents=True, exist_ok=True)
        text = document if isinstance(document, str) else json.dumps(document)
        store_file.write_text(text)
        os.chmod(store_file, 0o600)
        return store_file

    return write


@pytest.fixture
def resolve(tmp_path: Path, store_file: Path) -> Resolve:
    """Resolve from an explicit environ mapping, a .env in tmp_path and the temp store."""

    def run(environ: Mapping[str, str] | None = None, **kwargs: Any) -> ArgoCDResolution:
        kwargs.setdefault("dotenv_path", tmp_path / ".env")
        kwargs.setdefault("store_path", store_file)
        return resolve_argocd(dict(environ or {}), **kwargs)

    return run
