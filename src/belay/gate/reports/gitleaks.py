"""gitleaks JSON (``gitleaks detect --report-format json``): an array of leaks.

The ``Secret`` and ``Match`` fields are never decoded: a finding keeps the rule, file, line,
commit and fingerprint only, so no leaked secret can reach a verdict, a log or the store.
"""

from __future__ import annotations

import msgspec

from belay.gate.reports._common import decode
from belay.gate.reports.model import Finding, Report, ReportKind

__all__ = ["parse"]


class _Leak(msgspec.Struct):
    RuleID: str
    File: str | None = None
    StartLine: int | None = None
    Commit: str | None = None
    Fingerprint: str | None = None


def parse(data: bytes, name: str) -> Report:
    """Parse a gitleaks JSON report."""
    leaks = decode(data, list[_Leak], name, "gitleaks")
    findings = tuple(
        Finding(
            id=leak.RuleID,
            severity="secret",
            path=leak.File,
            line=leak.StartLine,
            rule=leak.RuleID,
            fingerprint=leak.Fingerprint
            or (
                f"{leak.Commit}:{leak.File}:{leak.RuleID}:{leak.StartLine}" if leak.Commit else None
            ),
        )
        for leak in leaks
    )
    return Report(kind=ReportKind.gitleaks, name=name, producer="gitleaks", findings=findings)
