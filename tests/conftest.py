"""Test-wide fixtures: a clean environment, the shared reference folder, CI's no-skip rule, and
the databases (SQLite and PostgreSQL) with a migrated store on each."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from belay.store import Store

# Variables Belay reads; every test starts without them so the developer's shell cannot leak in.
_BELAY_ENV_PREFIXES = ("ARGOCD_", "BELAY_TOKEN", "BELAY_SLACK", "BELAY_DATABASE_URL")
_KEEP = {"BELAY_SHARED_DIR", "BELAY_ARGOCD_SWAGGER", "BELAY_TEST_DATABASE_URL"}

# Under CI a skip of one of these is a failure: they are the proof that the real parts work.
_MUST_RUN_UNDER_CI = {"postgres", "contract", "browser", "alertmanager"}


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Remove Belay's variables and point the integration store at an empty temp file."""
    for name in list(os.environ):
        if name in _KEEP:
            continue
        if name.startswith(_BELAY_ENV_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BELAY_INTEGRATIONS_FILE", str(tmp_path / "no-integrations.json"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def reset_logging() -> Iterator[None]:
    """Undo any logging configuration a test made (a CLI run sets a WARNING filter), so that
    ``structlog.testing.capture_logs`` in later tests sees every event whatever the order."""
    import structlog

    structlog.reset_defaults()
    yield
    structlog.reset_defaults()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared reference folder (``BELAY_SHARED_DIR``, default ``../shared``)."""
    default = Path(__file__).resolve().parents[1].parent / "shared"
    path = Path(os.environ.get("BELAY_SHARED_DIR", str(default)))
    if not path.is_dir():
        pytest.skip(f"shared folder not found at {path} (set BELAY_SHARED_DIR)")
    return path


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Under ``CI=true``, turn a skipped postgres/contract/browser test into a failure."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if os.environ.get("CI", "").lower() != "true" or not report.skipped:
        return
    marks = {mark.name for mark in item.iter_markers()}
    if marks & _MUST_RUN_UNDER_CI:
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        kinds = sorted(marks & _MUST_RUN_UNDER_CI)
        report.longrepr = f"skipped under CI, which is not allowed for {kinds}: {reason}"


def _postgres_server_url() -> str:
    url = os.environ.get("BELAY_TEST_DATABASE_URL")
    if not url:
        pytest.skip("BELAY_TEST_DATABASE_URL is not set (CI sets it to the local PostgreSQL)")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the test server, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(_postgres_server_url()).set(drivername="postgresql+psycopg")
    name = f"belay_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs twice: on a fresh SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'belay.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated store on the backend under test (SQLite and PostgreSQL), disposed afterwards."""
    from tests.support.store import migrated_store

    with migrated_store(database_url) as made:
        yield made
