"""Portage-shaped sample reports, for the demo, the tests and the benchmarks.

They are small but real in shape: each parses with the gate's parsers and is judged by the shipped
default policy (clean ones pass, failing ones fail ``grype.critical`` and ``gitleaks.secrets``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from belay.jsonio import dumps

__all__ = ["sample_reports"]


def sample_reports(
    now: datetime, *, failing: bool = False, commit: str = "0" * 40
) -> list[tuple[str, bytes, list[str]]]:
    """The four reports of Portage's scans (syft, grype, semgrep, gitleaks) dated ``now``.

    Clean by default; ``failing`` adds the xz backdoor (CVE-2024-3094, Critical) and a leaked
    AWS key found in ``commit``. Entries are ``(file name, bytes, bundle tags)``.
    """
    stamp = now.isoformat()
    syft = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "metadata": {
            "timestamp": stamp,
            "tools": {"components": [{"type": "application", "name": "syft", "version": "1.18.1"}]},
        },
        "components": [
            {"type": "library", "name": "xz-utils", "version": "5.6.0" if failing else "5.4.5"},
            {"type": "library", "name": "openssl", "version": "3.0.13"},
        ],
    }
    matches = []
    if failing:
        matches.append(
            {
                "vulnerability": {
                    "id": "CVE-2024-3094",
                    "severity": "Critical",
                    "description": "Malicious code in the xz upstream tarballs (liblzma backdoor).",
                    "fix": {"versions": ["5.6.2"], "state": "fixed"},
                },
                "artifact": {"name": "xz-utils", "version": "5.6.0", "type": "deb"},
            }
        )
    grype = {
        "matches": matches,
        "source": {"type": "image"},
        "descriptor": {"name": "grype", "version": "0.87.0", "timestamp": stamp},
    }
    semgrep = {
        "version": "1.100.0",
        "results": [],
        "errors": [],
        "paths": {"scanned": ["app/main.py"]},
    }
    leaks: list[dict[str, Any]] = []
    if failing:
        leaks.append(
            {
                "Description": "AWS Access Key",
                "StartLine": 12,
                "EndLine": 12,
                "File": "config/settings.py",
                "RuleID": "aws-access-token",
                "Secret": "AKIA" + "Q" * 16,
                "Match": "aws_access_key_id = AKIA" + "Q" * 16,
                "Commit": commit,
                "Fingerprint": f"{commit}:config/settings.py:aws-access-token:12",
            }
        )
    return [
        ("syft-sbom-report.json", dumps(syft), ["type:syft"]),
        ("grype-vulnerability-report.json", dumps(grype), ["type:grype"]),
        ("semgrep-sast-report.json", dumps(semgrep), ["type:semgrep"]),
        ("gitleaks-secrets-report.json", dumps(leaks), ["type:gitleaks"]),
    ]
