"""The environment: the one place Belay reads it, and the Argo CD variables it holds.

:func:`process_environ` is the only reader of ``os.environ`` outside the simulator; every part
that takes settings from the environment accepts a mapping (tests pass their own) and falls back
to it.

The single-instance variables and ``ARGOCD_INSTANCES`` are read from the environment and ``.env``.

The environment wins over ``.env`` variable by variable. Names follow the Argo CD integration
docs, with the older ``ARGOCD_API_URL`` / ``ARGOCD_API_TOKEN`` as aliases (docs/configuration.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

from belay.config.instance import Labelled, RawInstance, register_credential

__all__ = [
    "BASE_URL_VARS",
    "CREDENTIAL_VARS",
    "INSTANCES_VAR",
    "SINGLE_INSTANCE_VARS",
    "TOKEN_VARS",
    "merged_environ",
    "process_environ",
    "single_instance",
]

BASE_URL_VARS = ("ARGOCD_BASE_URL", "ARGOCD_API_URL")
TOKEN_VARS = ("ARGOCD_AUTH_TOKEN", "ARGOCD_TOKEN", "ARGOCD_API_TOKEN")
CREDENTIAL_VARS = (*TOKEN_VARS, "ARGOCD_USERNAME", "ARGOCD_PASSWORD")
SINGLE_INSTANCE_VARS = (
    *BASE_URL_VARS,
    *CREDENTIAL_VARS,
    "ARGOCD_PROJECT",
    "ARGOCD_APP_NAMESPACE",
    "ARGOCD_VERIFY_SSL",
    "ARGOCD_CA_BUNDLE",
)
INSTANCES_VAR = "ARGOCD_INSTANCES"
_SECRET_VARS = (*TOKEN_VARS, "ARGOCD_PASSWORD")


def process_environ(environ: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """``environ`` when one is given, else the process environment (live, not a copy)."""
    return os.environ if environ is None else environ


def merged_environ(
    environ: Mapping[str, str], dotenv_path: Path
) -> tuple[dict[str, str], dict[str, str], str | None]:
    """Merge ``.env`` under ``environ``; return (merged, where each name came from, problem).

    Only ``ARGOCD_*`` and ``BELAY_*`` names are taken from ``.env``. A ``.env`` that cannot be
    read gives a one-line problem (the environment alone is used then).
    """
    origin: dict[str, str] = {}
    merged: dict[str, str] = {}
    problem: str | None = None
    if dotenv_path.is_file():
        try:
            values = dotenv_values(dotenv_path, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            problem = f"{dotenv_path.name} cannot be read: {_os_reason(err)}"
            values = {}
        for name, value in values.items():
            if value is not None and name.startswith(("ARGOCD_", "BELAY_")):
                merged[name] = value
                origin[name] = ".env"
    for name, value in environ.items():
        if name.startswith(("ARGOCD_", "BELAY_")):
            merged[name] = value
            origin[name] = "env"
    for name in _SECRET_VARS:
        register_credential(merged.get(name))
    return merged, origin, problem


def single_instance(merged: Mapping[str, str], origin: Mapping[str, str]) -> RawInstance | None:
    """The instance described by the single-instance variables, or ``None`` when none is set.

    Project, namespace, TLS settings alone do not make an instance: a base URL or a credential
    must be set.
    """
    if not any(_is_set(merged.get(n)) for n in (*BASE_URL_VARS, *CREDENTIAL_VARS)):
        return None
    used = {origin[n] for n in SINGLE_INSTANCE_VARS if _is_set(merged.get(n)) and n in origin}
    source = "env" if used == {"env"} else ".env" if used == {".env"} else "env+.env"

    def get(name: str) -> Labelled:
        return Labelled(name, merged.get(name))

    return RawInstance(
        name="default",
        source=source,
        base_urls=[get(n) for n in BASE_URL_VARS],
        tokens=[get(n) for n in TOKEN_VARS],
        username=get("ARGOCD_USERNAME"),
        password=get("ARGOCD_PASSWORD"),
        project=get("ARGOCD_PROJECT"),
        app_namespace=get("ARGOCD_APP_NAMESPACE"),
        verify_ssl=get("ARGOCD_VERIFY_SSL"),
        ca_bundle=get("ARGOCD_CA_BUNDLE"),
        tags=Labelled("tags"),
    )


def _is_set(value: str | None) -> bool:
    return value is not None and bool(value.strip())


def _os_reason(err: Exception) -> str:
    if isinstance(err, OSError):
        return err.strerror or type(err).__name__
    return "not valid UTF-8"
