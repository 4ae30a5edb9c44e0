"""The typed result of parsing any report: a :class:`Report` holding :class:`Finding` values.

These are msgspec structs rather than pydantic models: a grype report can hold 100,000 matches,
and a finding must cost a few hundred nanoseconds and a few hundred bytes to build. ``gc=False``
is safe because findings hold only strings, numbers and tuples of strings (no cycles).
"""

from __future__ import annotations

import enum
from datetime import datetime

import msgspec

__all__ = ["Coverage", "Finding", "Report", "ReportKind"]


class ReportKind(enum.StrEnum):
    """Report formats Belay reads (detected from content)."""

    grype = "grype"
    cyclonedx = "cyclonedx"
    semgrep = "semgrep"
    gitleaks = "gitleaks"
    clamav = "clamav"
    coverage = "coverage"
    sarif = "sarif"
    trivy = "trivy"
    syft = "syft"
    """syft's native JSON SBOM."""
    spdx = "spdx"
    """An SPDX 2.x JSON SBOM."""


class Finding(msgspec.Struct, frozen=True, gc=False, omit_defaults=True):
    """One finding of any report.

    ``severity`` is lower case in the report's own vocabulary: ``critical/high/medium/low/
    negligible/unknown`` (grype, trivy, CycloneDX also ``none/info``), ``error/warning/info``
    (semgrep), ``error/warning/note/none`` (SARIF), ``secret`` (gitleaks), ``infected`` (ClamAV).
    ``rule`` is the rule that fired (semgrep check id, gitleaks rule id, SARIF ruleId); ``epss``
    and ``kev`` are what the report itself says (the policy's data files are consulted later).
    """

    id: str
    severity: str
    aliases: tuple[str, ...] = ()
    package: str | None = None
    version: str | None = None
    path: str | None = None
    line: int | None = None
    rule: str | None = None
    fingerprint: str | None = None
    epss: float | None = None
    kev: bool = False
    impact: str | None = None
    security_severity: str | None = None
    label: str | None = None
    """The report's own severity word when it differs from ``severity`` (semgrep ``CRITICAL``
    is judged as ``error``), so messages can show what the tool said."""


class Coverage(msgspec.Struct, frozen=True):
    """Coverage fractions (0..1); ``None`` where the format does not give that measure."""

    line: float | None = None
    function: float | None = None
    branch: float | None = None


class Report(msgspec.Struct, frozen=True):
    """A parsed report: its format, the tool that produced it, findings and a few facts.

    ``producer`` is the tool name in lower case (``grype``, ``syft``, ``trivy``, ``semgrep``, a
    SARIF driver name, ...); a syft SBOM is a CycloneDX report whose producer is ``syft``.
    ``created_at`` is the report's own timestamp when the format carries one.
    """

    kind: ReportKind
    name: str
    producer: str
    findings: tuple[Finding, ...] = ()
    created_at: datetime | None = None
    components: int = 0
    coverage: Coverage | None = None
    infected: int = 0

    @property
    def provides(self) -> frozenset[str]:
        """Names under which this report satisfies a required-report rule (kind and producer)."""
        return frozenset({self.kind.value, self.producer})
