"""grype native JSON (``grype -o json``): ``matches[]`` of vulnerability + artifact.

Only the fields the gate needs are declared, so msgspec skips the rest of each match (CVSS,
descriptions, match details) without building Python objects for it. The matches are first kept
as raw slices of the input and decoded one at a time, each turned into a finding at once, so
memory holds the input and the findings but never every decoded match besides.
"""

from __future__ import annotations

import msgspec

from belay.gate.reports._common import decode, decode_guarded, parse_time, severity_from
from belay.gate.reports.model import Finding, Report, ReportKind

__all__ = ["parse"]


class _Epss(msgspec.Struct, gc=False):
    cve: str | None = None
    epss: float | None = None


class _Fix(msgspec.Struct, gc=False):
    versions: list[str] | None = None


class _Vulnerability(msgspec.Struct, gc=False):
    id: str
    severity: str | None = None
    dataSource: str | None = None
    fix: _Fix | None = None
    epss: list[_Epss] | None = None
    knownExploited: list[object] | None = None


class _Related(msgspec.Struct, gc=False):
    id: str


class _Location(msgspec.Struct, gc=False):
    path: str | None = None


class _Artifact(msgspec.Struct, gc=False):
    name: str | None = None
    version: str | None = None
    locations: list[_Location] | None = None


class _Match(msgspec.Struct, gc=False):
    vulnerability: _Vulnerability
    artifact: _Artifact | None = None
    relatedVulnerabilities: list[_Related] | None = None


class _Descriptor(msgspec.Struct):
    name: str | None = None
    timestamp: str | None = None


class _Document(msgspec.Struct):
    matches: list[msgspec.Raw] | None
    descriptor: _Descriptor | None = None


_match_decoder = msgspec.json.Decoder(_Match)

# grype's severities (its vulnerability.Severity values), written capitalised.
_SEVERITIES = {s: s for s in ("critical", "high", "medium", "low", "negligible", "unknown")}


def parse(data: bytes, name: str) -> Report:
    """Parse a grype JSON report."""
    doc = decode(data, _Document, name, "grype")
    findings: list[Finding] = []
    append = findings.append
    for index, raw in enumerate(doc.matches or ()):
        match = decode_guarded(_match_decoder, raw, name, f"grype matches[{index}] of a grype")
        vuln = match.vulnerability
        vid = vuln.id
        related = match.relatedVulnerabilities
        aliases: tuple[str, ...] = tuple({r.id for r in related if r.id != vid}) if related else ()
        epss = None
        if vuln.epss:
            scores = [e.epss for e in vuln.epss if e.epss is not None]
            epss = max(scores) if scores else None
        artifact = match.artifact
        path = None
        if artifact is not None and artifact.locations:
            path = artifact.locations[0].path
        append(
            Finding(
                id=vid,
                severity=severity_from(
                    _SEVERITIES, vuln.severity, name, f"matches[{index}].vulnerability.severity"
                ),
                aliases=aliases,
                package=artifact.name if artifact is not None else None,
                version=artifact.version if artifact is not None else None,
                path=path,
                epss=epss,
                kev=bool(vuln.knownExploited),
                fixed_in=", ".join(vuln.fix.versions) if vuln.fix and vuln.fix.versions else None,
                url=vuln.dataSource or None,
            )
        )
    descriptor = doc.descriptor
    return Report(
        kind=ReportKind.grype,
        name=name,
        producer="grype",
        findings=tuple(findings),
        created_at=parse_time(descriptor.timestamp) if descriptor is not None else None,
    )
