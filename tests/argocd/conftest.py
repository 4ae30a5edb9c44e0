"""Helpers for the Argo CD client tests: a real HTTP(S) server in a thread, and fixture loading."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support import free_port, serve_app

from belay import jsonio


@contextmanager
def serve_in_thread(
    app: Any, *, certfile: str | None = None, keyfile: str | None = None
) -> Iterator[str]:
    """Serve an ASGI ``app`` with uvicorn on a free loopback port; yield its base URL."""
    with serve_app(
        app, certfile=certfile, keyfile=keyfile, log_level="critical", timeout_graceful_shutdown=2
    ) as url:
        yield url


def load_fixture_as_wire_json(path: Path) -> dict[str, Any]:
    """Read a YAML fixture and pass it through JSON, as the API would serve it."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    result: dict[str, Any] = jsonio.loads(jsonio.dumps(data))
    return result


@pytest.fixture
def argocd_fixtures(shared_dir: Path) -> Path:
    """The folder of real Argo CD sample objects."""
    folder = shared_dir / "fixtures" / "argocd"
    if not folder.is_dir():
        pytest.skip(f"no Argo CD fixtures at {folder}")
    return folder


@pytest.fixture
def serve() -> Any:
    """The :func:`serve_in_thread` helper (test modules cannot import conftest directly)."""
    return serve_in_thread


@pytest.fixture
def unused_port() -> int:
    """A loopback port with no listener."""
    return free_port()


@pytest.fixture
def wire_fixture(argocd_fixtures: Path) -> Any:
    """Load ``<name>.yaml`` from the shared fixtures as wire JSON."""

    def load(name: str) -> dict[str, Any]:
        return load_fixture_as_wire_json(argocd_fixtures / name)

    return load
