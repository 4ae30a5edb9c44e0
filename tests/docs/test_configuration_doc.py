"""docs/configuration.md names every belay.yaml key and every environment variable Belay reads."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from belay.config.settings import BelaySettings

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "configuration.md"

# Names in src/ that are examples in docstrings, not variables Belay reads.
EXAMPLE_NAMES = {"BELAY_TOKEN_X"}


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside a field's type (through Optional, tuple, list, dict)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, tuple, list, dict):
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    return []


def _yaml_keys(model: type[BaseModel], prefix: str = "") -> dict[str, str]:
    """Every key path of ``model`` and its nested models → the name as written in YAML."""
    keys: dict[str, str] = {}
    for name, field in model.model_fields.items():
        written = field.alias or name
        path = f"{prefix}{name}"
        keys[path] = written
        for nested in _models(field.annotation):
            keys.update(_yaml_keys(nested, f"{path}."))
    return keys


def _suffixes(token: str) -> list[str]:
    """``a.b.c`` → ``a.b.c``, ``c`` (a documented dotted path names its last key)."""
    return [token, token.rsplit(".", 1)[-1]]


def test_every_settings_key_is_documented() -> None:
    """Each field of BelaySettings and its nested models appears in the doc, as written in YAML."""
    text = DOC.read_text(encoding="utf-8")
    keys = _yaml_keys(BelaySettings)
    assert len(keys) > 60, "the walk found too few keys; is it still following nested models?"
    # A key is named as `key` or as a dotted path ending in it (`retry.maxDuration`).
    named = {part for token in re.findall(r"`([^`\s]+)`", text) for part in _suffixes(token)}
    missing = sorted(path for path, written in keys.items() if written not in named)
    assert not missing, f"docs/configuration.md does not name these belay.yaml keys: {missing}"


def test_walk_reaches_nested_models() -> None:
    """The check above really descends: keys only nested models have are in the walk."""
    keys = _yaml_keys(BelaySettings)
    assert keys["projects.sync.retry.max_duration"] == "maxDuration"
    assert keys["projects.argocd.app_namespace"] == "appNamespace"
    assert keys["notifications.from_"] == "from"


def test_every_environment_variable_is_documented() -> None:
    """Each ARGOCD_* / BELAY_* name in src/belay appears in the doc."""
    text = DOC.read_text(encoding="utf-8")
    found: set[str] = set()
    for path in (REPO / "src" / "belay").rglob("*.py"):
        found |= set(
            re.findall(r"\b(?:ARGOCD|BELAY)_[A-Z0-9_]*[A-Z0-9]\b", path.read_text("utf-8"))
        )
    assert {"ARGOCD_BASE_URL", "BELAY_DATABASE_URL", "BELAY_LOG_LEVEL"} <= found
    missing = sorted(n for n in found - EXAMPLE_NAMES if f"`{n}`" not in text)
    assert not missing, f"docs/configuration.md does not name these variables: {missing}"
