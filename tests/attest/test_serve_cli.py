"""Signed verdicts end to end with real processes: `belay keys generate`, `belay serve` with the
simulator, the attestation routes, and `belay attest verify`'s exit codes (0, 1, 2)."""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.support import (
    bearer,
    free_port,
    portage_bundle,
    start_server,
    stopped_at_exit,
    submit_for_verdict,
    wait_http,
)

from belay.jsonio import dumps, loads
from belay.policies import PACKAGED_POLICIES
from belay.sim.sample import sample_state

REMOTE = "https://gitlab.com/acme/guestbook.git"
COMMIT = "3c9a1e5f7b2d4c6e8a0b1c2d3e4f5a6b7c8d9e0f"
TOKEN = "attest-submit-token-8Wd3"
READ_TOKEN = "attest-read-token-Jd72-canary"
BELAY = [sys.executable, "-m", "belay.cli"]


def _cli(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    stdin: bytes | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BELAY, *args],
        env=env or dict(os.environ),
        cwd=cwd,
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class Running:
    url: str
    env: dict[str, str]
    keys: Path
    keyid: str
    gate: subprocess.Popen[bytes]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    """A key pair from `belay keys generate`, the simulator and a signing `belay serve`."""
    generated = _cli("keys", "generate", "--out", str(tmp_path / "keys"))
    assert generated.returncode == 0, generated.stderr
    keyid = next(
        line.split()[-1] for line in generated.stdout.splitlines() if line.startswith("keyid:")
    )
    state = sample_state()
    state["syncBehavior"] = {"guestbook": {"seconds": 0.1, "health": "Healthy"}}
    (tmp_path / "state.json").write_bytes(dumps(state))
    sim_port, gate_port = free_port(), free_port()
    (tmp_path / "belay.yaml").write_text(
        f"""
database_url: sqlite:///{tmp_path / "belay.db"}
public_url: http://127.0.0.1:{gate_port}
web_token_env: BELAY_TOKEN_READ
signing_key_file: keys/belay-signing.key.pem
signing_key_created: 2026-12-01
policies: {{default: {PACKAGED_POLICIES / "default.yaml"}}}
worker: {{poll_interval_seconds: 0.05, backoff_base_seconds: 0.05, backoff_max_seconds: 0.2}}
projects:
  - name: guestbook
    match: {{remote: "{REMOTE}", branch: main}}
    token_env: BELAY_TOKEN_GUESTBOOK
    argocd: {{application: guestbook, project: default}}
    sync: {{revision: commit, timeoutSeconds: 60}}
"""
    )
    env = {
        **os.environ,
        "ARGOCD_BASE_URL": f"http://127.0.0.1:{sim_port}",
        "ARGOCD_USERNAME": "admin",
        "ARGOCD_PASSWORD": "admin",
        "BELAY_TOKEN_GUESTBOOK": TOKEN,
        "BELAY_TOKEN_READ": READ_TOKEN,
    }
    sim = start_server(
        [*BELAY, "sim", "argocd", "--port", str(sim_port), "--state", str(tmp_path / "state.json")],
        env=env,
    )
    gate = start_server(
        [
            *BELAY,
            "--log-level",
            "INFO",
            "serve",
            "--config",
            "belay.yaml",
            "--port",
            str(gate_port),
        ],
        env=env,
        cwd=tmp_path,
    )
    with stopped_at_exit(gate, sim):
        wait_http(f"http://127.0.0.1:{sim_port}/api/version", sim, timeout=60)
        wait_http(f"http://127.0.0.1:{gate_port}/healthz", gate, timeout=60)
        yield Running(f"http://127.0.0.1:{gate_port}", env, tmp_path / "keys", keyid, gate)


def _submit(url: str) -> dict[str, object]:
    data = portage_bundle(commit=COMMIT, remote=REMOTE)
    return submit_for_verdict(url, data, authorization=bearer(TOKEN))


def _read(url: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(
        f"{url}{path}", params=params, headers={"Authorization": f"Bearer {READ_TOKEN}"}, timeout=10
    )


def test_keys_generate_writes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    """The private key file is mode 0600 and never overwritten (exit 2, one line, no traceback)."""
    first = _cli("keys", "generate", "--out", str(tmp_path / "k"))
    assert first.returncode == 0, first.stderr
    private = tmp_path / "k" / "belay-signing.key.pem"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert "PRIVATE KEY" in private.read_text()
    assert "PRIVATE KEY" not in first.stdout + first.stderr
    before = private.read_bytes()
    again = _cli("keys", "generate", "--out", str(tmp_path / "k"))
    assert again.returncode == 2
    assert again.stderr.startswith("error: ") and "never overwritten" in again.stderr
    assert "Traceback" not in again.stderr
    assert private.read_bytes() == before


def test_signed_verdict_served_verified_and_deployed(running: Running, tmp_path: Path) -> None:
    """A pass carries an absolute attestationUrl; the envelope is served with read access, its
    digest is in the audit trail, the keys are public, the page links it, the worker deploys
    it, and `belay attest verify` accepts it (0) and refuses changes (1) and bad input (2)."""
    url = running.url
    verdict = _submit(url)
    assert verdict["decision"] == "pass"
    attestation_url = str(verdict["attestationUrl"])
    assert attestation_url.startswith(f"{url}/api/v1/attestations/")
    decision_id = attestation_url.rsplit("/", 1)[1]

    assert httpx.get(attestation_url, timeout=10).status_code == 401
    served = httpx.get(
        attestation_url, headers={"Authorization": f"Bearer {READ_TOKEN}"}, timeout=10
    )
    assert served.status_code == 200
    envelope = served.content
    digest = hashlib.sha256(envelope).hexdigest()
    found = _read(url, "/api/v1/attestations", application="guestbook", revision=COMMIT)
    assert found.content == envelope
    assert _read(url, "/api/v1/attestations/nope").status_code == 404

    audit = _read(url, "/api/v1/audit", decision_id=decision_id).json()
    decided = next(e for e in audit["events"] if e["kind"] == "verdict.decided")
    assert decided["data"]["attestation"] == {"sha256": digest, "keyid": running.keyid}

    keys = httpx.get(f"{url}/api/v1/attestation-keys", timeout=10)  # no credentials
    assert keys.status_code == 200
    [key] = keys.json()["keys"]
    assert key["keyid"] == running.keyid
    assert key["current"] is True and key["retired"] is None
    assert key["created"].startswith("2026-12-01")
    assert key["pem"] == (running.keys / "belay-signing.pub.pem").read_text()

    submission = str(verdict["detailsUrl"]).rsplit("/", 1)[1]
    page = _read(url, f"/submissions/{submission}")
    assert f'href="/api/v1/attestations/{decision_id}"' in page.text

    deadline = time.monotonic() + 60
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        status = _read(url, "/api/v1/decisions", application="guestbook", revision=COMMIT).json()
        if status["deployment"] not in ("queued", "running"):
            break
        time.sleep(0.1)
    assert status["deployment"] == "succeeded", status

    envelope_file = tmp_path / "verdict.dsse.json"
    envelope_file.write_bytes(envelope)
    public = str(running.keys / "belay-signing.pub.pem")
    ok = _cli("attest", "verify", str(envelope_file), "--key", public, "--commit", COMMIT)
    assert ok.returncode == 0, ok.stderr
    assert f"valid: signed by key {running.keyid}" in ok.stdout
    assert "decision: pass" in ok.stdout
    as_json = _cli(
        "attest",
        "verify",
        "-",
        "--key",
        public,
        "--require-pass",
        "--output",
        "json",
        stdin=envelope,
    )
    assert as_json.returncode == 0, as_json.stderr
    assert loads(as_json.stdout)["commit"] == COMMIT

    # 1: valid JSON and key, but not what it claims.
    other = _cli("attest", "verify", str(envelope_file), "--key", public, "--commit", "a" * 40)
    assert other.returncode == 1
    assert other.stderr.startswith("error: invalid: ") and "not " + "a" * 40 in other.stderr
    document = loads(envelope)
    body = bytearray(base64.b64decode(document["payload"]))
    body[-3] ^= 0x01
    document["payload"] = base64.b64encode(bytes(body)).decode()
    flipped = tmp_path / "flipped.json"
    flipped.write_bytes(dumps(document))
    changed = _cli("attest", "verify", str(flipped), "--key", public)
    assert changed.returncode == 1
    assert "does not verify" in changed.stderr
    assert _cli("keys", "generate", "--out", str(tmp_path / "other")).returncode == 0
    wrong = _cli(
        "attest",
        "verify",
        str(envelope_file),
        "--key",
        str(tmp_path / "other/belay-signing.pub.pem"),
    )
    assert wrong.returncode == 1
    assert "no signature by a trusted key" in wrong.stderr

    # 2: inputs that cannot be used, each one line naming the input.
    (tmp_path / "junk.json").write_text("{not json")
    cases = {
        "cannot read": ["attest", "verify", str(tmp_path / "missing.json"), "--key", public],
        "not JSON": ["attest", "verify", str(tmp_path / "junk.json"), "--key", public],
        "public key": ["attest", "verify", str(envelope_file), "--key", str(envelope_file)],
        "file not found": [
            "attest",
            "verify",
            str(envelope_file),
            "--key",
            str(tmp_path / "no.pem"),
        ],
        "--commit": ["attest", "verify", str(envelope_file), "--key", public, "--commit", "zz"],
    }
    for needle, args in cases.items():
        result = _cli(*args)
        assert result.returncode == 2, (needle, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and needle in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.stderr

    running.gate.terminate()
    running.gate.wait(timeout=20)
    logs = running.gate.stderr.read().decode() if running.gate.stderr else ""
    private = (running.keys / "belay-signing.key.pem").read_text()
    secret_line = next(line for line in private.splitlines() if "-----" not in line)
    assert secret_line not in logs


def test_serve_refuses_to_start_with_an_unusable_key(tmp_path: Path) -> None:
    """A key named in belay.yaml but missing is one line and exit 2: never a silent unsigned run."""
    (tmp_path / "belay.yaml").write_text(
        f"database_url: sqlite:///{tmp_path / 'b.db'}\nsigning_key_file: keys/nope.pem\n"
    )
    result = _cli("serve", "--config", "belay.yaml", "--port", str(free_port()), cwd=tmp_path)
    assert result.returncode == 2
    assert "signing_key_file" in result.stderr and "file not found" in result.stderr
    assert "Traceback" not in result.stderr
    (tmp_path / "belay.yaml").write_text(
        f"database_url: sqlite:///{tmp_path / 'b.db'}\nsigning_key_env: BELAY_SIGNING_KEY\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "BELAY_SIGNING_KEY"}
    unset = _cli(
        "serve", "--config", "belay.yaml", "--port", str(free_port()), cwd=tmp_path, env=env
    )
    assert unset.returncode == 2
    assert "BELAY_SIGNING_KEY is not set" in unset.stderr
