"""``fields=`` on the application list (pure), as Argo CD's List forwarder applies it.

Argo CD (``pkg/apiclient/application/forwarder_overwrite.go``: ``appFields``,
``selectAppFields``, ``processAppFields``) keeps a fixed list of selectable paths;
``fields=items.metadata.name,items.status.sync.status`` keeps only those of the list that are
named, ``fields=-items.spec`` keeps every listed path except the ones named. A path not on the
list is never returned (``items.status.operationState`` is not selectable, for example); a selected
ancestor covers its descendants; the list ``metadata`` is always kept. ``status.operationState.
operation.sync`` returns the operation's ``syncResult``, as the real server does.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["APP_FIELDS", "parse_fields", "select_fields"]

APP_FIELDS: dict[str, tuple[str, ...]] = {
    "metadata.name": ("metadata", "name"),
    "metadata.namespace": ("metadata", "namespace"),
    "metadata.annotations": ("metadata", "annotations"),
    "metadata.labels": ("metadata", "labels"),
    "metadata.creationTimestamp": ("metadata", "creationTimestamp"),
    "metadata.deletionTimestamp": ("metadata", "deletionTimestamp"),
    "spec": ("spec",),
    "spec.destination": ("spec", "destination"),
    "spec.project": ("spec", "project"),
    "spec.source": ("spec", "source"),
    "spec.sources": ("spec", "sources"),
    "spec.sourceHydrator": ("spec", "sourceHydrator"),
    "spec.syncPolicy": ("spec", "syncPolicy"),
    "status.sourceHydrator": ("status", "sourceHydrator"),
    "status.summary": ("status", "summary"),
    "status.sync.status": ("status", "sync", "status"),
    "status.sync.revision": ("status", "sync", "revision"),
    "status.health": ("status", "health"),
    "status.operationState.startedAt": ("status", "operationState", "startedAt"),
    "status.operationState.finishedAt": ("status", "operationState", "finishedAt"),
    "status.resources": ("status", "resources"),
    "operation.sync": ("operation", "sync"),
    "status.operationState.phase": ("status", "operationState", "phase"),
    "status.operationState.operation.sync": ("status", "operationState", "syncResult"),
}
"""Selectable field → where its value is read in the Application JSON."""


def parse_fields(query: str) -> tuple[set[str], bool] | None:
    """``(fields, exclude)`` from the ``fields`` parameter; ``None`` when it is empty."""
    if not query:
        return None
    exclude = query.startswith("-")
    return set((query[1:] if exclude else query).split(",")), exclude


def _specs(fields: set[str], exclude: bool) -> list[str]:
    selected = {f for f in APP_FIELDS if (("items." + f) in fields) != exclude}
    kept = []
    for field in sorted(selected):
        parts = field.split(".")
        if any(".".join(parts[:i]) in selected for i in range(1, len(parts))):
            continue
        kept.append(field)
    return kept


def _read(app: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = app
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def select_fields(items: list[dict[str, Any]], fields: set[str], exclude: bool) -> list[Any]:
    """Each application reduced to the selected fields (absent values are left out)."""
    specs = _specs(fields, exclude)
    out: list[Any] = []
    for app in items:
        converted: dict[str, Any] = {}
        for field in specs:
            value = _read(app, APP_FIELDS[field])
            if value is None:
                continue
            node = converted
            parts = field.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = copy.deepcopy(value)
        out.append(converted)
    return out
