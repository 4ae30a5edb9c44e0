"""The list of investigations: the ``/investigations`` page and its JSON twin.

* ``GET /investigations``: newest first, filtered by application, alert name, finding kind and
  state (``firing`` or ``resolved``); each row links to its report (``/investigations/{id}``);
* ``GET /api/v1/investigations``: the same list as JSON;
* ``GET /api/v1/investigations/{id}``: one stored report with its resolution.

Behind the read-access rule (the ``ReadAllowed`` / ``PageReadAllowed`` dependencies) like every
read page and API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from belay.investigate import FINDING_KINDS
from belay.store import InvestigationRecord, Store
from belay.web.deps import PageReadAllowed, ReadAllowed, Web, json_error
from belay.web.pages import page

__all__ = ["INVESTIGATION_STATES", "api_router", "page_router"]

INVESTIGATION_STATES: tuple[str, ...] = ("firing", "resolved")

api_router = APIRouter()
page_router = APIRouter(include_in_schema=False)

_NO_STORE = {"Cache-Control": "no-store"}


def _check_filters(state: str | None, kind: str | None) -> str | None:
    """Why the filters are unusable, or ``None``."""
    if state and state not in INVESTIGATION_STATES:
        return f"state must be one of {', '.join(INVESTIGATION_STATES)}"
    if kind and kind not in FINDING_KINDS:
        return f"kind {kind!r} is not a finding kind"
    return None


def _search(
    store: Store,
    *,
    application: str | None,
    alertname: str | None,
    kind: str | None,
    state: str | None,
    limit: int,
) -> list[InvestigationRecord]:
    with store.unit_of_work() as uow:
        return uow.investigations.search(
            application=application or None,
            alert_name=alertname or None,
            finding_kind=kind or None,
            state=state or None,
            limit=limit,
        )


def _wire(record: InvestigationRecord, public_url: str) -> dict[str, Any]:
    data = record.model_dump(mode="json")
    data["state"] = record.state
    data["url"] = f"{public_url}/investigations/{record.id}"
    return data


@api_router.get(
    "/api/v1/investigations",
    tags=["read"],
    summary="Stored investigations, newest first, with their state (firing or resolved)",
    responses={
        400: {"description": "A filter is malformed (unknown state or finding kind)."},
        401: {"description": "Not signed in (no or wrong read token, no proxy header)."},
        403: {"description": "No read access is configured and the client is not on loopback."},
    },
)
async def list_investigations(
    web: Web,
    _access: ReadAllowed,
    application: Annotated[str | None, Query(max_length=255)] = None,
    alertname: Annotated[str | None, Query(max_length=255)] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JSONResponse:
    problem = _check_filters(state, kind)
    if problem is not None:
        return json_error(400, problem)
    rows = await run_in_threadpool(
        lambda: _search(
            web.services.store,
            application=application,
            alertname=alertname,
            kind=kind,
            state=state,
            limit=limit,
        )
    )
    public_url = web.services.settings.public_url
    return JSONResponse({"investigations": [_wire(r, public_url) for r in rows]}, headers=_NO_STORE)


@api_router.get(
    "/api/v1/investigations/{report_id}",
    tags=["read"],
    summary="One stored investigation report, with its state and resolution time",
    responses={404: {"description": "No investigation has this id."}},
)
async def get_investigation(web: Web, _access: ReadAllowed, report_id: str) -> JSONResponse:

    def load() -> tuple[InvestigationRecord | None, dict[str, Any] | None]:
        with web.services.store.unit_of_work() as uow:
            ident = report_id[:64]
            return uow.investigations.record(ident), uow.investigations.get(ident)

    record, report = await run_in_threadpool(load)
    if record is None or report is None:
        return json_error(404, f"no investigation {report_id[:64]!r}")
    data = _wire(record, web.services.settings.public_url)
    data["report"] = report
    return JSONResponse(data, headers=_NO_STORE)


@page_router.get("/investigations", response_class=HTMLResponse)
async def investigations_page(
    request: Request,
    web: Web,
    _access: PageReadAllowed,
    application: Annotated[str | None, Query(max_length=255)] = None,
    alertname: Annotated[str | None, Query(max_length=255)] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    filters = {
        "application": application or "",
        "alertname": alertname or "",
        "kind": kind or "",
        "state": state or "",
    }
    problem = _check_filters(state or None, kind or None)
    rows: list[InvestigationRecord] = []
    if problem is None:
        rows = await run_in_threadpool(
            lambda: _search(
                web.services.store,
                application=application,
                alertname=alertname,
                kind=kind,
                state=state,
                limit=200,
            )
        )
    return page(
        request,
        "investigations.html",
        {
            "rows": rows,
            "filters": filters,
            "problem": problem,
            "kinds": FINDING_KINDS,
            "states": INVESTIGATION_STATES,
        },
        status=400 if problem else 200,
    )
