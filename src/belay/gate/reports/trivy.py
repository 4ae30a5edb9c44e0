"""trivy JSON (``trivy image -f json``, schema version 2): ``Results[].Vulnerabilities[]``.

Only vulnerabilities are judged; trivy's misconfiguration and secret results are not read.
"""

from __future__ import annotations

import msgspec

from belay.gate.reports._common import decode, parse_time, severity_from
from belay.gate.reports.model import Finding, Report, ReportKind

__all__ = ["parse"]


class _Vulnerability(msgspec.Struct):
    VulnerabilityID: str
    PkgName: str | None = None
    InstalledVersion: str | None = None
    Severity: str | None = None
    VendorIDs: list[str] | None = None
    FixedVersion: str | None = None
    PrimaryURL: str | None = None


class _Result(msgspec.Struct):
    Target: str | None = None
    Vulnerabilities: list[_Vulnerability] | None = None


class _Document(msgspec.Struct):
    SchemaVersion: int
    Results: list[_Result] | None = None
    CreatedAt: str | None = None


# trivy's severities (pkg/types severity names).
_SEVERITIES = {s: s for s in ("critical", "high", "medium", "low", "unknown")}


def parse(data: bytes, name: str) -> Report:
    """Parse a trivy JSON report."""
    doc = decode(data, _Document, name, "trivy")
    findings = []
    for r, result in enumerate(doc.Results or ()):
        for v, vuln in enumerate(result.Vulnerabilities or ()):
            aliases = tuple(v for v in vuln.VendorIDs or () if v != vuln.VulnerabilityID)
            findings.append(
                Finding(
                    id=vuln.VulnerabilityID,
                    severity=severity_from(
                        _SEVERITIES,
                        vuln.Severity,
                        name,
                        f"Results[{r}].Vulnerabilities[{v}].Severity",
                    ),
                    aliases=aliases,
                    package=vuln.PkgName,
                    version=vuln.InstalledVersion,
                    path=result.Target,
                    fixed_in=vuln.FixedVersion or None,
                    url=vuln.PrimaryURL or None,
                )
            )
    return Report(
        kind=ReportKind.trivy,
        name=name,
        producer="trivy",
        findings=tuple(findings),
        created_at=parse_time(doc.CreatedAt),
    )
