"""The HTTP app: Portage's webhook, the native submission API, the audit page, the read APIs
and the service endpoints.

:func:`create_app` builds a FastAPI app from an :class:`~belay.bootstrap.Services` container
(nothing is created at import time). Handlers translate HTTP into service calls; judging and
storing happen in :class:`~belay.intake.service.IntakeService`. The page lives in
:mod:`belay.web.pages`, the read APIs, the alert receiver, the policy export and ``/metrics`` in
:mod:`belay.web.api`; who may read is :mod:`belay.web.access`.

Every refusal is a 4xx with a JSON body ``{"error": "..."}`` that Portage prints; an accepted
submission gets 200 with the verdict document (DESIGN §5) whatever the decision.

The intake checks a bearer or GitLab token from the headers *before* reading the body, so an
unauthenticated client is answered 401 at once whatever it sends; only a Standard Webhooks
delivery, whose signature covers the body, is read first (and only when signing secrets are
configured). Unauthenticated clients are throttled per address and their refusals aggregated in
the audit trail (:mod:`belay.web.throttle`, :mod:`belay.web.refusals`). Interactive API docs are
off; ``/openapi.json`` is served under the read-access rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.staticfiles import StaticFiles

from belay import __version__
from belay.argocd import add_call_observer, remove_call_observer
from belay.bootstrap import Services
from belay.intake import AuthError, AuthResult, Credentials, authenticate
from belay.jsonio import loads
from belay.logs import get_logger
from belay.store import StoreError
from belay.web import api, attestations, investigations, pages, whatif
from belay.web.access import ReadAccess
from belay.web.csrf import CsrfTokens
from belay.web.deps import (
    NotCrossSite,
    ReadAllowed,
    Refused,
    WebContext,
    client_address,
    json_error,
    make_templates,
)
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

_MULTIPART_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["action", "status", "bundle"],
                "properties": {
                    "action": {"type": "string", "enum": ["deploy"]},
                    "status": {"type": "string", "enum": ["success"]},
                    "validation": {"type": "string", "enum": ["passed", "failed"]},
                    "policy": {"type": "string", "enum": ["fetched", "local"]},
                    "bundle": {"type": "string", "format": "binary"},
                },
            }
        }
    },
}
_NATIVE_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["bundle"],
                "properties": {
                    "metadata": {"type": "string", "description": "JSON object (optional)"},
                    "bundle": {"type": "string", "format": "binary"},
                },
            }
        }
    },
}
_VERDICT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The verdict (pass or fail) of an accepted submission."},
    400: {"description": "Malformed request (JSON error)."},
    401: {"description": "Not authenticated."},
    403: {"description": "Credentials not allowed for the bundle's project."},
    409: {"description": "The same delivery is still being judged."},
    413: {"description": "Body too large."},
    415: {"description": "Not multipart/form-data."},
    422: {"description": "Delivery id reused for different content."},
    429: {"description": "Rate limited."},
}


def _native_form(fields: dict[str, str]) -> dict[str, str] | str:
    """The native API's form: deploy/success, plus ``validation``/``policy`` from ``metadata``."""
    form = {"action": "deploy", "status": "success"}
    raw_metadata = fields.get("metadata")
    if not raw_metadata:
        return form
    try:
        metadata = loads(raw_metadata)
    except ValueError:
        return "field 'metadata' is not valid JSON"
    if not isinstance(metadata, dict):
        return "field 'metadata' must be a JSON object"
    form.update({k: str(v) for k, v in metadata.items() if k in ("validation", "policy")})
    return form


_FLUSH_EVERY = 5.0
"""Seconds between writes of the aggregated refusal counts (see belay.web.refusals)."""


def _needs_body(headers: Any) -> bool:
    """A Standard Webhooks delivery: its signature covers the body, so it is read first."""
    return "webhook-signature" in headers or "webhook-id" in headers


def _authenticate_headers(headers: Any, credentials: Credentials) -> AuthResult | None:
    """Authenticate from the headers alone; ``None`` when the body must be read first (a
    signed delivery, with signing secrets configured). Raises AuthError."""
    if _needs_body(headers) and credentials.webhook_keys:
        return None
    # Without a signature header the body is never looked at; with one but no secret
    # configured, the check fails whatever the body.
    return authenticate(headers, b"", credentials, now=time.time())


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
    )


def create_app(services: Services) -> FastAPI:
    """The ASGI application for ``services`` (used by ``belay serve`` and the tests)."""
    settings = services.settings
    access = ReadAccess.from_settings(settings)
    metrics = Metrics(services.store)
    web = _web_context(services, access, metrics)
    audits = (web.sign_in.audit, web.intake.audit)

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
        _log.info("web.started", read_access=access.mode, public_url=settings.public_url)
        flusher = asyncio.create_task(flush_forever())
        try:
            yield
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await flush_refusals(everything=True)
            remove_call_observer(metrics.observe_argocd)

    app = FastAPI(
        title="Belay",
        version=__version__,
        description="A security gate and incident-evidence service for Argo CD.",
        lifespan=lifespan,
        # No interactive docs (they load scripts); the schema is behind the read access.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.services = services
    app.state.web = web
    limiter = TokenBucketLimiter(settings.intake.rate_limit_per_minute)

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

    async def _authenticate(request: Request) -> AuthResult | JSONResponse:
        """Who sent the delivery, checked before its body is read when the headers suffice."""
        client = client_address(request)
        # A valid credential in the headers is served even while its address is locked out:
        # behind a shared proxy, one client's wrong tokens must not stop everyone's deliveries.
        try:
            auth = _authenticate_headers(request.headers, services.credentials)
        except AuthError as err:
            return await _refuse(client, str(err))
        if auth is not None:
            return auth
        locked = await web.intake.locked(client)
        if locked is not None:
            return _locked_out(locked)
        try:
            body = await request.body()
            return authenticate(request.headers, body, services.credentials, now=time.time())
        except AuthError as err:
            return await _refuse(client, str(err))

    async def _refuse(client: str, reason: str) -> JSONResponse:
        """A 401, counted against the address (a 429 when it is locked out already)."""
        locked = await web.intake.locked(client)
        if locked is not None:
            return _locked_out(locked)
        await web.intake.failed(client, reason)
        return json_error(401, reason, {"WWW-Authenticate": "Bearer"})

    def _locked_out(seconds: int) -> JSONResponse:
        return json_error(
            429,
            "too many unauthenticated requests from this address",
            {"Retry-After": str(seconds)},
        )

    async def _read_form(request: Request) -> tuple[dict[str, str], UploadFile] | JSONResponse:
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data"):
            return json_error(
                415, "the body must be multipart/form-data with a 'bundle' file field"
            )
        try:
            form = await request.form(
                max_files=4, max_fields=32, max_part_size=settings.intake.max_body_bytes
            )
        except MultiPartException as err:
            return json_error(400, f"malformed multipart body: {err.message}")
        except (ValueError, UnicodeDecodeError) as err:
            return json_error(400, f"malformed multipart body: {type(err).__name__}")
        fields: dict[str, str] = {}
        bundle: UploadFile | None = None
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key != "bundle":
                    return json_error(400, f"unexpected file field {key!r}")
                if bundle is not None:
                    return json_error(400, "more than one 'bundle' file")
                bundle = value
            else:
                fields[key] = value
        if bundle is None:
            return json_error(400, "the 'bundle' file field is missing")
        return fields, bundle

    async def _submit(
        request: Request, form_of: Callable[[dict[str, str]], dict[str, str] | str]
    ) -> JSONResponse:
        """Authenticate, read the multipart body, and judge it; ``form_of`` maps the text
        fields to the intake's form (or returns a 400 reason)."""
        auth = await _authenticate(request)
        if isinstance(auth, JSONResponse):
            return auth
        parsed = await _read_form(request)
        if isinstance(parsed, JSONResponse):
            return parsed
        # Counted once the delivery is complete, so a cut or oversized body costs no quota.
        wait = limiter.allow(",".join(sorted(auth.labels)))
        if wait is not None:
            return json_error(
                429,
                "rate limit exceeded for these credentials",
                {"Retry-After": str(int(wait) + 1)},
            )
        fields, bundle = parsed
        form = form_of(fields)
        if isinstance(form, str):
            return json_error(400, form)
        result = await run_in_threadpool(
            services.intake.submit,
            auth=auth,
            form=form,
            bundle_bytes=await bundle.read(),
            bundle_name=bundle.filename or "gatecheck-bundle.tar.gz",
        )
        return JSONResponse(result.body, status_code=result.status_code)

    @app.post(
        "/Build/SubmitArtifacts",
        summary="Portage CD's deploy webhook: judge a gatecheck bundle",
        openapi_extra={"requestBody": _MULTIPART_BODY},
        responses=_VERDICT_RESPONSES,
        tags=["intake"],
    )
    async def submit_artifacts(request: Request, _same_site: NotCrossSite) -> JSONResponse:
        return await _submit(request, lambda fields: fields)

    @app.post(
        "/api/v1/submissions",
        summary="Submit a gatecheck bundle (native API)",
        openapi_extra={"requestBody": _NATIVE_BODY},
        responses=_VERDICT_RESPONSES,
        tags=["intake"],
    )
    async def submit_native(request: Request, _same_site: NotCrossSite) -> JSONResponse:
        return await _submit(request, _native_form)

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    async def healthz() -> PlainTextResponse:
        return PlainTextResponse("ok")

    @app.get("/readyz", tags=["operations"], summary="The store is reachable and migrated")
    async def readyz() -> JSONResponse:
        try:
            await run_in_threadpool(services.store.check_ready)
        except StoreError as err:
            return JSONResponse({"ready": False, "reason": str(err)}, status_code=503)
        return JSONResponse({"ready": True})

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi(_access: ReadAllowed) -> JSONResponse:
        return JSONResponse(app.openapi())

    app.include_router(api.router)
    app.include_router(attestations.router)
    app.include_router(whatif.router)
    app.include_router(whatif.pages_router)
    app.include_router(investigations.api_router)
    app.include_router(pages.router)
    app.include_router(investigations.page_router)
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
