"""Submitting a delivery: one authenticated bundle in, one durable verdict out.

The entry points (Portage's webhook and the native API, :mod:`belay.web.intake`) authenticate
the sender, read the multipart body and turn its fields into the intake's form; this judges and
stores it through the :class:`~belay.intake.service.IntakeService` built at start (its policies
are read once, its threat data cached, its writes group-committed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from belay.intake import AuthResult
from belay.intake.service import IntakeResponse, IntakeService

__all__ = ["DEFAULT_BUNDLE_NAME", "Delivery", "submit_delivery"]

DEFAULT_BUNDLE_NAME = "gatecheck-bundle.tar.gz"
"""The bundle's name when the upload carries none (Portage's own)."""


@dataclass(frozen=True)
class Delivery:
    """One authenticated delivery, as the entry point read it."""

    auth: AuthResult
    form: Mapping[str, str]
    """``action``, ``status`` and optionally ``validation`` and ``policy`` (checked here)."""
    bundle: bytes
    bundle_name: str | None = None


def submit_delivery(delivery: Delivery, *, intake: IntakeService) -> IntakeResponse:
    """Judge and store ``delivery``; the answer to send (a verdict, or a refusal with its status).

    Blocking (it reads the bundle and commits): call it from a worker thread in async code.
    """
    return intake.submit(
        auth=delivery.auth,
        form=delivery.form,
        bundle_bytes=delivery.bundle,
        bundle_name=delivery.bundle_name or DEFAULT_BUNDLE_NAME,
    )
