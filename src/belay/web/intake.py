"""The intake over HTTP: Portage's webhook and the native submission API.

* ``POST /Build/SubmitArtifacts``: Portage CD's deploy webhook (``action``, ``status``,
  ``validation``, ``policy`` and the ``bundle`` file);
* ``POST /api/v1/submissions``: the native API (the ``bundle`` file and an optional JSON
  ``metadata`` field).

Both judge through :func:`belay.services.submit_delivery`; an accepted submission gets 200 with
the verdict document (DESIGN §5) whatever the decision. What a delivery must pass first is
declared as dependencies (together :data:`ReceivedDelivery`), checked in this order:

1. :data:`~belay.web.deps.NotCrossSite`: no foreign page may post here;
2. :data:`Submitter`: a bearer or GitLab token is checked from the headers *before* the body is
   read, so an unauthenticated client is answered 401 at once whatever it sends; only a Standard
   Webhooks delivery, whose signature covers the body, is read first (and only when signing
   secrets are configured). Unauthenticated clients are throttled per address and their refusals
   aggregated in the audit trail (:mod:`belay.web.throttle`, :mod:`belay.web.refusals`);
3. :data:`BundleUpload`: a ``multipart/form-data`` body with exactly one ``bundle`` file;
4. :data:`WithinQuota`: the credentials' rate limit, counted once the delivery is complete (a
   cut or oversized body costs no quota).

Each refusal is a 4xx with a JSON body ``{"error": "..."}`` that Portage prints.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException

from belay.intake import AuthError, AuthResult, Credentials, authenticate
from belay.jsonio import loads
from belay.services import Delivery, submit_delivery
from belay.web.deps import NotCrossSite, Refused, Web, WebContext, client_address, json_error

__all__ = ["BundleUpload", "ReceivedDelivery", "Submitter", "WithinQuota", "router"]

router = APIRouter(tags=["intake"])

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


# --- who sent it --------------------------------------------------------------------------------


def _needs_body(headers: Mapping[str, str]) -> bool:
    """A Standard Webhooks delivery: its signature covers the body, so it is read first."""
    return "webhook-signature" in headers or "webhook-id" in headers


def _authenticate_headers(
    headers: Mapping[str, str], credentials: Credentials
) -> AuthResult | None:
    """Authenticate from the headers alone; ``None`` when the body must be read first (a
    signed delivery, with signing secrets configured). Raises AuthError."""
    if _needs_body(headers) and credentials.webhook_keys:
        return None
    # Without a signature header the body is never looked at; with one but no secret
    # configured, the check fails whatever the body.
    return authenticate(headers, b"", credentials, now=time.time())


def _locked_out(seconds: int) -> Refused:
    return Refused(
        429,
        "too many unauthenticated requests from this address",
        headers={"Retry-After": str(seconds)},
    )


async def _refusal(web: WebContext, client: str, reason: str) -> Refused:
    """A 401, counted against the address (a 429 when it is locked out already)."""
    locked = await web.intake.locked(client)
    if locked is not None:
        return _locked_out(locked)
    await web.intake.failed(client, reason)
    return Refused(401, reason, headers={"WWW-Authenticate": "Bearer"})


async def submitter(request: Request, web: Web) -> AuthResult:
    """Who sent the delivery, checked before its body is read when the headers suffice."""
    credentials = web.services.credentials
    client = client_address(request)
    # A valid credential in the headers is served even while its address is locked out:
    # behind a shared proxy, one client's wrong tokens must not stop everyone's deliveries.
    try:
        auth = _authenticate_headers(request.headers, credentials)
    except AuthError as err:
        raise await _refusal(web, client, str(err)) from None
    if auth is not None:
        return auth
    locked = await web.intake.locked(client)
    if locked is not None:
        raise _locked_out(locked)
    try:
        body = await request.body()
        return authenticate(request.headers, body, credentials, now=time.time())
    except AuthError as err:
        raise await _refusal(web, client, str(err)) from None


Submitter = Annotated[AuthResult, Depends(submitter)]
"""The authenticated sender (401 or 429 otherwise)."""


# --- what it sent -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A multipart delivery: its text fields and its one ``bundle`` file."""

    fields: dict[str, str]
    bundle: UploadFile


async def bundle_upload(request: Request, web: Web) -> Upload:
    """The multipart body: 415 when it is not multipart, 400 when it is malformed or has not
    exactly one ``bundle`` file (and no other file)."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise Refused(415, "the body must be multipart/form-data with a 'bundle' file field")
    try:
        form = await request.form(
            max_files=4,
            max_fields=32,
            max_part_size=web.services.settings.intake.max_body_bytes,
        )
    except MultiPartException as err:
        raise Refused(400, f"malformed multipart body: {err.message}") from None
    except (ValueError, UnicodeDecodeError) as err:
        raise Refused(400, f"malformed multipart body: {type(err).__name__}") from None
    fields: dict[str, str] = {}
    bundle: UploadFile | None = None
    for key, value in form.multi_items():
        if isinstance(value, UploadFile):
            if key != "bundle":
                raise Refused(400, f"unexpected file field {key!r}")
            if bundle is not None:
                raise Refused(400, "more than one 'bundle' file")
            bundle = value
        else:
            fields[key] = value
    if bundle is None:
        raise Refused(400, "the 'bundle' file field is missing")
    return Upload(fields=fields, bundle=bundle)


BundleUpload = Annotated[Upload, Depends(bundle_upload)]
"""The delivery's multipart body (415 or 400 otherwise)."""


async def within_quota(web: Web, auth: Submitter, _upload: BundleUpload) -> None:
    """Refuse (429) a complete delivery beyond its credentials' rate limit."""
    wait = web.submit_quota.allow(",".join(sorted(auth.labels)))
    if wait is not None:
        raise Refused(
            429,
            "rate limit exceeded for these credentials",
            headers={"Retry-After": str(int(wait) + 1)},
        )


WithinQuota = Annotated[None, Depends(within_quota)]
"""The credentials' rate limit (after :data:`Submitter` and :data:`BundleUpload`)."""


def _native_form(fields: Mapping[str, str]) -> dict[str, str] | str:
    """The native API's form: deploy/success, plus ``validation``/``policy`` from ``metadata``
    (or the reason it is a 400)."""
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


@dataclass(frozen=True)
class Received:
    """A delivery that passed every check: its sender and its multipart body."""

    auth: AuthResult
    upload: Upload


async def received(
    _same_site: NotCrossSite, auth: Submitter, upload: BundleUpload, _quota: WithinQuota
) -> Received:
    """Every check of a delivery, in order (see the module's docstring)."""
    return Received(auth=auth, upload=upload)


ReceivedDelivery = Annotated[Received, Depends(received)]
"""A delivery every check let in."""


async def _judge(web: WebContext, delivery: Received, form: Mapping[str, str]) -> JSONResponse:
    """Judge the delivery with ``form`` as its fields; the verdict, or a refusal, as JSON."""
    bundle = delivery.upload.bundle
    result = await run_in_threadpool(
        submit_delivery,
        Delivery(
            auth=delivery.auth, form=form, bundle=await bundle.read(), bundle_name=bundle.filename
        ),
        intake=web.services.intake,
    )
    return JSONResponse(result.body, status_code=result.status_code)


@router.post(
    "/Build/SubmitArtifacts",
    summary="Portage CD's deploy webhook: judge a gatecheck bundle",
    openapi_extra={"requestBody": _MULTIPART_BODY},
    responses=_VERDICT_RESPONSES,
)
async def submit_artifacts(web: Web, delivery: ReceivedDelivery) -> JSONResponse:
    return await _judge(web, delivery, delivery.upload.fields)


@router.post(
    "/api/v1/submissions",
    summary="Submit a gatecheck bundle (native API)",
    openapi_extra={"requestBody": _NATIVE_BODY},
    responses=_VERDICT_RESPONSES,
)
async def submit_native(web: Web, delivery: ReceivedDelivery) -> JSONResponse:
    form = _native_form(delivery.upload.fields)
    if isinstance(form, str):
        return json_error(400, form)
    return await _judge(web, delivery, form)
