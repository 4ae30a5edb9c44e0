"""CycloneDX JSON (syft, grype or trivy SBOMs): components and, when present, vulnerabilities.

A vulnerability's severity is the highest of its ratings (sources disagree; the gate takes the
worst). Its package comes from ``affects[].ref`` resolved through the components' ``bom-ref``.
"""

from __future__ import annotations

import msgspec

from belay.gate.errors import ReportError
from belay.gate.reports._common import cvss_band, decode, parse_time, severity_from
from belay.gate.reports.model import Finding, Report, ReportKind

__all__ = ["parse"]

_RANK = {
    "critical": 6,
    "high": 5,
    "medium": 4,
    "low": 3,
    "negligible": 2,
    "info": 2,
    "none": 1,
    "unknown": 0,
}


class _Rating(msgspec.Struct):
    severity: str | None = None
    score: float | None = None


# CycloneDX 1.4-1.6 severity enumeration.
_SEVERITIES = {s: s for s in ("critical", "high", "medium", "low", "info", "none", "unknown")}


def _from_score(score: float | None) -> str:
    """A rating with a score but no severity: the CVSS bands (a missing score is unknown)."""
    if score is None or score != score:  # NaN
        return "unknown"
    return cvss_band(score)


class _Affect(msgspec.Struct):
    ref: str | None = None


class _Reference(msgspec.Struct):
    id: str | None = None


class _Vulnerability(msgspec.Struct):
    id: str
    ratings: list[_Rating] | None = None
    affects: list[_Affect] | None = None
    references: list[_Reference] | None = None


class _Component(msgspec.Struct):
    bom_ref: str | None = msgspec.field(default=None, name="bom-ref")
    name: str | None = None
    version: str | None = None


class _Tool(msgspec.Struct):
    name: str | None = None


class _Tools(msgspec.Struct):
    components: list[_Tool] | None = None
    services: list[_Tool] | None = None


class _Metadata(msgspec.Struct):
    timestamp: str | None = None
    tools: list[_Tool] | _Tools | None = None


class _Document(msgspec.Struct):
    bomFormat: str
    metadata: _Metadata | None = None
    components: list[_Component] | None = None
    vulnerabilities: list[_Vulnerability] | None = None


def _producer(metadata: _Metadata | None) -> str:
    if metadata is None or metadata.tools is None:
        return "cyclonedx"
    tools = metadata.tools
    if isinstance(tools, _Tools):
        listed = (tools.components or []) + (tools.services or [])
    else:
        listed = tools
    for tool in listed:
        if tool.name:
            return tool.name.lower()
    return "cyclonedx"


def parse(data: bytes, name: str) -> Report:
    """Parse a CycloneDX JSON document."""
    doc = decode(data, _Document, name, "CycloneDX")
    if doc.bomFormat != "CycloneDX":
        raise ReportError(name, f"bomFormat is {doc.bomFormat!r}, not 'CycloneDX'")
    components = {c.bom_ref: c for c in doc.components or () if c.bom_ref}
    findings = []
    for v, vuln in enumerate(doc.vulnerabilities or ()):
        severity = "unknown"
        for r, rating in enumerate(vuln.ratings or ()):
            candidate = severity_from(
                _SEVERITIES,
                rating.severity,
                name,
                f"vulnerabilities[{v}].ratings[{r}].severity",
                missing=_from_score(rating.score),
            )
            if _RANK[candidate] > _RANK[severity]:
                severity = candidate
        aliases = tuple(sorted({r.id for r in vuln.references or () if r.id and r.id != vuln.id}))
        package = version = None
        for affect in vuln.affects or ():
            if not affect.ref:
                continue
            component = components.get(affect.ref)
            if component is not None:
                package, version = component.name, component.version
            else:
                package = affect.ref
            break
        findings.append(
            Finding(
                id=vuln.id, severity=severity, aliases=aliases, package=package, version=version
            )
        )
    metadata = doc.metadata
    return Report(
        kind=ReportKind.cyclonedx,
        name=name,
        producer=_producer(metadata),
        findings=tuple(findings),
        created_at=parse_time(metadata.timestamp) if metadata is not None else None,
        components=len(doc.components or ()),
    )
