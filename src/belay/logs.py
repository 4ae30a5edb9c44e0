"""Structured logging: structlog, JSON lines or console, with redaction as a processor in the chain.

Call :func:`configure_logging` once at startup (the CLI does). Every event dict passes through
:func:`belay.redact.redact_data` before it is rendered, so no secret reaches output.

The standard library's logging (Alembic, httpx, uvicorn and any other library) is routed through
the same chain: the root logger gets one handler whose formatter is structlog's
``ProcessorFormatter``, and the loggers that libraries configure for themselves (uvicorn's) are
made to propagate to it. So with ``fmt="json"`` every line a Belay process writes to stderr is one
JSON object; :func:`notice` is how a command says something to a person in the same format.
"""

from __future__ import annotations

import logging
import sys
import threading
from datetime import UTC, datetime
from typing import Any, Literal

import structlog

from belay.jsonio import dumps_text
from belay.redact import redact_data, redact_text

__all__ = [
    "LIBRARY_LOGGERS",
    "CurrentStderr",
    "LogFormat",
    "configure_logging",
    "current_format",
    "get_logger",
    "notice",
    "redact_processor",
    "route_library_logs",
]

LogFormat = Literal["json", "console"]

LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic", "httpx", "httpcore")
"""Loggers that may carry handlers of their own (uvicorn's default configuration installs some);
:func:`configure_logging` removes them so that every record reaches the one root handler."""

_HANDLER_NAME = "belay"
_state: dict[str, LogFormat] = {"format": "console"}
_writer: dict[str, Any] = {}
"""The :class:`WholeLines` writer the logs go through, once configured (``notice`` shares it)."""


class CurrentStderr:
    """Whatever ``sys.stderr`` is at write time (test runners swap and close it)."""

    def write(self, text: str) -> int:
        """Write to the current ``sys.stderr``."""
        return sys.stderr.write(text)

    def flush(self) -> None:
        """Flush the current ``sys.stderr``."""
        sys.stderr.flush()


class WholeLines:
    """Writes whole lines to ``target``: each thread's text is held until its newline, then the
    line goes out in one write under one lock. structlog's printer and the standard library's
    handler each write a line and its newline separately, so without this two threads' lines
    could merge into one ("...}{...") and break JSON logs."""

    _lock = threading.Lock()

    def __init__(self, target: Any) -> None:
        self._target = target
        self._local = threading.local()

    def write(self, text: str) -> int:
        """Buffer ``text``; write out every line it completes."""
        pending = getattr(self._local, "pending", "") + text
        if "\n" not in pending:
            self._local.pending = pending
            return len(text)
        lines, _, rest = pending.rpartition("\n")
        self._local.pending = rest
        with self._lock:
            self._target.write(lines + "\n")
            self._target.flush()
        return len(text)

    def flush(self) -> None:
        """Flush the target (a partial line stays held until its newline)."""
        with self._lock:
            self._target.flush()


def redact_processor(_logger: Any, _method: str, event_dict: Any) -> Any:
    """structlog processor that redacts the whole event dict."""
    return redact_data(event_dict)


def _library_fields(_logger: Any, _method: str, event_dict: Any) -> Any:
    # A standard-library record: name the logger the way Belay's events name their component.
    record = event_dict.get("_record")
    if record is not None and "component" not in event_dict:
        event_dict["component"] = record.name
    return event_dict


def _renderer(fmt: LogFormat) -> Any:
    if fmt == "json":
        return structlog.processors.JSONRenderer(serializer=lambda obj, **_: dumps_text(obj))
    return structlog.dev.ConsoleRenderer(colors=False)


def configure_logging(
    *, level: str = "INFO", fmt: LogFormat | None = None, stream: Any = None
) -> None:
    """Configure structlog and the standard library's logging for the process.

    ``fmt`` ``None`` keeps the format chosen before (console at first), so a command that only
    changes the level cannot undo ``--log-format json``. ``stream`` defaults to the current
    ``sys.stderr``, looked up at each write.
    """
    chosen: LogFormat = fmt or _state["format"]
    _state["format"] = chosen
    out: Any = WholeLines(stream if stream is not None else CurrentStderr())
    _writer["out"] = out
    numeric = logging.getLevelName(level.upper())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[
            *shared,
            structlog.processors.format_exc_info,
            redact_processor,
            _renderer(chosen),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _library_fields],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_processor,
            _renderer(chosen),
        ],
    )
    handler = logging.StreamHandler(out)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == _HANDLER_NAME:  # ours from an earlier call; others (pytest's) stay
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    route_library_logs()
    logging.captureWarnings(True)


def route_library_logs() -> None:
    """Send the :data:`LIBRARY_LOGGERS` through Belay's handler again.

    Call it after building a ``uvicorn.Config`` with uvicorn's default logging configuration
    (the simulator's): that installs plain-text handlers of uvicorn's own on its loggers.
    """
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        for old in list(library.handlers):
            library.removeHandler(old)
        library.propagate = True


def current_format() -> LogFormat:
    """The format :func:`configure_logging` chose last (``console`` before any call)."""
    return _state["format"]


def notice(message: str, *, level: Literal["info", "warning"] = "info", **fields: Any) -> None:
    """Tell the person running a command something on stderr, whatever the log level.

    Console format: the message as a line (``warning: ...`` for a warning). JSON format: one JSON
    object with ``event``, ``level``, ``timestamp`` and ``fields``, redacted like every event.
    """
    if _state["format"] == "json":
        event = {
            "event": message,
            "level": level,
            "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "component": "belay.cli",
            **fields,
        }
        _emit(dumps_text(redact_data(event)))
        return
    prefix = "warning: " if level == "warning" else ""
    _emit(f"{prefix}{redact_text(message)}")


def _emit(line: str) -> None:
    """One whole line to where the logs go (one write, under the logs' lock, so a notice
    never merges with a log line of another thread)."""
    out = _writer.get("out") or WholeLines(CurrentStderr())
    out.write(line + "\n")


def get_logger(name: str | None = None) -> Any:
    """Return a structlog logger whose events carry ``component=name`` when a name is given."""
    # Initial values instead of .bind(): bind() would build the logger now, freezing whatever
    # configuration exists at import time; this stays lazy until the first log call.
    return structlog.get_logger(component=name) if name else structlog.get_logger()
