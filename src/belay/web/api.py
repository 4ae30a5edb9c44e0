"""The JSON read APIs, the Alertmanager receiver, the policy export and ``/metrics``.

* ``GET /api/v1/decisions?application=APP&revision=SHA``: the latest verdict and deployment
  state, shaped for Argo Rollouts' ``web`` metric and Kargo's ``http`` step
  (docs/decision-api.md);
* ``GET /api/v1/submissions``: the list the page shows, as JSON;
* ``GET /api/v1/audit``: the audit chain, filtered by application, revision or linking ids;
* ``POST /api/v1/alerts``: an Alertmanager (or Grafana, or documented) notification in; each
  application of its new firing alerts investigated and stored, resolved alerts recorded as the
  resolution of their investigations (:func:`belay.services.receive_notification`); ids and
  pages out;
* ``GET /Policy/{namespace}/{project}/gatecheck?branch=B``: the project's server-side policy as
  gatecheck YAML for Portage's policy fetch (the project's submit token);
* ``GET /metrics``: Prometheus exposition.

Every route but the policy export is behind the read-access rule (:mod:`belay.web.access`);
the alert receiver, which changes state, also refuses cross-site requests and non-JSON bodies
(:mod:`belay.web.deps`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from belay.config import ProjectSettings, normalize_remote
from belay.errors import BadInput
from belay.gate import export_gatecheck_yaml
from belay.intake import AuthError, authenticate
from belay.investigate import AlertParseError, parse_notification_bytes
from belay.jsonio import loads
from belay.logs import get_logger
from belay.services import receive_notification
from belay.web.deps import JsonBody, NotCrossSite, ReadAllowed, Web, json_error
from belay.web.metrics import CONTENT_TYPE
from belay.web.views import (
    SUBMISSION_STATES,
    SubmissionFilter,
    decision_status,
    list_submissions,
)

__all__ = ["MAX_ALERT_BYTES", "router"]

router = APIRouter()
_log = get_logger("belay.web")

MAX_ALERT_BYTES = 1024 * 1024
"""An alert payload larger than this is refused (Alertmanager's are a few kilobytes)."""

_READ_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "A query parameter is missing or malformed."},
    401: {"description": "Not signed in (no or wrong read token, no proxy header)."},
    403: {"description": "No read access is configured and the client is not on loopback."},
}


@router.get(
    "/api/v1/decisions",
    tags=["read"],
    summary="The latest verdict and deployment state of an application at a revision",
    responses=_READ_RESPONSES,
)
async def get_decision(
    web: Web,
    _access: ReadAllowed,
    application: Annotated[str, Query(min_length=1, max_length=255)],
    revision: Annotated[str, Query(min_length=1, max_length=255)],
) -> JSONResponse:
    if not application.strip() or not revision.strip():
        return json_error(400, "application and revision must not be blank")
    status = await run_in_threadpool(
        decision_status,
        web.services.store,
        application=application.strip(),
        revision=revision.strip(),
        public_url=web.services.settings.public_url,
    )
    return JSONResponse(status.to_wire(), headers={"Cache-Control": "no-store"})


@router.get(
    "/api/v1/submissions",
    tags=["read"],
    summary="Submissions, newest first, with verdict and deployment state",
    responses=_READ_RESPONSES,
)
async def get_submissions(
    web: Web,
    _access: ReadAllowed,
    project: Annotated[str | None, Query(max_length=255)] = None,
    application: Annotated[str | None, Query(max_length=255)] = None,
    commit: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JSONResponse:
    if state and state.strip().lower() not in SUBMISSION_STATES:
        return json_error(400, f"state must be one of {', '.join(SUBMISSION_STATES)}")
    filters = SubmissionFilter(
        project=project, application=application, commit=commit, state=state, limit=limit
    )
    rows = await run_in_threadpool(list_submissions, web.services.store, filters)
    return JSONResponse(
        {"submissions": [r.model_dump(mode="json") for r in rows]},
        headers={"Cache-Control": "no-store"},
    )


@router.get(
    "/api/v1/audit",
    tags=["read"],
    summary="The audit chain, in order, filtered by any of the linking ids",
    responses=_READ_RESPONSES,
)
async def get_audit(
    web: Web,
    _access: ReadAllowed,
    application: Annotated[str | None, Query(max_length=255)] = None,
    revision: Annotated[str | None, Query(max_length=255)] = None,
    submission_id: Annotated[str | None, Query(max_length=64)] = None,
    decision_id: Annotated[str | None, Query(max_length=64)] = None,
    job_id: Annotated[str | None, Query(max_length=64)] = None,
    after_seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,  # a BIGINT, like seq
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> JSONResponse:
    def load() -> list[dict[str, Any]]:
        with web.services.store.unit_of_work() as uow:
            events = uow.audit.list(
                application=application,
                revision=revision,
                submission_id=submission_id,
                decision_id=decision_id,
                job_id=job_id,
                after_seq=after_seq,
                limit=limit,
            )
        return [e.model_dump(mode="json") for e in events]

    events = await run_in_threadpool(load)
    return JSONResponse({"events": events}, headers={"Cache-Control": "no-store"})


@router.post(
    "/api/v1/alerts",
    tags=["investigate"],
    summary="Alertmanager webhook receiver: investigate the alert and store the report",
    responses={
        **_READ_RESPONSES,
        200: {"description": "Nothing new to investigate (resolved or already covered alerts)."},
        201: {"description": "One or more investigations stored."},
        400: {"description": "The body is not an alert (empty, not JSON, unknown shape)."},
        403: {"description": "A cross-site request (foreign Origin or Sec-Fetch-Site)."},
        413: {"description": "The alert is larger than 1 MiB."},
        415: {"description": "The body is not declared JSON."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def post_alert(
    request: Request,
    web: Web,
    _access: ReadAllowed,
    _same_site: NotCrossSite,
    _json: JsonBody,
) -> JSONResponse:
    body = await request.body()
    if len(body) > MAX_ALERT_BYTES:
        return json_error(413, f"the alert is larger than {MAX_ALERT_BYTES} bytes")
    try:
        alerts = parse_notification_bytes(body, origin="request body")
        raw = loads(body)
    except (AlertParseError, ValueError) as err:
        return json_error(400, str(err))

    services = web.services
    try:
        outcome = await run_in_threadpool(
            lambda: receive_notification(
                alerts,
                raw,
                store=services.store,
                resolution=services.clients.resolution,
                settings=services.settings.investigate,
                now=datetime.now(UTC),
            )
        )
    except BadInput as err:
        # e.g. an application name that is not a Kubernetes name: nothing was sent to Argo CD.
        return json_error(400, f"alert: {err}")
    base = web.services.settings.public_url
    stored = [
        {
            "id": s.id,
            "url": f"{base}/investigations/{s.id}",
            "application": s.application,
            "instance": s.instance,
            "findings": s.findings,
        }
        for s in outcome.stored
    ]
    _log.info(
        "investigation.stored",
        report_ids=[s["id"] for s in stored],
        applications=[s["application"] for s in stored],
        resolved=sorted(outcome.resolved),
    )
    # The first report's fields stay at the top level, as before grouped notifications.
    first: dict[str, Any] = stored[0] if stored else {"id": None, "url": None, "findings": []}
    return JSONResponse(
        {
            **first,
            "investigations": stored,
            "resolved": [
                {"fingerprint": fp, "investigations": ids} for fp, ids in outcome.resolved.items()
            ],
            "already_investigated": [
                {"fingerprint": fp, "investigations": ids}
                for fp, ids in outcome.already_investigated.items()
            ],
        },
        status_code=201 if stored else 200,
    )


def _policy_candidates(
    projects: tuple[ProjectSettings, ...], namespace: str, name: str
) -> list[ProjectSettings]:
    """Projects the policy URL names: by Belay project name, or by the GitLab path."""
    wanted_path = f"{namespace}/{name}".strip("/").lower()
    found = []
    for project in projects:
        remote = project.match.remote
        path = normalize_remote(remote).split("/", 1)[-1].lower() if remote else None
        if project.name == name or path == wanted_path:
            found.append(project)
    return found


@router.get(
    "/Policy/{namespace:path}/{project}/gatecheck",
    tags=["intake"],
    summary="The project's server-side policy as gatecheck YAML (Portage's policy fetch)",
    response_class=PlainTextResponse,
    responses={
        200: {"description": "gatecheck YAML", "content": {"application/yaml": {}}},
        401: {"description": "No or unknown submit token."},
        403: {"description": "The token does not belong to this project."},
        404: {"description": "No configured project matches the path."},
    },
)
async def get_policy(
    request: Request,
    web: Web,
    namespace: str,
    project: str,
    branch: Annotated[str | None, Query(max_length=255)] = None,
) -> Response:
    headers = {"authorization": request.headers.get("authorization", "")}
    try:
        auth = authenticate(headers, b"", web.services.credentials, now=0.0)
    except AuthError as err:
        return json_error(401, str(err), {"WWW-Authenticate": "Bearer"})
    candidates = _policy_candidates(web.services.settings.projects, namespace, project)
    if not candidates:
        return json_error(404, f"no project configured for {namespace}/{project}")
    allowed = [p for p in candidates if p.name in auth.projects]
    if not allowed:
        return json_error(403, f"the token may not read the policy of {namespace}/{project}")
    chosen = allowed[0]
    policy = web.services.intake.policy_set(chosen.policy).for_branch(branch or None)
    text = export_gatecheck_yaml(
        policy,
        project=chosen.name,
        branch=branch or None,
        now=datetime.now(UTC),
        source=f"Belay policy {chosen.policy!r}",
    )
    return Response(
        text,
        media_type="application/yaml",
        headers={"Cache-Control": "no-store"},
    )


@router.get("/metrics", tags=["operations"], summary="Prometheus metrics")
async def metrics(web: Web, _access: ReadAllowed) -> Response:
    body = await run_in_threadpool(web.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
