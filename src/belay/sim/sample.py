"""The built-in sample state (``belay sim argocd`` without ``--state``): one healthy app."""

from __future__ import annotations

from typing import Any

__all__ = ["sample_state"]

_REVISION = "4c3f0e1d9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d"


def sample_state() -> dict[str, Any]:
    """A state with the default ``admin`` account and a Synced, Healthy ``guestbook`` app."""
    source = {
        "repoURL": "https://github.com/argoproj/argocd-example-apps.git",
        "path": "guestbook",
        "targetRevision": "HEAD",
    }
    destination = {"server": "https://kubernetes.default.svc", "namespace": "guestbook"}
    resources = [
        {
            "version": "v1",
            "kind": "Service",
            "namespace": "guestbook",
            "name": "guestbook-ui",
            "status": "Synced",
            "health": {"status": "Healthy"},
        },
        {
            "group": "apps",
            "version": "v1",
            "kind": "Deployment",
            "namespace": "guestbook",
            "name": "guestbook-ui",
            "status": "Synced",
            "health": {"status": "Healthy"},
        },
    ]
    return {
        "version": "v3.5.1",
        "applications": [
            {
                "metadata": {
                    "name": "guestbook",
                    "namespace": "argocd",
                    "uid": "1a6c4f4e-3c1b-4bb6-9a57-2f0c1f1d8e11",
                    "resourceVersion": "1200",
                    "generation": 3,
                    "creationTimestamp": "2026-08-01T09:00:00Z",
                    "labels": {"team": "web"},
                },
                "spec": {"source": source, "destination": destination, "project": "default"},
                "status": {
                    "resources": resources,
                    "sync": {
                        "status": "Synced",
                        "comparedTo": {"source": source, "destination": destination},
                        "revision": _REVISION,
                    },
                    "health": {"status": "Healthy", "lastTransitionTime": "2026-08-01T09:01:10Z"},
                    "history": [
                        {
                            "revision": _REVISION,
                            "deployedAt": "2026-08-01T09:01:05Z",
                            "id": 0,
                            "source": source,
                            "deployStartedAt": "2026-08-01T09:01:00Z",
                            "initiatedBy": {"username": "admin"},
                        }
                    ],
                    "reconciledAt": "2026-08-01T09:05:00Z",
                    "sourceType": "Directory",
                    "summary": {"images": ["quay.io/argoprojlabs/argocd-e2e-container:0.2"]},
                    "sourceHydrator": {},
                    "controllerNamespace": "argocd",
                    "resourceHealthSource": "appTree",
                },
            }
        ],
        "syncBehavior": {"guestbook": {"seconds": 1.0, "phase": "Succeeded", "health": "Healthy"}},
    }
