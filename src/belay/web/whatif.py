"""Policy replays over HTTP, behind read access (a replay decides, queues and syncs nothing).

* ``POST /api/v1/policy/whatif``: JSON ``{"policy": "<candidate YAML>", "project": "P"?,
  "since": "30d"?}`` in, the same document as ``belay policy whatif --output json`` out;
* ``GET /policy/whatif``: a page to paste a candidate into; ``POST /policy/whatif`` (a form)
  shows the flipped submissions, each linked to its page.

A pasted candidate may not name data files or use YAML aliases; it is replayed with the KEV and
EPSS data of the project's configured policy (the first project's when none is named).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from belay.errors import BadInput
from belay.jsonio import loads
from belay.redact import redact_text
from belay.web.deps import (
    CsrfChecked,
    JsonBody,
    NotCrossSite,
    PageNotCrossSite,
    PageReadAllowed,
    ReadAllowed,
    json_error,
    web_context,
)
from belay.web.pages import page
from belay.whatif import WhatIfResult, candidate_from_text, parse_since, replay

__all__ = ["MAX_CANDIDATE_BYTES", "pages_router", "router"]

router = APIRouter()
pages_router = APIRouter(include_in_schema=False)

MAX_CANDIDATE_BYTES = 1024 * 1024


class WhatIfRequest(BaseModel):
    """The request body."""

    model_config = ConfigDict(extra="forbid")

    policy: str = Field(min_length=1)
    project: str | None = Field(default=None, max_length=255)
    since: str | None = Field(default=None, max_length=64)


@router.post(
    "/api/v1/policy/whatif",
    tags=["read"],
    summary="Replay stored submissions under a candidate policy (nothing is decided or synced)",
    responses={
        400: {"description": "The body, the candidate policy, the project or since is bad."},
        401: {"description": "Not signed in."},
        413: {"description": "The body is larger than 1 MiB."},
        415: {"description": "The body is not JSON."},
    },
)
async def post_whatif(
    request: Request, access: ReadAllowed, _same_site: NotCrossSite, _json: JsonBody
) -> JSONResponse:
    body = await request.body()
    if len(body) > MAX_CANDIDATE_BYTES:
        return json_error(413, f"the body is larger than {MAX_CANDIDATE_BYTES} bytes")
    try:
        parsed = WhatIfRequest.model_validate(loads(body))
    except ValueError as err:
        first = err.errors()[0] if isinstance(err, ValidationError) else None
        where = ".".join(str(p) for p in first["loc"]) if first else ""
        why = f"{where}: {first['msg']}" if first else "not valid JSON"
        return json_error(400, f"request body: {why}")
    try:
        result = await run_in_threadpool(
            _run,
            request,
            parsed.policy,
            parsed.project or None,
            parsed.since,
            _actor(request, access.who, "api"),
        )
    except BadInput as err:
        return json_error(400, str(err))
    return JSONResponse(result.document())


def _run(
    request: Request, text: str, project: str | None, since: str | None, actor: str
) -> WhatIfResult:
    """One replay for an HTTP request (:class:`BadInput` for a bad candidate, project or since)."""
    web = web_context(request)
    settings = web.services.settings
    configured = settings.project(project) if project else None
    if project and configured is None:
        raise BadInput(f"project {project[:80]!r} is not in belay.yaml")
    policy_name = configured.policy if configured else None
    if policy_name is None and settings.projects:
        policy_name = settings.projects[0].policy
    data_from = web.services.intake.policy_set(policy_name) if policy_name else None
    now = datetime.now(UTC)
    return replay(
        store=web.services.store,
        settings=settings,
        candidate=candidate_from_text(text, data_from=data_from),
        project=project,
        since=parse_since(since, now),
        actor=actor,
        now=now,
    )


def _actor(request: Request, who: str, via: str) -> str:
    """Who asked, for the audit trail: how they were let in, and from where."""
    client = request.client.host if request.client else "unknown"
    return f"{via}:{who or 'reader'}@{client}"


def _form_page(
    request: Request,
    *,
    policy_text: str = "",
    project: str | None = None,
    since: str | None = None,
    result: WhatIfResult | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    settings = web_context(request).services.settings
    return page(
        request,
        "whatif.html",
        {
            "projects": [p.name for p in settings.projects],
            "policy_text": policy_text,
            "project": project,
            "since": since,
            "result": result,
            "error": redact_text(error) if error else None,
        },
        status=status,
    )


@pages_router.get("/policy/whatif", response_class=HTMLResponse)
async def whatif_page(request: Request, _access: PageReadAllowed) -> HTMLResponse:
    return _form_page(request)


@pages_router.post("/policy/whatif", response_class=HTMLResponse)
async def whatif_submit(
    request: Request,
    access: PageReadAllowed,
    _same_site: PageNotCrossSite,
    _csrf: CsrfChecked,
    policy: Annotated[str, Form(max_length=MAX_CANDIDATE_BYTES)] = "",
    project: Annotated[str, Form(max_length=255)] = "",
    since: Annotated[str, Form(max_length=64)] = "",
) -> HTMLResponse:
    if not policy.strip():
        return _form_page(
            request,
            project=project or None,
            since=since or None,
            error="paste a candidate policy",
            status=400,
        )
    try:
        result = await run_in_threadpool(
            _run,
            request,
            policy,
            project or None,
            since or None,
            _actor(request, access.who, "web"),
        )
    except BadInput as err:
        return _form_page(
            request,
            policy_text=policy,
            project=project or None,
            since=since or None,
            error=str(err),
            status=400,
        )
    return _form_page(
        request, policy_text=policy, project=project or None, since=since or None, result=result
    )
