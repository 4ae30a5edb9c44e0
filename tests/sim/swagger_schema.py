"""Validate simulator answers against Argo CD's swagger.json (Draft 4 over ``definitions``).

Adjustments to the spec, each narrow and taken from the reference notes on the wire format:

* every object definition with ``properties`` gets ``additionalProperties: false`` (``allOf``
  parts merged), so a misspelt or invented field fails: stricter than the spec;
* ``v1Time`` and ``v1MicroTime`` accept a string or ``null`` (metav1 times marshal as RFC 3339
  strings, zero times as ``null``; the spec calls MicroTime an object);
* ``{"type": "string", "format": "int64"}`` also accepts an integer (encoding/json writes int64
  as a number; only ``ApplicationSyncRequest.sourcePositions`` is declared so at v3.5.1).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from belay import jsonio

__all__ = ["SwaggerSchemas", "load_swagger"]


def _swagger_path() -> Path:
    override = os.environ.get("BELAY_ARGOCD_SWAGGER")
    if override:
        return Path(override)
    shared = os.environ.get("BELAY_SHARED_DIR")
    base = Path(shared) if shared else Path(__file__).resolve().parents[2].parent / "shared"
    return base / "argocd" / "swagger.json"


def _adjust(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_adjust(n, definitions) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _adjust(v, definitions) for k, v in node.items()}
    if node.get("type") == "string" and node.get("format") == "int64":
        node["type"] = ["string", "integer"]
    return node


def _close(definition: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    if "properties" not in definition or "additionalProperties" in definition:
        return definition
    properties = dict(definition["properties"])
    for part in definition.get("allOf", []):
        ref = part.get("$ref", "")
        target = definitions.get(ref.rsplit("/", 1)[-1], part)
        properties.update(target.get("properties", {}))
    closed = {k: v for k, v in definition.items() if k != "allOf"}
    closed["properties"] = properties
    closed["additionalProperties"] = False
    return closed


class SwaggerSchemas:
    """Validators for named definitions and for the watch stream's line wrapper."""

    def __init__(self, spec: dict[str, Any]) -> None:
        raw = spec["definitions"]
        definitions = {name: _adjust(d, raw) for name, d in raw.items()}
        definitions = {name: _close(d, definitions) for name, d in definitions.items()}
        definitions["v1Time"] = {"type": ["string", "null"]}
        definitions["v1MicroTime"] = {"type": ["string", "null"]}
        self.definitions = definitions
        self.paths = spec["paths"]

    def errors(self, definition: str, instance: Any) -> list[str]:
        """Every validation problem of ``instance`` against ``#/definitions/<definition>``."""
        schema = {"definitions": self.definitions, "$ref": f"#/definitions/{definition}"}
        return self._errors(schema, instance)

    def stream_errors(self, instance: Any) -> list[str]:
        """Problems of one watch-stream line against ``{result, error}`` from the spec."""
        wrapper = copy.deepcopy(
            self.paths["/api/v1/stream/applications"]["get"]["responses"]["200"]["schema"]
        )
        wrapper["additionalProperties"] = False
        wrapper["definitions"] = self.definitions
        return self._errors(wrapper, instance)

    @staticmethod
    def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
        validator = Draft4Validator(schema)
        return [
            f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in validator.iter_errors(instance)
        ]


def load_swagger() -> SwaggerSchemas:
    """The schemas, or a skip naming the missing file (CI turns the skip into a failure)."""
    path = _swagger_path()
    if not path.is_file():
        pytest.skip(f"Argo CD swagger.json not found at {path} (set BELAY_ARGOCD_SWAGGER)")
    return SwaggerSchemas(jsonio.loads(path.read_bytes()))
