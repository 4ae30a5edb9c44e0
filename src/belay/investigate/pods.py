"""Pod-level evidence (pure): Argo CD's resource tree (and a pod's events) → typed causes.

The input is ``GET .../resource-tree`` as JSON: every live node with its health, images,
parents and Argo CD's ``info`` pairs. For a pod the controller fills ``Status Reason`` (the
container's waiting or terminated reason: ``ImagePullBackOff``, ``CrashLoopBackOff``,
``OOMKilled``, else the phase), ``Containers`` (ready/total) and ``Restart Count``; a ReplicaSet
carries ``Revision`` (``Rev:3``) and its images, so the newest two ReplicaSets of a Deployment
show what its last rollout changed. Events (``GET .../events?resourceName=``) add what the tree
cannot say: ``FailedScheduling`` and failed probes (``Unhealthy``).

Everything free-text passes through :func:`belay.redact.redact_text`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from belay.investigate.models import ImageChange, PodCause
from belay.redact import redact_text

__all__ = [
    "DECISIVE_REASONS",
    "image_changes",
    "needs_events",
    "pod_causes",
    "with_events",
]

DECISIVE_REASONS = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "CrashLoopBackOff",
        "OOMKilled",
        "CreateContainerConfigError",
        "RunContainerError",
    }
)
"""Reasons that name the cause on their own: no event needs to be read for them."""

_EVENT_LIMIT = 3
_REV = re.compile(r"(\d+)")


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _info(node: Mapping[str, Any]) -> dict[str, str]:
    return {
        _str(i.get("name")): _str(i.get("value"))
        for i in map(_map, _list(node.get("info")))
        if _str(i.get("name"))
    }


def _nodes(tree: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [_map(n) for n in _list(tree.get("nodes"))]


def _owner(node: Mapping[str, Any]) -> str:
    for parent in map(_map, _list(node.get("parentRefs"))):
        if _str(parent.get("kind")) and _str(parent.get("name")):
            return f"{parent['kind']} {parent['name']}"
    return ""


def _restarts(info: Mapping[str, str]) -> int:
    try:
        return int(info.get("Restart Count", "0") or 0)
    except ValueError:
        return 0


def _unhealthy(health: str, reason: str, containers: str, restarts: int) -> bool:
    if health in {"Degraded", "Progressing", "Missing", "Unknown"}:
        return True
    if reason.removeprefix("Init:") in DECISIVE_REASONS or restarts >= 3:
        return True
    ready, _, total = containers.partition("/")
    return bool(ready and total) and ready != total and reason not in {"Completed", "Succeeded"}


def pod_causes(tree: Mapping[str, Any]) -> tuple[int, tuple[PodCause, ...]]:
    """How many pods the tree holds, and the unhealthy ones (worst first: decisive reasons)."""
    pods = [n for n in _nodes(tree) if _str(n.get("kind")) == "Pod" and not _str(n.get("group"))]
    found: list[PodCause] = []
    for node in pods:
        info = _info(node)
        health = _map(node.get("health"))
        reason = info.get("Status Reason", "")
        restarts = _restarts(info)
        containers = info.get("Containers", "")
        status = _str(health.get("status"))
        if not _unhealthy(status, reason, containers, restarts):
            continue
        found.append(
            PodCause(
                namespace=_str(node.get("namespace")),
                name=_str(node.get("name")),
                uid=_str(node.get("uid")),
                health=status,
                message=redact_text(_str(health.get("message"))),
                reason=reason,
                restarts=restarts,
                containers=containers,
                images=tuple(sorted(i for i in _list(node.get("images")) if isinstance(i, str))),
                owner=_owner(node),
            )
        )
    found.sort(key=lambda p: (p.reason.removeprefix("Init:") not in DECISIVE_REASONS, p.name))
    return len(pods), tuple(found)


def needs_events(pods: Sequence[PodCause]) -> PodCause | None:
    """The first unhealthy pod whose tree entry does not name a cause (its events might)."""
    if any(p.reason.removeprefix("Init:") in DECISIVE_REASONS for p in pods):
        return None
    return pods[0] if pods else None


def with_events(pod: PodCause, events: Iterable[Mapping[str, Any]]) -> PodCause:
    """``pod`` with its Warning events (newest first, a few) added."""
    warnings = [e for e in events if _str(e.get("type")) != "Normal"]
    warnings.sort(
        key=lambda e: _str(e.get("lastTimestamp")) or _str(e.get("eventTime")), reverse=True
    )
    texts = tuple(
        redact_text(f"{_str(e.get('reason'))}: {_str(e.get('message'))}".strip(": "))
        for e in warnings[:_EVENT_LIMIT]
    )
    return pod.model_copy(update={"events": texts})


def _revision(node: Mapping[str, Any]) -> int:
    match = _REV.search(_info(node).get("Revision", ""))
    return int(match.group(1)) if match else -1


def image_changes(tree: Mapping[str, Any]) -> tuple[ImageChange, ...]:
    """Per workload, the images its newest ReplicaSet runs that the one before did not."""
    by_owner: dict[str, list[Mapping[str, Any]]] = {}
    for node in _nodes(tree):
        if _str(node.get("kind")) == "ReplicaSet":
            owner = _owner(node) or f"ReplicaSet {_str(node.get('name'))}"
            by_owner.setdefault(owner, []).append(node)
    changes: list[ImageChange] = []
    for owner, sets in sorted(by_owner.items()):
        if len(sets) < 2:
            continue
        sets.sort(key=lambda n: (_revision(n), _str(n.get("createdAt"))), reverse=True)
        newest = [i for i in _list(sets[0].get("images")) if isinstance(i, str)]
        previous = [i for i in _list(sets[1].get("images")) if isinstance(i, str)]
        added = [i for i in newest if i not in previous]
        removed = [i for i in previous if i not in newest]
        for after in added:
            before = _same_repository(after, removed) or (removed[0] if removed else "")
            changes.append(ImageChange(workload=owner, before=before, after=after))
    return tuple(changes)


def _same_repository(image: str, candidates: Sequence[str]) -> str:
    repo = _repository(image)
    return next((c for c in candidates if _repository(c) == repo), "")


def _repository(image: str) -> str:
    name = image.split("@", 1)[0]
    head, _, tail = name.rpartition(":")
    return head if head and "/" not in tail else name
