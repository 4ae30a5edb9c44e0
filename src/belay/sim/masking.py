"""Secret masking as Argo CD serves Secrets (pure): gitops-engine's ``diff.HideSecretData``.

Every ``data`` value of a core ``Secret`` (``stringData`` is first folded into ``data``, as
``NormalizeSecret`` does) is replaced by plus signs: per key, the first distinct value met becomes
``++++++++``, the next distinct one ``++++++++++++`` and so on, across the objects masked together
(target first, then live), so an unchanged value looks the same on both sides and a changed one
does not. The data inside the ``kubectl.kubernetes.io/last-applied-configuration`` annotation is
masked the same way.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from belay import jsonio

__all__ = ["REPLACEMENT", "hide_secret_data", "is_secret", "mask_resource_diff"]

REPLACEMENT = "++++++++"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_STATE_FIELDS = ("targetState", "liveState", "normalizedLiveState", "predictedLiveState")


def is_secret(group: str | None, kind: str | None) -> bool:
    """Whether ``group``/``kind`` name a core Secret."""
    return not group and kind == "Secret"


def _normalize(obj: dict[str, Any]) -> None:
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict):
        data = obj.setdefault("data", {}) or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def _last_applied(obj: dict[str, Any]) -> dict[str, Any] | None:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(_LAST_APPLIED)
    if not isinstance(raw, str):
        return None
    try:
        decoded = jsonio.loads(raw)
    except jsonio.JSONDecodeError:
        return None
    return decoded if isinstance(decoded, dict) else None


def hide_secret_data(objects: list[dict[str, Any] | None]) -> list[dict[str, Any] | None]:
    """Masked deep copies of Secret manifests that are compared with each other (``None`` kept)."""
    masked = [copy.deepcopy(o) if isinstance(o, dict) else None for o in objects]
    applied: list[dict[str, Any] | None] = [_last_applied(o) if o else None for o in masked]
    every = [o for o in masked + applied if o is not None]
    for item in every:
        _normalize(item)
    keys: list[str] = []
    for item in every:
        for key in item.get("data") or {}:
            if key not in keys:
                keys.append(key)
    for key in keys:
        next_replacement = REPLACEMENT
        seen: dict[str, str] = {}
        for item in every:
            data = item.get("data")
            if not isinstance(data, dict) or key not in data or data[key] is None:
                continue
            value = str(data[key])
            if value not in seen:
                seen[value] = next_replacement
                next_replacement += "++++"
            data[key] = seen[value]
    for target, last in zip(masked, applied, strict=True):
        if target is not None and last is not None:
            target["metadata"]["annotations"][_LAST_APPLIED] = jsonio.dumps(last).decode()
    return masked


def mask_resource_diff(item: dict[str, Any]) -> dict[str, Any]:
    """A managed-resources item with its Secret states masked (other kinds unchanged)."""
    if not is_secret(item.get("group"), item.get("kind")):
        return item
    out = dict(item)
    present = [f for f in _STATE_FIELDS if isinstance(item.get(f), str) and item[f]]
    decoded: list[dict[str, Any] | None] = []
    for name in present:
        try:
            value = jsonio.loads(item[name])
        except jsonio.JSONDecodeError:
            value = None
        decoded.append(value if isinstance(value, dict) else None)
    for name, value in zip(present, hide_secret_data(decoded), strict=True):
        out[name] = jsonio.dumps(value).decode() if value is not None else "null"
    return out
