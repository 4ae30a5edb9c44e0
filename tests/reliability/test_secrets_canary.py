"""Secrets canary: unique Argo CD token, Argo CD password, submit token and webhook secret are
configured and really used (deliveries authenticate with them, wrong ones are refused, the
submit token is rotated), then none of them may appear anywhere Belay writes or answers."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tarfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support import (
    bearer,
    delivery_request,
    free_port,
    signed_webhook_headers,
    wait_http,
)

from belay.gate import write_bundle
from belay.policies import PACKAGED_POLICIES
from belay.sim.testing import RunningSimulator, running_simulator
from belay.store import Store

from .helpers import (
    FAST_WORKER,
    BundleFactory,
    accepted_syncs,
    all_jobs,
    commit_for,
    multi_app_state,
    remote,
    wait_jobs_ended,
)

pytestmark = pytest.mark.reliability

_RUN = uuid.uuid4().hex
ARGO_TOKEN = f"eyJhbGciOiJub25lIn0.eyJzdWIiOiJjYW5hcnkifQ.argoTokenCanary{_RUN}"
ARGO_PASSWORD = f"argo-password-canary-{_RUN}"
SUBMIT_TOKEN = f"submit-token-canary-{_RUN}"
SUBMIT_TOKEN_NEW = f"submit-token-rotated-canary-{_RUN}"
WEBHOOK_KEY = f"webhook-key-canary-{_RUN}".encode()
WEBHOOK_SECRET = "whsec_" + base64.b64encode(WEBHOOK_KEY).decode()
PORTAGE_HEADER = f"Bearer portage-webhook-canary-{_RUN}"
REGISTRY_PASSWORD = f"registry-password-canary-{_RUN}"
WRONG = {
    "argo_token": f"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ3cm9uZyJ9.wrongArgoCanary{_RUN}",
    "argo_password": f"wrong-argo-password-canary-{_RUN}",
    "submit": f"wrong-submit-canary-{_RUN}",
    "webhook": f"wrong-webhook-key-canary-{_RUN}".encode(),
}
CANARIES = {
    "argo token": ARGO_TOKEN,
    "argo token signature": ARGO_TOKEN.rsplit(".", 1)[1],
    "argo password": ARGO_PASSWORD,
    "submit token": SUBMIT_TOKEN,
    "rotated submit token": SUBMIT_TOKEN_NEW,
    "webhook secret": WEBHOOK_SECRET,
    "webhook secret body": WEBHOOK_SECRET.removeprefix("whsec_"),
    "wrong argo token": WRONG["argo_token"],
    "wrong argo password": WRONG["argo_password"],
    "wrong submit token": WRONG["submit"],
    "Portage webhook header (in a bundle)": PORTAGE_HEADER.removeprefix("Bearer "),
    "registry password (in a bundle)": REGISTRY_PASSWORD,
}
APPS = ["canary-tok", "canary-pw"]
_RBAC = [
    "p, role:x, applications, get, default/*, allow",
    "p, role:x, applications, sync, default/*, allow",
]


def _instances(sim: RunningSimulator, *, token: str, password: str) -> str:
    return json.dumps(
        [
            {"name": "tok", "base_url": sim.url, "bearer_token": token},
            {"name": "pw", "base_url": sim.url, "username": "belay-pw", "password": password},
        ]
    )


def _config(database_url: str) -> str:
    worker = ", ".join(f"{k}: {v}" for k, v in FAST_WORKER.items())
    return f"""database_url: "{database_url}"
public_url: http://belay.test
policies:
  default: {PACKAGED_POLICIES / "default.yaml"}
intake: {{rate_limit_per_minute: 0}}
worker: {{{worker}}}
projects:
  - name: canary-tok
    match: {{remote: "{remote("canary-tok")}"}}
    token_env: BELAY_TOKEN_CANARY
    argocd: {{instance: tok, application: canary-tok}}
    sync: {{timeoutSeconds: 60}}
  - name: canary-pw
    match: {{remote: "{remote("canary-pw")}"}}
    webhook_secret_env: BELAY_WEBHOOK_CANARY
    argocd: {{instance: pw, application: canary-pw}}
    sync: {{timeoutSeconds: 60}}
"""


class _Gate:
    """``belay serve`` as a subprocess, its output appended to one log file."""

    def __init__(self, config: Path, log: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "belay.cli",
                    "serve",
                    "--config",
                    str(config),
                    "--port",
                    str(self.port),
                    "--worker",
                ],
                env=env,
                stdout=out,
                stderr=out,
            )
        wait_http(f"{self.url}/healthz", proc=self.proc)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


def _post(
    client: httpx.Client,
    url: str,
    data: bytes,
    *,
    token: str | None = None,
    key: bytes | None = None,
) -> httpx.Response:
    request = delivery_request(url, data, client=client)
    if token is not None:
        request.headers["authorization"] = bearer(token)
    if key is not None:
        webhook_id = f"msg_{uuid.uuid4().hex}"
        request.headers.update(signed_webhook_headers(key, request.content, webhook_id))
    return client.send(request)


def _dump(database_url: str, tmp_path: Path) -> str:
    """A full dump of the store: sqlite3's iterdump, or pg_dump for PostgreSQL."""
    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
            return "\n".join(conn.iterdump())
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed to dump the PostgreSQL store"
    result = subprocess.run(
        [
            pg_dump,
            "--no-owner",
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            url.database or "",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={**os.environ, "PGPASSWORD": url.password or ""},
    )
    return result.stdout


def _with_portage_config(bundle: bytes) -> bytes:
    """The bundle with Portage's configuration added, holding the bundle canaries."""
    config = json.dumps(
        {
            "ImageTag": "registry.example/app:1",
            "ImagePublish": {"Password": REGISTRY_PASSWORD},
            "Deploy": {"Enabled": True, "WebhookAuthHeader": PORTAGE_HEADER},
        }
    ).encode()
    files = []
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(bundle)), mode="r:") as archive:
        for member in archive:
            handle = archive.extractfile(member)
            if handle is not None and member.name != "gatecheck-manifest.json":
                files.append((member.name, handle.read(), []))
    files.append(("portage-config.json", config, ["type:portage-config"]))
    return write_bundle(
        files,
        created_at=datetime.now(UTC),
        commit=commit_for(8, "c"),
        branch="main",
        remote=remote("canary-tok"),
    )


def _opened_blobs(store: Store) -> str:
    """Every stored bundle opened: the inflated stream and each archive member, as text.

    A compressed blob hides its contents from a dump and from grep, so the canary opens it.
    """
    texts = []
    with store.unit_of_work() as uow:
        for submission in uow.submissions.list(limit=10_000):
            blob = uow.submissions.bundle(submission.id)
            if not blob:
                continue
            raw = gzip.decompress(blob)
            texts.append(raw.decode("utf-8", errors="replace"))
            with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as archive:
                for member in archive:
                    handle = archive.extractfile(member)
                    if handle is not None:
                        texts.append(handle.read().decode("utf-8", errors="replace"))
    assert texts, "no stored bundle to open"
    return "\n".join(texts)


def _transcript(response: httpx.Response) -> str:
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return f"{response.request.method} {response.request.url} -> {response.status_code}\n{headers}\n{response.text}"


def test_secrets_are_used_and_never_leak(database_url: str, tmp_path: Path) -> None:
    config = tmp_path / "belay.yaml"
    config.write_text(_config(database_url))
    log = tmp_path / "belay.log"
    seen: list[str] = []  # every HTTP answer and CLI output, for the final scan
    accounts: list[dict[str, Any]] = [
        {"name": "admin", "password": "admin"},
        {"name": "belay-webhook", "token": ARGO_TOKEN, "policies": _RBAC},
        {"name": "belay-pw", "password": ARGO_PASSWORD, "policies": _RBAC},
    ]
    bundles = BundleFactory()
    with running_simulator(multi_app_state(APPS, accounts=accounts)) as sim:
        base_env = {
            **os.environ,
            "ARGOCD_INSTANCES": _instances(sim, token=ARGO_TOKEN, password=ARGO_PASSWORD),
            "BELAY_WEBHOOK_CANARY": WEBHOOK_SECRET,
            "BELAY_LOG_LEVEL": "DEBUG",  # the most verbose logs are the most to check
        }
        gate = _Gate(config, log, {**base_env, "BELAY_TOKEN_CANARY": SUBMIT_TOKEN})
        try:
            with httpx.Client(timeout=30) as client:
                # Used: a token delivery and a signed webhook delivery both pass and deploy.
                ok_tok = _post(
                    client,
                    gate.url,
                    bundles("canary-tok", commit_for(1, "c"), passing=True),
                    token=SUBMIT_TOKEN,
                )
                ok_pw = _post(
                    client,
                    gate.url,
                    bundles("canary-pw", commit_for(2, "c"), passing=True),
                    key=WEBHOOK_KEY,
                )
                failing = _post(
                    client,
                    gate.url,
                    bundles("canary-tok", commit_for(3, "c"), passing=False),
                    token=SUBMIT_TOKEN,
                )
                # Wrong ones are refused.
                bad_tok = _post(
                    client,
                    gate.url,
                    bundles("canary-tok", commit_for(4, "c"), passing=True),
                    token=WRONG["submit"],
                )
                bad_sig = _post(
                    client,
                    gate.url,
                    bundles("canary-pw", commit_for(5, "c"), passing=True),
                    key=WRONG["webhook"],
                )
                seen += [_transcript(r) for r in (ok_tok, ok_pw, failing, bad_tok, bad_sig)]
                assert (
                    ok_tok.status_code == 200 and ok_tok.json()["verdict"]["decision"] == "pass"
                ), ok_tok.text
                assert ok_pw.status_code == 200 and ok_pw.json()["verdict"]["decision"] == "pass", (
                    ok_pw.text
                )
                assert failing.json()["verdict"]["decision"] == "fail"
                assert bad_tok.status_code == 401
                assert bad_sig.status_code == 401
                store = Store(database_url)
                wait_jobs_ended(store, expected=2, timeout=120)
                # A bundle carrying Portage's configuration, with its webhook header and a
                # registry password: judged, stored, and never shown or kept in clear.
                with_config = _post(
                    client,
                    gate.url,
                    _with_portage_config(bundles("canary-tok", commit_for(8, "c"), passing=True)),
                    token=SUBMIT_TOKEN,
                )
                seen.append(_transcript(with_config))
                assert with_config.json()["verdict"]["decision"] == "pass", with_config.text
                wait_jobs_ended(store, expected=3, timeout=120)
                assert {j.state for j in all_jobs(store)} == {"succeeded"}
                # Rotation: the gate restarts with a new submit token; the old one stops working.
                gate.stop()
                gate = _Gate(config, log, {**base_env, "BELAY_TOKEN_CANARY": SUBMIT_TOKEN_NEW})
                old = _post(
                    client,
                    gate.url,
                    bundles("canary-tok", commit_for(6, "c"), passing=True),
                    token=SUBMIT_TOKEN,
                )
                new = _post(
                    client,
                    gate.url,
                    bundles("canary-tok", commit_for(7, "c"), passing=True),
                    token=SUBMIT_TOKEN_NEW,
                )
                seen += [_transcript(r) for r in (old, new)]
                assert old.status_code == 401
                assert new.status_code == 200, new.text
                wait_jobs_ended(store, expected=4, timeout=120)
                # Every page and read API a user could open.
                sub_id = new.json()["verdict"]["detailsUrl"].rsplit("/", 1)[1]
                for path in (
                    "/",
                    "/submissions",
                    f"/submissions/{sub_id}",
                    "/api/v1/decisions",
                    "/api/v1/submissions",
                    "/api/v1/audit",
                    "/api/v1/alerts",
                    "/metrics",
                    "/openapi.json",
                    "/readyz",
                ):
                    response = client.get(f"{gate.url}{path}")
                    seen.append(_transcript(response))
                    assert response.status_code < 500, (path, response.text[:300])
        finally:
            gate.stop()
        syncs = accepted_syncs(sim)
        assert {r.account for r in syncs} == {"belay-webhook", "belay-pw"}, (
            "a credential was not used"
        )
        # The CLI with right and wrong Argo CD credentials.
        cli = [sys.executable, "-m", "belay.cli"]
        for token, password, code in (
            (ARGO_TOKEN, ARGO_PASSWORD, 0),
            (WRONG["argo_token"], WRONG["argo_password"], 1),
        ):
            env = {**base_env, "ARGOCD_INSTANCES": _instances(sim, token=token, password=password)}
            verify = subprocess.run(
                [*cli, "integrations", "verify", "argocd", "--all", "--output", "json"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            seen.append(verify.stdout + verify.stderr)
            assert verify.returncode == code, verify.stdout + verify.stderr
        alert = tmp_path / "alert.json"
        alert.write_text(
            json.dumps(
                {
                    "alert_name": "CanaryDown",
                    "argocd_application": "canary-tok",
                    "annotations": {"summary": "down", "argocd_instance": "tok"},
                }
            )
        )
        investigate = subprocess.run(
            [*cli, "investigate", "-i", str(alert), "--config", str(config), "--output", "json"],
            env={**base_env, "BELAY_TOKEN_CANARY": SUBMIT_TOKEN_NEW},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        seen.append(investigate.stdout + investigate.stderr)
        assert investigate.returncode == 0, investigate.stderr

    with store.unit_of_work() as uow:
        audit = json.dumps([e.model_dump(mode="json") for e in uow.audit.list(limit=10_000)])
    errors = json.dumps([j.model_dump(mode="json") for j in all_jobs(store)])
    blobs = _opened_blobs(store)
    store.dispose()
    places = {
        "log file": log.read_text(errors="replace"),
        "database dump": _dump(database_url, tmp_path),
        "HTTP answers and CLI output": "\n".join(seen),
        "audit events": audit,
        "jobs (outcomes and errors)": errors,
        "stored bundles, opened": blobs,
    }
    assert "deploy.finished" in places["log file"], "the log file holds nothing to check"
    leaks = [
        f"{name} in {where}"
        for where, text in places.items()
        for name, value in CANARIES.items()
        if value in text
    ]
    assert not leaks, leaks
