"""semgrep JSON (``semgrep scan --json``): ``results[]`` with ``extra.severity`` and impact.

Results marked ``is_ignored`` (a ``nosemgrep`` comment in the gated repository) are kept: the
repository being judged does not get to waive its own findings.
"""

from __future__ import annotations

import msgspec

from belay.gate.errors import ReportError
from belay.gate.reports._common import decode, severity_from
from belay.gate.reports.model import Finding, Report, ReportKind

__all__ = ["parse"]


class _Position(msgspec.Struct):
    line: int | None = None


class _Metadata(msgspec.Struct):
    impact: str | None = None


class _Extra(msgspec.Struct):
    severity: str | None = None
    fingerprint: str | None = None
    metadata: _Metadata | None = None


class _Result(msgspec.Struct):
    check_id: str
    path: str | None = None
    start: _Position | None = None
    extra: _Extra | None = None


class _Error(msgspec.Struct):
    level: str | None = None
    type: str | list[object] | None = None


class _Document(msgspec.Struct):
    results: list[_Result]
    version: str | None = None
    errors: list[_Error] | None = None


# semgrep's match severities (semgrep-interfaces' match_severity): rules may declare the newer
# CRITICAL/HIGH/MEDIUM/LOW, written verbatim into the JSON, besides ERROR/WARNING/INFO. The
# policy's vocabulary is ERROR/WARNING/INFO, so the newer words map onto it (as semgrep's own
# SARIF output does), and the finding keeps the word the rule used.
_SEVERITY = {
    "error": "error",
    "warning": "warning",
    "info": "info",
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "info",
    "inventory": "info",
    "experiment": "info",
}


def parse(data: bytes, name: str) -> Report:
    """Parse a semgrep JSON report."""
    doc = decode(data, _Document, name, "semgrep")
    for index, error in enumerate(doc.errors or ()):
        # A rule or a target that failed at level "error" (an invalid rule, a crash) means some
        # code was not scanned: not a clean result. Parse errors of single files are "warn".
        if (error.level or "").lower() == "error":
            kind = error.type if isinstance(error.type, str) else "an error"
            raise ReportError(
                name, f"errors[{index}] is {kind[:60]!r} at level error: the scan is incomplete"
            )
    findings = []
    for index, result in enumerate(doc.results):
        extra = result.extra or _Extra()
        severity = severity_from(
            _SEVERITY, extra.severity, name, f"results[{index}].extra.severity"
        )
        label = extra.severity if extra.severity and extra.severity.lower() != severity else None
        impact = extra.metadata.impact if extra.metadata is not None else None
        findings.append(
            Finding(
                id=result.check_id,
                severity=severity,
                path=result.path,
                line=result.start.line if result.start is not None else None,
                rule=result.check_id,
                fingerprint=extra.fingerprint,
                label=label,
                impact=impact.lower() if isinstance(impact, str) else None,
            )
        )
    return Report(kind=ReportKind.semgrep, name=name, producer="semgrep", findings=tuple(findings))
