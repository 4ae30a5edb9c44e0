"""What the routers share, and the access checks they declare as FastAPI dependencies.

:class:`WebContext` is built once by :func:`belay.web.app.create_app`; the routers read it from
``request.app.state.web`` (:data:`Web`, or :func:`web_context`). The checks raise
:class:`Refused`, which the app turns into a JSON ``{"error": ...}`` (API routes) or the sign-in
page (pages):

* :data:`ReadAllowed` / :data:`PageReadAllowed`: the read-access rule (:mod:`belay.web.access`),
  with the session cookie checked in the store;
* :data:`NotCrossSite` / :data:`PageNotCrossSite`: every state-changing route; a request that
  carries a credential header of its own (``Authorization``, ``X-Gitlab-Token``, a webhook
  signature: a browser never adds those to a cross-site request) passes, any other must be
  same-origin (:func:`belay.web.guard.cross_site_refusal`);
* :data:`JsonBody`: JSON routes take only a JSON content type (415), so no HTML form or
  ``text/plain`` post can reach them;
* :data:`CsrfChecked`: form posts carry the CSRF token (:mod:`belay.web.csrf`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.formparsers import MultiPartException

from belay.bootstrap import Services
from belay.commits import SHORT_SHA_LENGTH, short_sha
from belay.redact import redact_text
from belay.web.access import AccessRuling, ReadAccess
from belay.web.csrf import CSRF_COOKIE, CSRF_FIELD, CsrfTokens
from belay.web.doors import Doorkeeper
from belay.web.guard import SECURITY_HEADERS, cross_site_refusal
from belay.web.limits import TokenBucketLimiter
from belay.web.metrics import Metrics
from belay.web.sessions import SESSION_COOKIE, SessionManager

__all__ = [
    "SECURITY_HEADERS",
    "CsrfChecked",
    "JsonBody",
    "NotCrossSite",
    "PageNotCrossSite",
    "PageReadAllowed",
    "ReadAllowed",
    "Refused",
    "Web",
    "WebContext",
    "client_address",
    "format_utc",
    "json_error",
    "make_templates",
    "read_ruling",
    "web_context",
]

_CREDENTIAL_HEADERS = ("authorization", "x-gitlab-token", "webhook-signature")


@dataclass
class WebContext:
    """Everything a handler needs besides the request."""

    services: Services
    access: ReadAccess
    templates: Jinja2Templates
    metrics: Metrics
    sessions: SessionManager | None
    """``None`` without a read token (nothing to sign in to)."""
    csrf: CsrfTokens
    sign_in: Doorkeeper
    """Wrong read tokens at ``/login``."""
    intake: Doorkeeper
    """Unauthenticated intake requests."""
    submit_quota: TokenBucketLimiter
    """Deliveries per minute, per set of credentials."""

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies are marked ``Secure`` (``public_url`` is https)."""
        return self.services.settings.public_url.startswith("https://")


class Refused(Exception):
    """A check refused the request: ``status`` and one line; ``page`` for an HTML answer."""

    def __init__(
        self, status: int, reason: str, *, page: bool = False, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.page = page
        self.headers = headers or {}


def web_context(request: Request) -> WebContext:
    """The app's :class:`WebContext`."""
    context = request.app.state.web
    assert isinstance(context, WebContext)
    return context


async def _web(request: Request) -> WebContext:
    return web_context(request)


Web = Annotated[WebContext, Depends(_web)]
"""The app's :class:`WebContext`, as a handler's parameter."""


def client_address(request: Request) -> str:
    """The address the request came from (the throttles' key)."""
    return request.client.host if request.client else "unknown"


def read_ruling(request: Request) -> AccessRuling:
    """Apply the read-access rule to ``request`` (the session cookie is checked in the store,
    so call it from a worker thread)."""
    web = web_context(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    signed_in = bool(cookie) and web.sessions is not None and web.sessions.valid(cookie)
    return web.access.rule(
        headers=request.headers,
        client_host=request.client.host if request.client else None,
        signed_in=signed_in,
    )


def _require_read(request: Request, *, page: bool) -> AccessRuling:
    ruling = read_ruling(request)
    if not ruling.allowed:
        headers = {"WWW-Authenticate": "Bearer"} if ruling.status == 401 else None
        raise Refused(ruling.status, ruling.reason, page=page, headers=headers)
    return ruling


def require_read(request: Request) -> AccessRuling:
    """The read-access rule for an API route (a sync dependency: FastAPI runs it in a thread)."""
    return _require_read(request, page=False)


def require_read_page(request: Request) -> AccessRuling:
    """The read-access rule for a page."""
    return _require_read(request, page=True)


def _require_not_cross_site(request: Request, *, page: bool) -> None:
    headers = request.headers
    if any(headers.get(name) for name in _CREDENTIAL_HEADERS):
        return
    web = web_context(request)
    reason = cross_site_refusal(
        headers, host=headers.get("host", ""), public_url=web.services.settings.public_url
    )
    if reason is not None:
        raise Refused(403, reason, page=page)


async def require_not_cross_site(request: Request) -> None:
    """Refuse (403) a state-changing API request that a foreign page made."""
    _require_not_cross_site(request, page=False)


async def require_not_cross_site_page(request: Request) -> None:
    """Refuse (403) a form post that a foreign page made."""
    _require_not_cross_site(request, page=True)


async def require_json(request: Request) -> None:
    """Refuse (415) a body that is not declared JSON (``application/json`` or ``*+json``)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise Refused(415, "the body must be JSON (Content-Type: application/json)")


async def require_csrf(request: Request) -> None:
    """Refuse (403) a form post without the CSRF token that goes with its cookie."""
    web = web_context(request)
    try:
        form = await request.form(max_files=0, max_fields=16)
    except (MultiPartException, ValueError, UnicodeDecodeError):
        raise Refused(400, "The form could not be read.", page=True) from None
    token = form.get(CSRF_FIELD)
    nonce = request.cookies.get(CSRF_COOKIE)
    if not isinstance(token, str) or not web.csrf.valid(nonce, token):
        raise Refused(
            403,
            "The form has expired or did not come from this page: reload it and try again.",
            page=True,
        )


ReadAllowed = Annotated[AccessRuling, Depends(require_read)]
PageReadAllowed = Annotated[AccessRuling, Depends(require_read_page)]
NotCrossSite = Annotated[None, Depends(require_not_cross_site)]
PageNotCrossSite = Annotated[None, Depends(require_not_cross_site_page)]
JsonBody = Annotated[None, Depends(require_json)]
CsrfChecked = Annotated[None, Depends(require_csrf)]


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


def _short(value: Any, length: int = SHORT_SHA_LENGTH) -> str:
    """The ``short`` filter: :func:`belay.commits.short_sha` for whatever a template holds."""
    return short_sha(str(value) if value else None, length)


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
