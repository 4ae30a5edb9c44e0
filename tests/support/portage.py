"""Portage's side of the intake: gatecheck bundles and the multipart POST that delivers them.

Portage posts ``multipart/form-data`` to ``/Build/SubmitArtifacts``: the fields ``action`` and
``status``, and the bundle as the file ``bundle`` named ``gatecheck-bundle.tar.gz``. It sends
the configured ``Authorization`` header verbatim (a bare token or ``Bearer <token>``), or signs
the body as a Standard Webhook instead.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from belay.gate import write_bundle
from belay.gate.samples import sample_reports
from belay.intake import sign_standard_webhook

__all__ = [
    "BUNDLE_NAME",
    "DEPLOY_FORM",
    "NATIVE_PATH",
    "SUBMIT_PATH",
    "Reports",
    "bearer",
    "delivery_request",
    "portage_bundle",
    "post_delivery",
    "signed_webhook_headers",
    "submit_for_verdict",
]

SUBMIT_PATH = "/Build/SubmitArtifacts"
"""Portage's webhook route."""
NATIVE_PATH = "/api/v1/submissions"
"""The native submission API (a ``metadata`` field instead of Portage's form)."""
BUNDLE_NAME = "gatecheck-bundle.tar.gz"
DEPLOY_FORM: Mapping[str, str] = {"action": "deploy", "status": "success"}
"""The form fields of a successful Portage deploy step."""

Reports = list[tuple[str, bytes, list[str]]]
"""``(file name, bytes, bundle tags)`` entries, as :func:`belay.gate.write_bundle` takes them."""


def portage_bundle(
    reports: Reports | None = None,
    *,
    commit: str,
    remote: str,
    branch: str = "main",
    created_at: datetime | None = None,
    failing: bool = False,
) -> bytes:
    """A gatecheck bundle as Portage builds it: ``reports``, or Portage's four sample scans
    dated ``created_at`` (clean, or with a Critical finding and a leaked key when ``failing``)."""
    now = created_at or datetime.now(UTC)
    return write_bundle(
        reports or sample_reports(now, failing=failing, commit=commit),
        created_at=now,
        commit=commit,
        branch=branch,
        remote=remote,
    )


def bearer(token: str) -> str:
    """``token`` as an ``Authorization`` value with the Bearer scheme."""
    return f"Bearer {token}"


def delivery_request(
    url: str,
    data: bytes,
    *,
    fields: Mapping[str, str] | None = None,
    path: str = SUBMIT_PATH,
    filename: str = BUNDLE_NAME,
    client: httpx.Client | None = None,
) -> httpx.Request:
    """The multipart POST of ``data`` to ``url + path``, built but not sent, its body read (so
    that it can be signed, or sent several times with the very same bytes).

    ``fields`` replaces Portage's form (:data:`DEPLOY_FORM`); built by ``client`` when given,
    so that its headers and cookies go with it.
    """
    form = dict(DEPLOY_FORM if fields is None else fields)
    files = {"bundle": (filename, data, "application/gzip")}
    if client is not None:
        request = client.build_request("POST", f"{url}{path}", data=form, files=files)
    else:
        request = httpx.Request("POST", f"{url}{path}", data=form, files=files)
    request.read()
    return request


def post_delivery(
    url: str,
    data: bytes,
    *,
    authorization: str | None = None,
    fields: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    path: str = SUBMIT_PATH,
    filename: str = BUNDLE_NAME,
    client: httpx.Client | None = None,
    timeout: float = 30,
) -> httpx.Response:
    """POST a bundle to the gate at ``url`` the way Portage does; the response, whatever it is.

    ``headers`` are added as given, then ``authorization`` verbatim (see :func:`bearer`).
    Sent by ``client`` when given, else by a client of its own with ``timeout``.
    """
    request = delivery_request(
        url, data, fields=fields, path=path, filename=filename, client=client
    )
    request.headers.update(dict(headers or {}))
    if authorization is not None:
        request.headers["Authorization"] = authorization
    if client is not None:
        return client.send(request)
    with httpx.Client(timeout=timeout) as own:
        return own.send(request)


def submit_for_verdict(url: str, data: bytes, **post: Any) -> dict[str, Any]:
    """:func:`post_delivery`, which must be answered 200; the verdict document it returned."""
    response = post_delivery(url, data, **post)
    assert response.status_code == 200, response.text
    verdict: dict[str, Any] = response.json()["verdict"]
    return verdict


def signed_webhook_headers(
    key: bytes, body: bytes, webhook_id: str, *, timestamp: int | None = None
) -> dict[str, str]:
    """The Standard Webhooks headers that sign ``body`` with ``key`` (now, unless ``timestamp``)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign_standard_webhook(key, webhook_id, stamp, body),
    }
