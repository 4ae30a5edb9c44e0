"""A running gate (belay serve's app on uvicorn in a thread) and Portage-shaped bundles."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from tests.support import bearer, portage_bundle, post_delivery

from belay.bootstrap import Services, build_services
from belay.config.settings import load_settings
from belay.gate.samples import sample_reports
from belay.policies import PACKAGED_POLICIES
from belay.web import create_app, serve_in_thread

REPO = Path(__file__).resolve().parents[2]
REMOTE = "https://gitlab.com/HolomuaTech/belay-portage-gitlab-example-app.git"
COMMIT = "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c"
TOKEN = "submit-token-canary-7Hq2"
OTHER_TOKEN = "other-project-token-91x"


def clean_reports(now: datetime) -> list[tuple[str, bytes, list[str]]]:
    """The four reports Portage's image and code scans produce, with nothing to fail on."""
    return sample_reports(now)


def bundle(
    reports: list[tuple[str, bytes, list[str]]] | None = None,
    *,
    commit: str = COMMIT,
    remote: str = REMOTE,
    branch: str = "main",
    created_at: datetime | None = None,
) -> bytes:
    """A gatecheck bundle as Portage builds it."""
    return portage_bundle(
        reports, commit=commit, remote=remote, branch=branch, created_at=created_at
    )


def post(
    gate: Gate,
    data: bytes,
    *,
    token: str | None = TOKEN,
    fields: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST /Build/SubmitArtifacts the way Portage does (multipart, verbatim Authorization)."""
    authorization = bearer(token) if token is not None else None
    return post_delivery(
        gate.url, data, authorization=authorization, fields=fields, headers=headers
    )


@dataclass
class Gate:
    """A gate being served."""

    url: str
    services: Services


def settings_text(database_url: str, **intake: object) -> str:
    """A belay.yaml for the tests: one project mapped to the guestbook app, one unmapped."""
    limits = "".join(f"  {k}: {v}\n" for k, v in intake.items()) or "  rate_limit_per_minute: 0\n"
    return f"""
database_url: "{database_url}"
public_url: http://belay.test
policies:
  default: {PACKAGED_POLICIES / "default.yaml"}
intake:
{limits}
projects:
  - name: example-app
    match: {{remote: "{REMOTE}", branch: main}}
    token_env: [BELAY_TOKEN_EXAMPLE_APP]
    webhook_secret_env: BELAY_WEBHOOK_SECRET_EXAMPLE_APP
    argocd: {{instance: default, application: guestbook, project: default}}
    sync: {{revision: commit, prune: true}}
  - name: other-app
    match: {{remote: "https://gitlab.com/acme/other.git"}}
    token_env: BELAY_TOKEN_OTHER
    argocd: {{application: other}}
"""


WEBHOOK_KEY = b"k" * 32


@pytest.fixture
def gate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The submit tokens and webhook secret in the environment."""
    import base64

    monkeypatch.setenv("BELAY_TOKEN_EXAMPLE_APP", TOKEN)
    monkeypatch.setenv("BELAY_TOKEN_OTHER", OTHER_TOKEN)
    monkeypatch.setenv(
        "BELAY_WEBHOOK_SECRET_EXAMPLE_APP", "whsec_" + base64.b64encode(WEBHOOK_KEY).decode()
    )


def start_gate(tmp_path: Path, database_url: str, **intake: object) -> Iterator[Gate]:
    """Write belay.yaml, build the services and serve the app until the generator closes."""
    path = tmp_path / "belay.yaml"
    path.write_text(settings_text(database_url, **intake))
    services = build_services(load_settings(path))
    try:
        with serve_in_thread(create_app(services)) as url:
            yield Gate(url=url, services=services)
    finally:
        services.close()


@pytest.fixture
def gate(tmp_path: Path, database_url: str, gate_env: None) -> Iterator[Gate]:
    """A gate on the backend under test (SQLite and PostgreSQL)."""
    yield from start_gate(tmp_path, database_url)
