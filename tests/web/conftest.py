"""A running Belay (simulator, gate on uvicorn in a thread, optional worker) and Portage bundles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import (
    bearer,
    free_port,
    portage_bundle,
    serve_services,
    submit_for_verdict,
    wait_until,
)

from belay.bootstrap import Services, build_services
from belay.config.settings import load_settings
from belay.gate.samples import sample_reports
from belay.jsonio import dumps, loads
from belay.policies import packaged_policy
from belay.sim.sample import sample_state
from belay.sim.testing import RunningSimulator, running_simulator
from belay.store import JobRecord

REPO = Path(__file__).resolve().parents[2]
REMOTE = "https://gitlab.com/HolomuaTech/belay-portage-gitlab-example-app.git"
PASS_COMMIT = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
FAIL_COMMIT = "9a8b7c6d5e4f30211a2b3c4d5e6f708192a3b4c5"
SUBMIT_TOKEN = "web-submit-token-Zq81"
OTHER_TOKEN = "web-other-token-Pw22"
READ_TOKEN = "web-read-token-Lk55-canary"
FAILING_ID = "GHSA-cchq-frgv-rjh5"
"""A Critical vm2 finding in the grype fixture: fails grype.critical."""
ACCEPTED_ID = "GHSA-6g6m-m6h5-w9gf"
"""A High express-jwt finding: accepted by the test policy's exception."""


def clean_reports(now: datetime) -> list[tuple[str, bytes, list[str]]]:
    """The four reports Portage's image and code scans produce, with nothing to fail on."""
    return sample_reports(now)


def failing_reports(shared_dir: Path) -> list[tuple[str, bytes, list[str]]]:
    """The clean set with a fresh cut of the real grype fixture: one Critical finding (fails)
    and one High finding that the policy's exception accepts."""
    reports = [r for r in clean_reports(datetime.now(UTC)) if "grype" not in r[0]]
    grype = loads((shared_dir / "fixtures/scans/grype-report.json").read_bytes())
    keep = {FAILING_ID, ACCEPTED_ID}
    grype["matches"] = [m for m in grype["matches"] if m["vulnerability"]["id"] in keep]
    assert len(grype["matches"]) == 2
    grype["descriptor"]["timestamp"] = datetime.now(UTC).isoformat()
    return [*reports, ("grype-vulnerability-report.json", dumps(grype), ["type:grype"])]


def bundle(
    reports: list[tuple[str, bytes, list[str]]] | None = None,
    *,
    commit: str = PASS_COMMIT,
    branch: str = "main",
) -> bytes:
    """A gatecheck bundle as Portage builds it."""
    return portage_bundle(reports, commit=commit, remote=REMOTE, branch=branch)


def write_policy(folder: Path) -> Path:
    """The default policy plus one live exception (so the page has an accepted finding)."""
    text = packaged_policy("default").read_text()
    exception = (
        "exceptions:\n"
        f"    - {{id: {ACCEPTED_ID}, package: express-jwt, reason: tokens verified upstream,"
        " owner: team-payments, expires: 2099-12-31}\n"
    )
    assert "exceptions: []" in text
    path = folder / "policy.yaml"
    path.write_text(text.replace("exceptions: []\n", exception))
    return path


@dataclass
class Belay:
    """A running gate (and, when asked, its worker and the simulator behind it)."""

    url: str
    services: Services
    sim: RunningSimulator | None = None
    config: Path | None = None

    def override_sync(self, commit: str, *, reason: str, actor: str = "alice") -> None:
        """`belay sync guestbook --revision COMMIT --override-gate --reason ...` (queued only),
        as its own process: the served app's worker deploys it."""
        import subprocess
        import sys

        assert self.config is not None
        args = ["sync", "guestbook", "--revision", commit, "--override-gate", "--reason", reason]
        result = subprocess.run(
            [sys.executable, "-m", "belay.cli", *args, "--actor", actor, "-c", str(self.config)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr

    def submit(self, data: bytes, token: str = SUBMIT_TOKEN) -> dict[str, Any]:
        """POST a bundle the way Portage does; the verdict document."""
        return submit_for_verdict(self.url, data, authorization=bearer(token))

    def wait_for_job(self, decision_state: str = "succeeded", timeout: float = 60) -> None:
        """Wait until no job is queued or running (bounded); fail if none reached the state."""

        def jobs() -> list[JobRecord]:
            with self.services.store.unit_of_work() as uow:
                return uow.jobs.list()

        def ended() -> list[JobRecord]:
            found = jobs()
            return found if all(j.state not in ("queued", "running") for j in found) else []

        done = wait_until(
            ended,
            timeout=timeout,
            what=lambda: f"jobs still pending: {[j.state for j in jobs()]}",
        )
        assert any(j.state == decision_state for j in done), [j.state for j in done]


def settings_text(database_url: str, policy: Path, *, public_url: str, extra: str = "") -> str:
    """belay.yaml: one project mapped to the simulator's guestbook app, one other project."""
    return f"""
database_url: "{database_url}"
public_url: {public_url}
policies:
  default: {policy}
intake: {{rate_limit_per_minute: 0}}
worker: {{poll_interval_seconds: 0.05, backoff_base_seconds: 0.05, backoff_max_seconds: 0.2}}
{extra}
projects:
  - name: example-app
    match: {{remote: "{REMOTE}", branch: main}}
    token_env: BELAY_TOKEN_WEB_EXAMPLE
    argocd: {{instance: default, application: guestbook, project: default}}
    sync: {{revision: commit, timeoutSeconds: 60}}
  - name: other-app
    match: {{remote: "https://gitlab.com/acme/other.git"}}
    token_env: BELAY_TOKEN_WEB_OTHER
    argocd: {{application: other}}
"""


def start_belay(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    extra: str = "",
    with_worker: bool = False,
    database_url: str | None = None,
    public_url: str | None = None,
) -> Iterator[Belay]:
    """Serve Belay (and the simulator plus one worker when ``with_worker``) until closed."""
    monkeypatch.setenv("BELAY_TOKEN_WEB_EXAMPLE", SUBMIT_TOKEN)
    monkeypatch.setenv("BELAY_TOKEN_WEB_OTHER", OTHER_TOKEN)
    state = sample_state()
    state["syncBehavior"] = {"guestbook": {"seconds": 0.2, "health": "Healthy"}}
    with running_simulator(state) as sim:
        monkeypatch.setenv("ARGOCD_BASE_URL", sim.url)
        monkeypatch.setenv("ARGOCD_USERNAME", "admin")
        monkeypatch.setenv("ARGOCD_PASSWORD", "admin")
        port = free_port()
        path = tmp_path / "belay.yaml"
        path.write_text(
            settings_text(
                database_url or f"sqlite:///{tmp_path / 'belay.db'}",
                write_policy(tmp_path),
                public_url=public_url or f"http://127.0.0.1:{port}",
                extra=extra,
            )
        )
        services = build_services(load_settings(path))
        workers = 1 if with_worker else 0
        try:
            with serve_services(services, workers=workers, port=port, join_timeout=15) as url:
                yield Belay(url=url, services=services, sim=sim, config=path)
        finally:
            services.close()


@pytest.fixture
def belay(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Belay]:
    """Belay in loopback mode (no token, no proxy), no worker."""
    yield from start_belay(tmp_path, monkeypatch)


@pytest.fixture
def belay_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Belay]:
    """Belay whose page and read APIs need the read token."""
    monkeypatch.setenv("BELAY_WEB_READ_TOKEN", READ_TOKEN)
    yield from start_belay(tmp_path, monkeypatch, extra="web_token_env: BELAY_WEB_READ_TOKEN")


@pytest.fixture
def deployed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_dir: Path
) -> Iterator[tuple[Belay, dict[str, Any], dict[str, Any]]]:
    """Belay with a worker: one passing bundle deployed to Healthy, one failing bundle judged."""
    monkeypatch.setenv("BELAY_WEB_READ_TOKEN", READ_TOKEN)
    for running in start_belay(
        tmp_path, monkeypatch, extra="web_token_env: BELAY_WEB_READ_TOKEN", with_worker=True
    ):
        passing = running.submit(bundle(commit=PASS_COMMIT))
        failing = running.submit(bundle(failing_reports(shared_dir), commit=FAIL_COMMIT))
        running.wait_for_job("succeeded")
        yield running, passing, failing


def csrf_form(client: httpx.Client, **fields: str) -> dict[str, str]:
    """``fields`` plus the CSRF token of the sign-in page, as a browser would post them (the
    GET sets the CSRF cookie in ``client``'s jar)."""
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert found, page.text
    return {**fields, "csrf_token": found.group(1)}


def read_headers() -> dict[str, str]:
    """The read token as a bearer header."""
    return {"Authorization": f"Bearer {READ_TOKEN}"}
