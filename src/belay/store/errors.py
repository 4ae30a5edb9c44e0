"""The store's errors, and the one place where the database driver's errors become them.

::

    BelayError
    ├── StoreError                 the database is unreachable or not migrated
    │   └── DuplicateKey           a write would store a second row under a unique key
    └── BadInput
        └── StoreConfigError       the database URL cannot be used

Only ``belay.store`` knows SQLAlchemy: :func:`translate` is installed on every engine (see
:mod:`belay.store.engine`), so a unique-key violation reaches callers as :class:`DuplicateKey`
(chained to the driver's error) whichever statement or flush raised it. Other database errors
keep SQLAlchemy's classes inside the store, which wraps them where it answers for them.
"""

from __future__ import annotations

from sqlalchemy.engine import ExceptionContext

from belay.errors import BadInput, BelayError

__all__ = ["DuplicateKey", "StoreConfigError", "StoreError", "translate"]

# PostgreSQL's SQLSTATE and SQLite's extended result codes for a unique or primary key violation.
_PG_UNIQUE_VIOLATION = "23505"
_SQLITE_UNIQUE_VIOLATIONS = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


class StoreError(BelayError):
    """The store cannot be used (unreachable database, migrations not applied)."""


class DuplicateKey(StoreError):
    """A write would store a second row under a unique key (a replayed delivery's idempotency
    key, a job id, a second running job of one application...).

    Nothing of the failed statement is kept; trying again cannot succeed, reading the stored row
    can. ``key`` names the table and columns (or constraint) when the database said which.
    """

    def __init__(self, key: str | None = None) -> None:
        self.key = key
        super().__init__(f"a row with the same key is stored already ({key or 'unique key'})")


class StoreConfigError(BadInput):
    """The database URL cannot be used."""


def translate(context: ExceptionContext) -> None:
    """The engines' ``handle_error`` hook: raise :class:`DuplicateKey` for a unique-key violation.

    Any other error is left as it is.
    """
    original = context.original_exception
    if getattr(original, "sqlstate", None) == _PG_UNIQUE_VIOLATION:
        diag = getattr(original, "diag", None)
        raise DuplicateKey(getattr(diag, "constraint_name", None)) from context.sqlalchemy_exception
    if getattr(original, "sqlite_errorname", None) in _SQLITE_UNIQUE_VIOLATIONS:
        # "UNIQUE constraint failed: submissions.idempotency_key"
        _, _, columns = str(original).partition(": ")
        raise DuplicateKey(columns or None) from context.sqlalchemy_exception
