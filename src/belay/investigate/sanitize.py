"""Redaction for manifests and diffs (pure), on top of :mod:`belay.redact`.

:func:`belay.redact.redact_data` hides every value under a key that names a secret, and
:func:`belay.redact.redact_text` masks ``key: value`` text whose key does. Manifests need a finer
touch: ``secretKeyRef``, ``secretName`` and a pod's ``secret`` volume *point to* a secret and
must stay readable, while an env entry ``{name: DB_PASSWORD, value: ...}`` holds one under a
harmless key. :func:`sanitize_object` handles objects; :func:`redact_diff_text` redacts a YAML
diff line by line, value by value, so a reference key never swallows the line below it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from belay.redact import REDACTED, is_secret_key, redact_data, redact_text

__all__ = ["redact_diff_text", "sanitize_object"]

_DROPPED_METADATA = ("managedFields", "resourceVersion", "uid", "generation", "selfLink")
_DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
# Fields that name a secret without holding one: a pod's ``secret`` volume source, projected
# service-account tokens; anything ending in ``Ref``/``Selector`` is a reference too.
_REFERENCE_KEYS = frozenset({"secret", "secretname", "serviceaccounttoken", "secrets"})
# A diff line of a YAML dump: marker, indentation, optional "- ", a plain key, then the value.
_YAML_LINE = re.compile(r"^([ +\-]?\s*(?:- )?)([A-Za-z0-9_.\-/]+):( ?)(.*)$")


def sanitize_object(obj: Any) -> Any:
    """A copy of a manifest without noise (managedFields...) and with secret values masked."""
    if not isinstance(obj, Mapping):
        return redact_data(obj)
    cleaned = dict(obj)
    metadata = cleaned.get("metadata")
    if isinstance(metadata, Mapping):
        meta = {k: v for k, v in metadata.items() if k not in _DROPPED_METADATA}
        annotations = meta.get("annotations")
        if isinstance(annotations, Mapping):
            meta["annotations"] = {
                k: v for k, v in annotations.items() if k not in _DROPPED_ANNOTATIONS
            }
        cleaned["metadata"] = meta
    return _redact_manifest(_mask_named_values(cleaned))


def _is_reference_key(key: str) -> bool:
    """Kubernetes fields that *point to* a secret (``secretKeyRef``, a ``secret`` volume)."""
    lowered = key.lower()
    return lowered in _REFERENCE_KEYS or lowered.endswith(("ref", "selector"))


def _redact_manifest(obj: Any) -> Any:
    """Like :func:`redact_data`, but walks into references instead of hiding them whole."""
    if isinstance(obj, Mapping):
        out: dict[Any, Any] = {}
        for key, value in obj.items():
            if (
                isinstance(key, str)
                and isinstance(value, Mapping | list)
                and is_secret_key(key)
                and _is_reference_key(key)
            ) or (
                isinstance(value, Mapping | list)
                and not (isinstance(key, str) and is_secret_key(key))
            ):
                out[key] = _redact_manifest(value)
            else:
                out[key] = redact_data({key: value})[key]
        return out
    if isinstance(obj, list):
        return [_redact_manifest(v) for v in obj]
    return redact_data(obj)


def _mask_named_values(obj: Any) -> Any:
    """Mask ``{"name": "DB_PASSWORD", "value": "..."}`` entries (env vars, plugin env, params)."""
    if isinstance(obj, Mapping):
        out = {k: _mask_named_values(v) for k, v in obj.items()}
        name = out.get("name")
        if (
            isinstance(name, str)
            and is_secret_key(name)
            and isinstance(out.get("value"), str)
            and out["value"]
        ):
            out["value"] = REDACTED
        return out
    if isinstance(obj, list):
        return [_mask_named_values(v) for v in obj]
    return obj


def redact_diff_text(text: str) -> str:
    """Redact a unified diff of YAML dumps: values are cleaned, keys that only point stay."""
    out = []
    for line in text.splitlines(keepends=True):
        if line.startswith(("---", "+++", "@@")):
            out.append(redact_text(line))
            continue
        body = line.rstrip("\n")
        match = _YAML_LINE.match(body)
        if match is None:
            out.append(redact_text(line))
            continue
        prefix, key, space, value = match.groups()
        if value and is_secret_key(key) and not _is_reference_key(key):
            value = REDACTED
        else:
            value = redact_text(value)
        out.append(f"{prefix}{key}:{space}{value}" + line[len(body) :])
    return "".join(out)
