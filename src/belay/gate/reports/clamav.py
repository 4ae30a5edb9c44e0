"""ClamAV ``clamscan`` text output: ``path: Signature FOUND`` lines and the scan summary.

The ``----------- SCAN SUMMARY -----------`` block with ``Infected files: N`` is required: without
it the scan did not finish (or the file was cut), and a partial scan is not a clean scan.
The infection count is the larger of the summary's number and the FOUND lines counted. Files
clamscan could not scan (``ERROR`` lines, ``Total errors: N``) are findings too: unscanned is
not clean.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from belay.gate.errors import ReportError
from belay.gate.reports.model import Finding, Report, ReportKind

__all__ = ["looks_like_clamav", "parse"]

_FOUND = re.compile(rb"^(?P<path>[^\n]+?): (?P<signature>\S[^\n]*?) FOUND[ \t\r]*$", re.M)
# clamscan's per-file error lines ("path: Can't open file or directory ERROR"): a file that
# could not be scanned is not a clean file.
_ERROR = re.compile(rb"^(?P<path>[^\n]+?): (?P<problem>\S[^\n]*?) ERROR[ \t\r]*$", re.M)
_INFECTED = re.compile(rb"^Infected files:[ \t]*(\d+)[ \t\r]*$", re.M)
_ERRORS = re.compile(rb"^Total errors:[ \t]*(\d+)[ \t\r]*$", re.M)
_SUMMARY = b"----------- SCAN SUMMARY -----------"
_DATE = re.compile(
    rb"^(?:End|Start) Date:[ \t]*(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)[ \t\r]*$", re.M
)


def looks_like_clamav(data: bytes) -> bool:
    """Tell whether ``data`` has the shape of clamscan output (searched as bytes, not decoded)."""
    return _SUMMARY in data or _INFECTED.search(data) is not None


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def parse(data: bytes, name: str) -> Report:
    """Parse clamscan output.

    Matching runs over the bytes: only the lines that matter are decoded, so a large report costs
    no decoded copy of itself.
    """
    summary = _INFECTED.search(data)
    if _SUMMARY not in data or summary is None:
        raise ReportError(name, "ClamAV report has no scan summary with 'Infected files: N'")
    findings = [
        Finding(
            id=_text(match.group("signature")),
            severity="infected",
            path=_text(match.group("path")),
            rule=_text(match.group("signature")),
        )
        for match in _FOUND.finditer(data)
    ]
    errors = [
        Finding(
            id=f"not scanned: {_text(match.group('problem'))}",
            severity="scan-error",
            path=_text(match.group("path")),
        )
        for match in _ERROR.finditer(data)
    ]
    counted = _ERRORS.search(data)
    unlisted_errors = max(0, int(counted.group(1)) - len(errors)) if counted else 0
    errors += [
        Finding(id="not scanned: counted in 'Total errors'", severity="scan-error")
        for _ in range(min(unlisted_errors, 1))
    ]
    created = None
    dates = _DATE.findall(data)
    if dates:
        year, month, day, hour, minute, second = (int(x) for x in dates[-1])
        try:
            created = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            created = None
    return Report(
        kind=ReportKind.clamav,
        name=name,
        producer="clamav",
        findings=tuple(findings + errors),
        infected=max(int(summary.group(1)), len(findings)),
        created_at=created,
    )
