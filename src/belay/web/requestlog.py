"""One structured log event per HTTP request, and the request counter of the metrics.

A pure ASGI middleware: it gives each request an id (the caller's ``X-Request-ID`` when it is
short and plain, else a new one), binds it to structlog's context so every event logged while
serving the request carries it, echoes it in the response's ``X-Request-ID`` header, and logs
``http.request`` with method, path (never the query string, which may hold a token), route,
status, duration and client address. The logger's chain redacts the event like any other.

The route is the matched route's template (``/submissions/{submission_id}``), so metrics labels
stay few; a file under a mounted app (``/static/belay.css``) is grouped as ``/static/{path}``,
and a request no route matched is ``unmatched``.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import structlog

from belay.logs import get_logger

__all__ = ["Observer", "RequestLogMiddleware", "route_template"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Observer = Callable[[str, str, int, float], None]
"""Told (method, route template, status, seconds) once per request."""

_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_log = get_logger("belay.web")


def route_template(scope: Scope, *, root_path: str = "") -> str:
    """The route a served request matched, as a template (see the module docstring)."""
    route = getattr(scope.get("route"), "path", None)
    if route:
        return str(route)
    mounted = str(scope.get("root_path") or "")
    if mounted and mounted != root_path:
        return f"{mounted.removeprefix(root_path)}/{{path}}"
    return "unmatched"


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1").strip()
            if _ID_RE.match(text):
                return text
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """Log one ``http.request`` event per request; tell ``observer`` (method, route, status)."""

    def __init__(self, app: ASGIApp, *, observer: Observer | None = None) -> None:
        self.app = app
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        root_path = str(scope.get("root_path") or "")
        started = time.perf_counter()
        status = 500
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = route_template(scope, root_path=root_path)
            client = scope.get("client")
            method = str(scope.get("method", ""))
            seconds = time.perf_counter() - started
            fields = {
                "method": method,
                "path": scope.get("path", ""),
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "client": client[0] if client else None,
                "request_id": request_id,
            }
            if status >= 500:
                _log.warning("http.request", **fields)
            else:
                _log.info("http.request", **fields)
            if self.observer is not None:
                self.observer(method, route, status, seconds)
            structlog.contextvars.reset_contextvars(**tokens)
