"""Helpers shared by the CLI modules: output formats and the error-to-exit-code boundary."""

from __future__ import annotations

import enum
import functools
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn, ParamSpec, TypeVar

import typer

from belay.errors import BadInput, BelayError
from belay.redact import redact_text

__all__ = ["OutputFormat", "audit_table", "die", "handle_errors"]

if TYPE_CHECKING:
    from rich.table import Table

    from belay.store import AuditEvent

P = ParamSpec("P")
R = TypeVar("R")


class OutputFormat(enum.StrEnum):
    """The ``--output`` choices of commands that print data."""

    text = "text"
    json = "json"
    markdown = "markdown"


def die(message: str, code: int = 2) -> NoReturn:
    """Print one redacted line to stderr and exit with ``code``."""
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


def audit_table(events: Sequence[AuditEvent], *, title: str | None = None) -> Table:
    """The audit chain as a Rich table: sequence, time, event, actor, app, revision, detail."""
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for column in ("#", "time (UTC)", "event", "actor", "application", "revision", "detail"):
        table.add_column(column, overflow="fold")
    for event in events:
        data = event.data
        detail = data.get("reason") or data.get("summary") or data.get("phase") or ""
        table.add_row(
            str(event.seq),
            event.at.strftime("%Y-%m-%d %H:%M:%S"),
            event.kind,
            event.actor,
            event.application or "",
            (event.revision or "")[:12],
            str(detail)[:120],
        )
    return table
