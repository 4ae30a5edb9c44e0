"""What the routers share: the running services, the access rule, templates and metrics.

:class:`WebContext` is built once by :func:`belay.web.app.create_app`; the routers read it from
``request.app.state.web``. :func:`read_ruling` applies the read-access rule to a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape

from belay.bootstrap import Services
from belay.redact import redact_text
from belay.web.access import AccessRuling, ReadAccess
from belay.web.metrics import Metrics

__all__ = [
    "SECURITY_HEADERS",
    "WebContext",
    "format_utc",
    "json_error",
    "make_templates",
    "read_ruling",
    "web_context",
]

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""Sent with every page: no scripts at all, no framing, nothing cached."""


@dataclass
class WebContext:
    """Everything a handler needs besides the request."""

    services: Services
    access: ReadAccess
    templates: Jinja2Templates
    metrics: Metrics


def web_context(request: Request) -> WebContext:
    """The app's :class:`WebContext`."""
    context = request.app.state.web
    assert isinstance(context, WebContext)
    return context


def read_ruling(request: Request) -> AccessRuling:
    """Apply the read-access rule to ``request``."""
    return web_context(request).access.rule(
        headers=request.headers,
        cookies=request.cookies,
        client_host=request.client.host if request.client else None,
    )


def json_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON refusal every API route uses: ``{"error": "..."}`` (redacted)."""
    return JSONResponse({"error": redact_text(message)}, status_code=status, headers=headers)


def format_utc(value: Any, with_seconds: bool = True) -> str:
    """A datetime (or ISO text) as ``2025-01-31 14:05:09 UTC``; empty for ``None``."""
    if value is None or value == "":
        return ""
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    pattern = "%Y-%m-%d %H:%M:%S UTC" if with_seconds else "%Y-%m-%d %H:%M UTC"
    return moment.astimezone(UTC).strftime(pattern)


def _short(value: Any, length: int = 12) -> str:
    return str(value or "")[:length]


def make_templates() -> Jinja2Templates:
    """The page templates, loaded from the installed package (autoescaped)."""
    env = Environment(
        loader=PackageLoader("belay.web", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["utc"] = format_utc
    env.filters["short"] = _short
    return Jinja2Templates(env=env)
