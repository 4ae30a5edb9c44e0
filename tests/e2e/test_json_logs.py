"""With `--log-format json`, every line `belay serve` writes is one JSON object.

A real `belay serve` process (migrations by Alembic, uvicorn, the in-process worker calling the
Argo CD simulator through httpx) serves a Portage delivery and some reads at INFO level; then
each line of its stderr and stdout is parsed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from tests.support import (
    bearer,
    free_port,
    portage_bundle,
    post_delivery,
    wait_http,
    wait_until,
)

from belay.jsonio import loads
from belay.policies import PACKAGED_POLICIES
from belay.sim.sample import sample_state
from belay.sim.testing import running_simulator

from .test_flow import REMOTE

COMMIT = "5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c"
TOKEN = "json-logs-submit-token-Vb72"


def _wait_deployed(url: str) -> None:
    params = {"application": "guestbook", "revision": COMMIT}

    def ended() -> dict[str, Any] | None:
        answer: dict[str, Any] = httpx.get(
            f"{url}/api/v1/decisions", params=params, timeout=5
        ).json()
        return None if answer["deployment"] in ("none", "queued", "running") else answer

    answer = wait_until(ended, timeout=60, interval=0.1, what="deployment")
    assert answer["deployment"] == "succeeded", answer


def test_every_served_line_is_json(tmp_path: Path) -> None:
    """Alembic, uvicorn, httpx, the banner and Belay's own events: all JSON, none plain text."""
    port = free_port()
    config = tmp_path / "belay.yaml"
    config.write_text(
        f"""
database_url: sqlite:///{tmp_path / "belay.db"}
public_url: http://127.0.0.1:{port}
policies: {{default: {PACKAGED_POLICIES / "default.yaml"}}}
worker: {{poll_interval_seconds: 0.05, backoff_base_seconds: 0.05, backoff_max_seconds: 0.2}}
projects:
  - name: example-app
    match: {{remote: "{REMOTE}", branch: main}}
    token_env: BELAY_TOKEN_JSON_LOGS
    argocd: {{application: guestbook, project: default}}
    sync: {{revision: commit, timeoutSeconds: 60}}
"""
    )
    state = sample_state()
    state["syncBehavior"] = {"guestbook": {"seconds": 0.1, "health": "Healthy"}}
    stderr_path, stdout_path = tmp_path / "stderr.log", tmp_path / "stdout.log"
    with running_simulator(state) as sim:
        env = {
            **os.environ,
            "ARGOCD_BASE_URL": sim.url,
            "ARGOCD_USERNAME": "admin",
            "ARGOCD_PASSWORD": "admin",
            "BELAY_TOKEN_JSON_LOGS": TOKEN,
        }
        command = [sys.executable, "-m", "belay.cli", "--log-format", "json", "--log-level"]
        command += ["INFO", "serve", "--config", str(config), "--port", str(port)]
        with stderr_path.open("wb") as err, stdout_path.open("wb") as out:
            proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=out, stderr=err)
            url = f"http://127.0.0.1:{port}"
            try:
                wait_http(f"{url}/healthz", proc, timeout=60)
                bundle = portage_bundle(commit=COMMIT, remote=REMOTE)
                response = post_delivery(url, bundle, authorization=bearer(TOKEN))
                assert response.status_code == 200, response.text
                _wait_deployed(url)
                assert httpx.get(f"{url}/submissions", timeout=5).status_code == 200
                assert httpx.get(f"{url}/static/belay.css", timeout=5).status_code == 200
                assert httpx.get(f"{url}/nope", timeout=5).status_code == 404
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    lines = [
        line
        for text in (stderr_path.read_text(), stdout_path.read_text())
        for line in text.splitlines()
        if line.strip()
    ]
    events: list[dict[str, Any]] = []
    for line in lines:
        try:
            parsed = loads(line)
        except ValueError:
            raise AssertionError(f"not JSON: {line!r}") from None
        assert isinstance(parsed, dict) and "event" in parsed and "level" in parsed, line
        events.append(parsed)
    components = {str(e.get("component", "")) for e in events}
    assert any(c.startswith("alembic") for c in components), components
    assert any(c.startswith("uvicorn") for c in components), components
    assert "httpx" in components, components
    assert any(str(e["event"]).startswith("Belay listening on") for e in events)
    routes = {e.get("route") for e in events if e["event"] == "http.request"}
    assert {"/Build/SubmitArtifacts", "/submissions"} <= routes
    assert any(e["event"] == "deploy.finished" for e in events)
    assert TOKEN not in "\n".join(lines)
