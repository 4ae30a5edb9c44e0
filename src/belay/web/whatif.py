"""``POST /api/v1/policy/whatif``: a policy replay over HTTP (read access; it decides nothing).

The body is JSON: ``{"policy": "<candidate YAML>", "project": "P"?, "since": "30d"?}``; the answer
is the same document as ``belay policy whatif --output json``. A candidate's data files (KEV,
EPSS) are read relative to the folder of the project's configured policy.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from belay.errors import BadInput
from belay.jsonio import loads
from belay.web.deps import json_error, read_ruling, web_context
from belay.whatif import candidate_from_text, parse_since, replay

__all__ = ["MAX_CANDIDATE_BYTES", "router"]

router = APIRouter()

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
async def post_whatif(request: Request) -> JSONResponse:
    ruling = read_ruling(request)
    if not ruling.allowed:
        headers = {"WWW-Authenticate": "Bearer"} if ruling.status == 401 else None
        return json_error(ruling.status, ruling.reason, headers)
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        return json_error(415, "the body must be JSON (Content-Type: application/json)")
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
    web = web_context(request)
    settings = web.services.settings
    project = settings.project(parsed.project) if parsed.project else None
    if parsed.project and project is None:
        return json_error(400, f"project {parsed.project[:80]!r} is not in belay.yaml")
    policy_name = (
        project.policy if project else (settings.projects[0].policy if settings.projects else None)
    )
    policy_file = settings.policy_path(policy_name) if policy_name else None
    base_dir = policy_file.parent if policy_file is not None else Path.cwd()
    client = request.client.host if request.client else "unknown"

    def run() -> JSONResponse:
        now = datetime.now(UTC)
        try:
            since = parse_since(parsed.since, now)
            candidate = candidate_from_text(parsed.policy, base_dir=base_dir)
            result = replay(
                store=web.services.store,
                settings=settings,
                candidate=candidate,
                project=parsed.project,
                since=since,
                actor=f"api:{client}",
                now=now,
            )
        except BadInput as err:
            return json_error(400, str(err))
        return JSONResponse(result.document())

    return await run_in_threadpool(run)
