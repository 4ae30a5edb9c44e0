"""Fixtures for the gate tests: the shared scan fixtures and builders for small reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from belay import jsonio


@pytest.fixture(scope="session")
def scans(shared_dir: Path) -> Path:
    """The folder of real scanner reports (``fixtures/scans``)."""
    return shared_dir / "fixtures" / "scans"


def grype_match(
    vid: str,
    severity: str,
    *,
    package: str = "pkg",
    version: str = "1.0",
    related: tuple[str, ...] = (),
    epss: float | None = None,
    kev: bool = False,
) -> dict[str, Any]:
    """One grype match in grype's JSON shape (with the newer epss/knownExploited fields)."""
    vuln: dict[str, Any] = {"id": vid, "severity": severity, "dataSource": "x", "cvss": []}
    if epss is not None:
        vuln["epss"] = [{"cve": vid, "epss": epss, "percentile": 0.5, "date": "2025-01-01"}]
    if kev:
        vuln["knownExploited"] = [{"cve": vid, "knownRansomwareCampaignUse": "Unknown"}]
    return {
        "vulnerability": vuln,
        "relatedVulnerabilities": [{"id": r, "severity": severity} for r in related],
        "matchDetails": [],
        "artifact": {"name": package, "version": version, "type": "npm", "locations": []},
    }


def grype_report(*matches: dict[str, Any], timestamp: str = "2025-06-01T12:00:00Z") -> bytes:
    """A grype JSON document holding ``matches``."""
    return jsonio.dumps(
        {
            "matches": list(matches),
            "source": {"type": "image", "target": {"userInput": "app"}},
            "distro": {"name": "debian", "version": "12"},
            "descriptor": {"name": "grype", "version": "0.80.0", "timestamp": timestamp},
        }
    )


@pytest.fixture
def make_grype() -> Callable[..., bytes]:
    """Builder for grype reports (see :func:`grype_report`)."""
    return grype_report
