"""The HTTP app: wiring only.

:func:`create_app` builds a FastAPI app from an :class:`~belay.bootstrap.Services` container
(nothing is created at import time): the shared :class:`~belay.web.deps.WebContext`, the
routers, the error handlers and the middleware. The intake (Portage's webhook and the native
submission API) is :mod:`belay.web.intake`; the page :mod:`belay.web.pages`; the read APIs, the
alert receiver, the policy export and ``/metrics`` :mod:`belay.web.api`; ``/healthz``,
``/readyz`` and ``/openapi.json`` :mod:`belay.web.operations`; who may read is
:mod:`belay.web.access`, and the checks routes declare are :mod:`belay.web.deps`.

Every refusal is a 4xx with a JSON body ``{"error": "..."}`` (a page for the pages); an
unexpected error is a 500 whose log line names only its type. Interactive API docs are off;
``/openapi.json`` is served under the read-access rule.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles

from belay import __version__
from belay.argocd import add_call_observer, remove_call_observer
from belay.bootstrap import Services
from belay.logs import get_logger
from belay.web import api, attestations, intake, investigations, operations, pages, whatif
from belay.web.access import ReadAccess
from belay.web.csrf import CsrfTokens
from belay.web.deps import Refused, WebContext, json_error, make_templates
from belay.web.doors import Doorkeeper
from belay.web.guard import HostGuardMiddleware, allowed_host_names
from belay.web.limits import BodyLimitMiddleware, TokenBucketLimiter
from belay.web.metrics import Metrics
from belay.web.refusals import INTAKE, SIGN_IN, RefusalAudit
from belay.web.requestlog import RequestLogMiddleware
from belay.web.sessions import SessionManager, SessionPolicy
from belay.web.throttle import FailureThrottle

__all__ = ["create_app"]

_log = get_logger("belay.web")

_FLUSH_EVERY = 5.0
"""Seconds between writes of the aggregated refusal counts (see belay.web.refusals)."""


def _web_context(services: Services, access: ReadAccess, metrics: Metrics) -> WebContext:
    web = services.settings.web
    fingerprint = access.derived_key("session fingerprint")
    sessions = (
        SessionManager(
            services.store,
            fingerprint=fingerprint.hex(),
            policy=SessionPolicy.from_settings(web),
        )
        if fingerprint is not None
        else None
    )
    return WebContext(
        services=services,
        access=access,
        templates=make_templates(),
        metrics=metrics,
        sessions=sessions,
        csrf=CsrfTokens(access.derived_key("csrf")),
        sign_in=Doorkeeper(
            FailureThrottle(web.sign_in_throttle), RefusalAudit(services.store, SIGN_IN)
        ),
        intake=Doorkeeper(
            FailureThrottle(web.intake_throttle), RefusalAudit(services.store, INTAKE)
        ),
        submit_quota=TokenBucketLimiter(services.settings.intake.rate_limit_per_minute),
    )


def _lifespan(web: WebContext) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start: observe Argo CD calls, flush refusal counts every few seconds. Stop: flush all."""
    audits = (web.sign_in.audit, web.intake.audit)
    metrics = web.metrics

    async def flush_refusals(everything: bool = False) -> None:
        for audit in audits:
            try:
                await run_in_threadpool(audit.flush, everything=everything)
            except Exception as err:  # noqa: BLE001 - a store hiccup must not end the flusher
                _log.warning("web.refusal_audit_failed", error=type(err).__name__)

    async def flush_forever() -> None:
        while True:
            await asyncio.sleep(_FLUSH_EVERY)
            await flush_refusals()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Argo CD calls made in this process (the in-process worker's) feed the latency metric.
        add_call_observer(metrics.observe_argocd)
        _log.info(
            "web.started",
            read_access=web.access.mode,
            public_url=web.services.settings.public_url,
        )
        flusher = asyncio.create_task(flush_forever())
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await flush_refusals(everything=True)
            remove_call_observer(metrics.observe_argocd)

    return lifespan


def _handle_errors(app: FastAPI) -> None:
    """Refusals as JSON (or the refusal page), and no error's text in a 500 or its log line."""

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        if exc.page:
            return pages.denied_page(request, exc.status, exc.reason, exc.headers or None)
        return json_error(exc.status, exc.reason, exc.headers or None)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return json_error(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return json_error(400, f"{where}: {first.get('msg', 'invalid')}".strip(": "))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # The type only: a database error's text carries the statement's parameters (a whole
        # alert payload, say), which do not belong in a log line.
        _log.error("web.unhandled", error=type(exc).__name__)
        return json_error(500, "internal error; the event was logged")


def create_app(services: Services) -> FastAPI:
    """The ASGI application for ``services`` (used by ``belay serve`` and the tests)."""
    settings = services.settings
    access = ReadAccess.from_settings(settings)
    metrics = Metrics(services.store)
    web = _web_context(services, access, metrics)
    app = FastAPI(
        title="Belay",
        version=__version__,
        description="A security gate and incident-evidence service for Argo CD.",
        lifespan=_lifespan(web),
        # No interactive docs (they load scripts); the schema is behind the read access.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = services
    app.state.web = web
    _handle_errors(app)
    for router in (
        intake.router,
        operations.router,
        api.router,
        attestations.router,
        whatif.router,
        whatif.pages_router,
        investigations.api_router,
        pages.router,
        investigations.page_router,
    ):
        app.include_router(router)
    static = resources.files("belay.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.intake.max_body_bytes,
        timeout=settings.intake.request_timeout_seconds,
    )
    app.add_middleware(
        HostGuardMiddleware,
        allowed=allowed_host_names(settings.public_url, settings.web.allowed_hosts),
    )
    # Added last, so it is the outermost layer: it sees every answer, refusals included.
    app.add_middleware(RequestLogMiddleware, observer=metrics.observe_request)
    return app
