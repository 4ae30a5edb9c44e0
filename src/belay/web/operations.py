"""The service endpoints: liveness, readiness and the OpenAPI schema.

* ``GET /healthz``: the process is up (no token: probes carry none);
* ``GET /readyz``: the store is reachable and migrated (503 with the reason otherwise);
* ``GET /openapi.json``: the API's schema, behind the read-access rule (the interactive docs,
  which load scripts, are off).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from belay.store import StoreError
from belay.web.deps import ReadAllowed, Web

__all__ = ["router"]

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> PlainTextResponse:
    return PlainTextResponse("ok")


@router.get("/readyz", summary="The store is reachable and migrated")
async def readyz(web: Web) -> JSONResponse:
    try:
        await run_in_threadpool(web.services.store.check_ready)
    except StoreError as err:
        return JSONResponse({"ready": False, "reason": str(err)}, status_code=503)
    return JSONResponse({"ready": True})


@router.get("/openapi.json", include_in_schema=False)
async def openapi(request: Request, _access: ReadAllowed) -> JSONResponse:
    return JSONResponse(request.app.openapi())
