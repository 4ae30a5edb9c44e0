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

__all__ = ["Masker", "redact_diff_text", "sanitize_object"]

_DROPPED_METADATA = ("managedFields", "resourceVersion", "uid", "generation", "selfLink")
_DROPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
# Fields that name a secret without holding one: a pod's ``secret`` volume source, projected
# service-account tokens; anything ending in ``Ref``/``Selector`` is a reference too.
_REFERENCE_KEYS = frozenset({"secret", "secretname", "serviceaccounttoken", "secrets"})
# A diff line of a YAML dump: marker, indentation, optional "- ", a plain key, then the value.
_MASK_TOKEN = re.compile(r"['\"]?\[REDACTED(?::\d+)?\]['\"]?")
_YAML_LINE = re.compile(r"^([ +\-]?\s*(?:- )?)([A-Za-z0-9_.\-/]+):( ?)(.*)$")


class Masker:
    """Masks secret values so that equal values mask alike and different ones differently.

    One masker serves both sides of a diff: a secret that changed shows as a changed line
    (``[REDACTED]`` against ``[REDACTED:2]``) without showing either value, as Argo CD's own
    masking of Secrets does.
    """

    def __init__(self) -> None:
        self._tokens: dict[str, str] = {}

    def __call__(self, value: Any) -> Any:
        if value in (None, "", [], {}) or isinstance(value, bool | int | float):
            return value
        key = repr(value)
        if key not in self._tokens:
            n = len(self._tokens) + 1
            self._tokens[key] = REDACTED if n == 1 else f"{REDACTED[:-1]}:{n}]"
        return self._tokens[key]


def sanitize_object(obj: Any, masker: Masker | None = None) -> Any:
    """A copy of a manifest without noise (managedFields...) and with secret values masked."""
    masker = masker or Masker()
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
    return _redact_manifest(cleaned, masker)


def _is_reference_key(key: str) -> bool:
    """Kubernetes fields that *point to* a secret (``secretKeyRef``, a ``secret`` volume)."""
    lowered = key.lower()
    return lowered in _REFERENCE_KEYS or lowered.endswith(("ref", "selector"))


def _redact_manifest(obj: Any, masker: Masker) -> Any:
    """Mask values under secret keys and ``{name: <secret-ish>, value: ...}`` entries; walk
    into references; clean every other string with :func:`redact_text`."""
    if isinstance(obj, list):
        return [_redact_manifest(v, masker) for v in obj]
    if not isinstance(obj, Mapping):
        return redact_text(obj) if isinstance(obj, str) else obj
    named_secret = isinstance(obj.get("name"), str) and is_secret_key(obj["name"])
    out: dict[Any, Any] = {}
    for key, value in obj.items():
        secret_key = isinstance(key, str) and is_secret_key(key)
        if isinstance(value, Mapping | list) and (not secret_key or _is_reference_key(key)):
            out[key] = _redact_manifest(value, masker)
        elif secret_key or (named_secret and key == "value"):
            out[key] = masker(value)
        else:
            out[key] = _redact_manifest(value, masker)
    return out


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
        if _MASK_TOKEN.fullmatch(value.strip()):
            pass  # already a mask: keep which one it is
        elif value and is_secret_key(key) and not _is_reference_key(key):
            value = REDACTED
        else:
            value = redact_text(value)
        out.append(f"{prefix}{key}:{space}{value}" + line[len(body) :])
    return "".join(out)
