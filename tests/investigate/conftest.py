"""Fixtures for investigation tests: Application JSON builders in Argo CD's wire shape."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

AppFactory = Callable[..., dict[str, Any]]

SHA_OLD = "1111111111111111111111111111111111111111"
SHA_NEW = "2222222222222222222222222222222222222222"


def build_app(
    name: str = "checkout",
    *,
    project: str = "default",
    sync: str = "Synced",
    health: str = "Healthy",
    revision: str = SHA_NEW,
    history: list[tuple[str, str]] | None = None,
    operation_phase: str | None = "Succeeded",
    operation_message: str = "successfully synced (all tasks run)",
    operation_started: str = "2026-05-01T09:00:00Z",
    failed_resources: list[dict[str, Any]] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    resources: list[dict[str, Any]] | None = None,
    health_since: str | None = None,
) -> dict[str, Any]:
    """An Application as GET /api/v1/applications/{name} returns it."""
    history = (
        history
        if history is not None
        else [(SHA_OLD, "2026-04-01T09:00:00Z"), (revision, "2026-05-01T09:00:05Z")]
    )
    app: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "project": project,
            "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
            "source": {
                "repoURL": "https://git.example.com/apps.git",
                "path": name,
                "targetRevision": "main",
            },
        },
        "status": {
            "sync": {"status": sync, "revision": revision, "comparedTo": {"destination": {}}},
            "health": {"status": health},
            "summary": {"images": [f"registry.example.com/{name}:1.2.3"]},
            "history": [
                {"id": i, "revision": rev, "deployedAt": at, "deployStartedAt": at}
                for i, (rev, at) in enumerate(history)
            ],
            "resources": resources
            if resources is not None
            else [
                {
                    "group": "apps",
                    "version": "v1",
                    "kind": "Deployment",
                    "namespace": name,
                    "name": name,
                    "status": sync,
                    "health": {"status": health},
                }
            ],
            "reconciledAt": "2026-05-01T09:01:00Z",
        },
    }
    if health_since:
        app["status"]["health"]["lastTransitionTime"] = health_since
    if conditions:
        app["status"]["conditions"] = conditions
    if operation_phase:
        app["status"]["operationState"] = {
            "operation": {
                "sync": {"revision": revision},
                "initiatedBy": {"username": "admin"},
                "retry": {},
            },
            "phase": operation_phase,
            "message": operation_message,
            "startedAt": operation_started,
            "finishedAt": operation_started,
            "syncResult": {"revision": revision, "resources": failed_resources or []},
        }
    return app


@pytest.fixture
def make_app() -> AppFactory:
    """The Application builder."""
    return build_app


@pytest.fixture
def fixture_yaml(shared_dir: Path) -> Callable[[str], Any]:
    """Load one of the shared Argo CD fixtures (YAML) as data."""

    def load(name: str) -> Any:
        return copy.deepcopy(
            yaml.safe_load((shared_dir / "fixtures" / "argocd" / name).read_text())
        )

    return load
