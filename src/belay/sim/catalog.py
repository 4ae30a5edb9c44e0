"""Read-only objects the simulator serves besides applications (pure): projects, clusters,
settings, resource actions and the generated resource tree.

Each comes from the state file when it is given there (``projects``, ``clusters``, ``settings``,
``resourceActions``, ``resourceTrees``) and otherwise from a small default shaped like a fresh
Argo CD v3.5 install: the ``default`` project allowing everything, the ``in-cluster`` cluster,
default settings, and the built-in actions of ``apps/Deployment``.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

__all__ = [
    "DEFAULT_ACTIONS",
    "IN_CLUSTER",
    "cluster_list",
    "generated_tree",
    "project",
    "settings",
]

IN_CLUSTER = "https://kubernetes.default.svc"

DEFAULT_ACTIONS: dict[str, list[dict[str, Any]]] = {
    "apps/Deployment": [
        {"name": "pause", "disabled": False},
        {"name": "restart", "disabled": False},
        {"name": "resume", "disabled": True},
    ],
    "apps/StatefulSet": [{"name": "restart", "disabled": False}],
    "apps/DaemonSet": [{"name": "restart", "disabled": False}],
}
"""Built-in actions per ``group/Kind`` when the state file gives none."""

_SECRET_CONFIG_KEYS = ("password", "bearerToken")
_SECRET_TLS_KEYS = ("keyData",)


def project(name: str, namespace: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """The AppProject ``name``: the state file's, or one allowing every source and destination."""
    if given is not None:
        out = copy.deepcopy(given)
        out.setdefault("metadata", {}).setdefault("name", name)
        out["metadata"].setdefault("namespace", namespace)
        out.setdefault("spec", {})
        return out
    return {
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "sourceRepos": ["*"],
            "destinations": [{"server": "*", "namespace": "*"}],
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
        },
        "status": {},
    }


def _without_credentials(cluster: dict[str, Any]) -> dict[str, Any]:
    """The cluster as the real server lists it: credentials removed from ``config``."""
    out = copy.deepcopy(cluster)
    config = out.get("config")
    if isinstance(config, dict):
        for key in _SECRET_CONFIG_KEYS:
            config.pop(key, None)
        tls = config.get("tlsClientConfig")
        if isinstance(tls, dict):
            for key in _SECRET_TLS_KEYS:
                tls.pop(key, None)
        config.pop("execProviderConfig", None)
    return out


def cluster_list(given: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The clusters (credentials removed); the in-cluster one when the state names none."""
    if given is None:
        given = [
            {
                "server": IN_CLUSTER,
                "name": "in-cluster",
                "config": {"tlsClientConfig": {"insecure": False}},
                "connectionState": {"status": "Successful", "message": ""},
                "info": {
                    "connectionState": {"status": "Successful", "message": ""},
                    "serverVersion": "1.33",
                    "applicationsCount": 0,
                },
            }
        ]
    return [_without_credentials(c) for c in given]


def settings(namespace: str, any_namespace: bool, given: dict[str, Any]) -> dict[str, Any]:
    """``GET /api/v1/settings``: defaults of a fresh install, overlaid by the state's."""
    out: dict[str, Any] = {
        "url": "",
        "appLabelKey": "app.kubernetes.io/instance",
        "controllerNamespace": namespace,
        "statusBadgeEnabled": False,
        "execEnabled": False,
        "appsInAnyNamespaceEnabled": any_namespace,
        "passwordPattern": "^.{8,32}$",
        "userLoginsDisabled": False,
        "impersonationEnabled": False,
        "trackingMethod": "annotation",
        "installationID": "",
    }
    out.update(copy.deepcopy(given))
    return out


def _node_uid(app_uid: str, key: tuple[str, ...]) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join((app_uid, *key))))


def generated_tree(app: dict[str, Any]) -> dict[str, Any]:
    """A resource tree from ``status.resources``: live resources get a stable uid."""
    status = app.get("status") or {}
    images = list((status.get("summary") or {}).get("images") or [])
    app_uid = str((app.get("metadata") or {}).get("uid") or app["metadata"]["name"])
    nodes = []
    for resource in status.get("resources") or []:
        node: dict[str, Any] = {
            k: resource[k]
            for k in ("group", "version", "kind", "namespace", "name")
            if resource.get(k)
        }
        health = resource.get("health")
        if health:
            node["health"] = health
        if (health or {}).get("status") != "Missing":
            key = tuple(str(resource.get(k, "")) for k in ("group", "kind", "namespace", "name"))
            node["uid"] = _node_uid(app_uid, key)
        if resource.get("kind") in {"Deployment", "StatefulSet", "DaemonSet"} and images:
            node["images"] = images
        nodes.append(node)
    return {"nodes": nodes} if nodes else {}
