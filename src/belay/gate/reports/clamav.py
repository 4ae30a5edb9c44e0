"""ClamAV ``clamscan`` text output: ``path: Signature FOUND`` lines and the scan summary.

The ``----------- SCAN SUMMARY -----------`` block with ``Infected files: N`` is required: without
it the scan did not finish (or the file was cut), and a partial scan is not a clean scan.
The infection count is the larger of the summary's number and the FOUND lines counted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from belay.gate.errors import ReportError
from belay.gate.reports.model import Finding, Report, ReportKind

__all__ = ["looks_like_clamav", "parse"]

_FOUND = re.compile(r"^(?P<path>.+?): (?P<signature>\S.*?) FOUND\s*$")
_INFECTED = re.compile(r"^Infected files:\s*(\d+)\s*$", re.MULTILINE)
_SUMMARY = "----------- SCAN SUMMARY -----------"
_DATE = re.compile(r"^(?:End|Start) Date:\s*(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)\s*$", re.M)


def looks_like_clamav(text: str) -> bool:
    """Tell whether ``text`` has the shape of clamscan output."""
    return _SUMMARY in text or bool(_INFECTED.search(text))


def parse(data: bytes, name: str) -> Report:
    """Parse clamscan output."""
    try:
        text = data.decode("utf-8", errors="replace")
    except UnicodeDecodeError:  # pragma: no cover - errors="replace" never raises
        raise ReportError(name, "not text") from None
    summary = _INFECTED.search(text)
    if _SUMMARY not in text or summary is None:
        raise ReportError(name, "ClamAV report has no scan summary with 'Infected files: N'")
    findings = []
    for line in text.splitlines():
        match = _FOUND.match(line)
        if match:
            signature = match.group("signature")
            findings.append(
                Finding(id=signature, severity="infected", path=match.group("path"), rule=signature)
            )
    created = None
    dates = _DATE.findall(text)
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
        findings=tuple(findings),
        infected=max(int(summary.group(1)), len(findings)),
        created_at=created,
    )
