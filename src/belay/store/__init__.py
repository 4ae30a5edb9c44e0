"""Belay's store: SQLite (default) or PostgreSQL, one set of migrations, one unit of work.

    store = Store("sqlite:///belay.db")
    store.upgrade()                      # apply migrations (also `belay db upgrade`)
    with store.unit_of_work() as uow:
        ...
        uow.commit()

Errors (see :mod:`belay.store.errors`)::

    BelayError
    ├── StoreError                 the database is unreachable or not migrated
    │   └── DuplicateKey           a write would store a second row under a unique key
    └── BadInput
        └── StoreConfigError       the database URL cannot be used

Reads that join or aggregate tables (the submission list, the metrics' counts) are read models:
``uow.read_models`` (see :mod:`belay.store.read_models`).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from belay.redact import redact_text
from belay.store.audit import ChainBreak
from belay.store.bypass import BelayJobRecord, BypassReportRecord, LeaseGrant
from belay.store.engine import make_engine, sqlite_file
from belay.store.errors import DuplicateKey, StoreConfigError, StoreError
from belay.store.group import GroupCommit
from belay.store.read_models import EndedJob, ReadModels, StoreCounts, SubmissionSummary
from belay.store.records import (
    AttestationRecord,
    AuditEvent,
    DecisionRecord,
    InvestigationRecord,
    JobRecord,
    NewAuditEvent,
    StoredJudgement,
    SubmissionRecord,
)
from belay.store.uow import UnitOfWork, new_id
from belay.store.websessions import WebSessionRecord

T = TypeVar("T")

__all__ = [
    "AttestationRecord",
    "AuditEvent",
    "BelayJobRecord",
    "BypassReportRecord",
    "ChainBreak",
    "DecisionRecord",
    "DuplicateKey",
    "EndedJob",
    "InvestigationRecord",
    "JobRecord",
    "LeaseGrant",
    "NewAuditEvent",
    "ReadModels",
    "Store",
    "StoreConfigError",
    "StoreCounts",
    "StoreError",
    "StoredJudgement",
    "SubmissionRecord",
    "SubmissionSummary",
    "UnitOfWork",
    "WebSessionRecord",
    "new_id",
    "sqlite_file",
]

# Arbitrary constant: the PostgreSQL advisory lock that serialises migrations of several replicas.
_MIGRATION_LOCK_ID = 0x42E1A7


def _alembic_config() -> Config:
    config = Config()
    location = resources.files("belay.store") / "migrations"
    config.set_main_option("script_location", str(location))
    return config


class Store:
    """A database: engine, sessions, migrations and units of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._group = GroupCommit(self.unit_of_work)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def upgrade(self) -> None:
        """Apply every pending migration (safe to run from several replicas at once)."""
        config = _alembic_config()
        try:
            with self.engine.begin() as conn:
                if self.backend == "postgresql":
                    conn.execute(
                        text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
                    )
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
        except SQLAlchemyError as err:
            raise StoreError(f"cannot migrate the database: {_describe(err)}") from err

    def current_revision(self) -> str | None:
        """The migration the database is at, or ``None`` before the first."""
        try:
            with self.engine.connect() as conn:
                return MigrationContext.configure(conn).get_current_revision()
        except SQLAlchemyError as err:
            raise StoreError(f"cannot reach the database: {_describe(err)}") from err

    def head_revision(self) -> str | None:
        """The newest migration Belay ships."""
        return ScriptDirectory.from_config(_alembic_config()).get_current_head()

    def check_ready(self) -> None:
        """Raise :class:`StoreError` unless the database answers and is fully migrated."""
        current = self.current_revision()
        head = self.head_revision()
        if current != head:
            raise StoreError(
                f"database is at migration {current or 'none'}, Belay needs {head}: "
                "run `belay db upgrade`"
            )

    def unit_of_work(self) -> UnitOfWork:
        """A new unit of work (use it in a ``with`` block)."""
        return UnitOfWork(self._sessions)

    def group_commit(self, fn: Callable[[UnitOfWork], T]) -> T:
        """Run ``fn(uow)`` in a transaction shared with writers arriving at the same moment.

        Returns once the shared transaction has committed (see :mod:`belay.store.group`).
        """
        return self._group.run(fn)

    def session(self) -> Session:
        """A raw session, for tests and maintenance only."""
        return self._sessions()

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _describe(err: SQLAlchemyError) -> str:
    # The driver's message can carry the URL with its password; keep one redacted line.
    message = str(getattr(err, "orig", None) or err).strip().splitlines()
    return redact_text(message[0] if message else type(err).__name__)
