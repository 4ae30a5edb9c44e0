"""`belay integrations verify argocd` against Belay's own Argo CD simulator (HTTP and TLS)."""

from __future__ import annotations

import json

from typer.testing import CliRunner, Result

from belay.cli import app
from belay.sim.sample import sample_state
from belay.sim.testing import running_simulator


def _state() -> dict[str, object]:
    state = sample_state()
    state["accounts"] = [
        {
            "name": "belay-webhook",
            "policies": [
                "p, role:belay-webhook, applications, get, default/*, allow",
                "p, role:belay-webhook, applications, sync, default/*, allow",
            ],
        },
        {"name": "viewer", "policies": ["p, role:viewer, applications, get, */*, allow"]},
    ]
    return state


def run(env: dict[str, str], *args: str) -> Result:
    """Invoke verify with ``env`` added to the cleaned environment."""
    return CliRunner().invoke(app, ["integrations", "verify", "argocd", *args], env=env)


def test_verify_against_simulator_over_tls() -> None:
    """A sync-capable token passes with the CA bundle; a read-only one passes but may not sync;
    a token for an unknown account fails with 401."""
    with running_simulator(_state(), tls=True) as sim:
        assert sim.ca_path is not None
        base = {"ARGOCD_BASE_URL": sim.url, "ARGOCD_CA_BUNDLE": str(sim.ca_path)}
        webhook = sim.token_for("belay-webhook")
        env = {**base, "ARGOCD_AUTH_TOKEN": webhook, "ARGOCD_PROJECT": "default"}
        result = run(env, "--output", "json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["status"] == "passed"
        assert data["detail"].startswith("Connected to Argo CD and listed 1 application.")
        assert data["can_sync"] is True
        assert webhook not in result.output
        assert all(r.method == "GET" for r in sim.requests())

        viewer = run({**base, "ARGOCD_AUTH_TOKEN": sim.token_for("viewer")})
        assert viewer.exit_code == 0, viewer.output
        assert "may not sync applications in every project" in viewer.stdout

        bogus = run({**base, "ARGOCD_AUTH_TOKEN": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bad-sig"})
        assert bogus.exit_code == 1
        assert "Status: failed" in bogus.stdout and "(401)" in bogus.stdout

        no_ca = run({"ARGOCD_BASE_URL": sim.url, "ARGOCD_AUTH_TOKEN": webhook})
        assert no_ca.exit_code == 1
        assert "TLS verification failed" in no_ca.stdout
