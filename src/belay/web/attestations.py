"""Signed verdicts over HTTP (docs/attestations.md).

* ``GET /api/v1/attestations/{decision_id}``: the decision's DSSE envelope, byte for byte as
  signed and as its digest is recorded in the audit trail (the verdict's ``attestationUrl``);
* ``GET /api/v1/attestations?application=APP&revision=SHA``: the envelope of the newest decision
  about that application at that revision (for a CI job or promotion step that knows only these);
* ``GET /api/v1/attestation-keys``: the public keys that verify them. Public by design: a public
  key is no secret, and a verifier needs it before it has any credential.

The envelopes are behind the read-access rule, like every other read API.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from belay.store import AttestationRecord, Store
from belay.web.deps import ReadAllowed, Web, json_error

__all__ = ["router"]

router = APIRouter(tags=["attestations"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The DSSE envelope (in-toto Statement v1, Ed25519)."},
    400: {"description": "A parameter is missing or malformed."},
    401: {"description": "Not signed in (no or wrong read token, no proxy header)."},
    403: {"description": "No read access is configured and the client is not on loopback."},
    404: {"description": "No signed decision with that id (or for that revision)."},
}


def _envelope(record: AttestationRecord) -> Response:
    return Response(
        record.envelope.encode("utf-8"),
        media_type="application/json",
        headers={"Cache-Control": "no-store", "X-Belay-Envelope-SHA256": record.sha256},
    )


def _by_decision(store: Store, decision_id: str) -> AttestationRecord | None:
    with store.unit_of_work() as uow:
        return uow.attestations.get(decision_id)


def _latest(store: Store, application: str, revision: str) -> AttestationRecord | None:
    with store.unit_of_work() as uow:
        decisions = uow.decisions.for_revision(application, revision)
        return uow.attestations.get(decisions[0].id) if decisions else None


@router.get(
    "/api/v1/attestations/{decision_id}",
    summary="The signed statement of one decision (DSSE envelope)",
    responses=_RESPONSES,
)
async def get_attestation(
    web: Web,
    _access: ReadAllowed,
    decision_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> Response:
    store = web.services.store
    found = await run_in_threadpool(_by_decision, store, decision_id.strip())
    if found is None:
        return json_error(404, f"no signed decision {decision_id[:64]!r}")
    return _envelope(found)


@router.get(
    "/api/v1/attestations",
    summary="The signed statement of the newest decision about an application at a revision",
    responses=_RESPONSES,
)
async def find_attestation(
    web: Web,
    _access: ReadAllowed,
    application: Annotated[str, Query(min_length=1, max_length=255)],
    revision: Annotated[str, Query(min_length=1, max_length=255)],
) -> Response:
    if not application.strip() or not revision.strip():
        return json_error(400, "application and revision must not be blank")
    store = web.services.store
    found = await run_in_threadpool(_latest, store, application.strip(), revision.strip())
    if found is None:
        return json_error(404, "no signed decision for that application and revision")
    return _envelope(found)


@router.get(
    "/api/v1/attestation-keys",
    summary="The public keys that verify Belay's signed verdicts (public, no credentials)",
)
async def get_attestation_keys(web: Web) -> JSONResponse:
    keyring = web.services.signing.keyring
    keys = [
        {
            "keyid": key.keyid,
            "algorithm": "ed25519",
            "pem": key.pem,
            "created": key.created.isoformat() if key.created else None,
            "retired": key.retired.isoformat() if key.retired else None,
            "current": key.keyid == keyring.current,
        }
        for key in keyring.keys
    ]
    return JSONResponse({"keys": keys}, headers={"Cache-Control": "no-cache"})
