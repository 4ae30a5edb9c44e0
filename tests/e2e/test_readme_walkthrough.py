"""The README's "Investigate an alert" walkthrough works as written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from belay.cli import app
from belay.sim.testing import running_simulator

REPO = Path(__file__).resolve().parents[2]


def test_readme_investigation_example(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example state and alert the README names give Degraded and a recent rollout."""
    readme = (REPO / "README.md").read_text()
    assert "examples/argocd/degraded-bad-image.yaml" in readme
    assert "examples/alerts/example-app-crashloop.json" in readme
    with running_simulator(REPO / "examples/argocd/degraded-bad-image.yaml") as sim:
        for name, value in {
            "ARGOCD_BASE_URL": sim.url,
            "ARGOCD_USERNAME": "admin",
            "ARGOCD_PASSWORD": "admin",
        }.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(
            app,
            [
                "investigate",
                "-i",
                str(REPO / "examples/alerts/example-app-crashloop.json"),
                "-o",
                "json",
            ],
        )
    assert result.exit_code == 0, result.output
    kinds = [f["kind"] for f in json.loads(result.stdout)["findings"]]
    # The pod-level cause leads, before the Deployment's "exceeded its progress deadline".
    assert kinds[0] == "image_pull_error"
    assert {"degraded", "recent_rollout"} <= set(kinds)
    report = json.loads(result.stdout)
    assert "1.5.0-typo" in report["findings"][0]["summary"]
    # The rollout changed the tag; the revision before it is the rollback candidate.
    assert (
        "changed it from registry.gitlab.com/holomuatech/example-app:1.4.2"
        in (report["findings"][0]["summary"])
    )
    assert report["rollback_candidate"]["revision"].startswith("1f0e2d3c")
