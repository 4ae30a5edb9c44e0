"""`belay integrations verify argocd --config` checks least privilege with can-i (simulator)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import unsigned_jwt
from typer.testing import CliRunner

from belay.cli import app
from belay.sim.sample import sample_state
from belay.sim.testing import running_simulator

SCOPED = unsigned_jwt({"sub": "belay-webhook:apiKey", "jti": "scoped"})
BROAD = unsigned_jwt({"sub": "broad:apiKey", "jti": "broad"})
READER = unsigned_jwt({"sub": "reader:apiKey", "jti": "reader"})


def _state() -> dict[str, Any]:
    s = sample_state()
    s["accounts"] = [
        {
            "name": "belay-webhook",
            "token": SCOPED,
            "policies": [
                "p, role:belay-webhook, applications, get, default/guestbook, allow",
                "p, role:belay-webhook, applications, sync, default/guestbook, allow",
            ],
        },
        {
            "name": "broad",
            "token": BROAD,
            "policies": ["p, role:broad, applications, *, */*, allow"],
        },
        {
            "name": "reader",
            "token": READER,
            "policies": ["p, role:reader, applications, get, */*, allow"],
        },
    ]
    return s


def _verify(url: str, token: str, config: Path) -> dict[str, Any]:
    env = {"ARGOCD_BASE_URL": url, "ARGOCD_AUTH_TOKEN": token, "ARGOCD_PROJECT": "default"}
    result = CliRunner().invoke(
        app,
        ["integrations", "verify", "argocd", "--config", str(config), "--output", "json"],
        env=env,
    )
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_least_privilege_findings(tmp_path: Path) -> None:
    """The scoped account passes clean; a wildcard account is warned about delete, update and
    unmapped syncs; a read-only account is told it cannot sync the mapped application."""
    config = tmp_path / "belay.yaml"
    config.write_text(
        "projects:\n"
        "  - name: example\n"
        "    argocd: {instance: default, application: guestbook, project: default}\n"
    )
    with running_simulator(_state()) as sim:
        scoped = _verify(sim.url, SCOPED, config)
        broad = _verify(sim.url, BROAD, config)
        reader = _verify(sim.url, READER, config)
        assert all(r.method == "GET" for r in sim.requests())
    assert scoped["privilege_warnings"] == []
    assert "may get and sync all 1 mapped applications" in scoped["detail"]
    [extra] = broad["privilege_warnings"]
    for right in ("delete default/guestbook", "update default/guestbook", "sync default/belay-"):
        assert right in extra
    [lacking] = reader["privilege_warnings"]
    assert "sync default/guestbook" in lacking
    assert SCOPED not in json.dumps([scoped, broad, reader])
