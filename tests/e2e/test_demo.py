"""`belay demo --once`: both verdicts, a deployment that ends Synced+Healthy, an intact chain."""

from __future__ import annotations

import subprocess
import sys


def test_demo_once() -> None:
    """The demo runs in a fresh process, shows PASS and FAIL, deploys, and exits 0."""
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
    assert "/submissions/" in out
    assert "AKIA" not in out + result.stderr
