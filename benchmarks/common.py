"""What the benchmark modules share: figures, percentiles, server processes and Portage bundles."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from belay.gate import write_bundle
from belay.jsonio import dumps

REPO = Path(__file__).resolve().parents[1]
BELAY = str(Path(sys.executable).with_name("belay"))
TOKEN = "bench-submit-token-4Kx9"
BOUNDARY = "belay-bench-7c1d0e5a9f3b4c2d8e6f"


@dataclass
class Figure:
    """One measured figure, its goal and whether the goal is met."""

    name: str
    value: float | None
    unit: str
    goal: str
    met: bool | None
    reference: float | None = None
    ratio: float | None = None
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The figure's entry in the ``--json`` file."""
        out: dict[str, Any] = {
            "value": self.value,
            "unit": self.unit,
            "goal": self.goal,
            "met": self.met,
        }
        if self.reference is not None:
            out["reference"] = self.reference
            out["ratio"] = self.ratio
        if self.note:
            out["note"] = self.note
        if self.details:
            out["details"] = self.details
        return out


def failed(name: str, unit: str, goal: str, why: str) -> Figure:
    """A figure that could not be measured (reported, never hidden)."""
    return Figure(name=name, value=None, unit=unit, goal=goal, met=False, note=why)


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``values``."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_process(
    argv: Sequence[str], *, port: int, log: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv``, wait until ``/healthz`` answers on ``port``, stop it when the block ends."""
    environ = {**os.environ, **(env or {})}
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=environ, cwd=REPO)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{argv[0]} exited early: {log.read_text()[-2000:]}")
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{argv[0]} did not answer on port {port} within 60 s")
                time.sleep(0.1)
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)


def rss_mb(pid: int) -> float:
    """The resident set size of ``pid`` in MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


# --- Portage-shaped submissions ----------------------------------------------------------------


def realistic_reports(now: datetime, seed: int = 11) -> list[tuple[str, bytes, list[str]]]:
    """Portage's four reports for a small service: an SBOM of 230 components, 25 grype matches
    (Medium and below, so the default policy passes), 6 semgrep warnings, no secrets."""
    rng = random.Random(seed)
    stamp = now.isoformat()

    def hexid(n: int) -> str:
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))

    components = [
        {
            "bom-ref": f"pkg:npm/lib-{i}@{i % 9}.{i % 7}.{i % 5}?package-id={hexid(16)}",
            "type": "library",
            "name": f"lib-{i}",
            "version": f"{i % 9}.{i % 7}.{i % 5}",
            "purl": f"pkg:npm/lib-{i}@{i % 9}.{i % 7}.{i % 5}",
            "hashes": [{"alg": "SHA-256", "content": hexid(64)}],
            "licenses": [{"license": {"id": rng.choice(["MIT", "Apache-2.0", "ISC"])}}],
            "properties": [{"name": "syft:location:0:path", "value": f"/app/node_modules/lib-{i}"}],
        }
        for i in range(230)
    ]
    syft = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{hexid(32)}",
        "metadata": {
            "timestamp": stamp,
            "tools": {"components": [{"type": "application", "name": "syft", "version": "1.18.1"}]},
        },
        "components": components,
    }
    matches = [
        {
            "vulnerability": {
                "id": f"CVE-2024-{20000 + i}",
                "dataSource": f"https://nvd.nist.gov/vuln/detail/CVE-2024-{20000 + i}",
                "namespace": "nvd:cpe",
                "severity": rng.choice(["Medium", "Low", "Negligible"]),
                "description": f"A flaw in lib-{i * 7} allows a crafted input to {hexid(12)}.",
                "fix": {"versions": [f"{i % 9}.{i % 7}.{i % 5 + 1}"], "state": "fixed"},
            },
            "relatedVulnerabilities": [],
            "artifact": {
                "name": f"lib-{i * 7}",
                "version": f"{i % 9}.{i % 7}.{i % 5}",
                "type": "npm",
                "locations": [{"path": f"/app/node_modules/lib-{i * 7}/package.json"}],
            },
        }
        for i in range(25)
    ]
    grype = {
        "matches": matches,
        "source": {"type": "image", "target": {"userInput": "registry.example.com/app:latest"}},
        "descriptor": {"name": "grype", "version": "0.87.0", "timestamp": stamp},
    }
    semgrep = {
        "version": "1.100.0",
        "results": [
            {
                "check_id": f"javascript.lang.security.audit.rule-{i}",
                "path": f"src/handlers/h{i}.js",
                "start": {"line": 10 + i, "col": 5},
                "end": {"line": 12 + i, "col": 9},
                "extra": {
                    "severity": "WARNING",
                    "message": f"Possible issue {hexid(10)} in handler {i}",
                    "metadata": {"impact": "LOW", "confidence": "LOW"},
                },
            }
            for i in range(6)
        ],
        "errors": [],
        "paths": {"scanned": [f"src/handlers/h{i}.js" for i in range(40)]},
    }
    return [
        ("syft-sbom-report.json", dumps(syft), ["type:syft"]),
        ("grype-vulnerability-report.json", dumps(grype), ["type:grype"]),
        ("semgrep-sast-report.json", dumps(semgrep), ["type:semgrep"]),
        ("gitleaks-secrets-report.json", b"[]", ["type:gitleaks"]),
    ]


def commit_for(n: int) -> str:
    """A distinct 40-hex commit for submission ``n`` (so every idempotency key differs)."""
    return f"{n:08x}".rjust(40, "c")


def make_bundles(count: int, remotes: Sequence[str]) -> list[bytes]:
    """``count`` distinct bundles (commit ``n``, remote ``remotes[n % len]``), built up front."""
    now = datetime.now(UTC)
    reports = realistic_reports(now)
    return [
        write_bundle(
            reports,
            created_at=now,
            commit=commit_for(n),
            branch="main",
            remote=remotes[n % len(remotes)],
        )
        for n in range(count)
    ]


def multipart_body(bundle: bytes) -> bytes:
    """The body Portage posts: the four form fields and the bundle file."""
    parts = []
    for name, value in (
        ("action", "deploy"),
        ("status", "success"),
        ("validation", "passed"),
        ("policy", "fetched"),
    ):
        head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    parts.append(
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="bundle"; '
            'filename="gatecheck-bundle.tar.gz"\r\nContent-Type: application/gzip\r\n\r\n'
        ).encode()
        + bundle
        + b"\r\n"
    )
    parts.append(f"--{BOUNDARY}--\r\n".encode())
    body = b"".join(parts)
    if body.count(BOUNDARY.encode()) != 6:
        raise RuntimeError("the multipart boundary occurs inside a bundle")
    return body


CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def write_body_files(bodies: Sequence[bytes], folder: Path) -> tuple[Path, Path]:
    """Write ``bodies`` one after the other to ``bodies.bin`` and their byte ranges (``start
    length`` per line) to ``offsets.txt`` in ``folder``, for the load generators to read."""
    data, offsets = folder / "bodies.bin", folder / "offsets.txt"
    position, lines = 0, []
    with data.open("wb") as out:
        for body in bodies:
            out.write(body)
            lines.append(f"{position} {len(body)}")
            position += len(body)
    offsets.write_text("\n".join(lines) + "\n")
    return data, offsets


def project_yaml(name: str, remote: str, application: str | None) -> str:
    """One ``projects`` entry of belay.yaml, authenticated by the bench token's hash."""
    from belay.intake import hash_token

    argocd = (
        f"\n    argocd: {{application: {application}, project: default}}" if application else ""
    )
    return (
        f"  - name: {name}\n"
        f'    match: {{remote: "{remote}", branch: main}}\n'
        f"    token_sha256: [{hash_token(TOKEN)}]{argocd}\n"
        f"    sync: {{revision: commit, prune: true, timeoutSeconds: 120}}\n"
    )


def settings_yaml(database_url: str, projects: Sequence[str], extra: str = "") -> str:
    """A belay.yaml with the packaged default policy and no rate limit (the load is ours)."""
    from belay.policies import PACKAGED_POLICIES

    return (
        f'database_url: "{database_url}"\n'
        "public_url: http://127.0.0.1\n"
        f"policies:\n  default: {PACKAGED_POLICIES / 'default.yaml'}\n"
        "intake:\n  rate_limit_per_minute: 0\n"
        f"{extra}"
        "projects:\n" + "".join(projects)
    )
