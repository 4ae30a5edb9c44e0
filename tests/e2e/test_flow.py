"""The whole flow with real processes: simulator, `belay serve`, a Portage delivery, the audit CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import (
    free_port,
    portage_bundle,
    post_delivery,
    start_server,
    stopped_at_exit,
    wait_http,
)

from belay.jsonio import dumps, loads
from belay.policies import PACKAGED_POLICIES
from belay.sim.sample import sample_state
from belay.store import Store

REPO = Path(__file__).resolve().parents[2]
REMOTE = "https://gitlab.com/HolomuaTech/belay-portage-gitlab-example-app.git"
COMMIT = "3c9a1e5f7b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f"
TOKEN = "e2e-submit-token-4kQ9"
BELAY = [sys.executable, "-m", "belay.cli"]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    """A simulator and `belay serve` (SQLite, in-process worker) as real processes."""
    state = sample_state()
    state["syncBehavior"] = {"guestbook": {"seconds": 0.1, "health": "Healthy"}}
    (tmp_path / "state.json").write_bytes(dumps(state))
    sim_port, gate_port = free_port(), free_port()
    config = tmp_path / "belay.yaml"
    config.write_text(
        f"""
database_url: sqlite:///{tmp_path / "belay.db"}
public_url: http://127.0.0.1:{gate_port}
policies: {{default: {PACKAGED_POLICIES / "default.yaml"}}}
worker: {{poll_interval_seconds: 0.05, backoff_base_seconds: 0.05, backoff_max_seconds: 0.2}}
projects:
  - name: example-app
    match: {{remote: "{REMOTE}", branch: main}}
    token_env: BELAY_TOKEN_EXAMPLE_APP
    argocd: {{application: guestbook, project: default}}
    sync: {{revision: commit, timeoutSeconds: 60}}
"""
    )
    env = {
        **os.environ,
        "ARGOCD_BASE_URL": f"http://127.0.0.1:{sim_port}",
        "ARGOCD_USERNAME": "admin",
        "ARGOCD_PASSWORD": "admin",
        "BELAY_TOKEN_EXAMPLE_APP": TOKEN,
    }
    sim = start_server(
        [*BELAY, "sim", "argocd", "--port", str(sim_port), "--state", str(tmp_path / "state.json")],
        env=env,
    )
    gate = start_server(
        [*BELAY, "serve", "--config", str(config), "--port", str(gate_port)], env=env, cwd=tmp_path
    )
    with stopped_at_exit(gate, sim):
        wait_http(f"http://127.0.0.1:{sim_port}/api/version", sim)
        wait_http(f"http://127.0.0.1:{gate_port}/healthz", gate)
        yield f"http://127.0.0.1:{gate_port}", env, config


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BELAY, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_submission_to_healthy_and_audit_trace(running: tuple[str, dict[str, str], Path]) -> None:
    """A passing delivery is deployed, and `belay audit trace/verify` show and confirm the chain."""
    url, env, config = running
    data = portage_bundle(commit=COMMIT, remote=REMOTE)
    response = post_delivery(url, data, authorization=TOKEN)
    assert response.status_code == 200, response.text
    assert response.json()["verdict"]["decision"] == "pass"
    deadline = time.monotonic() + 60
    while True:
        trace = _cli(
            ["audit", "trace", "--commit", COMMIT, "--config", str(config), "--output", "json"],
            env,
            config.parent,
        )
        kinds = [e["kind"] for e in loads(trace.stdout)] if trace.returncode == 0 else []
        if (
            "deployment.succeeded" in kinds
            or "deployment.failed" in kinds
            or time.monotonic() > deadline
        ):
            break
        time.sleep(0.2)
    assert kinds[:3] == ["submission.received", "verdict.decided", "job.queued"]
    assert "sync.requested" in kinds
    assert kinds[-1] == "deployment.succeeded"
    text = _cli(["audit", "trace", "--commit", COMMIT, "--config", str(config)], env, config.parent)
    assert "deployment.succeeded" in text.stdout
    verify = _cli(["audit", "verify", "--config", str(config)], env, config.parent)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "intact" in verify.stdout


def test_manual_sync_waits_for_result(running: tuple[str, dict[str, str], Path]) -> None:
    """`belay sync APP --revision R --wait` refuses an unjudged commit, and with an override
    deploys it through the same engine and exits 0."""
    _url, env, config = running
    command = ["sync", "guestbook", "--revision", COMMIT, "--wait", "--config", str(config)]
    refused = _cli([*command, "--actor", "alice"], env, config.parent)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "no gate decision" in refused.stderr
    result = _cli(
        [*command, "--actor", "alice", "--override-gate", "--reason", "rollback drill"],
        env,
        config.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    listing = _cli(
        ["audit", "list", "--config", str(config), "--output", "json"], env, config.parent
    )
    events = loads(listing.stdout)
    assert any(
        e["kind"] == "sync.manual_requested" and e["actor"] == "manual:alice" for e in events
    )
    assert any(
        e["kind"] == "sync.override" and e["data"]["reason"] == "rollback drill" for e in events
    )


def test_db_upgrade_and_verify_on_fresh_store(tmp_path: Path) -> None:
    """`belay db upgrade` migrates a new database; `audit verify` of an empty chain is intact."""
    config = tmp_path / "belay.yaml"
    config.write_text(f"database_url: sqlite:///{tmp_path / 'x.db'}\n")
    env = dict(os.environ)
    upgrade = _cli(["db", "upgrade", "--config", str(config)], env, tmp_path)
    assert upgrade.returncode == 0, upgrade.stderr
    head = Store(f"sqlite:///{tmp_path / 'x.db'}").head_revision()
    assert upgrade.stdout.strip() == f"database at migration {head}"
    assert _cli(["audit", "verify", "--config", str(config)], env, tmp_path).returncode == 0
    missing = _cli(["audit", "verify", "--config", str(tmp_path / "nope.yaml")], env, tmp_path)
    assert missing.returncode == 2
    assert "cannot read settings" in missing.stderr and "no such file" in missing.stderr
