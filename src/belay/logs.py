"""Structured logging: structlog, JSON lines or console, with redaction as a processor in the chain.

Call :func:`configure_logging` once at startup (the CLI does). Every event dict passes through
:func:`belay.redact.redact_data` before it is rendered, so no secret reaches output.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import structlog

from belay.jsonio import dumps_text
from belay.redact import redact_data

__all__ = ["configure_logging", "get_logger", "redact_processor"]


def redact_processor(_logger: Any, _method: str, event_dict: Any) -> Any:
    """structlog processor that redacts the whole event dict."""
    return redact_data(event_dict)


def configure_logging(
    *, level: str = "INFO", fmt: Literal["json", "console"] = "console", stream: Any = None
) -> None:
    """Configure structlog (and the standard library's root logger) for the process."""
    out = stream if stream is not None else sys.stderr
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(serializer=lambda obj, **_: dumps_text(obj))
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(
        level=level.upper(), stream=out, format="%(levelname)s %(name)s %(message)s"
    )


def get_logger(name: str | None = None) -> Any:
    """Return a structlog logger whose events carry ``component=name`` when a name is given."""
    # Initial values instead of .bind(): bind() would build the logger now, freezing whatever
    # configuration exists at import time; this stays lazy until the first log call.
    return structlog.get_logger(component=name) if name else structlog.get_logger()
