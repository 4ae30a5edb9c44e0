"""Smoke tests of benchmarks/run.py: it starts, and its pieces work at a minimal size (no timing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``benchmarks`` importable as run.py does."""
    monkeypatch.syspath_prepend(str(REPO))


def test_run_help_lists_the_groups() -> None:
    """``benchmarks/run.py --help`` works from any folder and names every figure group."""
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for group in ("intake", "pipeline", "policy", "investigation", "memory", "--quick", "--json"):
        assert group in done.stdout


def test_bodies_are_distinct_portage_deliveries(bench_path: None) -> None:
    """Each pre-built body is a valid bundle with its own commit, in a well-formed multipart body."""
    from benchmarks.common import BOUNDARY, make_bundles, multipart_body

    from belay.gate import read_bundle

    bundles = make_bundles(3, ["https://gitlab.com/bench/a.git"])
    commits = {read_bundle(b, "b.tar.gz").manifest.context.commit_hash for b in bundles}  # type: ignore[union-attr]
    assert len(commits) == 3
    body = multipart_body(bundles[0])
    assert body.startswith(f"--{BOUNDARY}\r\n".encode())
    assert body.endswith(f"--{BOUNDARY}--\r\n".encode())
    assert 15_000 < len(bundles[0]) < 30_000


def test_investigation_figures_at_minimal_size(
    bench_path: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The investigation group runs against the simulator and reports both figures with goals."""
    from benchmarks import investigation

    monkeypatch.setattr(investigation, "APPS", 3)
    figures = investigation.measure(quick=True)
    assert [f.name for f in figures] == ["investigation.wall_time", "investigation.argocd_calls"]
    assert figures[1].value == 2  # GET the app, GET its managed resources
    assert [f.met for f in figures] == [True, True]


def test_table_and_json_shape(bench_path: None) -> None:
    """The table shows goal, met, reference and ratio; the JSON entry has the documented keys."""
    from benchmarks.common import Figure
    from benchmarks.run import table

    fig = Figure("x.rate", 12.5, "submissions/s", ">= 0.15 x reference", False, 100.0, 0.125)
    text = table([fig])
    assert "x.rate" in text and "NO" in text and "0.125" in text
    assert set(fig.as_json()) == {"value", "unit", "goal", "met", "reference", "ratio"}
