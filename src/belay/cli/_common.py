"""Helpers shared by the CLI modules: output formats and the error-to-exit-code boundary."""

from __future__ import annotations

import enum
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, ParamSpec, TypeVar

import typer

from belay.errors import BadInput, BelayError
from belay.redact import redact_text

__all__ = [
    "ConfigOption",
    "OutputFormat",
    "TextOrJSON",
    "TextOrJSONOption",
    "current_user",
    "die",
    "handle_errors",
    "open_store",
]

if TYPE_CHECKING:
    from belay.config import BelaySettings
    from belay.store import Store

P = ParamSpec("P")
R = TypeVar("R")


class OutputFormat(enum.StrEnum):
    """The ``--output`` choices of commands that print data."""

    text = "text"
    json = "json"
    markdown = "markdown"


class TextOrJSON(enum.StrEnum):
    """The ``--output`` choices of commands that print records."""

    text = "text"
    json = "json"


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="belay.yaml (default: ./belay.yaml if it exists)."),
]
"""``-c/--config``, the same on every command that reads belay.yaml."""
TextOrJSONOption = Annotated[TextOrJSON, typer.Option("--output", "-o", help="text or json.")]
"""``-o/--output text|json``, the same on every command that prints records."""


def current_user() -> str:
    """Who runs the command, for the audit trail: ``$USER``, else the account name, else
    ``unknown`` (a container may run as a uid with no passwd entry)."""
    import getpass

    from belay.config import process_environ

    try:
        return process_environ().get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def open_store(config: Path | None) -> tuple[BelaySettings, Store]:
    """The settings and the ready store of ``config``; never creates a database.

    A SQLite file that does not exist is a :class:`~belay.errors.BadInput` naming it (opening it
    would create an empty database); an unmigrated store is a ``StoreError``.
    """
    from belay.config import load_settings
    from belay.store import Store, sqlite_file

    settings = load_settings(config)
    path = sqlite_file(settings.database_url)  # None for a bad URL: Store() below names it
    if path is not None and not path.is_file():
        raise BadInput(f"cannot read database {path}: no such file (run `belay db upgrade`)")
    store = Store(settings.database_url)
    store.check_ready()
    return settings, store


def die(message: str, code: int = 2) -> NoReturn:
    """Print one redacted line to stderr (a JSON object with ``--log-format json``) and exit."""
    from belay.logs import current_format

    if current_format() == "json":
        from belay.jsonio import dumps_text

        line = dumps_text({"event": redact_text(message), "level": "error", "exit_code": code})
        print(line, file=sys.stderr)
    else:
        print(f"error: {redact_text(message)}", file=sys.stderr)
    raise typer.Exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn Belay's errors into one line on stderr and an exit code (2 bad input, 1 otherwise)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except BadInput as err:
            die(str(err), 2)
        except BelayError as err:
            die(str(err), 1)

    return wrapper
