"""deploy/gitlab-ci: the example job's script lines, run by bash with curl against a real `belay serve`.

The lines are read from the YAML (not copied), run in one bash session with ``set -eo pipefail``
as GitLab's shell executor does, with GitLab's predefined variables set and Belay's CLI on PATH
(the job's before_script installs it; here it is the project's own environment).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.support import free_port, start_server, stopped_at_exit, wait_http

from belay.jsonio import dumps, loads
from belay.policies import packaged_policy

REPO = Path(__file__).resolve().parents[2]
CI_DIR = REPO / "deploy" / "gitlab-ci"
BELAY = [sys.executable, "-m", "belay.cli"]
PROJECT_URL = "https://gitlab.example.com/platform/example-app"
COMMIT = "5d41402abc4b2a76b9719d911017c592ae4f0b1c"
TOKEN = "gitlab-ci-submit-token-Zt81"


@dataclass
class Gate:
    """A running `belay serve` and what the job needs to reach it."""

    url: str
    config: Path
    env: dict[str, str]


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Gate]:
    """`belay serve` (SQLite, no worker: this test is about the verdict, not the sync)."""
    port = free_port()
    config = tmp_path / "belay.yaml"
    config.write_text(
        f"""
database_url: sqlite:///{tmp_path / "belay.db"}
public_url: http://127.0.0.1:{port}
policies: {{default: {packaged_policy("default")}}}
projects:
  - name: example-app
    match: {{remote: "{PROJECT_URL}.git", branch: main}}
    token_env: BELAY_TOKEN_EXAMPLE_APP
    argocd: {{application: example-app, project: default}}
""",
        encoding="utf-8",
    )
    env = {**os.environ, "BELAY_TOKEN_EXAMPLE_APP": TOKEN}
    proc = start_server(
        [*BELAY, "serve", "--config", str(config), "--port", str(port), "--no-worker"],
        env=env,
        cwd=tmp_path,
    )
    with stopped_at_exit(proc):
        # /readyz answers {"ready": true} only from a migrated Belay: another program that
        # happens to hold the port cannot pass for it.
        wait_http(
            f"http://127.0.0.1:{port}/readyz", proc, ready=lambda r: r.json() == {"ready": True}
        )
        yield Gate(url=f"http://127.0.0.1:{port}", config=config, env=env)


def _job(path: Path, name: str) -> dict[str, Any]:
    pipeline = yaml.safe_load(path.read_text(encoding="utf-8"))
    job = pipeline[name]
    assert isinstance(job, dict)
    return job


def _write_reports(folder: Path, *, leaked_secret: bool = False) -> None:
    """Portage's four reports under their Portage file names, fresh, nothing to fail on."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).isoformat()
    syft = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {"timestamp": stamp, "tools": {"components": [{"name": "syft"}]}},
        "components": [],
    }
    grype = {"matches": [], "descriptor": {"name": "grype", "timestamp": stamp}}
    semgrep = {"results": [], "errors": [], "version": "1.100.0"}
    leaks: list[dict[str, Any]] = []
    if leaked_secret:
        leaks.append(
            {
                "Description": "Generic API Key",
                "RuleID": "generic-api-key",
                "File": "config/settings.py",
                "StartLine": 3,
                "Secret": "not-a-real-key-but-shaped-like-one-0123456789",
                "Match": "API_KEY = 'not-a-real-key-but-shaped-like-one-0123456789'",
                "Commit": COMMIT,
                "Fingerprint": f"{COMMIT}:config/settings.py:generic-api-key:3",
            }
        )
    (folder / "syft-sbom-report.json").write_bytes(dumps(syft))
    (folder / "grype-vulnerability-report-full.json").write_bytes(dumps(grype))
    (folder / "semgrep-sast-report.json").write_bytes(dumps(semgrep))
    (folder / "gitleaks-secrets-report.json").write_bytes(dumps(leaks))


def _run_job(gate: Gate, workdir: Path, *, token: str = TOKEN) -> subprocess.CompletedProcess[str]:
    job = _job(CI_DIR / ".gitlab-ci.yml", "belay-gate")
    pipeline = yaml.safe_load((CI_DIR / ".gitlab-ci.yml").read_text(encoding="utf-8"))
    script = "\n".join(["set -eo pipefail", *job["script"]])
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **gate.env,
        **{k: str(v) for k, v in pipeline.get("variables", {}).items()},
        "PATH": f"{bin_dir}{os.pathsep}{gate.env.get('PATH', '')}",
        "BELAY_URL": gate.url,
        "BELAY_TOKEN": token,
        "CI_COMMIT_SHA": COMMIT,
        "CI_COMMIT_REF_NAME": "main",
        "CI_PROJECT_URL": PROJECT_URL,
        "CI_REPOSITORY_URL": f"https://gitlab-ci-token:glcbt-secret@{PROJECT_URL[8:]}.git",
    }
    env.pop("BELAY_TOKEN_EXAMPLE_APP", None)  # the job only knows its own token
    return subprocess.run(
        ["bash", "-c", script],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _audit_kinds(gate: Gate) -> list[str]:
    args = ["audit", "trace", "--commit", COMMIT, "--output", "json", "--config", str(gate.config)]
    result = subprocess.run(
        [*BELAY, *args],
        env=gate.env,
        cwd=gate.config.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [event["kind"] for event in loads(result.stdout)]


@pytest.fixture(autouse=True)
def _needs_curl() -> None:
    assert shutil.which("curl"), "curl is needed (Debian package curl) to run the GitLab example"


def test_example_job_passes_and_belay_stores_the_submission(gate: Gate, tmp_path: Path) -> None:
    """The job's bundle + curl lines get a pass verdict, exit 0, and Belay records the submission."""
    work = tmp_path / "job"
    _write_reports(work / "artifacts")
    result = _run_job(gate, work)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Belay answered HTTP 200" in result.stdout
    verdict = loads((work / "belay-verdict.json").read_bytes())["verdict"]
    assert verdict["decision"] == "pass"
    assert verdict["detailsUrl"].startswith(gate.url)
    kinds = _audit_kinds(gate)
    assert kinds[:3] == ["submission.received", "verdict.decided", "job.queued"]
    # The bundle carries the project URL, never the job token of CI_REPOSITORY_URL.
    assert b"glcbt-secret" not in (work / "gatecheck-bundle.tar.gz").read_bytes()


def test_example_job_fails_on_a_fail_verdict(gate: Gate, tmp_path: Path) -> None:
    """A leaked secret: Belay answers 200 with a fail verdict, the job prints why and exits 1."""
    work = tmp_path / "job"
    _write_reports(work / "artifacts", leaked_secret=True)
    result = _run_job(gate, work)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Belay answered HTTP 200" in result.stdout
    assert "[fail] gitleaks.secrets" in result.stdout
    assert loads((work / "belay-verdict.json").read_bytes())["verdict"]["decision"] == "fail"
    kinds = _audit_kinds(gate)
    assert "verdict.decided" in kinds
    assert "job.queued" not in kinds


def test_example_job_fails_on_a_wrong_token(gate: Gate, tmp_path: Path) -> None:
    """A token Belay does not know: HTTP 401, the job shows Belay's one-line reason and exits 1."""
    work = tmp_path / "job"
    _write_reports(work / "artifacts")
    result = _run_job(gate, work, token="not-the-project-token")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Belay answered HTTP 401" in result.stdout
    assert "does not match any configured project" in result.stdout
    assert "not-the-project-token" not in result.stdout + result.stderr


def test_portage_variant_posts_to_belay_with_an_authorization_variable() -> None:
    """The Portage variant runs Portage's pipeline, and .portage.yml posts to Belay's webhook."""
    job = _job(CI_DIR / "portage-cd.gitlab-ci.yml", "portage")
    assert job["image"].startswith("ghcr.io/easy-up/portage:")
    assert any("portage run" in line for line in job["script"])
    portage = yaml.safe_load((CI_DIR / ".portage.yml").read_text(encoding="utf-8"))
    deploy = portage["deploy"]
    assert deploy["enabled"] is True
    hooks = deploy["successWebhooks"]
    assert hooks
    assert all(h["url"].endswith("/Build/SubmitArtifacts") for h in hooks)
    assert all(h["authorizationVar"] == "BELAY_AUTHORIZATION" for h in hooks)
    assert portage["gatecheckBundleFilename"] == "gatecheck-bundle.tar.gz"
