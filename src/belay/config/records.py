"""Turn instance entries from JSON (``ARGOCD_INSTANCES`` and the store) into raw instances.

An entry carries ``name``, ``tags`` and credentials either nested under ``credentials`` or flat
beside them. Credential keys: ``base_url``, ``bearer_token`` | ``auth_token`` | ``token``,
``username``, ``password``, ``project``, ``app_namespace``, ``verify_ssl``, ``ca_bundle``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from belay.config.instance import Labelled, RawInstance, register_credential

__all__ = ["CREDENTIAL_KEYS", "TOKEN_KEYS", "raw_from_entry", "register_entry_secrets"]

TOKEN_KEYS = ("bearer_token", "auth_token", "token")
CREDENTIAL_KEYS = frozenset(
    {
        "base_url",
        *TOKEN_KEYS,
        "username",
        "password",
        "project",
        "app_namespace",
        "verify_ssl",
        "ca_bundle",
    }
)
_ENTRY_KEYS = frozenset({"name", "tags", "credentials", "id", "service", "status"})


def register_entry_secrets(entry: object) -> None:
    """Register every token and password found in an entry, nested or flat."""
    if not isinstance(entry, Mapping):
        return
    for holder in (entry, entry.get("credentials")):
        if isinstance(holder, Mapping):
            for key in (*TOKEN_KEYS, "password"):
                value = holder.get(key)
                register_credential(value)


def raw_from_entry(
    entry: Mapping[str, Any],
    *,
    label: str,
    source: str,
    default_name: str,
    base_dir: Path | None = None,
) -> RawInstance | str:
    """A raw instance from one JSON entry, or a one-line problem when its shape is wrong.

    ``label`` prefixes key names in messages (``ARGOCD_INSTANCES[0]``). Unknown keys are kept
    as warnings on the instance rather than refused, so a typo is visible but a newer writer's
    extra field does not break an older reader.
    """
    register_entry_secrets(entry)
    nested = entry.get("credentials")
    warnings: list[str] = []
    if nested is not None:
        if not isinstance(nested, Mapping):
            return f"{label}.credentials must be a JSON object"
        creds: Mapping[str, Any] = nested
        prefix = f"{label}.credentials"
        flat_creds = sorted(k for k in entry if k in CREDENTIAL_KEYS)
        if flat_creds:
            return (
                f"{label} has credentials both nested under 'credentials' and flat "
                f"({', '.join(flat_creds)}); use one form"
            )
        unknown = sorted(str(k) for k in creds if k not in CREDENTIAL_KEYS)
        unknown += sorted(str(k) for k in entry if k not in _ENTRY_KEYS)
    else:
        creds = entry
        prefix = label
        unknown = sorted(str(k) for k in entry if k not in CREDENTIAL_KEYS | _ENTRY_KEYS)
    if unknown:
        warnings.append(f"{label}: ignored unknown key(s) {', '.join(unknown)}")

    name = entry.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        name = default_name
    if not isinstance(name, str):
        return f"{label}.name must be a string"

    def get(key: str) -> Labelled:
        return Labelled(f"{prefix}.{key}", creds.get(key))

    return RawInstance(
        name=name.strip(),
        source=source,
        base_urls=[get("base_url")],
        tokens=[get(k) for k in TOKEN_KEYS],
        username=get("username"),
        password=get("password"),
        project=get("project"),
        app_namespace=get("app_namespace"),
        verify_ssl=get("verify_ssl"),
        ca_bundle=get("ca_bundle"),
        tags=Labelled(f"{label}.tags", entry.get("tags")),
        warnings=tuple(warnings),
        base_dir=base_dir,
    )
