"""Benchmark: read + parse + judge a large grype report against orjson.loads of the same bytes.

Generates a deterministic ~40 MB grype report with 100,000 matches (not committed), then
measures, in one run and with the garbage collector on:

* ``orjson.loads(bytes)`` (the baseline),
* ``parse_report`` + ``evaluate`` under Portage's default policy plus KEV and EPSS data,

prints both times and their ratio (target <= 1.5), and the peak memory of the gate path measured
with tracemalloc (target < 3x the file size). Then the same for the shared fixture reports.

Run: ``.venv/bin/python benchmarks/policy_eval.py [--matches N] [--repeat R]``; ``run.py`` takes
the synthetic report's figures from :func:`figures`.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import orjson

from belay.gate import (
    EpssScores,
    EvaluationContext,
    Intel,
    KevCatalog,
    Submission,
    evaluate,
    parse_policy_set,
    parse_report,
)

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import Figure

POLICY = """
grype:
  severityLimit: {critical: {enabled: true, limit: 0}, high: {enabled: true, limit: 0}}
  kevLimitEnabled: true
  epssLimit: {enabled: true, score: 0.9}
  epssRiskAcceptance: {enabled: true, score: 0.001}
semgrep:
  severityLimit: {error: {enabled: true, limit: 0}}
  impactRiskAcceptance: {enabled: true, low: true}
gitleaks: {limitEnabled: true}
"""
SEVERITIES = ["Critical", "High", "Medium", "Low", "Negligible", "Unknown"]


def make_grype_report(matches: int, seed: int = 7) -> bytes:
    """A deterministic grype JSON report with ``matches`` matches (~400 bytes each)."""
    rng = random.Random(seed)
    items = []
    for i in range(matches):
        cve = f"CVE-20{10 + i % 14}-{10000 + i}"
        ghsa = i % 3 == 0
        vid = f"GHSA-{i:04x}-{i % 9999:04d}-abcd" if ghsa else cve
        items.append(
            {
                "vulnerability": {
                    "id": vid,
                    "dataSource": f"https://nvd.nist.gov/vuln/detail/{cve}",
                    "namespace": "nvd:cpe",
                    "severity": SEVERITIES[rng.randrange(6)],
                    "urls": [],
                    "cvss": [{"version": "3.1", "metrics": {"baseScore": 7.5}}],
                    "fix": {"versions": [], "state": "not-fixed"},
                },
                "relatedVulnerabilities": [{"id": cve}] if ghsa else [],
                "artifact": {
                    "name": f"package-{i % 5000}",
                    "version": f"{i % 7}.{i % 11}.{i % 13}",
                    "type": "npm",
                    "locations": [{"path": f"/app/node_modules/package-{i % 5000}/package.json"}],
                },
            }
        )
    doc = {
        "matches": items,
        "source": {"type": "image", "target": {"userInput": "bench"}},
        "descriptor": {"name": "grype", "version": "0.80.0", "timestamp": "2025-06-01T00:00:00Z"},
    }
    return orjson.dumps(doc)


def _timed(func: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def _peak(func: Callable[[], object]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(
    label: str, path: Path, repeat: int, context: EvaluationContext
) -> tuple[float, float, int]:
    """Print baseline and gate times, their ratio, and the gate path's peak memory; return
    (orjson.loads seconds, gate seconds, peak bytes)."""
    policy = parse_policy_set(POLICY, source="bench").default
    size = path.stat().st_size

    def baseline() -> object:
        return orjson.loads(path.read_bytes())

    def gate() -> object:
        report = parse_report(path.read_bytes(), path.name)
        return evaluate(Submission(reports=(report,)), policy, context)

    assert gc.isenabled()
    base = _timed(baseline, repeat)
    ours = _timed(gate, repeat)
    peak = _peak(gate)
    print(
        f"{label:<40} {size / 1e6:7.2f} MB  orjson.loads {base * 1000:8.1f} ms  "
        f"gate {ours * 1000:8.1f} ms  ratio {ours / base:5.2f}  "
        f"peak {peak / 1e6:7.1f} MB ({peak / size:4.2f}x file)"
    )
    return base, ours, peak


def bench_context() -> EvaluationContext:
    """KEV and EPSS data as a real deployment loads them (100,000 EPSS scores)."""
    return EvaluationContext(
        now=datetime(2025, 6, 2, tzinfo=UTC),
        intel=Intel(
            kev=KevCatalog(cves=frozenset(f"CVE-2015-{10000 + i}" for i in range(0, 100_000, 97))),
            epss=EpssScores(scores={f"CVE-2012-{10000 + i}": 0.0005 for i in range(100_000)}),
        ),
    )


def figures(quick: bool) -> list[Figure]:
    """The policy figures for ``benchmarks/run.py`` (the large synthetic report only)."""
    matches, repeat = (20_000, 3) if quick else (100_000, 5)
    work = Path(os.environ.get("TMPDIR", "/tmp")) / f"belay-bench-grype-{os.getpid()}.json"
    work.write_bytes(make_grype_report(matches))
    try:
        size = work.stat().st_size
        base, ours, peak = measure(
            f"synthetic grype ({matches} matches)", work, repeat, bench_context()
        )
    finally:
        work.unlink()
    where = f"{matches} matches, {size / 1e6:.1f} MB, best of {repeat}, GC on"
    return [
        Figure(
            name="policy.eval_vs_orjson",
            value=round(ours * 1000, 1),
            unit="ms",
            goal="<= 1.5 x orjson.loads of the same file",
            met=ours / base <= 1.5,
            reference=round(base * 1000, 1),
            ratio=round(ours / base, 3),
            note=where,
        ),
        Figure(
            name="policy.peak_memory",
            value=round(peak / 1e6, 1),
            unit="MB",
            goal="< 3 x file size",
            met=peak < 3 * size,
            reference=round(size / 1e6, 1),
            ratio=round(peak / size, 3),
            note="tracemalloc peak of read + parse + evaluate, against the file size",
        ),
    ]


def main() -> None:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    context = bench_context()
    work = Path(os.environ.get("TMPDIR", "/tmp")) / "belay-bench-grype.json"
    work.write_bytes(make_grype_report(args.matches))
    try:
        measure(f"synthetic grype ({args.matches} matches)", work, args.repeat, context)
    finally:
        work.unlink()
    shared = Path(
        os.environ.get("BELAY_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared")
    )
    scans = shared / "fixtures" / "scans"
    for name in (
        "grype-report.json",
        "semgrep-sast-report.json",
        "gitleaks-report.json",
        "cyclonedx-grype-sbom.json",
        "cyclonedx-trivy-sbom.json",
    ):
        if (scans / name).exists():
            measure(name, scans / name, max(args.repeat, 20), context)


if __name__ == "__main__":
    main()
