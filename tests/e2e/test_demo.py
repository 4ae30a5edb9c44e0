"""`belay demo`: both verdicts, a deployment that ends Synced+Healthy, an intact chain, a table
that fits 100 columns, and a temporary folder removed on SIGTERM as on Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

EVENTS = ("submission.received", "verdict.decided", "deployment.succeeded", "sync.requested")


def test_demo_once() -> None:
    """The demo runs in a fresh process, shows PASS and FAIL, deploys, and exits 0; its audit
    table fits 100 columns with whole words and named actors; it prints no address that is
    gone once it has exited."""
    result = subprocess.run(
        [sys.executable, "-m", "belay.cli", "demo", "--once", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "PASS" in out
    assert "FAIL" in out
    assert "CVE-2024-3094" in out
    assert "Synced + Healthy" in out
    assert "Audit chain: intact" in out
    assert "AKIA" not in out + result.stderr
    assert max(len(line) for line in out.splitlines()) <= 100
    rows = [line for line in out.splitlines() if line.startswith("│")]
    cells = {cell.strip() for row in rows for cell in row.split("│")}
    assert set(EVENTS) <= cells
    assert {"example-app CI", "Belay worker"} <= cells
    assert "token:" not in out and "token_sha256" not in out
    assert "http://" not in out and "/submissions/" not in out


def test_demo_sigterm_removes_its_folder(tmp_path: Path) -> None:
    """SIGTERM while the demo serves stops it like Ctrl-C: exit 0, its temp folder is gone."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "belay.cli", "demo", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        seen: list[str] = []
        for line in proc.stdout:
            seen.append(line)
            if line.startswith("Serving until"):
                break
        assert any("Open the audit page: http://127.0.0.1:" in line for line in seen), seen
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith("belay-demo-")]
        proc.send_signal(signal.SIGTERM)
        rest, errors = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "".join(seen) + rest + errors
    assert "Stopping." in rest
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("belay-demo-")] == []
